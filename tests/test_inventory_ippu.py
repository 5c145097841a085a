"""IPPU (IPCC sector 2) in the city inventory, estimated from ``industrial_output``.

Published numbers used here:
- IPCC 2006 Guidelines, Vol. 3, Ch. 6, Table 6.2 (Tier 1 emission factors, TFT flat panel
  displays): CF4 0.5 g/m2, NF3 0.9 g/m2, SF6 4 g/m2 of substrate processed.
- IPCC 2006 Guidelines, Vol. 3, Ch. 2, eq. 2.8: Tier 1 lime factor 0.75 tCO2/t lime.
- IPCC AR5 WG1 (2013), Ch. 8, Table 8.A.1, GWP100: CF4 6630, NF3 16100, SF6 23500.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting.ippu import ippu_activity, ippu_emissions, match_products
from citycarbon.config import load_city
from citycarbon.contract.records import record_text

# IPCC 2006 Vol. 3 Table 6.2, TFT-FPD, converted g/m2 -> kg/m2; AR5 Table 8.A.1 GWP100.
TABLE_6_2_TFT_KG_PER_M2 = {"CF4": 0.0005, "NF3": 0.0009, "SF6": 0.004}
AR5_GWP100 = {"CF4": 6630.0, "NF3": 16100.0, "SF6": 23500.0}


@pytest.fixture(scope="module")
def profile():
    return load_city("xiamen").factor_profile("inventory")


def _output(rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["enterprise_code", "year", "month", "product", "quantity", "unit"]
    )


def test_factor_set_holds_the_published_values(profile):
    for gas, ef in TABLE_6_2_TFT_KG_PER_M2.items():
        assert profile.lookup("fgas_ef", gas, "kg/m2", context="tft_fpd") == ef
        assert profile.lookup("gwp100", gas, "1") == AR5_GWP100[gas]


def test_lcd_panel_tier1_hand_computed(profile):
    """One enterprise, 100 x 10^4 m2 of LCD panels (taken as substrate area processed):

    area = 100 x 10^4 m2 = 1 000 000 m2 (IPCC 2006 Vol. 3 eq. 6.1: E_i = EF_i x C_u x C_d)
    CF4 = 1e6 m2 x 0.0005 kg/m2 = 500 kg = 0.5 t  -> x 6630  =  3 315 tCO2e
    NF3 = 1e6 m2 x 0.0009 kg/m2 = 900 kg = 0.9 t  -> x 16100 = 14 490 tCO2e
    SF6 = 1e6 m2 x 0.004 kg/m2 = 4000 kg = 4.0 t  -> x 23500 = 94 000 tCO2e
    total                                                    = 111 805 tCO2e (AR5)
    """
    out = _output([("E1", 2024, 3, "液晶显示面板", 100.0, "10^4 m2")])
    rows, prov = ippu_emissions(out, profile)
    got = rows.set_index("gas")
    assert set(got.index) == {"CF4", "NF3", "SF6"}
    assert (got["sector"] == "2.E.2").all() and (got["scope"] == 1).all()
    assert got.loc["CF4", "emissions_t"] == pytest.approx(0.5, rel=1e-12)
    assert got.loc["NF3", "emissions_t"] == pytest.approx(0.9, rel=1e-12)
    assert got.loc["SF6", "emissions_t"] == pytest.approx(4.0, rel=1e-12)
    assert got.loc["CF4", "emissions_tco2e"] == pytest.approx(3315.0, rel=1e-12)
    assert got.loc["NF3", "emissions_tco2e"] == pytest.approx(14490.0, rel=1e-12)
    assert got.loc["SF6", "emissions_tco2e"] == pytest.approx(94000.0, rel=1e-12)
    assert got["emissions_tco2e"].sum() == pytest.approx(111805.0, rel=1e-12)
    # provenance: method, the factor values used and the GWP set, per gas
    sf6 = record_text(prov.set_index("gas").loc["SF6", "method"], "en")
    assert "eq. 6.1" in sf6 and "fgas_ef[SF6|tft_fpd] = 0.004 kg/m2" in sf6
    assert "ipcc-ar5-gwp100" in sf6 and "assumption: the panel area" in sf6
    assert (prov["notation_key"] == "").all()


def test_lime_tier1_and_alias(profile):
    # 1 000 t lime x 0.75 tCO2/t (IPCC 2006 Vol. 3 eq. 2.8) = 750 tCO2; TFT-LCD面板 is an alias
    out = _output(
        [("E1", 2024, 1, "生石灰", 1000.0, "t"), ("E2", 2024, 1, "TFT-LCD面板", 1.0, "万平方米")]
    )
    rows, _ = ippu_emissions(out, profile)
    lime = rows[rows["sector"] == "2.A.2"]
    assert lime["gas"].tolist() == ["CO2"]
    assert lime["emissions_tco2e"].iloc[0] == pytest.approx(750.0, rel=1e-12)
    assert set(rows.loc[rows["enterprise_code"] == "E2", "sector"]) == {"2.E.2"}


def test_unmapped_and_incompatible_products_are_ne_not_converted(profile):
    out = _output(
        [
            ("E1", 2024, 1, "印制电路板", 5.0, "10^4 m2"),  # not an IPPU source: ignored
            ("E2", 2024, 1, "集成电路", 7.0, "10^4 pieces"),  # 2.E.1, pieces: NE
            ("E3", 2024, 1, "液晶显示面板", 2.0, "10^4 pieces"),  # right product, wrong unit
            ("E4", 2024, 1, "平板玻璃", 3.0, "10^4 crates"),  # unit unknown to units
        ]
    )
    rows, prov = ippu_emissions(out, profile)
    assert rows.empty
    # 重量箱 is a mass (50 kg): 3 x 10^4 weight cases are 1,500 t of glass, converted
    cases, _ = ippu_emissions(
        _output([("E5", 2024, 1, "平板玻璃", 3.0, "10^4 weight cases")]), profile
    )
    tonnes, _ = ippu_emissions(_output([("E5", 2024, 1, "平板玻璃", 1500.0, "t")]), profile)
    assert len(cases) == 1 and cases["emissions_t"].sum() == pytest.approx(
        tonnes["emissions_t"].sum()
    )
    assert match_products(pd.Series(["印制电路板"]))["category"].isna().all()
    ne = prov.set_index(["sector", "gas"])["method"].map(lambda m: record_text(m, "en"))
    assert (prov["notation_key"] == "NE").all()
    assert set(prov["sector"]) == {"2.E.1", "2.E.2", "2.A.3"}
    assert "pieces" in ne.loc[("2.E.1", "CF4")]
    assert "m2" in ne.loc[("2.E.1", "CF4")]
    assert "no conversion applied" in ne.loc[("2.E.2", "SF6")]
    assert "no conversion applied" in ne.loc[("2.A.3", "CO2")]
    # the NE rows of an electronics category list the gases of its Tier 1 factor set
    assert set(prov.loc[prov["sector"] == "2.E.1", "gas"]) == {
        "CF4",
        "C2F6",
        "HFC-23",
        "C3F8",
        "NF3",
        "SF6",
    }


@settings(max_examples=25, deadline=None)
@given(
    st.lists(st.floats(0.0, 1e3, allow_nan=False), min_size=1, max_size=6),
    st.floats(0.1, 10.0),
)
def test_sum_over_enterprises_and_linear_scaling(quantities, k):
    profile = load_city("xiamen").factor_profile("inventory")
    out = _output(
        [
            (f"E{i}", 2024, 1 + i % 12, "液晶显示面板", q, "10^4 m2")
            for i, q in enumerate(quantities)
        ]
    )
    rows, _ = ippu_emissions(out, profile)
    total = rows["emissions_tco2e"].sum()
    expected = (
        sum(quantities)
        * 1e4
        * sum(TABLE_6_2_TFT_KG_PER_M2[g] * 1e-3 * AR5_GWP100[g] for g in AR5_GWP100)
    )
    assert total == pytest.approx(expected, rel=1e-9, abs=1e-9)
    scaled, _ = ippu_emissions(out.assign(quantity=out["quantity"] * k), profile)
    assert scaled["emissions_tco2e"].sum() == pytest.approx(k * total, rel=1e-9, abs=1e-9)


def test_activity_repeats_electronics_rows_per_gas(profile):
    out = _output([("E1", 2024, 1, "液晶显示面板", 1.0, "10^4 m2")])
    act, ne = ippu_activity(out, profile)
    assert sorted(act["material"]) == ["CF4", "NF3", "SF6"] and ne.empty


# ---------------------------------------------------------------- the small demo city's inventory
def test_demo_city_display_panels_ippu_positive_and_rolled_up(demo_inventory):
    ci = demo_inventory["city_inventory"]
    yearly = ci[ci["month"].isna() & (ci["basis"] == "territorial")]
    city = yearly[(yearly["level"] == "city") & (yearly["sector"] == "2.E.2")]
    by_year = city.groupby("year")["emissions_tco2e"].sum()
    assert len(by_year) == 3 and (by_year > 0).all()
    assert set(city["gas"]) == {"CF4", "NF3", "SF6"}
    assert (city["scope"] == 1).all() and (city["sector_name_zh"] != "").all()
    assert city["method"].map(lambda m: record_text(m, "en")).str.contains("Table 6.2").all()
    # both bases carry IPPU (it is scope 1, territorial)
    both = ci[(ci["level"] == "city") & ci["month"].isna() & (ci["sector"] == "2.E.2")]
    assert set(both["basis"]) == {"territorial", "incl_net_imported_electricity"}
    # every level sums to the city, each enterprise counted once; nothing unattributed
    for level in ("district", "park", "industry", "enterprise"):
        lv = yearly[(yearly["level"] == level) & (yearly["sector"] == "2.E.2")]
        np.testing.assert_allclose(
            lv.groupby("year")["emissions_tco2e"].sum().reindex(by_year.index), by_year, rtol=1e-9
        )
        un = lv.loc[lv["entity_code"] == "unattributed", "emissions_tco2e"].abs().sum()
        assert un <= 1e-6 * by_year.sum()
    # months add up to the year
    months = ci[(ci["level"] == "city") & ci["month"].notna() & (ci["basis"] == "territorial")]
    m = months[months["sector"] == "2.E.2"].groupby("year")["emissions_tco2e"].sum()
    np.testing.assert_allclose(m.reindex(by_year.index), by_year, rtol=1e-9)
    # ICs are reported in pieces in the demo: 2.E.1 is NE with the reason; other IPPU stays NE
    ic = yearly[(yearly["level"] == "city") & (yearly["sector"] == "2.E.1")]
    assert len(ic) and (ic["notation_key"] == "NE").all() and ic["emissions_t"].isna().all()
    assert ic["method"].map(lambda m: record_text(m, "en")).str.contains("pieces").all()
    other = yearly[(yearly["level"] == "city") & (yearly["sector"] == "2")]
    assert (other["notation_key"] == "NE").all()


def test_demo_totals_gpc_and_uncertainty_include_ippu(demo_inventory):
    ci = demo_inventory["city_inventory"]
    city = ci[(ci["level"] == "city") & ci["month"].isna() & (ci["basis"] == "territorial")]
    ippu = city[city["sector"].str.startswith("2")].groupby("year")["emissions_tco2e"].sum()
    total = city.groupby("year")["emissions_tco2e"].sum()
    ind = demo_inventory["city_indicators"]
    ind = ind[ind["period_type"] == "year"].set_index(["indicator", "year"])["value"]
    gpc = demo_inventory["gpc_inventory"]
    gpc_ippu = gpc[gpc["gpc_ref"].str.startswith("IV")].groupby("year")["emissions_tco2e"].sum()
    scope3 = gpc[(gpc["scope"] == 3) & gpc["basic_plus"] & ~gpc["basic"]]
    scope3 = scope3.groupby("year")["emissions_tco2e"].sum()
    afolu = gpc[gpc["gpc_ref"].str.startswith("V")].groupby("year")["emissions_tco2e"].sum()
    for y in total.index:
        assert ind[("total_ghg_tco2e_territorial", y)] == pytest.approx(total[y], rel=1e-12)
        # GPC IV (IPPU) is the inventory's sector 2; BASIC+ = BASIC + IPPU + AFOLU (land: the
        # sinks, negative; livestock NE) + the scope 3 of BASIC+ (T&D losses, transboundary
        # journeys)
        assert gpc_ippu[y] == pytest.approx(ippu[y], rel=1e-12)
        diff = ind[("gpc_basic_plus_tco2e", y)] - ind[("gpc_basic_tco2e", y)]
        assert diff == pytest.approx(ippu[y] + afolu[y] + scope3[y], rel=1e-9)
    unc = demo_inventory["inventory_uncertainty"]
    a1 = unc[(unc["approach"] == 1) & (unc["basis"] == "territorial")].set_index("year")
    np.testing.assert_allclose(a1["total_tco2e"].reindex(total.index), total, rtol=1e-9)
    # the energy reconciliation knows nothing of IPPU
    rec = demo_inventory["inventory_reconciliation"]
    energy = rec[rec["measure"] == "energy_tce_calorific"]
    assert not energy["sector"].astype(str).str.startswith("2").any()


def test_category_partly_estimated_says_so(profile):
    out = _output(
        [
            ("E1", 2024, 1, "液晶显示面板", 1.0, "10^4 m2"),
            ("E2", 2024, 1, "液晶显示面板", 1.0, "10^4 pieces"),
        ]
    )
    rows, prov = ippu_emissions(out, profile)
    assert set(rows["enterprise_code"]) == {"E1"}
    p = prov.set_index("gas")
    assert (prov["notation_key"] == "").all() and len(prov) == 3
    cf4 = record_text(p.loc["CF4", "method"], "en")
    assert "partly NE" in cf4 and "10^4 pieces" in cf4
    assert "部分 NE" in record_text(p.loc["CF4", "method"], "zh")


def test_every_ippu_category_of_the_product_map_has_an_english_name():
    """English pages and files name every IPPU row (no bare code such as 2.E.1)."""
    from citycarbon.accounting.inventory import category_names_by_code, label_sectors
    from citycarbon.accounting.ippu import ippu_products

    codes = sorted(set(ippu_products()["category"]))
    named = label_sectors(pd.DataFrame({"sector": codes}))
    assert (named["sector_name_en"] != "").all(), named[named["sector_name_en"] == ""]
    assert (named["sector_name_zh"] != "").all()
    assert category_names_by_code().at["2.E.2", "en"] == "TFT flat panel display"
