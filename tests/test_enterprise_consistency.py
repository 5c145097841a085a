"""Enterprise emissions: one computation, the same per enterprise everywhere (issue 12).

On the small demo city, for a sample of enterprises and a year, the CO2 of

1. the 企业 page (read model :mod:`citycarbon.read.access`),
2. the map's enterprise points (:mod:`citycarbon.read.map_layers`),
3. the 清单 drill-down (``city_inventory`` at level enterprise), and
4. ``citycarbon account`` run on the enterprise's 205-1 rows exported to CSV

agree to rel 1e-9. Where the definitions legitimately differ, the comparison is like with like:

- the 企业 page, the map and the account's *energy CO2* are the enterprise's CO2 from energy:
  fossil fuel burnt less feedstock + purchased electricity + purchased heat (location-based);
- the inventory (basis incl_net_imported_electricity) books heat where it is produced (1.A.1,
  the heat plant), so an enterprise's inventory CO2 is that minus its purchased heat (taken
  from the account's own purchased_heat lines); its IPPU rows (sector 2) are process
  emissions, which the enterprise CO2 from energy leaves out;
- the account runs in the inventory mode (all gases; the city's enterprise results are in the
  核算指南 guideline mode, CO2 only): its energy CO2 is the same in both modes where every fuel
  has guideline factors (the demo's fuels do), and its tCO2e adds CH4 and N2O with the
  industrial-combustion factors: equal to the inventory's tCO2e for enterprises whose IPCC
  sector is 1.A.2 (the same factor category), different by design elsewhere.
"""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from citycarbon.cli import app
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import (
    CITY_INVENTORY,
    ENTERPRISE_MONTH_FUEL,
    ENTERPRISE_MONTH_GASES,
)
from citycarbon.read import access
from citycarbon.runs import map_layers as ml
from citycarbon.runs import pipeline
from citycarbon.store import catalog, lake, results

REL = 1e-9
runner = CliRunner()


def _close(a: pd.Series, b: pd.Series, what: str) -> None:
    a, b = a.sort_index().astype(float), b.reindex(a.sort_index().index).astype(float)
    bad = ((a - b).abs() > REL * b.abs().clip(lower=1e-6)) | b.isna()
    assert not bad.any(), f"{what} differ:\n{pd.concat([a, b], axis=1)[bad]}"


def _year_sum(monthly: pd.DataFrame, year: int) -> float:
    return float(monthly.loc[monthly["year"] == year, "co2_t"].sum())


@pytest.fixture(scope="module")
def sample(small_demo_dir) -> tuple[int, list[str]]:
    """A middle data year and enterprises of every kind: the largest fuel burners, purchased
    heat, biomass, electricity only, and each IPCC sector present."""
    fuel = results.current(ENTERPRISE_MONTH_FUEL, lake=small_demo_dir / "lake")
    years = sorted(fuel["year"].astype(int).unique())
    year = years[len(years) // 2]
    annual = (
        fuel[fuel["year"].astype(int) == year].groupby("enterprise_code").sum(numeric_only=True)
    )
    picks = [
        *annual.nlargest(2, "combustion_co2_t").index,
        *annual[annual["heat_co2_t"] > 0].nlargest(1, "heat_co2_t").index,
        *annual[annual["biogenic_co2_t"] > 0].nlargest(1, "biogenic_co2_t").index,
        *annual[annual["combustion_co2_t"] == 0].nlargest(1, "co2_t").index,
    ]
    gases = results.current(ENTERPRISE_MONTH_GASES, partitions=[year], lake=small_demo_dir / "lake")
    by_sector = gases[gases["scope"] == 1].drop_duplicates("sector")
    picks += list(by_sector["enterprise_code"])
    return int(year), sorted(set(picks))


@pytest.fixture(scope="module")
def account(small_demo_dir, sample, tmp_path_factory) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``citycarbon account`` of the sample's 205-1 rows of the year, exported from the lake."""
    year, codes = sample
    folder = tmp_path_factory.mktemp("account")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(small_demo_dir))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        s = get_settings()
        rows = lake.read_current(
            "energy_monthly", {"year": [year]}, lake=s.lake, url=s.database_url
        )
        rows = rows[rows["enterprise_code"].isin(codes)].drop(columns="batch_id")
        rows.to_csv(folder / "205-1.csv", index=False, encoding="utf-8-sig")
        got = runner.invoke(
            app,
            [
                "account",
                str(folder / "205-1.csv"),
                "--mode",
                "inventory",
                "--summary",
                str(folder / "summary.csv"),
                "--lines",
                str(folder / "lines.csv"),
                "--raw",  # field names and values as computed: read by this test
            ],
            env={"COLUMNS": "200"},
        )
    assert got.exit_code == 0, got.output
    assert f"enterprise carbon accounts {year}" in got.output  # the year of the file's rows
    summary = pd.read_csv(
        folder / "summary.csv", dtype={"enterprise_code": str}, encoding="utf-8-sig"
    )
    lines = pd.read_csv(folder / "lines.csv", dtype={"enterprise_code": str}, encoding="utf-8-sig")
    return summary.set_index("enterprise_code"), lines


