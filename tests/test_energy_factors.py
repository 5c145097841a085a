"""The Chinese energy factor sets: GB/T 2589-2020, MEE grid factors, 核算指南, 省级指南.

Every expected number below is printed in the document cited beside it; the factor sets hold the
provenance of each transcription (manifest description and row notes).
"""

import numpy as np
import pandas as pd
import pytest

from citycarbon import units
from citycarbon.factors import FactorProfile, available_ids, fuels, load_factor_set

GB2589 = load_factor_set("cn-gbt2589-2020")
GRID = load_factor_set("cn-mee-grid")
GUIDE = load_factor_set("cn-enterprise-guide")
PROVINCIAL = load_factor_set("cn-provincial-inventory")

# The fuel list of the energy statistics (能源购进、消费与库存 205-1 表) in fuels.csv.
STATISTICAL_FUELS = [
    "raw_coal",
    "cleaned_coal",
    "other_washed_coal",
    "briquette",
    "coke",
    "coke_oven_gas",
    "blast_furnace_gas",
    "other_gas",
    "crude_oil",
    "gasoline",
    "kerosene",
    "diesel",
    "fuel_oil",
    "naphtha",
    "lpg",
    "refinery_gas",
    "natural_gas",
    "lng",
    "heat",
    "electricity",
]
# GB/T 2589-2020 Table A.1 lists no 型煤 and no 石脑油; the set says so in its manifest.
NOT_IN_TABLE_A1 = {"briquette", "naphtha"}


def value(fs, parameter, key, unit, *, context="", year=None):
    return FactorProfile([fs]).lookup(parameter, key, unit, context=context, year=year)


def test_sets_are_on_the_search_path_and_load():
    for fs in (GB2589, GRID, GUIDE, PROVINCIAL):
        assert fs.id in available_ids()
        assert len(fs.table) > 0
        assert fs.table["source"].str.len().min() > 0
        assert fs.table["clause"].str.len().min() > 0


@pytest.mark.parametrize(
    ("key", "unit", "expected"),
    [
        # GB/T 2589-2020, Annex A, Table A.1 (折标准煤系数, 当量值)
        ("raw_coal", "kgce/kg", 0.7143),
        ("cleaned_coal", "kgce/kg", 0.9000),
        ("coke", "kgce/kg", 0.9714),
        ("crude_oil", "kgce/kg", 1.4286),
        ("gasoline", "kgce/kg", 1.4714),
        ("diesel", "kgce/kg", 1.4571),
        ("lpg", "kgce/kg", 1.7143),
        ("blast_furnace_gas", "kgce/m3", 0.1286),
        ("electricity", "kgce/kWh", 0.1229),
        ("heat", "kgce/MJ", 0.03412),
    ],
)
def test_gbt2589_coal_equivalents(key, unit, expected):
    assert value(GB2589, "coal_equivalent", key, unit) == pytest.approx(expected, abs=5e-6)


def test_gbt2589_ncv_and_ranges():
    # Table A.1: raw coal 20 908 kJ/kg (5 000 kcal/kg); LNG 51 498 kJ/kg (new in the 2020 edition)
    assert value(GB2589, "ncv", "raw_coal", "GJ/t") == pytest.approx(20.908)
    assert value(GB2589, "ncv", "lng", "kJ/kg") == pytest.approx(51498)
    # Natural gas and coke-oven gas are ranges in Table A.1: the recorded value is the upper
    # bound, and the note must say so and give the range.
    rows = GB2589.table.set_index(["parameter", "key", "context"])
    ng = rows.loc[("coal_equivalent", "natural_gas", "")]
    assert ng["value"] == pytest.approx(1.3300)
    assert "1.1000-1.3300" in ng["note"] and "upper bound" in ng["note"]
    assert "0.5714-0.6143" in rows.loc[("coal_equivalent", "coke_oven_gas", ""), "note"]


def test_every_statistical_fuel_has_a_gbt2589_coefficient_but_the_documented_gaps():
    have = set(GB2589.table.loc[GB2589.table["parameter"] == "coal_equivalent", "key"])
    assert set(STATISTICAL_FUELS) <= set(fuels().index)
    assert set(STATISTICAL_FUELS) - have == NOT_IN_TABLE_A1
    assert have <= set(fuels().index)  # every key is a fuel code


