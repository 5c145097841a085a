"""City configurations: nothing is wired to Xiamen; another city loads its own file."""

import pytest
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.config import load_city
from citycarbon.errors import InputError

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
    r = CliRunner().invoke(
        app, ["account", str(energy), "--year", "2023", "--city", str(path)], env={"COLUMNS": "200"}
    )
    assert r.exit_code == 0, r.output
    # IPCC 2006 Vol.2, gas/diesel oil: NCV 43.0 TJ/Gg (Table 1.2), carbon content 20.2 kgC/GJ
    # (Table 1.3), oxidation 1 -> 1,000 t = 43.0 TJ x 20.2 x 44/12 = 3,184.87 t CO2 (Table 1.4's
    # rounded 74,100 kg/TJ would give 3,186.3); CH4 3 and N2O 0.6 kg/TJ (Table 2.3) x AR6 GWP
    # 27.0 (non-fossil metric for combustion CH4) and 273; scope 2: 1,000 MWh x 0.4 = 400 t
    co2e = 43.0 * 20.2 * 44 / 12 + 43.0 * (3 * 27.0 + 0.6 * 273) / 1000
    assert f"{co2e:,.2f}" in r.output and "400.00" in r.output
    assert "testville[ipcc-2006-energy@2006,ipcc-ar6-gwp100@2021]" in r.output


def test_bad_city_file_names_the_file(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("id: x\nname: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken\.yaml"):
        load_city(path)
