"""Scope 2 on one declared basis (issue 13): the grid region and factor year of every scope-2
figure, the sensitivity to the other grid regions, market-based scope 2 with the MEE/NBS
residual factor and certificates counted once, and the same basis in the inventory and the
emission-flow module."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting import electricity as elec
from citycarbon.accounting.enterprise import account_summary
from citycarbon.factors import FactorProfile, load_factor_set
from citycarbon.records import message_record

PROFILE = FactorProfile([load_factor_set("cn-mee-grid")], name="test")


def test_a_data_year_after_the_latest_factor_uses_and_names_it():
    """MEE/NBS 《关于发布2023年电力二氧化碳排放因子的公告》 annex, tables 1-3: national 0.5306,
    华东 0.5500, 福建 0.4211 tCO2/MWh; the 2022 announcement: national 0.5366. Data of 2024 (no
    factor published yet) use the 2023 factors and say so."""
    f = elec.grid_factors(PROFILE, ["national", "east_china", "fujian"], [2022, 2024])
    f = f.set_index(["grid_region", "year"])
    assert f.at[("national", 2024), "ef_tco2_per_mwh"] == 0.5306
    assert f.at[("east_china", 2024), "ef_tco2_per_mwh"] == 0.5500
    assert f.at[("fujian", 2024), "ef_tco2_per_mwh"] == 0.4211
    assert (f.xs(2024, level="year")["factor_year"] == 2023).all()
    assert f.at[("national", 2022), "ef_tco2_per_mwh"] == 0.5366
    assert f.at[("national", 2022), "factor_year"] == 2022
    assert f["factor_source"].str.startswith("cn-mee-grid@").all()
    assert "2023年电力二氧化碳排放因子" in f.at[("national", 2024), "factor_source"]
    # before the first published value: an error, or nothing when asked to skip
    with pytest.raises(Exception, match="grid_ef"):
        elec.grid_factors(PROFILE, ["national"], [2019])
    assert elec.grid_factors(PROFILE, ["national"], [2019], skip_unpublished=True).empty


def test_sensitivity_by_hand():
    """Net imported 1 000 000 MWh, consumption 900 000 MWh, territorial 2 000 000 tCO2e, 2024:
    national 0.5306 -> scope 2 530 600 t, total 2 530 600 t; 华东 0.5500 -> 550 000 t, total
    2 550 000 t (+0.7664 % = 100 x (2 550 000 / 2 530 600 - 1)); 福建 0.4211 -> 421 100 t,
    total 2 421 100 t (-4.32704 %); GPC scope 2 of consumption under 福建 = 378 990 t."""
    f = elec.grid_factors(PROFILE, ["national", "east_china", "fujian"], [2024])
    out = elec.location_sensitivity(
        f,
        pd.Series({2024: 1_000_000.0}),
        pd.Series({2024: 900_000.0}),
        pd.Series({2024: 2_000_000.0}),
        "national",
    ).set_index("grid_region")
    assert out.at["national", "declared"] and not out.at["fujian", "declared"]
    assert out.at["national", "net_imported_co2_t"] == pytest.approx(530_600.0)
    assert out.at["east_china", "city_total_tco2e"] == pytest.approx(2_550_000.0)
    assert out.at["east_china", "change_vs_declared_pct"] == pytest.approx(
        100 * (2_550_000 / 2_530_600 - 1)
    )
    assert out.at["fujian", "change_vs_declared_pct"] == pytest.approx(-4.32704, abs=1e-5)
    assert out.at["fujian", "consumption_co2_t"] == pytest.approx(378_990.0)
    assert out.at["national", "change_vs_declared_pct"] == 0.0


def test_market_based_uses_the_residual_factor_not_the_grid_average():
    """MEE/NBS 2023 annex, table 4: national factor excluding market-traded non-fossil
    electricity 0.6096 tCO2/MWh (table 1 grid average: 0.5306). An enterprise using 1 000 MWh
    with a 300 MWh green-power contract whose certificate was also recorded alone (counted once)
    and a 100 MWh certificate: covered 400 MWh, market-based = 600 x 0.6096 = 365.76 t;
    location-based = 1 000 x 0.5306 = 530.6 t. One without instruments: 1 000 x 0.6096."""
    lines = pd.DataFrame(
        {
            "enterprise_code": ["A", "B"],
            "category": "purchased_electricity",
            "scope": 2,
            "gas": "CO2",
            "activity": [1000.0, 1000.0],
            "activity_unit": "MWh",
            "mass_t": [530.6, 530.6],
            "co2e_t": [530.6, 530.6],
            "mode": "guideline",  # account lines name their mode (accounting.enterprise)
        }
    )
    green = pd.DataFrame(
        {
            "enterprise_code": ["A", "A", "A"],
            "mwh": [300.0, 300.0, 100.0],
            "instrument": ["green_power_contract", "green_certificate", "green_certificate"],
            "certificate_id": ["GEC-1", "GEC-1", "GEC-2"],
        }
    )
    s = account_summary(lines, PROFILE, year=2024, green=green)
    assert s.at["A", "green_mwh"] == 400.0
    assert s.at["A", "scope2_market_tco2e"] == pytest.approx(600 * 0.6096)
    assert s.at["B", "scope2_market_tco2e"] == pytest.approx(1000 * 0.6096)
    assert s.at["A", "scope2_location_tco2e"] == pytest.approx(530.6)
    # before the residual factor was first published (2021): not estimated, never the average
    older = pd.DataFrame(
        [{"parameter": "grid_ef", "key": "national", "year": 2019, "value": 0.6}],
    ).assign(unit="tCO2/MWh", source="test value", clause="-")
    early = account_summary(
        lines, FactorProfile([load_factor_set("cn-mee-grid")], older), year=2019
    )
    assert early["scope2_market_tco2e"].isna().all()
    assert early["scope2_location_tco2e"].notna().all()


ENTERPRISES = st.sampled_from(["e1", "e2", "e3"])


@settings(max_examples=80, deadline=None)
@given(
    st.dictionaries(
        st.sampled_from(["c1", "c2", "c3", "c4"]),
        st.tuples(ENTERPRISES, st.floats(0.0, 5_000.0)),
        max_size=4,
    ),
    st.lists(st.tuples(ENTERPRISES, st.floats(0.0, 5_000.0)), max_size=4),
    st.lists(st.floats(0.0, 10_000.0), min_size=3, max_size=3),
    st.floats(0.0, 50_000.0),
)
def test_certificates_count_once_and_cover_plus_residual_is_consumption(
    certificates, contracts, used, city_extra
):
    """No double counting: recording a certificate again (with its green-power contract, or
    twice) changes nothing; covered <= each holder's consumption and <= the instruments counted
    once; covered + residual = the city's consumption."""
    inst = pd.DataFrame(
        [(e, q, "green_certificate", c) for c, (e, q) in certificates.items()]
        + [(e, q, "green_power_contract", None) for e, q in contracts],
        columns=["enterprise_code", "mwh", "instrument", "certificate_id"],
    ).assign(year=2023)
    consumers = pd.DataFrame({"enterprise_code": ["e1", "e2", "e3"], "year": 2023, "mwh": used})
    city = pd.Series({2023: sum(used) + city_extra})
    ef = pd.Series({2023: 0.6096})
    out = elec.market_based_city(city, consumers, inst, ef).iloc[0]
    certs = inst[inst["certificate_id"].notna()]
    again = pd.concat(
        [inst, certs.assign(instrument="green_power_contract"), certs], ignore_index=True
    )
    twice = elec.market_based_city(city, consumers, again, ef).iloc[0]
    assert twice["covered_mwh"] == pytest.approx(out["covered_mwh"], abs=1e-9)
    assert len(elec.instruments_counted_once(again)) == len(inst)
    assert out["covered_mwh"] + out["residual_mwh"] == pytest.approx(city[2023], rel=1e-12)
    assert out["covered_mwh"] <= inst["mwh"].sum() + 1e-9
    assert out["covered_mwh"] <= sum(used) + 1e-9
    per_holder = inst.groupby("enterprise_code")["mwh"].sum()
    cap = sum(min(per_holder.get(e, 0.0), u) for e, u in zip(["e1", "e2", "e3"], used, strict=True))
    assert out["covered_mwh"] == pytest.approx(cap, abs=1e-9)
    assert out["consumption_co2_t"] == pytest.approx(out["residual_mwh"] * 0.6096, rel=1e-12)