def test_gbt2589_coefficients_follow_from_their_heat_values():
    # Table A.1 derives each coefficient as kcal / 7000 kcal/kgce (GB/T 2589-2020, 3.2: 1 kgce =
    # 7000 kcal = 29 307.6 kJ); its kJ column converts kcal with 4.1816 kJ/kcal (most rows) or
    # 4.1868, so ncv / 29 307.6 kJ/kgce matches to 0.2 % (0.13 % calorie, 0.04 % rounding).
    t = GB2589.table
    ncv = t[t["parameter"] == "ncv"].set_index(["key", "context"])
    ce = t[t["parameter"] == "coal_equivalent"].set_index(["key", "context"])
    both = ncv.index.intersection(ce.index)
    assert len(both) >= 20
    kgce = units.parse("kgce").to_base
    ncv_kgce = ncv.loc[both, "value"] * ncv.loc[both, "to_base"] / kgce  # kgce per base unit
    coef = ce.loc[both, "value"] * ce.loc[both, "to_base"] / kgce
    assert np.allclose(ncv_kgce.to_numpy(), coef.to_numpy(), rtol=2e-3)
    # digit by digit: coefficient = round(kcal / 7000, 4), kcal as printed beside the kJ value;
    # LNG is the documented exception (1.7572 = 51498 / 29307.6)
    kcal = ncv.loc[both, "note"].str.extract(r"(\d+) [kM]cal")[0].astype(float)
    exact = (kcal / 7000).round(4)
    mismatch = set(exact.index[~np.isclose(exact, ce.loc[both, "value"], atol=1e-9)])
    assert mismatch == {("lng", "")}


def test_gbt2589_other_gas_subtypes():
    # Table A.1, 其他煤气: 发生炉煤气 0.1786, 水煤气 0.3571 kgce/m3
    assert value(
        GB2589, "coal_equivalent", "other_gas", "kgce/m3", context="producer_gas"
    ) == pytest.approx(0.1786)
    assert value(
        GB2589, "coal_equivalent", "other_gas", "kgce/m3", context="water_gas"
    ) == pytest.approx(0.3571)


@pytest.mark.parametrize(
    ("context", "year", "expected"),
    [
        # MEE carbon-market notices: 0.6101 for 2019-2020 data (2021 power-sector guide), 0.5810
        # for 2021 (2022 notice), 0.5703 for 2022 (notice on 2023-2025 power-sector reporting)
        ("ets", 2019, 0.6101),
        ("ets", 2020, 0.6101),
        ("ets", 2021, 0.5810),
        ("ets", 2022, 0.5703),
        # MEE/NBS 电力二氧化碳排放因子: 2021 (公告2024年第12号), 2022 (2024-12-20), 2023 (annex, 表1)
        ("", 2021, 0.5568),
        ("", 2022, 0.5366),
        ("", 2023, 0.5306),
        # 2023 annex, 表4 (without market-traded non-fossil power) and 表5 (fossil power only)
        ("excluding_market_nonfossil", 2023, 0.6096),
        ("fossil", 2023, 0.8273),
    ],
)
def test_national_grid_factors(context, year, expected):
    got = value(GRID, "grid_ef", "national", "tCO2/MWh", context=context, year=year)
    assert got == pytest.approx(expected, abs=5e-5)


def test_fujian_and_regional_grid_factors():
    # 2023 annex 表3 福建 0.4211, 表2 华东 0.5500; 2022: 福建 0.4092; 2021: 福建 0.4711
    assert value(GRID, "grid_ef", "fujian", "tCO2/MWh", year=2023) == pytest.approx(0.4211)
    assert value(GRID, "grid_ef", "east_china", "tCO2/MWh", year=2023) == pytest.approx(0.5500)
    assert value(GRID, "grid_ef", "fujian", "tCO2/MWh", year=2022) == pytest.approx(0.4092)
    assert value(GRID, "grid_ef", "fujian", "tCO2/MWh", year=2021) == pytest.approx(0.4711)
    # kgCO2/kWh and tCO2/MWh are the same number
    assert value(GRID, "grid_ef", "fujian", "kgCO2e/kWh", year=2023) == pytest.approx(0.4211)


