"""Agriculture (IPCC 3.A, 3.C) and fugitive emissions (1.B) of issue 15: the equations of
IPCC 2006 Vol. 4 and Vol. 2 Ch. 4 against hand computations, NE and NO by data, the ingest kind,
and the small demo city's inventory, GPC table and 清单 page."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting import agriculture as agri
from citycarbon.accounting import fugitive as fug
from citycarbon.contract.records import record_text
from citycarbon.records import parse_record
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures

N2O = 44.0 / 28.0


def _agri_rows(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        rows, columns=["region_code", "year", "item", "manure_system", "quantity", "days"]
    )


# ------------------------------------------------------------------------------ equations
def test_livestock_equations_by_hand():
    """IPCC 2006 Vol. 4 eqs. 10.19, 10.22, 10.25, 10.30, by hand.

    Enteric: 1 000 dairy cattle x 68 kg CH4/head/yr = 68 000 kg = 68 t        (eq. 10.19)
    Nex of a 350 kg cow at 0.47 kg N/(1000 kg)/day: 0.47 x 350/1000 x 365
        = 60.0425 kg N/head/yr                                                  (eq. 10.30)
    Manure N2O of 100 such cows in solid storage (EF3 0.005):
        100 x 60.0425 x 0.005 x 44/28 = 47.17625 kg = 0.04717625 t               (eq. 10.25)
    """
    assert agri.livestock_ch4_t(1000, 68) == pytest.approx(68.0)
    nex = agri.n_excretion_kg_per_head_yr(0.47, 350)
    assert nex == pytest.approx(60.0425)
    assert agri.manure_n2o_direct_t(100, nex, 0.005) == pytest.approx(0.04717625, rel=1e-9)


def test_rice_equation_by_hand():
    """IPCC 2006 Vol. 4 eqs. 5.1, 5.2: 1 000 ha x 120 days x 1.30 kg CH4/ha/day x SFw 0.60
    (intermittent, single aeration) x SFp 1 x SFo 1 = 93 600 kg = 93.6 t CH4."""
    assert agri.rice_ch4_t(1000, 120, 1.30, 0.60, 1.0, 1.0) == pytest.approx(93.6)


def test_soil_n2o_equations_by_hand():
    """IPCC 2006 Vol. 4 eqs. 11.1, 11.9, 11.10, by hand.

    F_SN 1 000 t N, F_ON 200 t N, F_CR 0, F_PRP 100 t N:
    direct = (1200 x 0.01 + 100 x 0.02) x 44/28 = 14 x 44/28 = 22.0 t N2O      (eq. 11.1)
    volatilisation = (1000 x 0.10 + 300 x 0.20) x 0.01 x 44/28
        = 1.6 x 44/28 = 2.514286 t                                             (eq. 11.9)
    leaching = 1300 x 0.30 x 0.0075 x 44/28 = 2.925 x 44/28 = 4.596429 t       (eq. 11.10)
    """
    assert agri.soil_n2o_direct_t(1200, 0.01, 100, 0.02) == pytest.approx(22.0)
    assert agri.soil_n2o_volatilisation_t(1000, 300, 0.10, 0.20, 0.01) == pytest.approx(1.6 * N2O)
    assert agri.soil_n2o_leaching_t(1300, 0.30, 0.0075) == pytest.approx(2.925 * N2O)


def test_fugitive_equations_by_hand():
    """IPCC 2006 Vol. 2 eqs. 4.1.3 and 4.2.1, by hand.

    1 000 000 t raw coal from underground mines x (18 + 2.5) m3/t x 0.67 kg/m3
        = 13 735 000 kg = 13 735 t CH4
    450 x 10^6 m3 distributed x 1.1E-03 Gg/10^6 m3 = 0.495 Gg = 495 t CH4
    """
    assert fug.coal_mining_ch4_t(1e6, 18, 2.5, 0.67) == pytest.approx(13735.0)
    assert fug.gas_system_t(450, 1.1e-3) == pytest.approx(495.0)


def test_every_default_is_sourced_and_marked():
    for table in (agri.agriculture_defaults(), fug.fugitive_defaults()):
        assert (table["source"].str.len() > 0).all() and (table["unit"].str.len() > 0).all()
        # a value is either checked against a transcription of its table or labelled an
        # assumption that says what is left to verify (or that it is citycarbon's choice)
        checked = table["note"].str.contains("checked")
        assert (checked ^ table["assumption"]).all()
        unchecked = table[table["assumption"] & table["source"].str.startswith("IPCC")]
        assert unchecked["note"].str.contains("to verify|no factor").all()
    # every livestock species has the factors of each Tier 1 equation
    d = agri.agriculture_defaults()
    for parameter in ("ef_enteric", "n_rate", "tam", "ef3_prp"):
        assert set(d.loc[d["parameter"] == parameter, "key"]) == set(agri.LIVESTOCK), parameter
    for temperature_c in range(5, 35):  # every column of Tables 10.14 and 10.15, clipped
        ctx = agri.manure_ch4_context(agri.LIVESTOCK, temperature_c)
        t = d[d["parameter"] == "ef_manure_ch4"].set_index(["key", "context"])["value"]
        assert t.reindex(pd.MultiIndex.from_arrays([list(agri.LIVESTOCK), ctx])).notna().all()
    assert not np.isnan(agri.default("sf_w", agri.RICE)).any()
    systems = [s for s in agri.MANURE_SYSTEMS if s != "pasture"]
    assert not np.isnan(agri.default("ef3", systems)).any()


@pytest.mark.parametrize(
    ("parameter", "key", "context", "published"),
    [
        # IPCC 2006 Vol. 4 Ch. 10 Table 10.11 (Asia) and Table 10.10 (developing countries)
        ("ef_enteric", "dairy_cattle", "", 68),
        ("ef_enteric", "other_cattle", "", 47),
        ("ef_enteric", "buffalo", "", 55),
        ("ef_enteric", "swine", "", 1),
        # Table 10.14 (Asia, per degree of annual average temperature)
        ("ef_manure_ch4", "dairy_cattle", "10", 9),
        ("ef_manure_ch4", "dairy_cattle", "21", 20),
        ("ef_manure_ch4", "dairy_cattle", "28", 31),
        ("ef_manure_ch4", "swine", "10", 2),
        ("ef_manure_ch4", "swine", "21", 4),
        ("ef_manure_ch4", "buffalo", "15", 2),
        # Table 10.15 (developing countries)
        ("ef_manure_ch4", "sheep", "temperate", 0.15),
        ("ef_manure_ch4", "horses", "warm", 2.19),
        # Table 10.19 (Asia) and its typical animal mass
        ("n_rate", "dairy_cattle", "", 0.47),
        ("tam", "buffalo", "", 380),
        # Table 10.21 (EF3) and Ch. 11 Tables 11.1, 11.3
        ("ef3", "solid_storage", "", 0.005),
        ("ef1", "", "", 0.01),
        ("ef5", "", "", 0.0075),
        # Ch. 5 Tables 5.11, 5.12
        ("ef_c", "", "", 1.30),
        ("sf_w", "rice_intermittent_multiple", "", 0.52),
    ],
)
def test_agriculture_defaults_are_the_ipcc_2006_table_values(parameter, key, context, published):
    assert agri.default(parameter, [key], context)[0] == pytest.approx(published)


@pytest.mark.parametrize(
    ("parameter", "key", "context", "published", "low", "high"),
    [
        # IPCC 2006 Vol. 2 Ch. 4 §4.1.3.2 and §4.1.4.2 (Tier 1 coal mining, m3 CH4/t)
        ("ef_ch4", "coal_underground", "mining", 18, 10, 25),
        ("ef_ch4", "coal_surface", "mining", 1.2, 0.3, 2.0),
        # Table 4.2.5 (developing countries; low end of the range, Gg/10^6 m3)
        ("ef_ch4", "gas_distribution", "", 1.1e-3, 1.1e-3, 2.5e-3),
        ("ef_ch4", "gas_transmission", "", 1.66e-4, 1.66e-4, 1.1e-3),
        ("ef_co2", "gas_transmission", "", 8.8e-7, 8.8e-7, 2.0e-6),
    ],
)
def test_fugitive_defaults_and_ranges_are_the_ipcc_2006_values(
    parameter, key, context, published, low, high
):
    t = fug.fugitive_defaults()
    r = t[(t["parameter"] == parameter) & (t["key"] == key) & (t["context"] == context)].iloc[0]
    assert (r["value"], r["low"], r["high"]) == pytest.approx((published, low, high))


def test_manure_ch4_column_follows_the_temperature():
    got = agri.manure_ch4_context(["dairy_cattle", "sheep", "swine"], 21.4)
    assert list(got) == ["21", "temperate", "21"]
    assert list(agri.manure_ch4_context(["buffalo", "goats"], 3.0)) == ["10", "cool"]
    assert list(agri.manure_ch4_context(["swine", "horses"], 30.0)) == ["28", "warm"]


# ------------------------------------------------------------------------------ tier chains
def test_agriculture_chain_by_hand_and_ne_reasons():
    """One year of a small farm: 1 000 swine (500 solid storage, 500 pasture), 100 ha of
    continuously flooded rice for 100 days, 50 t synthetic N; the other year has no data.

    3.A.1 CH4 = 1000 x 1.0 kg = 1.0 t (Table 10.10, swine, developing countries)
    3.A.2 CH4 = 1000 x 4 kg = 4.0 t (Table 10.14, Asia swine at 20 C)
    Nex = 0.50 x 28/1000 x 365 = 5.11 kg N/head/yr
    3.A.2 N2O = 500 x 5.11 x 0.005 x 44/28 kg = 0.0200750 t
    F_PRP = 500 x 5.11 kg = 2.555 t N
    3.C.4 = (50 x 0.01 + 2.555 x 0.02) x 44/28 = 0.5511 x 44/28 = 0.866014 t
    3.C.5 = [(50 x 0.1 + 2.555 x 0.2) x 0.01 + (52.555 x 0.3 x 0.0075)] x 44/28
          = (0.05511 + 0.11824875) x 44/28 = 0.272421 t
    3.C.7 = 100 x 100 x 1.30 x 1.0 x 1e-3 = 13.0 t
    """
    rows = _agri_rows(
        ("350200", 2022, "swine", "solid_storage", 500.0, np.nan),
        ("350200", 2022, "swine", "pasture", 500.0, np.nan),
        ("350200", 2022, "rice_continuously_flooded", "", 100.0, 100.0),
        ("350200", 2022, "synthetic_n", "", 50.0, np.nan),
    )
    out = agri.agriculture_emissions(
        rows, region_code="350200", years=[2022, 2023], temperature_c=20
    )
    got = out[out["year"] == 2022].set_index(["sector", "gas"])["emissions_t"]
    assert got[("3.A.1", "CH4")] == pytest.approx(1.0)
    assert got[("3.A.2", "CH4")] == pytest.approx(4.0)
    assert got[("3.A.2", "N2O")] == pytest.approx(0.0200750, rel=1e-5)
    assert got[("3.C.4", "N2O")] == pytest.approx(0.5511 * N2O, rel=1e-9)
    assert got[("3.C.5", "N2O")] == pytest.approx((0.05511 + 0.11824875) * N2O, rel=1e-9)
    assert got[("3.C.7", "CH4")] == pytest.approx(13.0)
    assert (out.loc[out["year"] == 2022, "notation_key"] == "").all()
    empty = out[out["year"] == 2023]
    assert empty["emissions_t"].isna().all() and (empty["notation_key"] == "NE").all()
    assert empty["method"].map(lambda m: record_text(m, "en")).str.startswith("NE: no ").all()
    assert "没有" in record_text(empty["method"].iloc[0], "zh")  # said in the page's language


def test_manure_n2o_is_ne_without_the_system_of_every_head():
    rows = _agri_rows(
        ("350200", 2022, "dairy_cattle", "solid_storage", 10.0, np.nan),
        ("350200", 2022, "other_cattle", "", 10.0, np.nan),
    )
    out = agri.agriculture_emissions(rows, region_code="350200", years=[2022], temperature_c=27)
    got = out.set_index(["sector", "gas"])
    assert got.loc[("3.A.2", "N2O"), "notation_key"] == "NE"
    assert parse_record(got.loc[("3.A.2", "N2O"), "method"]) == [("agri_ne_manure_system", {})]
    assert "manure_system" in record_text(got.loc[("3.A.2", "N2O"), "method"], "en")
    # CH4 needs no system (Tier 1 factors per head; Table 10.14 Asia at 27 C: dairy 31, other
    # cattle 1 kg/head/yr): 10 x 31 + 10 x 1 kg = 0.32 t
    assert got.loc[("3.A.2", "CH4"), "emissions_t"] == pytest.approx(0.32)


@settings(max_examples=30, deadline=None)
@given(st.floats(0.5, 10.0), st.lists(st.floats(0, 1e5), min_size=4, max_size=4))
def test_agriculture_scales_linearly_and_parts_sum(scale, q):
    """Tier 1 is linear in the activity data; the categories add up to the sector."""
    rows = _agri_rows(
        ("350200", 2022, "goats", "pasture", q[0], np.nan),
        ("350200", 2022, "poultry", "poultry_manure", q[1], np.nan),
        ("350200", 2022, "rice_intermittent_multiple", "", q[2], 90.0),
        ("350200", 2022, "manure_n", "", q[3], np.nan),
    )
    base = agri.agriculture_gases(rows, 21.0)
    big = agri.agriculture_gases(rows.assign(quantity=rows["quantity"] * scale), 21.0)
    np.testing.assert_allclose(big["emissions_t"], base["emissions_t"] * scale, rtol=1e-9)
    per_gas = base.groupby("gas")["emissions_t"].sum()
    assert per_gas.sum() == pytest.approx(base["emissions_t"].sum())


def test_fugitive_no_ne_and_estimate_by_data():
    rows = pd.DataFrame(
        {
            "region_code": "350200",
            "year": [2022, 2022, 2023],
            "activity": ["coal_underground", "gas_distribution", "gas_distribution"],
            "quantity": [0.0, 450.0, 0.0],
        }
    )
    out = fug.fugitive_emissions(rows, region_code="350200", years=[2022, 2023])
    got = out.set_index(["year", "sector", "gas"])
    coal = got.loc[(2022, "1.B.1", "CH4")]
    assert coal["notation_key"] == "NO" and np.isnan(coal["emissions_t"])
    assert "no coal mines" in record_text(coal["method"], "en")
    assert got.loc[(2022, "1.B.2", "CH4"), "emissions_t"] == pytest.approx(495.0)
    assert got.loc[(2022, "1.B.2", "CO2"), "emissions_t"] == pytest.approx(450 * 5.1e-5 * 1e3)
    assert got.loc[(2023, "1.B.1", "CH4"), "notation_key"] == "NE"  # not reported
    assert got.loc[(2023, "1.B.2", "CH4"), "notation_key"] == "NO"  # reported as 0


# ------------------------------------------------------------------------------ ingest
def test_agriculture_ingest_refuses_unknown_items_and_systems(tmp_path, monkeypatch):
    from citycarbon.ingest.loader import ingest
    from citycarbon.store import catalog, lake

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    f = tmp_path / "agriculture.csv"
    f.write_text(
        "行政区划代码,年份,项目,粪便管理方式,数量,生长期\n"
        "350200,2022,swine,solid_storage,1000,\n"
        "350200,2022,rice_intermittent_single,,500,115\n"
        "350200,2022,llama,solid_storage,10,\n"
        "350200,2022,swine,volcano,10,\n",
        encoding="utf-8",
    )
    try:
        r = ingest("agriculture", f)
        assert (r.rows_accepted, r.rows_quarantined) == (2, 2)
        assert {"项目", "粪便管理方式"} <= set(r.problems["column"])
        got = lake.read_current("agriculture").sort_values("item")
        assert list(got["item"]) == ["rice_intermittent_single", "swine"]
        assert got["days"].iloc[0] == pytest.approx(115.0)
    finally:
        catalog.dispose_engines()


# ------------------------------------------------------------------------------ the demo city
@pytest.fixture(scope="module")
def demo_inventory(small_demo_dir):
    from citycarbon.runs.inventory import compute_inventory

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(small_demo_dir))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        return compute_inventory(write=False, mc_iterations=2000)


def test_demo_inventory_has_agriculture_and_fugitive_rows(demo_inventory):
    ci = demo_inventory["city_inventory"]
    city = ci[(ci["level"] == "city") & ci["month"].isna() & (ci["basis"] == "territorial")]
    farm = city[city["sector"].str.startswith("3")]
    assert set(farm["sector"]) == set(agri.CATEGORIES)
    assert (farm["notation_key"] == "").all() and (farm["emissions_tco2e"] > 0).all()
    said = farm["method"].map(lambda m: record_text(m, "en"))
    assert said.str.contains("IPCC 2006 Vol. 4|eq. 10.22", regex=True).all()
    assert farm["method"].map(parse_record).notna().all()  # records, said in either language
    assert (farm["sector_name_en"] != "").all() and (farm["sector_name_zh"] != "").all()
    coal = city[city["sector"] == "1.B.1"]
    assert (coal["notation_key"] == "NO").all() and coal["emissions_t"].isna().all()
    gas = city[city["sector"] == "1.B.2"]
    assert (gas["emissions_tco2e"] > 0).all()
    assert not city["sector"].isin(["1.B", "3"]).any()  # no aggregate NE row any more
    # GPC: livestock (V.1) and aggregate sources on land (V.3) equal the 3.A and 3.C rows;
    # I.7.1 (coal) is NO, I.8.1 (oil and gas) equals 1.B.2
    gpc = demo_inventory["gpc_inventory"]
    for ref, prefix in (("V.1", "3.A"), ("V.3", "3.C"), ("I.8.1", "1.B.2")):
        g = gpc[gpc["gpc_ref"] == ref].groupby("year")["emissions_tco2e"].sum()
        c = city[city["sector"].str.startswith(prefix)].groupby("year")["emissions_tco2e"].sum()
        np.testing.assert_allclose(g.reindex(c.index), c, rtol=1e-12)
    assert (gpc.loc[gpc["gpc_ref"] == "I.7.1", "notation_key"] == "NO").all()
    # the uncertainty total covers them (approach 1 total = the territorial total)
    total = city.groupby("year")["emissions_tco2e"].sum()
    unc = demo_inventory["inventory_uncertainty"]
    a1 = unc[(unc["approach"] == 1) & (unc["basis"] == "territorial")].set_index("year")
    np.testing.assert_allclose(a1["total_tco2e"].reindex(total.index), total, rtol=1e-9)


def test_inventory_page_names_the_new_sectors_in_each_language(app):
    client = sign_in(app, "analyst")
    zh = client.get("/inventory").text
    en = client.get("/inventory", params={"lang": "en"}).text
    assert "动物肠道发酵" in zh and "稻田甲烷排放" in zh and "石油和天然气系统逸散" in zh
    assert "enteric fermentation" in en and "rice cultivation" in en
    assert "动物肠道发酵" not in en and "稻田甲烷排放" not in en
