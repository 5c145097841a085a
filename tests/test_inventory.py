"""Energy balance table, city inventory, roll-ups, indicators and uncertainty (issue 5, part A)."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting import balance as bal
from citycarbon.accounting import inventory as inv
from citycarbon.accounting import uncertainty as unc
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.factors import FactorProfile, fuels, load_factor_set

SETS = [  # the city inventory's priority (xiamen.yaml factors.priority.inventory)
    "cn-provincial-inventory",
    "cn-gbt2589-2020",
    "cn-enterprise-guide",
    "cn-power-coal-rate",
    "cn-mee-grid",
    "ipcc-2006-energy",
    "ipcc-ar5-gwp100",
]
PROFILE = FactorProfile([load_factor_set(s) for s in SETS], name="test")
CITY = "350200"


def small_city() -> pd.DataFrame:
    """A city with three fuels, a coal power plant, industry and households (2023)."""
    rows = [
        ("inflow", "raw_coal", 1000.0),
        ("thermal_power", "raw_coal", -900.0),
        ("industry_manufacturing", "raw_coal", 100.0),
        ("inflow", "electricity", 500.0),
        ("thermal_power", "electricity", 200.0),
        ("losses", "electricity", 20.0),
        ("industry_manufacturing", "electricity", 400.0),
        ("residential", "electricity", 280.0),
        ("inflow", "natural_gas", 10.0),
        ("residential", "natural_gas", 10.0),
    ]
    return pd.DataFrame(
        [(CITY, 2023, i, f, q) for i, f, q in rows],
        columns=["region_code", "year", "item", "fuel", "quantity"],
    )


def cell(frame: pd.DataFrame, item: str, fuel: str, column: str = "quantity", **where):
    sel = (frame["item"] == item) & (frame["fuel"] == fuel)
    for k, v in where.items():
        sel &= frame[k] == v
    assert sel.sum() == 1, (item, fuel, where)
    value = frame.loc[sel, column].iloc[0]
    return value if column == "flag" else float(value)


def test_small_city_balance_by_hand():
    """Hand computation (quantities: t, 10^4 kWh, 10^4 m3; coefficients GB/T 2589-2020 Table
    A.1: raw coal 0.7143 tce/t, electricity 0.1229 kgce/kWh = 1.229 tce/10^4 kWh, natural gas
    1.3300 kgce/m3 = 13.3 tce/10^4 m3; electricity 等价值 2023 = CEC 供电标准煤耗 2022, 300.7
    gce/kWh = 3.007 tce/10^4 kWh, carried forward):

    raw coal   A = 1000, T = -900, F = 100, D = 1000 - 900 - 0 - 100 = 0, C = 100 + 900 = 1000
    electricity A = 500, T = +200, losses 20, F = 400 + 280 = 680,
                D = 500 + 200 - 20 - 680 = 0, C = 680 + 20 = 700
    natural gas A = 10, F = 10, D = 0
    energy consumption (合计, 当量值) = F + losses - T
        = (100 x 0.7143 + 680 x 1.229 + 10 x 13.3) + 20 x 1.229 - (-900 x 0.7143 + 200 x 1.229)
        = (71.43 + 835.72 + 133) + 24.58 - (-642.87 + 245.8) = 1461.80 tce
        (= A in tce, 714.3 + 614.5 + 133, as D = 0)
    on 等价值: = 714.3 + 500 x 3.007 + 133 = 2350.80 tce
    """
    b = bal.complete_balance(small_city())
    assert cell(b, "available", "raw_coal") == 1000.0
    assert cell(b, "transformation", "raw_coal") == -900.0
    assert cell(b, "final", "electricity") == 680.0
    assert cell(b, "statistical_difference", "electricity") == 0.0
    assert cell(b, "total_consumption", "raw_coal") == 1000.0
    assert cell(b, "total_consumption", "electricity") == 700.0
    assert cell(b, "industry", "raw_coal") == 100.0  # parent filled from its child
    assert (b["flag"] == "").all()

    from citycarbon.runs.inventory import _coefficients

    coefs = _coefficients(b, PROFILE)
    k = coefs.set_index(["fuel", "tce_basis"])["tce_per_unit"]
    assert k[("raw_coal", "calorific")] == pytest.approx(0.7143, rel=1e-12)
    assert k[("electricity", "calorific")] == pytest.approx(1.229, rel=1e-12)
    assert k[("natural_gas", "calorific")] == pytest.approx(13.3, rel=1e-12)
    assert k[("electricity", "coal_equivalent")] == pytest.approx(3.007, rel=1e-12)
    t = bal.balance_tce(b, coefs)
    total = dict(item="total_consumption", fuel="total")
    assert cell(t, **total, column="tce", tce_basis="calorific") == pytest.approx(1461.80)
    assert cell(t, **total, column="tce", tce_basis="coal_equivalent") == pytest.approx(2350.80)
    assert cell(t, "transformation", "total", "tce", tce_basis="calorific") == pytest.approx(
        -397.07
    )
    ind = bal.energy_indicators(t, fuels()).set_index("tce_basis")
    # coal share (当量值) = raw coal F + losses - T = 71.43 + 642.87 = 714.3 of 1461.80
    assert ind.at["calorific", "coal_share"] == pytest.approx(714.3 / 1461.80)
    assert ind.at["calorific", "nonfossil_share"] == 0.0


def test_small_city_inventory_by_hand():
    """Hand computation of the emissions of the same city (factor values as in the profile):

    1.A.1 raw coal 900 t by the guideline method: NCV 20.908 GJ/t (GB/T 2589-2020 表A.1, the
      statistical value the inventory takes) -> 18.8172 TJ x 26.1 tC/TJ x 93 % x 44/12
      (核算指南 表2.1 烟煤, 原煤 mapped to 烟煤) = 1674.7496172 t CO2 (IPCC Tier 1 gave
      1780.10712); CH4 1 kg/TJ, N2O 1.5 kg/TJ (IPCC 2006 Table 2.2) = 0.0188172, 0.0282258 t
    1.A.2 raw coal 100 t: 2.0908 TJ -> 186.0832908 t CO2; CH4 10, N2O 1.5 kg/TJ (Table 2.3)
      = 0.020908, 0.0031362 t
    1.A.4.b natural gas 10 x 10^4 m3 x 389.31 GJ/10^4 m3 = 3.8931 TJ x 15.32 tC/TJ x 0.99
      x 44/12 = 216.50151996 t CO2 (省级温室气体清单编制指南 carbon content, oxidation; NCV of
      GB/T 2589); CH4 5, N2O 0.1 kg/TJ (Table 2.5) = 0.0194655, 0.00038931 t
    GWP100 AR5: CH4 28, N2O 265 ->
      territorial = 2077.33442796 + 0.0591907 x 28 + 0.03175131 x 265 = 2087.40586471 tCO2e
    net imported electricity 500 x 10^4 kWh = 5000 MWh x 0.5306 tCO2/MWh (MEE/NBS 2023
      national) = 2653 t -> incl_net_imported_electricity = 4740.40586471 tCO2e
    """
    b = bal.complete_balance(small_city())
    act = inv.combustion_activity(b)
    rows = inv.combustion_gases(act, PROFILE, fuels()["stat_unit"])
    by = rows.set_index(["sector", "gas"])["emissions_t"]
    assert by[("1.A.1", "CO2")] == pytest.approx(1674.7496172, rel=1e-12)
    assert by[("1.A.2", "CO2")] == pytest.approx(186.0832908, rel=1e-12)
    assert by[("1.A.2", "CH4")] == pytest.approx(0.020908, rel=1e-12)
    assert by[("1.A.4.b", "CO2")] == pytest.approx(216.50151996, rel=1e-12)
    assert by[("1.A.4.b", "N2O")] == pytest.approx(0.00038931, rel=1e-12)
    assert rows["emissions_tco2e"].sum() == pytest.approx(2087.40586471, rel=1e-12)
    grid = pd.Series({2023: PROFILE.lookup("grid_ef", "national", "tCO2/MWh", year=2023)})
    s2 = inv.net_imported_electricity_rows(b, grid)
    assert s2["emissions_tco2e"].sum() == pytest.approx(2653.0, rel=1e-12)
    both = inv.with_bases(rows, s2)
    totals = both.groupby("basis")["emissions_tco2e"].sum()
    assert totals["territorial"] == pytest.approx(2087.40586471, rel=1e-12)
    assert totals["incl_net_imported_electricity"] == pytest.approx(4740.40586471, rel=1e-12)


def test_not_estimated_sectors_are_nan_with_notation_key():
    ne = inv.not_estimated_rows(CITY, [2023])
    assert set(ne["sector"]) == {"1.B", "2", "3", "4"}
    assert set(ne.loc[ne["sector"] == "2", "gas"]) == {"CO2", "CH4", "N2O", "HFCs", "PFCs"} | {
        "SF6",
        "NF3",
    }
    assert ne["emissions_tco2e"].isna().all() and (ne["notation_key"] == "NE").all()
    # transport has no mobile-source CH4/N2O factors in the profile: NE, not zero
    act = pd.DataFrame(
        {"fuel": ["gasoline"], "quantity": [1.0], "ch4_n2o_context": [""], "sector": ["1.A.3"]}
    )
    g = inv.combustion_gases(act, PROFILE, fuels()["stat_unit"]).set_index("gas")
    assert g.at["CO2", "emissions_t"] > 0 and g.at["CO2", "notation_key"] == ""
    assert np.isnan(g.at["CH4", "emissions_t"]) and g.at["CH4", "notation_key"] == "NE"


def test_reported_items_are_checked_and_signs_normalised():
    e = small_city()
    extra = pd.DataFrame(
        [
            (CITY, 2023, "outflow", "natural_gas", 2.0),  # typed positive under a (-) item
            (CITY, 2023, "inflow", "natural_gas", 2.0),
            (CITY, 2023, "industry", "electricity", 450.0),  # child says 400
            (CITY, 2023, "statistical_difference", "raw_coal", 50.0),  # computed 0
        ],
        columns=e.columns,
    )
    b = bal.complete_balance(pd.concat([e, extra], ignore_index=True))
    assert cell(b, "outflow", "natural_gas") == -2.0
    assert cell(b, "statistical_difference", "natural_gas") == 0.0
    assert cell(b, "industry", "electricity", "flag").startswith("reported 450")
    assert "reported 50" in cell(b, "statistical_difference", "raw_coal", "flag")
    # a missing residential use of gas leaves a residual that is flagged
    b2 = bal.complete_balance(e[~((e["item"] == "residential") & (e["fuel"] == "natural_gas"))])
    assert cell(b2, "statistical_difference", "natural_gas") == 10.0
    assert cell(b2, "statistical_difference", "natural_gas", "flag") == "residual"
    with pytest.raises(UnknownCodeError, match="balance item"):
        bal.complete_balance(e.assign(item="imports"))


def test_item_names_resolve_and_industries_map():
    assert list(bal.resolve_items(["外省（区、市）调入量", "火力发电", "工业", "调出量"])) == [
        "inflow",
        "thermal_power",
        "industry",
        "outflow",
    ]
    m = bal.item_of_industry(["C3974", "D4411", "D4412", "G5532", "H6110"])
    assert list(m["item"]) == [
        "industry_manufacturing",
        "industry_utilities",
        "industry_utilities",
        "transport",
        "commerce",
    ]
    assert list(m["ipcc_sector"]) == ["1.A.2", "1.A.1", "1.A.1", "1.A.3", "1.A.4.a"]
    with pytest.raises(UnknownCodeError):
        bal.item_of_industry(["Z9999"])


# --------------------------------------------------------------------------- properties
amounts = st.floats(min_value=0, max_value=1e7, allow_nan=False, allow_infinity=False)


@settings(max_examples=40, deadline=None)
@given(
    prod=amounts,
    outflow=amounts,
    stock=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
    burnt=amounts,
    made=amounts,
    losses=amounts,
    finals=st.lists(amounts, min_size=7, max_size=7),
    error=st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
)
def test_balance_identity(prod, outflow, stock, burnt, made, losses, finals, error):
    """supply - transformation - losses = final consumption + the stated residual."""
    items = ["agriculture", "industry_manufacturing", "construction", "transport", "commerce"]
    items += ["other", "residential_urban"]
    final = sum(finals)
    inflow = final + losses + burnt + outflow - prod - stock - made + error
    rows = [
        ("production", prod),
        ("inflow", inflow),
        ("outflow", outflow),
        ("stock_change", stock),
        ("thermal_power", -burnt),
        ("heating", made),
        ("losses", losses),
        *zip(items, finals, strict=True),
    ]
    e = pd.DataFrame(
        [(CITY, 2024, i, "natural_gas", q) for i, q in rows],
        columns=["region_code", "year", "item", "fuel", "quantity"],
    )
    b = bal.complete_balance(e, rel_tol=0.01)
    a = cell(b, "available", "natural_gas")
    t = cell(b, "transformation", "natural_gas")
    d = cell(b, "statistical_difference", "natural_gas")
    f = cell(b, "final", "natural_gas")
    assert f == pytest.approx(final, rel=1e-9, abs=1e-6)
    assert a + t - losses - f == pytest.approx(d, rel=1e-9, abs=1e-6)
    if inflow >= 0:  # inflow is entered by magnitude; then the residual is the error put in
        assert d == pytest.approx(error, rel=1e-6, abs=1e-3)
        scale = max(abs(a), abs(f + losses), 1e-9)
        flagged = cell(b, "statistical_difference", "natural_gas", "flag") == "residual"
        assert flagged == (abs(d) > 0.01 * scale)


ENTERPRISES = st.lists(
    st.tuples(
        st.sampled_from(["350203", "350205", "350206"]),
        st.sampled_from(["", "P1", "P2"]),
        st.sampled_from(["C3974", "C2614", "H6110"]),
        st.floats(min_value=0, max_value=1e5, allow_nan=False),
    ),
    min_size=1,
    max_size=30,
)


@settings(max_examples=25, deadline=None)
@given(ENTERPRISES, st.floats(min_value=0, max_value=1e6, allow_nan=False))
def test_roll_ups_add_up_to_the_city_and_count_each_enterprise_once(ents, rest):
    rows = pd.DataFrame(ents, columns=["district_code", "park_code", "industry_code", "e"])
    rows["enterprise_code"] = [f"E{i:03d}" for i in range(len(rows))]
    rows = rows.assign(
        year=2024, sector="1.A.2", gas="CO2", scope=1, basis="territorial", emissions_t=rows["e"]
    ).assign(emissions_tco2e=lambda r: r["e"])
    city_total = rows["e"].sum() + rest
    city = pd.DataFrame(
        {
            "year": [2024],
            "sector": ["1.A.2"],
            "gas": ["CO2"],
            "scope": [1],
            "basis": ["territorial"],
            "emissions_t": [city_total],
            "emissions_tco2e": [city_total],
        }
    )
    for column, level in (
        ("district_code", "district"),
        ("park_code", "park"),
        ("industry_code", "industry"),
        ("enterprise_code", "enterprise"),
    ):
        r = inv.roll_up(rows, city, column, level=level)
        assert r["emissions_tco2e"].sum() == pytest.approx(city_total, rel=1e-9, abs=1e-6)
        named = r[r["entity_code"] != inv.UNATTRIBUTED]
        assert named["emissions_tco2e"].sum() == pytest.approx(rows["e"].sum(), abs=1e-6)
        unattributed = r.loc[r["entity_code"] == inv.UNATTRIBUTED, "emissions_tco2e"].sum()
        assert unattributed == pytest.approx(rest, rel=1e-9, abs=1e-6)
    assert (
        inv.roll_up(rows, city, "enterprise_code", level="enterprise")["entity_code"].nunique()
        == len(rows) + 1
    )


# --------------------------------------------------------------------------- uncertainty
def test_approach1_equations():
    """IPCC 2006 Vol. 1 eq. 3.1: sqrt(5^2 + 12^2) = 13; eq. 3.2 with x = (100, 300) and
    U = (10 %, 20 %): sqrt((10 x 100)^2 + (20 x 300)^2) / 400 = sqrt(1e6 + 3.6e7) / 400
    = 6082.7625 / 400 = 15.2069 %."""
    assert unc.product_uncertainty_pct(5, 12) == pytest.approx(13.0)
    assert unc.sum_uncertainty_pct([100, 300], [10, 20]) == pytest.approx(
        np.sqrt(37e6) / 400, rel=1e-12
    )
    r = unc.approach1([100, 300], [6, 12], [8, 16])  # combined 10 % and 20 % (3-4-5 triangles)
    assert r["uncertainty_pct"] == pytest.approx(np.sqrt(37e6) / 400, rel=1e-12)
    assert r["lower_95"] == pytest.approx(400 * (1 - r["uncertainty_pct"] / 100))
    with pytest.raises(InputError):
        unc.sum_uncertainty_pct([1, -1], [5, 5])


def test_approach2_agrees_with_approach1_for_small_independent_uncertainties():
    x, ua, uf = [1000.0, 2500.0, 400.0], [5, 5, 5], [3, 5, 10]
    a1 = unc.approach1(x, ua, uf)
    a2 = unc.approach2(x, ua, uf, iterations=200_000, seed=1)
    assert a2["total_tco2e"] == pytest.approx(a1["total_tco2e"], rel=2e-3)
    assert a2["uncertainty_pct"] == pytest.approx(a1["uncertainty_pct"], rel=0.03)
    # one factor shared by all categories (full correlation) widens the interval
    shared = unc.approach2(x, ua, uf, factor_group=["f", "f", "f"], iterations=50_000, seed=1)
    assert shared["uncertainty_pct"] > a2["uncertainty_pct"]


def test_uncertainty_ranges_have_sources():
    r = unc.uncertainty_ranges()
    assert (r["source"] != "").all() and (r["clause"] != "").all()
    assert r.at[("activity", "fuel_combustion"), "uncertainty_pct"] == 5.0  # IPCC default ±5 %


# --------------------------------------------------------------------------- published values
def test_coal_equivalent_primary_is_the_cec_coal_rate():
    # CEC 《中国电力行业年度发展报告2023》: 2022 供电标准煤耗 300.7 gce/kWh, 1.0 below 2021
    p = FactorProfile([load_factor_set("cn-power-coal-rate")])

    def gce_per_kwh(year: int) -> float:
        return p.lookup("coal_equivalent_primary", "electricity", "kgce/kWh", year=year) * 1000

    assert gce_per_kwh(2022) == pytest.approx(300.7, rel=1e-12)
    assert gce_per_kwh(2021) == pytest.approx(301.7, rel=1e-12)
    # 2023 and 2024: the 2022 rate carried forward, and 2020: the CEC figure as commonly
    # quoted (305.5), all three rows marked as assumptions
    assert gce_per_kwh(2024) == pytest.approx(300.7, rel=1e-12)
    assert gce_per_kwh(2020) == pytest.approx(305.5, rel=1e-12)
    for year in (2020, 2023, 2024):
        assert p.provenance("coal_equivalent_primary", "electricity", year=year)["status"] == (
            "assumption"
        )
    with pytest.raises(UnknownCodeError):
        p.lookup("coal_equivalent_primary", "electricity", "kgce/kWh", year=2019)


def test_intensity_and_decline():
    # 单位GDP排放: 2 000 tCO2e / 10 000 万元 = 0.2; a drop from 0.25 to 0.2 is a 20 % decline
    assert inv.intensity_per_10k_cny(2000.0, 10_000.0) == 0.2
    assert inv.decline_pct_vs_base(0.2, 0.25) == pytest.approx(20.0)


# --------------------------------------------------------------------------- demo city
def test_demo_results_are_consistent(demo_home):
    from citycarbon.runs.inventory import latest_result
    from citycarbon.store import lake

    b = latest_result("energy_balance")
    sd = b[(b["item"] == "statistical_difference") & (b["fuel"] != "total")]
    assert sd["quantity"].abs().max() < 1e-3  # closed by construction, rounding only
    assert (b["flag"] == "").all()
    assert set(b["tce_basis"]) == {"calorific", "coal_equivalent"}

    ci = latest_result("city_inventory")
    yearly = ci[ci["month"].isna()]
    for basis in inv.BASES:
        x = yearly[yearly["basis"] == basis]
        city = x[x["level"] == "city"].groupby("year")["emissions_tco2e"].sum()
        for level in ("district", "park", "industry", "enterprise"):
            lv = x[x["level"] == level].groupby("year")["emissions_tco2e"].sum()
            assert np.allclose(lv, city, rtol=1e-9)
        months = ci[(ci["level"] == "city") & ci["month"].notna() & (ci["basis"] == basis)]
        assert np.allclose(months.groupby("year")["emissions_tco2e"].sum(), city, rtol=1e-9)
    ne = yearly[(yearly["level"] == "city") & yearly["sector"].isin(["3", "4"])]
    assert (ne["notation_key"] == "NE").all() and ne["emissions_tco2e"].isna().all()

    # industry final consumption covers the enterprises' returns (remainder = assumption)
    em = lake.read_current("energy_monthly")
    from citycarbon.store import catalog

    reg = catalog.registry_frame("enterprises").set_index("credit_code")["industry_code"]
    booked = bal.item_of_industry(reg.reindex(em["enterprise_code"]).to_numpy())
    manu = em[(booked["item"] == "industry_manufacturing").to_numpy()]
    ent = manu.groupby(["year", "fuel"])["consumed_total"].sum()
    city = b[(b["item"] == "industry_manufacturing") & (b["tce_basis"] == "calorific")]
    city = city.set_index(["year", "fuel"])["quantity"].reindex(ent.index)
    assert (city >= ent - 1e-3).all()

    # intensity with comparable prices: total / comparable GDP from city_statistics
    ind = latest_result("city_indicators")
    st_ = lake.read_current("city_statistics", {"region_code": CITY, "indicator": "gdp"})
    gdp = st_[st_["price_basis"].str.startswith("comparable_")].set_index("year")["value"]
    y = ind[(ind["period_type"] == "year")].set_index(["indicator", "year"])["value"]
    for year in gdp.index:
        expected = y[("total_ghg_tco2e", year)] / (gdp[year] * 1e4)  # 10^8 CNY -> 10^4 CNY
        assert y[("intensity_tco2e_per_10k_cny", year)] == pytest.approx(expected, rel=1e-12)
    base = int(gdp.index.min())
    last = int(gdp.index.max())
    i_b = y[("intensity_tco2e_per_10k_cny", base)]
    i_l = y[("intensity_tco2e_per_10k_cny", last)]
    assert y[("intensity_decline_pct_vs_base", last)] == pytest.approx((1 - i_l / i_b) * 100)
    q = ind[(ind["period_type"] == "quarter") & (ind["indicator"] == "total_ghg_tco2e")]
    assert q.groupby("year")["value"].sum().to_numpy() == pytest.approx(
        [y[("total_ghg_tco2e", yr)] for yr in sorted(q["year"].unique())]
    )
    rec = latest_result("inventory_reconciliation")
    assert (rec["flag"] == "").all()
    energy = rec[rec["measure"] == "energy_tce_calorific"].set_index(["year", "sector"])
    assert ((energy["coverage_share"] >= 0) & (energy["coverage_share"] <= 1 + 1e-9)).all()
    assert np.allclose(energy["city"] - energy["enterprises"], energy["unattributed"])
    unc_ = latest_result("inventory_uncertainty")
    assert set(unc_["approach"]) == {1, 2}
    assert (unc_["lower_95"] < unc_["total_tco2e"]).all()


def test_ingest_chinese_balance_and_export(small_demo_dir, tmp_path, monkeypatch):
    from citycarbon.ingest.loader import ingest
    from citycarbon.runs.inventory import (
        balance_from_wide,
        compute_inventory,
        write_balance_xlsx,
    )

    home = tmp_path / "h"
    shutil.copytree(small_demo_dir, home)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    csv = tmp_path / "能源平衡表2024.csv"
    csv.write_text(
        "地区代码,年份,项目,能源品种,实物量,计量单位\n"
        "350200,2024,外省（区、市）调入量,原煤,0.1,万吨\n"
        "350200,2024,火力发电,原煤,-900,吨\n"
        "350200,2024,火力发电,电力,0.02,亿千瓦时\n"
        "350200,2024,本省（区、市）调出量(-),电力,200,万千瓦时\n"
        "350200,2024,制造业,原煤,100,吨\n"
        "350200,2024,煤炭合计,原煤,1,吨\n",
        encoding="utf-8",
    )
    r = ingest("energy_balance", csv, created_by="test")
    assert r.rows_accepted == 5 and r.rows_quarantined == 1  # unknown item is quarantined
    out = compute_inventory([2024], write=False, mc_iterations=500)
    b = out["energy_balance"]
    b = b[(b["year"] == 2024) & (b["tce_basis"] == "calorific")]
    assert cell(b, "inflow", "raw_coal") == pytest.approx(1000.0)  # 0.1 万吨
    assert cell(b, "thermal_power", "electricity") == pytest.approx(200.0)  # 0.02 亿kWh
    assert cell(b, "outflow", "electricity") == -200.0
    assert cell(b, "statistical_difference", "raw_coal") == pytest.approx(0.0, abs=1e-9)
    path = write_balance_xlsx(out["energy_balance"], tmp_path / "balance.xlsx", year=2024)
    import openpyxl

    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["实物量", "标准量（当量值）", "标准量（等价值）", "检查"]
    rows = [r[0] for r in wb["实物量"].iter_rows(min_row=3, max_col=1, values_only=True)]
    assert rows[0] == "可供本地区消费的能源量" and rows[-1] == "消费量合计"
    # the yearbook layout reads back into the same balance (round trip)
    wide = pd.read_excel(path, sheet_name="实物量", header=1)
    back = balance_from_wide(wide, region_code=CITY, year=2024, source=str(path))
    again = bal.complete_balance(back)
    assert (again["flag"] == "").all()
    first = b[b["fuel"] != "total"].set_index(["item", "fuel"])["quantity"]
    assert again.set_index(["item", "fuel"])["quantity"].reindex(first.index).to_numpy() == (
        pytest.approx(first.to_numpy(), rel=1e-9, abs=1e-9)
    )


def test_cli_inventory(demo_home, tmp_path):
    from typer.testing import CliRunner

    from citycarbon.cli import app

    runner = CliRunner()
    out = tmp_path / "b.xlsx"
    res = runner.invoke(app, ["inventory", "balance", "--xlsx", str(out)])
    assert res.exit_code == 0, res.output
    assert "消费量合计" in res.output and out.exists()
    res = runner.invoke(app, ["inventory", "show"])
    assert res.exit_code == 0, res.output
    assert "total_ghg_tco2e" in res.output and "NE" in res.output