def test_sample_covers_the_kinds_of_enterprise(sample, account):
    _year, codes = sample
    summary, lines = account
    assert len(codes) >= 4
    assert set(summary.index) == set(codes)
    assert (lines["category"] == "purchased_heat").any()  # heat is in the sample
    assert (summary["scope1_tco2e"] > 0).any() and (summary["scope1_tco2e"] == 0).any()


def test_page_map_inventory_and_account_agree(demo_home, sample, account):
    year, codes = sample
    summary, lines = account

    # (1) the 企业 page: the list's CO2 of the year, and the sum of the enterprise's months
    access.invalidate()
    analyst = access.Principal(None, "consistency", "city_analyst", via="system")
    page = access.enterprises(analyst, year=year).set_index("credit_code")["co2_t"]
    months = pd.Series({c: _year_sum(access.enterprise_monthly(analyst, c), year) for c in codes})

    # (2) the map's enterprise points of the year
    ml.clear_cache()
    data = ml.map_data(wait=True)
    pts = ml.enterprise_points(data, ml.parse_period(str(year)))
    on_map = pd.DataFrame(pts["rows"], columns=pts["columns"]).set_index("credit_code")["co2_t"]
    map_cube = data.enterprise_periods[str(year)]["co2_t"]  # the points before JSON rounding
    ml.clear_cache()

    # (3) the 清单 drill-down: enterprise level, CO2, yearly, energy sectors (IPPU is process)
    inv = results.current(CITY_INVENTORY, partitions=[year], lake=demo_home / "lake")
    inv = inv[
        (inv["level"] == "enterprise")
        & inv["month"].isna()
        & (inv["basis"] == "incl_net_imported_electricity")
        & inv["entity_code"].isin(codes)
        & ~inv["sector"].astype(str).str.startswith("2")
    ]
    inv_co2 = inv[inv["gas"] == "CO2"].groupby("entity_code")["emissions_t"].sum()

    # (4) the account: energy CO2, and its purchased heat (booked at the heat plant in 清单)
    energy_co2 = summary["energy_co2_t"]
    heat = lines[(lines["category"] == "purchased_heat") & (lines["gas"] == "CO2")]
    heat_co2 = heat.groupby("enterprise_code")["mass_t"].sum().reindex(codes, fill_value=0.0)

    assert (energy_co2 > 0).all()
    _close(energy_co2, page, "account energy CO2 vs 企业 list")
    _close(energy_co2, months, "account energy CO2 vs 企业 monthly sum")
    _close(energy_co2, map_cube, "account energy CO2 vs map")
    # the points carry 4 decimals (map_layers._num): equal to that precision
    assert (on_map.reindex(codes) - energy_co2.reindex(codes)).abs().max() <= 5e-5 + 1e-9
    _close(energy_co2 - heat_co2, inv_co2.reindex(codes, fill_value=0.0), "CO2 vs 清单 drill-down")

    # CO2e: the same CH4/N2O category (1.A.2 manufacturing) gives the same tCO2e
    manufacturing = inv.loc[inv["sector"] == "1.A.2", "entity_code"].unique()
    assert len(manufacturing)
    inv_e = inv.groupby("entity_code")["emissions_tco2e"].sum().reindex(manufacturing)
    acc_e = summary["total_tco2e"].reindex(manufacturing) - heat_co2.reindex(manufacturing)
    _close(acc_e, inv_e, "account tCO2e vs 清单 tCO2e (1.A.2)")


