"""City configurations: nothing is wired to Xiamen; another city loads its own file."""

from collections.abc import Callable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.config import load_city
from citycarbon.contract.results import TARGET_PROGRESS
from citycarbon.errors import InputError
from citycarbon.store import results

OTHER_CITY = """
id: testville
name: {zh: 测试市, en: Testville}
adcode: "990100"
province: {code: "990000", zh: 测试省, en: Test Province}
timezone: Europe/Berlin
districts:
  - {code: "990101", zh: 一区, en: First}
factors:
  sets: [ipcc-2006-energy]
  gwp: ipcc-ar6-gwp100
  grid_region: testgrid
  overrides:
    - {parameter: grid_ef, key: testgrid, year: 2023, value: 0.4, unit: tCO2/MWh,
       source: Testville utility disclosure 2024, clause: table 2}
"""


def test_default_city_is_xiamen_with_its_six_districts():
    city = load_city()
    assert city.id == "xiamen" and city.adcode == "350200"
    assert {d.code for d in city.districts} == {
        "350203",
        "350205",
        "350206",
        "350211",
        "350212",
        "350213",
    }


def test_another_city_with_ipcc_factors_only(tmp_path):
    path = tmp_path / "testville.yaml"
    path.write_text(OTHER_CITY, encoding="utf-8")
    energy = tmp_path / "energy.csv"
    energy.write_text(
        "enterprise_code,fuel,quantity,unit\nE1,gas_diesel_oil,1000,t\nE1,electricity,1000,MWh\n",
        encoding="utf-8",
    )
    args = ["account", str(energy), "--year", "2023", "--city", str(path)]
    r = CliRunner().invoke(app, [*args, "--mode", "inventory"], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    # IPCC 2006 Vol.2, gas/diesel oil: NCV 43.0 TJ/Gg (Table 1.2), carbon content 20.2 kgC/GJ
    # (Table 1.3), oxidation 1 -> 1,000 t = 43.0 TJ x 20.2 x 44/12 = 3,184.87 t CO2 (Table 1.4's
    # rounded 74,100 kg/TJ would give 3,186.3); CH4 3 and N2O 0.6 kg/TJ (Table 2.3) x AR6 GWP
    # 27.0 (non-fossil metric for combustion CH4) and 273; scope 2: 1,000 MWh x 0.4 = 400 t
    co2e = 43.0 * 20.2 * 44 / 12 + 43.0 * (3 * 27.0 + 0.6 * 273) / 1000
    assert f"{co2e:,.2f}" in r.output and "400.00" in r.output
    # one priority list (factors.sets) for every context; the profile names its context
    assert "testville:enterprise[ipcc-2006-energy@2006,ipcc-ar6-gwp100@2021]" in r.output
    assert "account mode: inventory" in r.output
    # the city's default enterprise mode is the 核算指南's: a CO2 report, 3,184.87 t
    r = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    assert "account mode: guideline" in r.output
    assert f"{43.0 * 20.2 * 44 / 12:,.2f}" in r.output and f"{co2e:,.2f}" not in r.output


def test_bad_city_file_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.yaml"):
        load_city(path)


def _xiamen_copy(tmp_path: Path, edit: Callable[[dict], object]) -> Path:
    import yaml

    from citycarbon.config import CONFIG_DIR

    raw = yaml.safe_load((CONFIG_DIR / "xiamen.yaml").read_text("utf-8"))
    edit(raw)
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), "utf-8")
    return path


@pytest.mark.parametrize(
    ("edit", "section", "key", "hint"),
    [
        (lambda r: r["power"]["nowcast"].update(modle="ratio"), "power.nowcast", "modle", "model"),
        (lambda r: r["targets"].update(shedule="0 3 * * *"), "targets", "shedule", "schedule"),
        (
            lambda r: r["targets"]["notify"].update(webhok="x"),
            "targets.notify",
            "webhok",
            "webhook",
        ),
        (lambda r: r["factors"].update(gwp_set="x"), "factors", "gwp_set", "gwp"),
        (lambda r: r.update(powr={}), "(top level)", "powr", "power"),
    ],
)
def test_unknown_key_names_file_section_and_key(tmp_path, edit, section, key, hint):
    path = _xiamen_copy(tmp_path, edit)
    with pytest.raises(InputError) as err:
        load_city(path)
    text = str(err.value)
    assert str(path) in text
    assert f"unknown key {key!r} in section {section}" in text
    assert f"did you mean {hint!r}" in text


def test_typed_sections_and_their_defaults(tmp_path):
    city = load_city()
    assert city.power.meters.max_fill_intervals == 3 and city.power.nowcast.model == "auto"
    assert city.targets.schedule == "30 6 * * *" and city.targets.notify.min_level == "yellow"
    # a city without the sections gets the documented defaults
    bare = _xiamen_copy(tmp_path, lambda r: [r.pop("power"), r.pop("targets")])
    other = load_city(bare)
    assert other.power.meters.max_fill_intervals == 0 and other.targets.file is None
    bad = _xiamen_copy(tmp_path, lambda r: r["power"]["nowcast"].update(confidence=1.5))
    with pytest.raises(InputError, match=r"field power\.nowcast\.confidence"):
        load_city(bad)


def test_section_literals_match_the_domain_constants():
    from typing import get_args

    from citycarbon.accounting.inventory import BASES
    from citycarbon.config import Notify, NowcastSection, TargetsSection
    from citycarbon.power.nowcast import MODELS
    from citycarbon.targets.warnings import LEVELS

    assert get_args(Notify.model_fields["min_level"].annotation) == LEVELS
    assert get_args(NowcastSection.model_fields["model"].annotation) == ("auto", *MODELS)
    assert get_args(TargetsSection.model_fields["basis"].annotation) == BASES


def test_citycarbon_city_is_read_on_every_call(tmp_path, monkeypatch):
    path = tmp_path / "testville.yaml"
    path.write_text(OTHER_CITY, encoding="utf-8")
    assert load_city().id == "xiamen"
    monkeypatch.setenv("CITYCARBON_CITY", str(path))
    assert load_city().id == "testville"
    path.write_text(OTHER_CITY.replace("Testville", "Testburg"), encoding="utf-8")
    assert load_city().name.en == "Testburg"  # an edited file is read again


def test_cli_city_reaches_the_targets_fallback(small_demo_dir, tmp_path, monkeypatch):
    """`targets recompute --city` with another city: its enterprise-fallback totals are labelled
    with that city (the fallback used to load the default city deep inside the run)."""
    import shutil

    home = tmp_path / "home"
    shutil.copytree(small_demo_dir, home)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    monkeypatch.delenv("CITYCARBON_CITY", raising=False)
    shutil.rmtree(home / "lake" / "results" / "city_inventory")  # -> the enterprise fallback

    def other(raw: dict) -> None:
        raw.update(id="othercity", name={"zh": "另一市", "en": "Othercity"})
        raw["targets"]["notify"] = {}

    path = _xiamen_copy(tmp_path, other)
    r = CliRunner().invoke(
        app, ["targets", "recompute", "--city", str(path), "--no-notify"], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    assert "source enterprise_fallback" in r.output
    progress = results.current(TARGET_PROGRESS, lake=home / "lake")
    city = progress[progress["level"] == "city"]
    assert len(city) and set(city["entity_name"]) == {"另一市"}