def test_grid_series_is_complete_each_year():
    t = GRID.table[(GRID.table["context"] == "")]
    for year in (2021, 2022, 2023):
        keys = set(t.loc[t["year"] == year, "key"])
        assert len(keys) == 1 + 7 + 30  # national, 7 regional grids, 30 provinces (no Tibet)
        assert {"national", "east_china", "southwest", "fujian", "guangdong"} <= keys


def test_grid_lookup_takes_the_latest_year_published():
    # a data year after the last announcement uses the latest factor (2023)
    assert value(GRID, "grid_ef", "national", "tCO2/MWh", year=2025) == pytest.approx(0.5306)


def test_provincial_inventory_values():
    # 省级温室气体清单编制指南（试行）, Ch. 1: natural gas 15.32, crude oil 20.08 tC/TJ;
    # oxidation of liquid fuels 98 %, gaseous fuels 99 %
    assert value(PROVINCIAL, "carbon_content", "natural_gas", "tC/TJ") == pytest.approx(15.32)
    assert value(PROVINCIAL, "carbon_content", "crude_oil", "tC/TJ") == pytest.approx(20.08)
    assert value(PROVINCIAL, "oxidation", "diesel", "1") == pytest.approx(0.98)
    assert value(PROVINCIAL, "oxidation", "natural_gas", "1") == pytest.approx(0.99)


def test_enterprise_guide_values():
    # 核算指南 (2015) 常用化石燃料相关参数缺省值: anthracite 26.7 GJ/t, 27.4 tC/TJ, 94 %;
    # natural gas 389.31 GJ/10^4 Nm3, 15.3 tC/TJ, 99 %; purchased heat 0.11 tCO2/GJ
    assert value(GUIDE, "ncv", "anthracite", "GJ/t") == pytest.approx(26.7)
    assert value(GUIDE, "carbon_content", "anthracite", "tC/TJ") == pytest.approx(27.4)
    assert value(GUIDE, "oxidation", "anthracite", "%") == pytest.approx(94)
    assert value(GUIDE, "ncv", "natural_gas", "GJ/10^4 m3") == pytest.approx(389.31)
    assert value(GUIDE, "carbon_content", "natural_gas", "tC/TJ") == pytest.approx(15.3)
    assert value(GUIDE, "heat_ef", "heat", "tCO2/GJ", year=2015) == pytest.approx(0.11)


def test_guide_ncvs_agree_with_gbt2589_where_they_share_a_source():
    # The guide's NCVs with footnote 中国能源统计年鉴 are the GB/T 2589 heat values
    profile = FactorProfile([GUIDE])
    reference = FactorProfile([GB2589])
    for key, unit in [
        ("natural_gas", "GJ/m3"),
        ("coke_oven_gas", "GJ/m3"),
        ("coke", "GJ/t"),
        ("diesel", "GJ/t"),
        ("lpg", "GJ/t"),
        ("other_gas", "GJ/m3"),
    ]:
        assert profile.lookup("ncv", key, unit) == pytest.approx(
            reference.lookup("ncv", key, unit), rel=1e-6
        ), key


def test_guide_co2_factor_of_natural_gas():
    # 389.31 GJ/10^4 Nm3 x 15.3 tC/TJ x 99 % x 44/12 = 21.62 tCO2/10^4 Nm3: the natural-gas
    # factor commonly quoted from the 核算指南 defaults (e.g. 21.622 tCO2e/万Nm3 in factor templates)
    p = FactorProfile([GUIDE])
    ef = (
        p.lookup("ncv", "natural_gas", "TJ/10^4 m3")
        * p.lookup("carbon_content", "natural_gas", "tC/TJ")
        * p.lookup("oxidation", "natural_gas", "1")
        * 44
        / 12
    )
    assert ef == pytest.approx(21.62, abs=0.005)


def test_keys_are_known_fuel_or_region_codes():
    known = set(fuels().index)
    for fs in (GB2589, GUIDE, PROVINCIAL):
        assert set(fs.table["key"]) <= known, fs.id
    regions = {
        "national",
        "north_china",
        "northeast",
        "east_china",
        "central_china",
        "northwest",
        "south_china",
        "southwest",
    }
    assert regions <= set(GRID.table["key"])
    assert not pd.Series(sorted(GRID.table["key"])).str.contains(r"[^a-z_]").any()