def test_inventory_reads_the_enterprise_results_in_the_graph(demo_home, sample):
    """The inventory's bottom-up is the enterprise result: declared as read in the graph, so
    a 205-1 ingest recomputes the enterprise accounts first, then the inventory from them."""
    steps = {s.name: s for s in pipeline.STEPS}
    assert ENTERPRISE_MONTH_GASES in steps["inventory"].reads
    assert ENTERPRISE_MONTH_GASES in steps["enterprise_results"].writes
    order = [s.name for s in pipeline.stale_steps(["energy_monthly"])]
    assert order.index("enterprise_results") < order.index("inventory")

    year, _codes = sample
    gases = results.current(ENTERPRISE_MONTH_GASES, partitions=[year], lake=demo_home / "lake")
    fuel = results.current(ENTERPRISE_MONTH_FUEL, partitions=[year], lake=demo_home / "lake")
    co2 = gases[gases["gas"] == "CO2"].groupby(["enterprise_code", "scope"])["emissions_t"].sum()
    f = fuel.groupby("enterprise_code")[["combustion_co2_t", "electricity_co2_t"]].sum()
    _close(co2.xs(1, level="scope"), f["combustion_co2_t"][f["combustion_co2_t"] != 0], "scope 1")
    _close(co2.xs(2, level="scope"), f["electricity_co2_t"][f["electricity_co2_t"] != 0], "S2.1")
    reg = catalog.registry_frame("enterprises").set_index("credit_code")
    transport = gases["enterprise_code"].map(reg["industry_code"]).str.startswith("G")
    assert (gases.loc[transport & (gases["gas"] != "CO2"), "notation_key"] == "NE").all()


def test_account_reads_205_1_rows_and_their_year(tmp_path):
    """205-1 rows (consumed_total less consumed_as_feedstock is burnt) give the account of the
    same quantities in the account layout; the year comes from the rows."""
    form = tmp_path / "205-1.csv"
    form.write_text(
        "enterprise_code,fuel,consumed_total,consumed_as_feedstock,unit,year,month\n"
        "E1,diesel,20,0,t,2023,1\nE1,diesel,20,5,t,2023,2\nE1,electricity,100,,10^4 kWh,2023,2\n",
        encoding="utf-8",
    )
    plain = tmp_path / "plain.csv"
    plain.write_text(
        "enterprise_code,fuel,quantity,unit\nE1,diesel,35,t\nE1,electricity,100,10^4 kWh\n",
        encoding="utf-8",
    )
    got = {}
    for f, extra in ((form, []), (plain, ["--year", "2023"])):
        out = tmp_path / f"{f.stem}-summary.csv"
        r = runner.invoke(
            app, ["account", str(f), "--summary", str(out), "--raw", *extra], env={"COLUMNS": "200"}
        )
        assert r.exit_code == 0, r.output
        got[f.stem] = pd.read_csv(out, encoding="utf-8-sig").set_index("enterprise_code").loc["E1"]
    # 100 万kWh = 1,000 MWh x 0.5306 tCO2/MWh (MEE/NBS 2023 national average)
    assert got["205-1"]["scope2_location_tco2e"] == pytest.approx(530.6, rel=1e-9)
    assert got["205-1"]["energy_co2_t"] > 530.6
    for col in ("energy_co2_t", "scope1_tco2e", "total_tco2e"):
        assert got["205-1"][col] == pytest.approx(got["plain"][col], rel=1e-12)

    form.write_text(
        "enterprise_code,fuel,consumed_total,unit,year\nE1,diesel,20,t,2023\nE1,diesel,20,t,2024\n",
        encoding="utf-8",
    )
    bad = runner.invoke(app, ["account", str(form)], env={"COLUMNS": "200"})
    assert bad.exit_code == 1
    assert "one data year" in bad.output and "line 3" in bad.output and "2024" in bad.output
