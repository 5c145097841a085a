"""The assessed indicators of carbon and energy dual control (targets/indicators.py), against
hand-computed values on hand-built tables, and the grid mix data against its source."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.factors import fuels
from citycarbon.runs.targets import GRID_MIX_FILE
from citycarbon.targets import indicators as di


def _inventory() -> pd.DataFrame:
    """A hand-built city inventory of one year (incl. net imported electricity), t / tCO2e."""
    rows = [
        # sector, gas, emissions_t, emissions_tco2e
        ("1.A.1", "CO2", 1000.0, 1000.0),
        ("1.A.2", "CO2", 500.0, 500.0),
        ("1.A.2", "CH4", 1.0, 28.0),  # AR5 GWP100 of CH4 = 28
        ("1.A.3", "CO2", np.nan, np.nan),  # not estimated (NE)
        ("1.B", "CO2", 10.0, 10.0),
        ("S2.1", "CO2", 2000.0, 2000.0),  # net imported electricity x grid factor
        ("2.A.1", "CO2", 300.0, 300.0),  # cement clinker (process)
        ("2.E", "NF3", 0.01, 160.0),
        ("4", "CH4", 2.0, 56.0),
    ]
    frame = pd.DataFrame(rows, columns=["sector", "gas", "emissions_t", "emissions_tco2e"])
    return frame.assign(year=2024)


def test_assessed_co2_is_energy_co2_with_process_co2_apart():
    # energy activity: 1000 + 500 + 10 (1.B) + 2000 (S2.1) = 3510 t; process: 300 t;
    # all gases: 1000 + 500 + 28 + 10 + 2000 + 300 + 160 + 56 = 4054 tCO2e
    got = di.co2_by_origin(_inventory(), ["year"]).iloc[0]
    assert got["energy_co2_t"] == pytest.approx(3510.0)
    assert got["process_co2_t"] == pytest.approx(300.0)
    assert got["total_ghg_tco2e"] == pytest.approx(4054.0)
    assert di.assessed_co2_t(got["energy_co2_t"], got["process_co2_t"], False) == 3510.0
    assert di.assessed_co2_t(got["energy_co2_t"], got["process_co2_t"], True) == 3810.0
    # a process CO2 that is not estimated adds nothing; an entity with nothing estimated is NaN
    assert di.assessed_co2_t([3510.0], [np.nan], True)[0] == 3510.0
    ne = _inventory().assign(year=2023, emissions_t=np.nan, emissions_tco2e=np.nan)
    both = di.co2_by_origin(pd.concat([_inventory(), ne]), ["year"]).set_index("year")
    assert np.isnan(both.loc[2023, "energy_co2_t"]) and np.isnan(both.loc[2023, "total_ghg_tco2e"])
    # per 10^4 CNY: 3510 t over 10^4 x 10^4 CNY (1 亿元) = 0.351 t / 10^4 CNY; no GDP, no value
    assert di.per_10k_cny(3510.0, 1e4) == pytest.approx(0.351)
    assert np.isnan(di.per_10k_cny(3510.0, np.nan)) and np.isnan(di.per_10k_cny(1.0, 0.0))


def _balance() -> pd.DataFrame:
    """A hand-built energy balance of one year on the coal-equivalent basis (tce), with its
    quantities (electricity in 10^4 kWh at 3.0 tce / 10^4 kWh)."""
    rows = [
        # item, fuel, quantity, tce
        ("total_consumption", "total", np.nan, 10_000.0),
        ("industry_feedstock", "natural_gas", 11.0, 150.0),
        ("industry_feedstock", "raw_coal", 70.0, 50.0),
        ("production", "raw_coal", 700.0, 500.0),  # fossil: not non-fossil production
        ("production", "electricity", 100.0, 300.0),  # local wind and solar
        ("production", "heat", 586.0, 20.0),  # e.g. geothermal heat
        ("inflow", "electricity", 1000.0, 3000.0),
        ("outflow", "electricity", -200.0, -600.0),  # stored with the yearbook's sign
        ("final", "electricity", 900.0, 2700.0),
    ]
    frame = pd.DataFrame(rows, columns=["item", "fuel", "quantity", "tce"])
    both = pd.concat(
        [
            frame.assign(tce_basis="coal_equivalent"),
            frame.assign(tce_basis="calorific", tce=frame["tce"] / 2),
        ]
    )
    return both.assign(region_code="350200", year=2024)


def test_energy_parts_of_the_balance():
    # feedstock: fossil fuels used as raw materials, 150 + 50 = 200 tce (803号);
    # local non-fossil: electricity 300 + heat 20 = 320 tce (raw coal is fossil);
    # net imported electricity: 1000 - 200 = 800 x 10^4 kWh = 2400 tce, 3.0 tce / 10^4 kWh
    e = di.balance_energy(_balance(), fuels(), "coal_equivalent").iloc[0]
    assert e["energy_tce"] == 10_000.0
    assert e["feedstock_tce"] == pytest.approx(200.0)
    assert e["local_nonfossil_tce"] == pytest.approx(320.0)
    assert e["net_import_electricity_10k_kwh"] == pytest.approx(800.0)
    assert e["net_import_electricity_tce"] == pytest.approx(2400.0)
    assert e["electricity_tce_per_10k_kwh"] == pytest.approx(3.0)
    cal = di.balance_energy(_balance(), fuels(), "calorific").iloc[0]
    assert cal["energy_tce"] == 5_000.0 and cal["feedstock_tce"] == pytest.approx(100.0)
    with pytest.raises(InputError, match="basis"):
        di.balance_energy(_balance(), fuels(), "equivalent")


def test_energy_dual_control_excludes_feedstock_and_new_renewables():
    # 1258号: 2020 renewable electricity (green certificates held) 3000 MWh, 2024 4803 MWh:
    # new = 1803 MWh = 180.3 x 10^4 kWh x 3.0 tce = 540.9 tce, out of the total;
    # 803号: feedstock 200 tce out of the total and of the intensity
    new_mwh = di.new_renewable_mwh([4803.0, 2500.0, 4803.0], [3000.0, 3000.0, np.nan])
    assert new_mwh[0] == pytest.approx(1803.0)
    assert new_mwh[1] == 0.0  # below the base: no negative deduction
    assert np.isnan(new_mwh[2])  # no base: no number
    new_tce = new_mwh * 0.1 * 3.0
    control = di.energy_control_tce(10_000.0, 200.0, new_tce)
    assert control[0] == pytest.approx(10_000.0 - 200.0 - 540.9)
    assert np.isnan(control[2])
    assert di.energy_for_intensity_tce(10_000.0, 200.0) == pytest.approx(9800.0)
    # per 10^4 CNY: 9800 tce over 10^5 x 10^4 CNY = 0.098 tce / 10^4 CNY
    assert di.per_10k_cny(di.energy_for_intensity_tce(10_000.0, 200.0), 1e5) == pytest.approx(0.098)


def test_nonfossil_share_counts_the_grid_mix_of_imported_electricity():
    # (local 320 + imported 2400 x 0.44) / 10000 = (320 + 1056) / 10000 = 13.76 %, where the
    # local production alone gives 3.2 % (what the platform counted before)
    e = di.balance_energy(_balance(), fuels(), "coal_equivalent")
    share = di.nonfossil_share(
        e["local_nonfossil_tce"], e["net_import_electricity_tce"], 0.44, e["energy_tce"]
    )
    assert share[0] == pytest.approx(0.1376)
    local = di.nonfossil_share(e["local_nonfossil_tce"], e["net_import_electricity_tce"], 0.0, 1e4)
    assert local[0] == pytest.approx(0.032)
    assert np.isnan(di.nonfossil_share(320.0, 2400.0, np.nan, 1e4))  # no mix: not computed


@settings(max_examples=50, deadline=None)
@given(
    local=st.floats(0, 1e6),
    imported=st.floats(0, 1e6),
    rest=st.floats(1.0, 1e7),
    s1=st.floats(0, 1),
    s2=st.floats(0, 1),
)
def test_nonfossil_share_is_bounded_and_monotone_in_the_grid_mix(local, imported, rest, s1, s2):
    energy = local + imported + rest  # consumption covers local production and imports
    lo, hi = sorted((s1, s2))
    a = di.nonfossil_share(local, imported, lo, energy)
    b = di.nonfossil_share(local, imported, hi, energy)
    assert local / energy - 1e-12 <= a <= b + 1e-12
    assert b <= (local + imported) / energy + 1e-12 <= 1.0 + 1e-12


def test_grid_mix_data_reproduce_their_source_and_carry_forward():
    # NBS 规模以上工业发电量 Fujian Jan-Oct 2023 (华经产业研究院): thermal 1458.2 of 2534.8
    # 亿千瓦时 -> non-fossil 1 - 0.57527 = 0.4247; 2022 from the stated changes: thermal
    # 1458.2 - 116.9 = 1341.3 of 2534.8 - 139.3 = 2395.5 -> 0.4401
    raw = yaml.safe_load(GRID_MIX_FILE.read_text("utf-8"))
    mix = pd.DataFrame(raw["rows"])
    fj = mix[mix["region"] == "fujian"].set_index("year")["nonfossil_share"]
    assert fj[2023] == pytest.approx(1 - 1458.2 / 2534.8, abs=5e-5)
    assert fj[2022] == pytest.approx(1 - (1458.2 - 116.9) / (2534.8 - 139.3), abs=5e-5)
    assert set(mix["status"]) <= {"published", "estimate", "assumption"}
    assert mix["source"].str.len().min() > 40  # every value says where it comes from
    got = di.grid_share_for_years(mix, "fujian", [2020, 2022, 2023, 2024]).set_index("year")
    assert np.isnan(got.loc[2020, "nonfossil_share"])  # before the first value: none
    assert got.loc[2024, "nonfossil_share"] == fj[2023] and got.loc[2024, "mix_year"] == 2023
    assert got.loc[2022, "mix_year"] == 2022
    unknown = di.grid_share_for_years(mix, "atlantis", [2024])
    assert unknown["nonfossil_share"].isna().all()


def test_coverage_is_a_share_of_the_city_not_an_intensity():
    # a district whose reporters emit 42 242 t in a city of 27.1 Mt covers 0.156 % of it; the
    # old "intensity" 42 242 / 2.5 x 10^7 (万元, the whole district's GDP) = 0.0017 is gone
    assert di.coverage_share(42_242.0, 2.71e7) == pytest.approx(42_242.0 / 2.71e7)
    assert np.isnan(di.coverage_share(42_242.0, np.nan))
    table = di.indicator_table()
    assert set(table["role"]) == {"assessed", "reported", "component"}
    assert table.loc["co2_t", "role"] == "assessed" and table.loc["co2_t", "unit"] == "t"
    assert table.loc["total_ghg_tco2e", "role"] == "reported"