# --------------------------------------------------------------------------- demo city
def test_demo_inventory_and_flow_use_the_same_declared_basis(demo_home):
    """The declared basis of xiamen.yaml is grid_ef national; the demo's latest year 2024 uses
    the 2023 factor 0.5306. The emission-flow module's annual-average scope 2 of the metered
    electricity equals the inventory's location-based scope 2 of the same electricity
    (enterprise_month_electricity_emissions: metered kWh x the declared factor), and both name
    the factor year."""
    from citycarbon.config import load_city
    from citycarbon.contract.results import (
        CITY_INDICATORS,
        CITY_INVENTORY,
        CITY_SCOPE2,
        ENTERPRISE_MONTH_ELECTRICITY,
        HOURLY_SCOPE2,
    )
    from citycarbon.store import results

    cfg = load_city()
    hourly = results.current(HOURLY_SCOPE2)
    year = int(hourly["year"].iat[0])
    assert year == 2024
    assert (hourly["grid_region"] == cfg.factors.grid_region).all()
    assert (hourly["factor_year"] == 2023).all()
    assert (hourly["annual_factor_tco2_per_mwh"] == 0.5306).all()
    assert (hourly["import_tco2_per_mwh"] == 0.5306).all()
    metered = results.current(ENTERPRISE_MONTH_ELECTRICITY)
    metered = metered[metered["year"] == year]
    assert hourly["average_co2_t"].sum() == pytest.approx(metered["co2_t"].sum(), rel=1e-9)
    basis = results.current(CITY_SCOPE2)
    declared = basis[basis["declared"] & (basis["year"] == year)].iloc[0]
    assert declared["grid_region"] == "national" and declared["factor_year"] == 2023
    assert hourly["kwh"].sum() / 1000 * declared["ef_tco2_per_mwh"] == pytest.approx(
        hourly["average_co2_t"].sum(), rel=1e-9
    )
    # the city inventory's scope-2 rows record the factor and its year
    ci = results.current(CITY_INVENTORY)
    s2 = ci[(ci["sector"] == "S2.1") & (ci["year"] == year)]
    record = message_record("grid_factor", grid_region="national", factor_year=2023, year=2024)
    assert len(s2) and s2["method"].str.contains(record, regex=False).all()
    # the declared row of the sensitivity is the city total the indicators report
    ind = results.current(CITY_INDICATORS)
    ind = ind[(ind["period_type"] == "year") & (ind["indicator"] == "total_ghg_tco2e")]
    ind = ind.set_index("year")["value"]
    loc = basis[basis["approach"] == "location_based"]
    for y, rows in loc.groupby("year"):
        d = rows[rows["declared"]]
        assert len(d) == 1 and d["city_total_tco2e"].iat[0] == pytest.approx(ind[y], rel=1e-12)
        assert set(rows["level"]) == {"national", "regional", "provincial"}
        assert set(rows["grid_region"]) == {"national", "east_china", "fujian"}
    # market-based: the residual factor (table 4), covered by the demo's green instruments
    market = basis[(basis["approach"] == "market_based") & (basis["year"] == year)].iloc[0]
    assert market["ef_tco2_per_mwh"] == 0.6096 and market["context"] == elec.RESIDUAL_FACTOR[1]
    assert 0 < market["covered_mwh"] <= market["consumption_mwh"]
    assert market["covered_mwh"] + market["residual_mwh"] == pytest.approx(
        market["consumption_mwh"], rel=1e-12
    )
