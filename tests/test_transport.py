"""Transport by mode (1.A.3, issue 15): IPCC 2006 Vol. 2 Ch. 3 Tier 1 factors, memo items,
GPC scopes, the demo city's inventory and the transport_fuel ingest kind."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting import transport as tr
from citycarbon.config import as_city
from citycarbon.contract.records import record_text
from citycarbon.records import parse_record


@pytest.mark.parametrize(
    ("parameter", "mode", "fuel", "technology", "published_kg_per_tj"),
    [
        # IPCC 2006 Vol. 2 Ch. 3 Table 3.2.2, p. 3.21 (road transport N2O and CH4 defaults)
        ("ch4_ef", "road", "motor_gasoline", "uncontrolled", 33),
        ("n2o_ef", "road", "motor_gasoline", "uncontrolled", 3.2),
        ("ch4_ef", "road", "motor_gasoline", "oxidation_catalyst", 25),
        ("n2o_ef", "road", "motor_gasoline", "oxidation_catalyst", 8.0),
        ("ch4_ef", "road", "motor_gasoline", "low_mileage_ldv_1995_or_later", 3.8),
        ("n2o_ef", "road", "motor_gasoline", "low_mileage_ldv_1995_or_later", 5.7),
        ("ch4_ef", "road", "gas_diesel_oil", "", 3.9),
        ("n2o_ef", "road", "gas_diesel_oil", "", 3.9),
        ("ch4_ef", "road", "natural_gas", "", 92),
        ("ch4_ef", "road", "liquefied_petroleum_gases", "", 62),
        # Table 3.4.1 (railways, diesel)
        ("ch4_ef", "rail", "gas_diesel_oil", "", 4.15),
        ("n2o_ef", "rail", "gas_diesel_oil", "", 28.6),
        # Table 3.5.3 (water-borne navigation, ocean-going ships)
        ("ch4_ef", "navigation", "residual_fuel_oil", "", 7),
        ("n2o_ef", "navigation", "residual_fuel_oil", "", 2),
        # Table 3.6.5 (aviation, Tier 1)
        ("ch4_ef", "aviation", "jet_kerosene", "", 0.5),
        ("n2o_ef", "aviation", "jet_kerosene", "", 2),
    ],
)
def test_factors_are_the_ipcc_table_values(parameter, mode, fuel, technology, published_kg_per_tj):
    got = tr.mobile_ef_kg_per_tj(parameter, [mode], [fuel], [technology])[0]
    assert got == pytest.approx(published_kg_per_tj)


def test_factors_carry_source_unit_and_assumption_flag():
    t = tr.transport_defaults()
    assert (t["unit"] == "kg/TJ").all() and t["source"].str.startswith("IPCC 2006").all()
    # the gasoline default without a technology is a choice, labelled as one
    dflt = t[(t["ipcc_fuel"] == "motor_gasoline") & (t["technology"] == "")]
    assert dflt["assumption"].all() and dflt["note"].str.contains("ASSUMPTION").all()


def test_mobile_gas_hand_computation():
    # 1000 t of diesel at the IPCC default NCV 43.0 TJ/Gg (Vol. 2 Table 1.2) = 43 TJ;
    # road CH4 3.9 kg/TJ -> 167.7 kg; rail N2O 28.6 kg/TJ -> 1229.8 kg
    assert tr.mobile_gas_t(43.0, 3.9) == pytest.approx(0.1677)
    assert tr.mobile_gas_t(43.0, 28.6) == pytest.approx(1.2298)
    # technology without a row of its own falls back to the fuel's default
    assert np.isnan(tr.mobile_ef_kg_per_tj("ch4_ef", ["road"], ["other_kerosene"], [""])[0])
    fb = tr.mobile_ef_kg_per_tj("ch4_ef", ["road"], ["gas_diesel_oil"], ["uncontrolled"])
    assert fb[0] == pytest.approx(3.9)


def _activity(**over) -> pd.DataFrame:
    base = {
        "region_code": "350200",
        "year": 2023,
        "mode": ["road", "road", "rail", "aviation", "aviation", "navigation"],
        "vehicle_type": ["passenger_car", "bus", "", "", "", ""],
        "technology": ["", "", "", "", "", ""],
        "fuel": ["gasoline", "diesel", "diesel", "kerosene", "kerosene", "fuel_oil"],
        "trip": [
            "in_boundary",
            "in_boundary",
            "transboundary",
            "transboundary",
            "international",
            "international",
        ],
        "quantity": [1000.0, 500.0, 200.0, 800.0, 300.0, 400.0],
    }
    return pd.DataFrame({**base, **over})


def test_categories_gpc_scopes_and_memo_items():
    profile = as_city(None).factor_profile("inventory")
    out = tr.transport_emissions(_activity(), profile)
    co2 = out[out["gas"] == "CO2"].reset_index(drop=True)
    assert list(co2["sector"]) == [
        "1.A.3.b",
        "1.A.3.b",
        "1.A.3.c",
        "1.A.3.a",
        "M.1.A.3.a.i",
        "M.1.A.3.d.i",
    ]
    assert list(co2["gpc_ref"]) == ["II.1.1", "II.1.1", "II.2.3", "II.4.3", "M.II.4", "M.II.3"]
    assert list(co2["memo"]) == [False, False, False, False, True, True]
    assert (out["notation_key"] == "").all() and (out["emissions_t"] > 0).all()
    # CH4 of the gasoline car: energy x the Table 3.2.2 default (assumed catalyst, 3.8 kg/TJ)
    ch4 = out[(out["gas"] == "CH4")].reset_index(drop=True)
    assert ch4.loc[0, "emissions_t"] == pytest.approx(ch4.loc[0, "energy_tj"] * 3.8e-3)


def test_co2_is_the_inventory_profile_co2_of_the_same_fuel():
    """A tonne of diesel emits the same CO2 in road transport as in the rest of the inventory."""
    from citycarbon.accounting.inventory import combustion_gases
    from citycarbon.factors import fuels

    profile = as_city(None).factor_profile("inventory")
    out = tr.transport_emissions(_activity(), profile)
    rest = combustion_gases(
        pd.DataFrame({"fuel": ["diesel"], "quantity": [500.0], "ch4_n2o_context": [""]}),
        profile,
        fuels()["stat_unit"],
    )
    bus = out[(out["vehicle_type"] == "bus") & (out["gas"] == "CO2")]
    assert bus["emissions_t"].iloc[0] == pytest.approx(
        rest.loc[rest["gas"] == "CO2", "emissions_t"].iloc[0], rel=1e-12
    )


def test_a_fuel_without_mode_factor_is_ne_never_zero():
    profile = as_city(None).factor_profile("inventory")
    a = _activity().iloc[:1].assign(fuel="lpg", mode="rail", vehicle_type="")
    out = tr.transport_emissions(a, profile).set_index("gas")
    assert out.loc["CO2", "emissions_t"] > 0
    assert np.isnan(out.loc["CH4", "emissions_t"]) and out.loc["CH4", "notation_key"] == "NE"
    assert parse_record(out.loc["CH4", "method"]) == [("mobile_gas_ne", {"gas": "CH4"})]
    assert record_text(out.loc["CH4", "method"], "en").startswith("NE: no CH4 factor")


def test_demo_inventory_by_mode_memo_outside_totals(demo_inventory):
    ci = demo_inventory["city_inventory"]
    city = ci[(ci["level"] == "city") & ci["month"].isna() & (ci["basis"] == "territorial")]
    modes = city[city["sector"].str.startswith("1.A.3")]
    assert set(modes["sector"]) == {"1.A.3.a", "1.A.3.b", "1.A.3.c", "1.A.3.d"}
    assert (modes["emissions_tco2e"] > 0).all()  # CH4 and N2O estimated, no longer NE
    assert not ci["sector"].str.startswith("M.").any()  # memo items never in the inventory
    gpc = demo_inventory["gpc_inventory"]
    memo = gpc[gpc["memo"] & gpc["gpc_ref"].isin(["M.II.3", "M.II.4"])]
    assert (memo["emissions_tco2e"] > 0).all() and set(memo["gpc_ref"]) == {"M.II.3", "M.II.4"}
    # GPC transport (scope 1 and 3 fuel) adds up to the inventory's modes
    fuel_refs = gpc[gpc["gpc_ref"].str.match(r"II\.\d\.[13]$") & ~gpc["memo"]]
    ii = fuel_refs.groupby("year")["emissions_tco2e"].sum()
    inv = modes.groupby("year")["emissions_tco2e"].sum()
    # II.x.3 also holds the T&D losses of transport electricity: take them out
    losses = gpc[(gpc["gpc_ref"] == "II.2.3") & (gpc["gas"] == "CO2")].set_index("year")
    rail = modes[(modes["sector"] == "1.A.3.c") & (modes["gas"] == "CO2")].set_index("year")
    ii = ii - (losses["emissions_tco2e"] - rail["emissions_tco2e"]).reindex(ii.index)
    np.testing.assert_allclose(ii.reindex(inv.index), inv, rtol=1e-9)
    # the enterprise levels close on the modes' sum as one 1.A.3
    ind = ci[(ci["level"] == "industry") & (ci["basis"] == "territorial")]
    one = ind[ind["sector"] == "1.A.3"].groupby("year")["emissions_tco2e"].sum()
    np.testing.assert_allclose(one.reindex(inv.index), inv, rtol=1e-9)
    assert not ind["sector"].str.startswith("1.A.3.").any()


def test_lto_and_cruise_fuel_reproduce_a_published_split():
    # Danish EPA (Winther 2001), 1998 fuel use for Danish IFR flights, Table 4.17: domestic
    # 50,623 t of which LTO 20,343 t in 63,295 LTOs and cruise 30,280 t; international
    # 538,913 t, LTO 69,807 t in 126,313 LTOs, cruise 469,106 t
    assert tr.lto_fuel_t(63295, 20343e3 / 63295) == pytest.approx(20343)
    assert tr.cruise_fuel_t(50623, 20343) == pytest.approx(30280)
    assert tr.cruise_fuel_t(538913, tr.lto_fuel_t(126313, 69807e3 / 126313)) == pytest.approx(
        469106
    )


def _aviation(quantity, cycles, kg, trips) -> pd.DataFrame:
    n = len(quantity)
    return pd.DataFrame(
        {
            "region_code": "350200",
            "year": 2023,
            "mode": "aviation",
            "vehicle_type": "",
            "technology": "",
            "fuel": "jet_kerosene",
            "trip": trips,
            "quantity": quantity,
            "lto_cycles": cycles,
            "lto_fuel_kg_per_cycle": kg,
        },
        index=range(n),
    )


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(1.0, 1e6),
            st.floats(0.0, 1.0),
            st.sampled_from(["transboundary", "international"]),
        ),
        min_size=1,
        max_size=4,
        unique_by=lambda r: r[2],
    )
)
def test_lto_plus_cruise_is_the_aviation_total_and_international_stays_memo(rows):
    profile = as_city(None).factor_profile("inventory")
    quantity = [q for q, _, _ in rows]
    trips = [t for _, _, t in rows]
    kg = [800.0] * len(rows)
    cycles = [q * f * 1e3 / 800.0 for q, f, _ in rows]  # LTO fuel: a share f of the total
    split = tr.transport_emissions(_aviation(quantity, cycles, kg, trips), profile)
    whole = tr.transport_emissions(_aviation(quantity, np.nan, np.nan, trips), profile)
    assert set(split["phase"]) == {"lto", "cruise"} and set(whole["phase"]) == {""}
    keys = ["trip", "gas", "memo", "sector"]
    got = split.groupby(keys)[["energy_tj", "emissions_t", "emissions_tco2e"]].sum()
    want = whole.groupby(keys)[["energy_tj", "emissions_t", "emissions_tco2e"]].sum()
    pd.testing.assert_frame_equal(got, want, rtol=1e-9, atol=1e-9)
    assert (split["memo"] == (split["trip"] == "international")).all()
    lto = split[(split["phase"] == "lto") & (split["gas"] == "CO2")].set_index("trip")
    assert lto["lto_cycles"].to_dict() == pytest.approx(dict(zip(trips, cycles, strict=True)))
    assert split.loc[split["phase"] == "cruise", "lto_cycles"].isna().all()


def test_lto_fuel_rounded_above_the_total_leaves_no_negative_cruise():
    # 0.3 t of fuel, all of it in LTO cycles as reported (cycles x kg rounds above 0.3 t)
    profile = as_city(None).factor_profile("inventory")
    one = _aviation([0.3], [3.0], [100.00000000000003], ["transboundary"])
    out = tr.transport_emissions(one, profile)
    co2 = out[out["gas"] == "CO2"].set_index("phase")
    assert co2.loc["cruise", "energy_tj"] == 0.0 and co2.loc["lto", "energy_tj"] > 0


def test_lto_statistics_leave_other_modes_and_aviation_without_them_unsplit():
    profile = as_city(None).factor_profile("inventory")
    out = tr.transport_emissions(_activity(), profile)
    assert set(out["phase"]) == {""} and out["lto_cycles"].isna().all()


def test_demo_city_transport_by_phase_and_memo(demo_inventory):
    ct = demo_inventory["city_transport"]
    air = ct[ct["mode"] == "aviation"]
    assert (
        set(air["phase"]) == {"lto", "cruise"}
        and (ct.loc[ct["mode"] != "aviation", "phase"] == "").all()
    )
    assert (air.loc[air["phase"] == "lto", "lto_cycles"] > 0).all()
    assert (ct["memo"] == (ct["trip"] == "international")).all()
    # the counted rows are the inventory's modes; the memo rows are in no total
    ci = demo_inventory["city_inventory"]
    city = ci[(ci["level"] == "city") & ci["month"].isna() & (ci["basis"] == "territorial")]
    modes = city[city["sector"].str.startswith("1.A.3")]
    inv = modes.groupby(["year", "sector", "gas"])["emissions_tco2e"].sum()
    counted = ct[~ct["memo"]].groupby(["year", "sector", "gas"])["emissions_tco2e"].sum()
    np.testing.assert_allclose(counted.reindex(inv.index), inv, rtol=1e-9)


def test_transport_fuel_ingest_checks_lto_statistics(tmp_path, monkeypatch):
    from citycarbon.ingest.loader import ingest
    from citycarbon.store import catalog, lake

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    f = tmp_path / "transport.csv"
    f.write_text(
        "行政区划代码,年份,交通方式,车型,燃料品种,出行类型,消费量,单位,起降循环数,单次起降油耗\n"
        "350200,2020,aviation,,jet_kerosene,transboundary,1,万吨,10000,850\n"  # 8,500 t <= 10^4
        "350200,2020,aviation,,jet_kerosene,international,1000,t,10000,850\n"  # 8,500 t > 1,000
        "350200,2020,aviation,,kerosene,transboundary,1000,t,100,\n"  # cycles without fuel
        "350200,2020,road,bus,diesel,in_boundary,1000,t,100,850\n"  # not aviation
        "350200,2020,aviation,,jet_gasoline,transboundary,1000,t,inf,850\n",  # not finite
        encoding="utf-8",
    )
    try:
        r = ingest("transport_fuel", f)
        assert (r.rows_accepted, r.rows_quarantined) == (1, 4)
        reasons = " | ".join(r.problems["reason"])
        for words in (
            "is part of quantity",
            "give both lto_cycles and lto_fuel_kg_per_cycle",
            "is given only where mode is aviation",
        ):
            assert words in reasons, words
        got = lake.read_current("transport_fuel")
        assert got[["quantity", "lto_cycles", "lto_fuel_kg_per_cycle"]].iloc[0].tolist() == [
            10000.0,
            10000.0,
            850.0,
        ]
    finally:
        catalog.dispose_engines()


def test_transport_fuel_ingest_refuses_electricity_and_unknown_modes(tmp_path, monkeypatch):
    from citycarbon.ingest.loader import ingest
    from citycarbon.store import catalog, lake

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    f = tmp_path / "transport.csv"
    f.write_text(
        "行政区划代码,年份,交通方式,车型,燃料品种,出行类型,消费量,单位\n"
        "350200,2020,road,bus,柴油,in_boundary,1000,t\n"
        "350200,2020,aviation,,jet_kerosene,international,20,万吨\n"
        "350200,2020,road,bus,electricity,in_boundary,10,万千瓦时\n"
        "350200,2020,pipeline,,diesel,in_boundary,10,t\n",
        encoding="utf-8",
    )
    try:
        r = ingest("transport_fuel", f)
        assert (r.rows_accepted, r.rows_quarantined) == (2, 2)
        assert {"燃料品种", "交通方式"} <= set(r.problems["column"])
        got = lake.read_current("transport_fuel").sort_values("mode")
        assert list(got["fuel"]) == ["jet_kerosene", "diesel"]
        assert got["quantity"].iloc[0] == pytest.approx(200000.0)  # 20 万吨 in t
    finally:
        catalog.dispose_engines()


# ------------------------------------------------------------- facilities and kinds of navigation
def test_navigation_kinds_map_to_the_ipcc_and_gpc_categories():
    """IPCC 2006 Vol. 2 §3.5 (Table 3.5.1): harbour craft and coastal shipping are domestic
    water-borne navigation (1.A.3.d.ii, reported here as 1.A.3.d), international voyages
    1.A.3.d.i, a memo item; GPC v1.1 Ch. 7: water-borne navigation is II.3 (II.4 is aviation),
    in-boundary scope 1 (II.3.1), transboundary domestic scope 3 (II.3.3), international memo."""
    profile = as_city(None).factor_profile("inventory")
    a = _activity(
        mode="navigation",
        vehicle_type="",
        fuel="diesel",
        facility="厦门港",
        navigation_type=["harbour", "coastal", "coastal", "international", "", ""],
        trip=[
            "in_boundary",
            "in_boundary",
            "transboundary",
            "international",
            "in_boundary",
            "transboundary",
        ],
    )
    co2 = tr.transport_emissions(a, profile).query("gas == 'CO2'").reset_index(drop=True)
    assert list(co2["sector"]) == ["1.A.3.d"] * 3 + ["M.1.A.3.d.i"] + ["1.A.3.d"] * 2
    assert list(co2["gpc_ref"]) == ["II.3.1", "II.3.1", "II.3.3", "M.II.3", "II.3.1", "II.3.3"]
    assert list(co2["memo"]) == [False, False, False, True, False, False]
    assert list(co2["navigation_type"]) == list(a["navigation_type"])
    assert (co2["facility"] == "厦门港").all()


def test_rows_without_facility_columns_read_as_blank():
    profile = as_city(None).factor_profile("inventory")
    out = tr.transport_emissions(_activity(), profile)
    assert (out["facility"] == "").all() and (out["navigation_type"] == "").all()
    some = _activity(facility=[None, "", "X", np.nan, "XMN", "P"])
    got = tr.transport_emissions(some, profile)
    assert set(got["facility"]) == {"", "X", "XMN", "P"}


_FACILITIES = st.sampled_from(["", "XMN 厦门高崎国际机场", "XMN2 翔安机场", "厦门港", "漳州港"])


@settings(max_examples=30, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["aviation", "navigation", "road"]),
            st.sampled_from(["in_boundary", "transboundary", "international"]),
            _FACILITIES,
            st.floats(1.0, 1e5),
            st.one_of(st.none(), st.floats(0.0, 0.9)),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_facilities_add_up_to_the_mode_totals_and_memo_stays_out(rows):
    """Whatever facility each row names, the facilities' reports plus the rows naming none add
    up to the mode totals, counted and memo apart; a facility never changes a total."""
    from citycarbon.read.pages import FACILITY_KEYS, TRANSPORT_KEYS, transport_table

    profile = as_city(None).factor_profile("inventory")
    a = pd.DataFrame(
        {
            "region_code": "350200",
            "year": 2023,
            "mode": [r[0] for r in rows],
            "vehicle_type": "",
            "technology": "",
            "fuel": ["kerosene" if r[0] == "aviation" else "diesel" for r in rows],
            "trip": [r[1] for r in rows],
            "facility": [r[2] if r[0] != "road" else "" for r in rows],
            "quantity": [r[3] for r in rows],
            # an LTO share of the fuel on some aviation rows (800 kg per cycle)
            "lto_cycles": [
                r[3] * r[4] * 1e3 / 800 if r[0] == "aviation" and r[4] is not None else np.nan
                for r in rows
            ],
            "lto_fuel_kg_per_cycle": [
                800.0 if r[0] == "aviation" and r[4] is not None else np.nan for r in rows
            ],
        }
    )
    a = a.drop_duplicates(["mode", "fuel", "trip", "facility"])  # the natural key
    out = tr.transport_emissions(a, profile)
    whole = tr.transport_emissions(a.drop(columns="facility"), profile)
    by_mode = transport_table(out, TRANSPORT_KEYS)
    by_facility = transport_table(out[out["facility"] != ""], FACILITY_KEYS)
    unnamed = transport_table(out[out["facility"] == ""], TRANSPORT_KEYS)
    figures = ["energy_tj", "emissions_tco2e"]
    parts = [t for t in (by_facility, unnamed) if len(t)]
    parts = pd.concat(parts).groupby(["mode", "memo"])[figures].sum()
    want = by_mode.groupby(["mode", "memo"])[figures].sum()
    pd.testing.assert_frame_equal(parts.sort_index(), want.sort_index(), rtol=1e-9)
    unsplit = transport_table(whole, TRANSPORT_KEYS).groupby(["mode", "memo"])[figures].sum()
    pd.testing.assert_frame_equal(want.sort_index(), unsplit.sort_index(), rtol=1e-9)
    # memo rows are exactly the international trips, in every report
    for t in (by_mode, by_facility):
        assert (t["memo"] == (t["trip"] == "international")).all()


def test_demo_airport_and_port_report_as_entities(demo_inventory):
    ct = demo_inventory["city_transport"]
    named = ct[ct["facility"] != ""]
    assert set(named["facility"]) == {"XMN 厦门高崎国际机场", "厦门港"}
    assert set(named["mode"]) == {"aviation", "navigation"}
    assert (ct.loc[ct["mode"].isin(["road", "rail"]), "facility"] == "").all()
    port = ct[ct["facility"] == "厦门港"]
    assert set(port["navigation_type"]) == {"harbour", "coastal", "international"}
    assert (port["memo"] == (port["navigation_type"] == "international")).all()
    assert (port.loc[port["navigation_type"] == "harbour", "gpc_ref"] == "II.3.1").all()
    # the names of the fuels travel with the rows (pages in zh and en)
    assert (ct["fuel_zh"] != "").all() and (ct["fuel_en"] != "").all()


def test_transport_fuel_ingest_checks_facility_and_navigation_type(tmp_path, monkeypatch):
    from citycarbon.ingest.loader import ingest
    from citycarbon.store import catalog, lake

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    f = tmp_path / "transport.csv"
    f.write_text(
        "行政区划代码,年份,港口,交通方式,水运类型,车型,燃料品种,出行类型,消费量,单位\n"
        "350200,2020,厦门港,navigation,harbour,,diesel,in_boundary,100,t\n"
        "350200,2020,厦门港,navigation,coastal,,diesel,in_boundary,200,t\n"  # same key but type
        "350200,2020,漳州港,navigation,harbour,,diesel,in_boundary,50,t\n"  # another port
        "350200,2020,XMN 厦门高崎国际机场,aviation,,,kerosene,transboundary,900,t\n"
        "350200,2020,厦门港,navigation,harbour,,diesel,transboundary,10,t\n"  # harbour leaves
        "350200,2020,厦门港,navigation,international,,fuel_oil,transboundary,10,t\n"
        "350200,2020,厦门港,navigation,coastal,,fuel_oil,international,10,t\n"
        "350200,2020,某公交场站,road,,bus,diesel,in_boundary,10,t\n"  # not an airport or port
        "350200,2020,,road,harbour,bus,diesel,in_boundary,10,t\n"  # kind on a road row
        "350200,2020,厦门港,navigation,ferry,,diesel,in_boundary,10,t\n",  # unknown kind
        encoding="utf-8",
    )
    try:
        r = ingest("transport_fuel", f)
        assert (r.rows_accepted, r.rows_quarantined) == (4, 6)
        reasons = set(r.problems["reason"])
        for words in (
            "is given only where trip is in_boundary",
            "is given only where trip is international",
            "is given only where trip is in_boundary/transboundary",
            "is given only where mode is aviation/navigation",
            "is given only where mode is navigation",
        ):
            assert words in reasons, words
        got = lake.read_current("transport_fuel").set_index(["facility", "navigation_type"])
        assert got.loc[("厦门港", "harbour"), "quantity"] == pytest.approx(100.0)
        assert got.loc[("漳州港", "harbour"), "quantity"] == pytest.approx(50.0)
        assert got.loc[("XMN 厦门高崎国际机场", ""), "mode"] == "aviation"
    finally:
        catalog.dispose_engines()


def test_older_transport_files_without_facility_read_as_blank_and_are_superseded(
    tmp_path, monkeypatch
):
    """A file ingested before the facility and navigation_type columns existed reads with
    them blank, and a correction without them supersedes its row (same key, not a second
    row)."""
    import pyarrow.parquet as pq

    from citycarbon.ingest.loader import ingest
    from citycarbon.store import catalog, lake

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    head = "行政区划代码,年份,交通方式,车型,燃料品种,出行类型,消费量,单位\n"
    f = tmp_path / "old.csv"
    f.write_text(head + "350200,2020,rail,,diesel,transboundary,100,t\n", encoding="utf-8")
    try:
        ingest("transport_fuel", f)
        for path in lake.table_files("transport_fuel"):  # as written by an older version
            t = pq.ParquetFile(path).read()
            pq.write_table(t.drop_columns(["facility", "navigation_type"]), path)
        old = lake.read_current("transport_fuel")
        assert len(old) == 1 and old["facility"].isna().all()
        f.write_text(head + "350200,2020,rail,,diesel,transboundary,120,t\n", encoding="utf-8")
        ingest("transport_fuel", f)
        now = lake.read_current("transport_fuel")
        assert len(now) == 1 and now["quantity"].iloc[0] == pytest.approx(120.0)
    finally:
        catalog.dispose_engines()
