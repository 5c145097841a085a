"""Accounting that conforms (issue 13): Chinese coal defaults instead of IPCC Tier 1, factor
priority per context, the 核算指南 guideline mode beside the inventory mode, and the 等价值 of
electricity by the year's coal rate. Every number is computed by hand in the comments from the
published values of the factor sets (table and clause named)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.accounting.combustion import METHOD_GUIDELINE, fuel_combustion_emissions
from citycarbon.accounting.energy import energy_consumption_tce
from citycarbon.accounting.enterprise import (
    account_lines,
    account_summary,
    guideline_report_tables,
)
from citycarbon.config import CONFIG_DIR, load_city, method_with_mode, mode_of_method
from citycarbon.contract.records import record_text
from citycarbon.errors import InputError
from citycarbon.factors import FactorProfile, load_factor_set
from citycarbon.records import parse_record

CITY = load_city("xiamen")
ENTERPRISE = CITY.factor_profile("enterprise")
INVENTORY = CITY.factor_profile("inventory")
GUIDE = load_factor_set("cn-enterprise-guide")
PROVINCIAL = load_factor_set("cn-provincial-inventory")
COAL_RATE = load_factor_set("cn-power-coal-rate")
IPCC = load_factor_set("ipcc-2006-energy")
AR5 = load_factor_set("ipcc-ar5-gwp100")
CO2_PER_C = 44 / 12


def one(fuel: str, quantity: float = 1.0, unit: str = "t") -> pd.DataFrame:
    return pd.DataFrame({"fuel": [fuel], "quantity": [quantity], "unit": [unit]})


def city_copy(tmp_path: Path, edit) -> Path:
    raw = yaml.safe_load((CONFIG_DIR / "xiamen.yaml").read_text("utf-8"))
    edit(raw)
    path = tmp_path / "city.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


# --- 1. raw coal and washed coal by the 核算指南 defaults ---------------------------------------


def test_raw_coal_by_the_guide_defaults_of_bituminous_coal():
    # 核算指南 (发改办气候〔2015〕1722号) 附录二 表2.1, row 烟煤: NCV 19.570 GJ/t, 26.1 tC/TJ, 93 %;
    # 原煤 is mapped to 烟煤. 1 t: 19.570 GJ x 26.1 kgC/GJ x 0.93 x 44/12 = 1,741.75 kg CO2.
    # (IPCC Tier 1 before: 20.908 GJ x 94.6 kg/TJ = 1,977.9 kg, 13.6 % more.)
    r = fuel_combustion_emissions(one("原煤"), ENTERPRISE, tier1=False).iloc[0]
    assert r["co2_t"] == pytest.approx(19.570 * 26.1e-3 * 0.93 * CO2_PER_C, rel=1e-12)
    assert r["co2_t"] == pytest.approx(1.74175, abs=5e-6)
    assert r["method"] == METHOD_GUIDELINE
    assert (r["ncv_gj_per_unit"], r["carbon_content_tc_per_tj"], r["oxidation"]) == (
        pytest.approx(19.570),
        pytest.approx(26.1),
        pytest.approx(0.93),
    )
    # the line names each factor: set, key, value, unit, and that the mapping is an assumption
    assert r["co2_factors"] == (
        "cn-enterprise-guide@2015.1 ncv[raw_coal] = 19.57 GJ/t, assumption; "
        "cn-enterprise-guide@2015.1 carbon_content[raw_coal] = 26.1 tC/TJ, assumption; "
        "cn-enterprise-guide@2015.1 oxidation[raw_coal] = 93 %, assumption"
    )


def test_washed_coal_by_the_guide_defaults():
    # 表2.1, row 洗精煤: NCV 26.344 GJ/t, 25.41 tC/TJ; oxidation 93 % (an assumption: the
    # transcriptions disagree). 1 t: 26.344 x 25.41 x 0.93 x 44/12 = 2,282.66 kg CO2.
    r = fuel_combustion_emissions(one("洗精煤"), ENTERPRISE, tier1=False).iloc[0]
    assert r["co2_t"] == pytest.approx(26.344 * 25.41e-3 * 0.93 * CO2_PER_C, rel=1e-12)
    assert r["co2_t"] == pytest.approx(2.28266, abs=5e-6)
    assert "oxidation[cleaned_coal] = 93 %, assumption" in r["co2_factors"]


def test_raw_coal_mapping_is_the_bituminous_row_and_documented():
    t = GUIDE.table.set_index(["parameter", "key"])
    for parameter in ("ncv", "carbon_content", "oxidation"):
        raw, bituminous = (
            t.loc[(parameter, "raw_coal")],
            t.loc[(parameter, "other_bituminous_coal")],
        )
        assert raw["value"] == bituminous["value"] and raw["unit"] == bituminous["unit"]
        assert raw["status"] == "assumption" and bituminous["status"] == ""
        assert "mapped to 烟煤" in raw["note"] and "factors.overrides" in raw["note"]


def test_a_city_overrides_the_raw_coal_mapping(tmp_path):
    # A city burning anthracite overrides the three raw_coal values with the 无烟煤 row of 表2.1
    # (26.7 GJ/t, 27.4 tC/TJ, 94 %): 26.7 x 27.4 x 0.94 x 44/12 = 2,521.6 kg CO2 per t.
    rows = [
        {"parameter": p, "key": "raw_coal", "year": 2015, "value": v, "unit": u,
         "source": "核算指南 附录二 表2.1", "clause": "无烟煤 (the city's coal)"}
        for p, v, u in (("ncv", 26.7, "GJ/t"), ("carbon_content", 27.4, "tC/TJ"),
                        ("oxidation", 94, "%"))
    ]  # fmt: skip
    city = load_city(city_copy(tmp_path, lambda raw: raw["factors"].update(overrides=rows)))
    for context in ("enterprise", "inventory"):
        r = fuel_combustion_emissions(one("raw_coal"), city.factor_profile(context)).iloc[0]
        assert r["co2_t"] == pytest.approx(26.7 * 27.4e-3 * 0.94 * CO2_PER_C, rel=1e-12)
        assert f"xiamen:{context}-overrides@" in r["co2_factors"]
        assert "assumption" not in r["co2_factors"]


def test_an_incomplete_guideline_set_never_falls_back_to_tier1():
    # cleaned coal with a carbon content but no oxidation rate (the guide set before this
    # change): an error naming what is missing, not IPCC Tier 1 for coking coal
    rows = GUIDE.table[~((GUIDE.table["key"] == "cleaned_coal") & (GUIDE.table["parameter"] ==
                                                                    "oxidation"))]  # fmt: skip
    cols = ["parameter", "key", "context", "year", "value", "unit", "source", "clause"]
    profile = FactorProfile([IPCC, AR5], rows[cols], name="partial")
    with pytest.raises(InputError, match="has carbon_content but no oxidation") as err:
        fuel_combustion_emissions(one("cleaned_coal"), profile)
    assert err.value.field == "fuel" and "never falls back" in str(err.value)


def test_tier1_only_where_the_mode_allows_it():
    # 'diesel' in an IPCC-only profile has no guideline factors of its own: the inventory mode
    # takes IPCC Tier 1 for gas/diesel oil (43.0 TJ/Gg x 74,100 kg/TJ = 3.1863 t CO2 per t) and
    # names the factor; the guideline mode refuses
    profile = FactorProfile([IPCC, AR5], name="ipcc")
    r = fuel_combustion_emissions(one("diesel"), profile, tier1=True).iloc[0]
    assert r["co2_t"] == pytest.approx(43.0e-3 * 74.1, rel=1e-12)
    assert r["co2_ef_t_per_tj"] == pytest.approx(74.1) and np.isnan(r["oxidation"])
    assert "ipcc-2006-energy@2006 co2_ef[gas_diesel_oil] = 74100 kg/TJ" in r["co2_factors"]
    with pytest.raises(InputError, match="guideline mode never falls back to IPCC Tier 1"):
        fuel_combustion_emissions(one("diesel"), profile, tier1=False)


def test_every_demo_fuel_has_a_guideline_method_in_the_enterprise_context():
    # the fuels of the demo's 205-1 returns: the guideline mode covers them all, no Tier 1
    fuels = ["raw_coal", "cleaned_coal", "diesel", "fuel_oil", "gasoline", "lpg", "lng"]
    units = ["t"] * len(fuels)
    out = fuel_combustion_emissions(
        pd.DataFrame({"fuel": fuels, "quantity": 1.0, "unit": units}), ENTERPRISE, tier1=False
    )
    assert (out["method"] == METHOD_GUIDELINE).all()
    pattern = r"^(\S+@\S+ \w+\[\w+\] = [\d.e+-]+ [^;]+)(; \S+@\S+ \w+\[\w+\] = [\d.e+-]+ [^;]+)*$"
    assert out["co2_factors"].astype(str).str.match(pattern).all()


# --- 2. priority per context --------------------------------------------------------------------


def test_each_context_picks_its_set():
    # natural gas carbon content: 15.32 tC/TJ in the 省级清单指南, 15.3 in the 核算指南.
    # 1 万m3: 389.31 GJ x 15.32 x 0.99 x 44/12 = 21.650 t (inventory), x 15.3 = 21.622 t
    # (enterprise)
    inv = INVENTORY.provenance("carbon_content", "natural_gas")
    ent = ENTERPRISE.provenance("carbon_content", "natural_gas")
    assert (inv["set_id"], inv["value"]) == ("cn-provincial-inventory", 15.32)
    assert (ent["set_id"], ent["value"]) == ("cn-enterprise-guide", 15.3)
    gas = one("natural_gas", 1.0, "10^4 m3")
    co2 = {
        name: fuel_combustion_emissions(gas, p).iloc[0]["co2_t"]
        for name, p in (("inventory", INVENTORY), ("enterprise", ENTERPRISE))
    }
    assert co2["inventory"] == pytest.approx(389.31 * 15.32e-3 * 0.99 * CO2_PER_C, rel=1e-12)
    assert co2["enterprise"] == pytest.approx(389.31 * 15.3e-3 * 0.99 * CO2_PER_C, rel=1e-12)
    assert co2["inventory"] == pytest.approx(21.650, abs=5e-4)
    assert co2["enterprise"] == pytest.approx(21.622, abs=5e-4)
    # raw coal: the inventory takes the statistical NCV (GB/T 2589-2020 表A.1, 20,908 kJ/kg)
    assert INVENTORY.provenance("ncv", "raw_coal")["set_id"] == "cn-gbt2589-2020"
    assert ENTERPRISE.provenance("ncv", "raw_coal")["set_id"] == "cn-enterprise-guide"


def test_the_provincial_guideline_is_never_shadowed_in_the_inventory():
    for _, row in PROVINCIAL.table.iterrows():  # tens of rows
        got = INVENTORY.provenance(row["parameter"], row["key"], context=row["context"])
        assert got["set_id"] == "cn-provincial-inventory", (row["parameter"], row["key"])
    assert "cn-provincial-inventory" not in {s.id for s in ENTERPRISE.sets}
    assert ENTERPRISE.name == "xiamen:enterprise" and INVENTORY.name == "xiamen:inventory"


def test_priority_is_declared_once_per_context(tmp_path):
    both = city_copy(tmp_path, lambda raw: raw["factors"].update(sets=["ipcc-2006-energy"]))
    with pytest.raises(InputError, match=r"either factors\.priority"):
        load_city(both)
    neither = city_copy(tmp_path, lambda raw: raw["factors"].pop("priority"))
    with pytest.raises(InputError, match=r"either factors\.priority"):
        load_city(neither)
    missing = city_copy(tmp_path, lambda raw: raw["factors"]["priority"].pop("enterprise"))
    with pytest.raises(InputError, match="enterprise"):
        load_city(missing)
    with pytest.raises(InputError, match="factor context 'city' is unknown"):
        CITY.factor_profile("city")  # type: ignore[arg-type]


# --- 3. guideline and inventory account modes ---------------------------------------------------

ENERGY = pd.DataFrame(
    {
        "enterprise_code": ["A", "A", "A", "B"],
        "fuel": ["原煤", "电力", "热力", "柴油"],
        "quantity": [1000.0, 100.0, 500.0, 20.0],
        "unit": ["t", "万千瓦时", "GJ", "t"],
    }
)


def test_guideline_mode_is_a_co2_report_with_the_guide_tables():
    lines = account_lines(ENERGY, ENTERPRISE, year=2023, mode="guideline")
    assert set(lines["gas"]) == {"CO2"} and set(lines["mode"]) == {"guideline"}
    tables = guideline_report_tables(lines)
    e = tables["emissions"].set_index("enterprise_code")
    # 附表1. A: 1,000 t raw coal x 1.741750 = 1,741.75 t; 100 万kWh = 1,000 MWh x 0.5306
    # tCO2/MWh (MEE/NBS 2023 national average) = 530.6 t; 500 GJ x 0.11 tCO2/GJ (核算指南 热力
    # default) = 55 t; total 2,327.35 t. B: 20 t diesel x 42.652 GJ/t x 20.2 tC/TJ x 98 % x
    # 44/12 = 61.918 t.
    assert e.at["A", "fuel_combustion_co2_t"] == pytest.approx(1741.7496, abs=1e-3)
    assert e.at["A", "purchased_electricity_co2_t"] == pytest.approx(530.6)
    assert e.at["A", "purchased_heat_co2_t"] == pytest.approx(55.0)
    assert e.at["A", "total_co2_t"] == pytest.approx(1741.7496 + 530.6 + 55.0, abs=1e-3)
    assert e.at["B", "total_co2_t"] == pytest.approx(20 * 42.652 * 20.2e-3 * 0.98 * CO2_PER_C)
    # 附表2: activity and NCV; 附表3: carbon content in tC/GJ, oxidation in %, grid factor
    a = tables["activity"].set_index(["enterprise_code", "item"])
    assert a.at[("A", "raw_coal"), "heat_gj"] == pytest.approx(19_570.0)
    f = tables["factors"].set_index(["enterprise_code", "item"])
    assert f.at[("A", "raw_coal"), "carbon_content_tc_per_gj"] == pytest.approx(0.0261)
    assert f.at[("A", "raw_coal"), "oxidation_pct"] == pytest.approx(93.0)
    assert f.at[("A", "electricity"), "ef_tco2_per_mwh"] == pytest.approx(0.5306)
    assert f.at[("A", "heat"), "ef_tco2_per_gj"] == pytest.approx(0.11)
    s = account_summary(lines, ENTERPRISE, year=2023)
    assert (s["ch4_t"] == 0).all() and (s["mode"] == "guideline").all()
    assert s.at["A", "total_tco2e"] == pytest.approx(e.at["A", "total_co2_t"])


def test_inventory_mode_adds_ch4_and_n2o_by_the_gwp_set():
    # raw coal maps to IPCC other bituminous coal, Table 2.3 (manufacturing): CH4 10, N2O 1.5
    # kg/TJ; 19,570 GJ -> 0.1957 t CH4 x 28 + 0.029355 t N2O x 265 (AR5) = 13.2585 tCO2e
    lines = account_lines(ENERGY, ENTERPRISE, year=2023, mode="inventory")
    guideline = account_lines(ENERGY, ENTERPRISE, year=2023, mode="guideline")
    assert {"CH4", "N2O"} <= set(lines["gas"]) and set(lines["mode"]) == {"inventory"}
    s = account_summary(lines, ENTERPRISE, year=2023)
    g = account_summary(guideline, ENTERPRISE, year=2023)
    assert s.at["A", "ch4_t"] == pytest.approx(19.570 * 10e-3)
    assert s.at["A", "total_tco2e"] - g.at["A", "total_tco2e"] == pytest.approx(
        19.570 * 10e-3 * 28 + 19.570 * 1.5e-3 * 265
    )
    with pytest.raises(InputError, match="account mode 'ghg' is unknown"):
        account_lines(ENERGY, ENTERPRISE, year=2023, mode="ghg")


def test_the_mode_is_declared_per_context_in_the_config():
    assert CITY.factors.mode.enterprise == "guideline"
    assert CITY.factors.mode.inventory == "inventory"


@given(
    st.sampled_from(["guideline", "inventory"]),
    st.sampled_from(["enterprise_fuel_query", "enterprise_electricity_query"]),
    st.text(max_size=40),
)
def test_a_result_method_names_its_mode(mode, query, text):
    """The mode is a record part (``account_mode?mode=...``) before the query's method; results
    of earlier runs named it by a free-text prefix, still read back."""
    assert mode_of_method(method_with_mode(mode, query)) == mode
    assert parse_record(method_with_mode(mode, query))[0] == ("account_mode", {"mode": mode})
    assert mode_of_method(f"account mode: {mode}; {text}") == mode  # an earlier run's text
    assert mode_of_method(text) is None or text.startswith("account mode: ")
    assert mode_of_method(query) is None


def test_cli_account_report_in_the_city_mode(tmp_path):
    from typer.testing import CliRunner

    from citycarbon.cli import app

    energy = tmp_path / "energy.csv"
    ENERGY.to_csv(energy, index=False)
    report = tmp_path / "account.xlsx"
    r = CliRunner().invoke(
        app, ["account", str(energy), "--year", "2023", "--report", str(report), "--lang", "en"],
        env={"COLUMNS": "200"},
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    assert "account mode: guideline" in r.output
    sheets = pd.read_excel(report, sheet_name=None)  # labelled for people, in English
    assert {"About", "Emissions", "Activity data", "Factors", "Account lines"} <= set(sheets)
    notes = sheets["About"]["Value"].astype(str)
    assert notes.str.startswith("account mode: guideline").any()
    total = sheets["Emissions"].set_index("Enterprise code").at["A", "Total (tCO2)"]
    assert total == pytest.approx(1741.7496 + 530.6 + 55.0, abs=0.05)  # rounded for people


# --- 4. 等价值 of electricity by the year's coal rate --------------------------------------------


def test_every_year_of_the_coal_rate_is_sourced_or_an_assumption():
    t = COAL_RATE.table.set_index("year")
    assert list(t.index) == [2020, 2021, 2022, 2023, 2024]
    for year, row in t.iterrows():
        assert row["source"] and row["clause"], year
        if row["status"] == "assumption":
            assert row["note"].startswith("assumption:"), year
    assert t.loc[[2021, 2022], "status"].tolist() == ["", ""]  # the CEC report (2023)


def test_equivalent_value_of_electricity_by_the_year_coal_rate():
    # 1 万kWh at the 2022 供电标准煤耗 300.7 gce/kWh (CEC 《中国电力行业年度发展报告2023》) =
    # 10,000 kWh x 0.3007 kgce/kWh = 3.007 tce; on the 当量值 basis 0.1229 kgce/kWh (GB/T
    # 2589-2020 表A.1) = 1.229 tce.
    def tce(basis: str, year: int, profile=INVENTORY) -> float:
        got = energy_consumption_tce([1.0], "万千瓦时", "电力", profile, basis=basis, year=year)
        return float(got.iloc[0])

    assert tce("equivalent", 2022) == pytest.approx(3.007, rel=1e-12)
    assert tce("equivalent", 2021) == pytest.approx(3.017, rel=1e-12)  # 300.7 + 1.0
    assert tce("calorific", 2022) == pytest.approx(1.229, rel=1e-12)
    # a year after the last row takes the last (an assumption), and the citation says so
    assert tce("equivalent", 2026) == pytest.approx(3.007, rel=1e-12)
    cite = INVENTORY.cite("coal_equivalent_primary", ["electricity"], year=2026).iat[0]
    assert cite == (
        "cn-power-coal-rate@2024.1 coal_equivalent_primary[electricity] = 0.3007 kgce/kWh "
        "(year 2024), assumption"
    )
    with pytest.raises(InputError, match="year 2019"):
        tce("equivalent", 2019)


def test_the_statistics_bureau_rate_wins(tmp_path):
    # a city bureau's 2023 rate, e.g. 295.0 gce/kWh: 1 万kWh = 2.950 tce
    bureau = {
        "parameter": "coal_equivalent_primary",
        "key": "electricity",
        "year": 2023,
        "value": 0.2950,
        "unit": "kgce/kWh",
        "source": "市统计局 能源统计 (test value)",
        "clause": "电力折标准煤系数（等价值）",
    }
    city = load_city(city_copy(tmp_path, lambda raw: raw["factors"].update(overrides=[bureau])))
    profile = city.factor_profile("inventory")
    got = energy_consumption_tce(
        [1.0], "万千瓦时", "电力", profile, basis="equivalent", year=2023
    ).iloc[0]
    assert got == pytest.approx(2.950, rel=1e-12)
    prov = profile.provenance("coal_equivalent_primary", "electricity", year=2023)
    assert prov["set_id"] == "xiamen:inventory-overrides" and prov["status"] == ""


def test_the_energy_balance_method_cites_each_year_rate():
    from citycarbon.runs.inventory import _balance_method

    method = _balance_method(pd.Series([2022, 2022, 2024]), INVENTORY)
    assert method[0] == method[1]
    rate = {"set_id": "cn-power-coal-rate", "version": "2024.1", "rate": "0.3007"}
    assert parse_record(method[0]) == [
        ("energy_balance", {**rate, "unit": "kgce/kWh", "rate_year": "2022"})
    ]
    assert parse_record(method[2])[1] == ("assumed_value", {})  # 2024's rate is an assumption
    assert "0.3007 kgce/kWh (cn-power-coal-rate@2024.1, value of 2024)" in record_text(
        method[2], "en"
    )


# --- the status column ----------------------------------------------------------------------


def test_status_other_than_assumption_is_refused(tmp_path):
    d = tmp_path / "s1"
    d.mkdir()
    (d / "manifest.yaml").write_text("id: s1\nversion: '1'\ntitle: t\n")
    (d / "factors.csv").write_text(
        "parameter,key,context,year,value,unit,source,clause,note,status\n"
        "ncv,raw_coal,,2020,20.908,GJ/t,src,tab,,guessed\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError, match="status must be empty") as err:
        load_factor_set(d)
    assert err.value.row == 2 and err.value.field == "status"
