"""GPC v1.1 reporting (issue 13): a small hand-built city classified and added up by hand, the
rules one by one, properties of the T&D allocation and the demo city's GPC result."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.accounting import balance as bal
from citycarbon.accounting import gpc
from citycarbon.accounting import inventory as inv
from citycarbon.factors import FactorProfile, fuels, load_factor_set

CITY = "999999"
TEST = {"source": "hand-built test value (round numbers)", "clause": "-"}


def _profile() -> FactorProfile:
    """Round combustion factors: NCV 25 GJ/t (natural gas 250 GJ/10^4 m3), carbon content
    12 tC/TJ, oxidation 1, so 1 t of fuel = 0.025 TJ x 12 x 44/12 = 1.1 tCO2 and 1 x 10^4 m3 of
    natural gas = 11 tCO2; CH4 and N2O factors 0 (this test is about the GPC rules, the
    combustion factors are tested in test_inventory.py); GWP100 AR5."""
    rows = []
    for fuel, ncv, unit in (
        ("raw_coal", 25, "GJ/t"),
        ("diesel", 25, "GJ/t"),
        ("kerosene", 25, "GJ/t"),
        ("fuel_oil", 25, "GJ/t"),
        ("natural_gas", 250, "GJ/10^4 m3"),
    ):
        for parameter, value, u in (
            ("ncv", ncv, unit),
            ("carbon_content", 12, "tC/TJ"),
            ("oxidation", 1, "1"),
        ):
            rows.append({"parameter": parameter, "key": fuel, "year": 2020, "value": value})
            rows[-1].update(unit=u, **TEST)
    for ipcc_fuel in fuels().loc[["raw_coal", "diesel", "kerosene", "fuel_oil", "natural_gas"]][
        "ipcc_fuel"
    ]:
        for context in ("energy_industries", "manufacturing", "residential"):
            for parameter in ("ch4_ef", "n2o_ef"):
                rows.append(
                    {"parameter": parameter, "key": ipcc_fuel, "context": context, "year": 2006}
                )
                rows[-1].update(value=0, unit="kg/TJ", **TEST)
    return FactorProfile([load_factor_set("ipcc-ar5-gwp100")], pd.DataFrame(rows), name="gpc-test")


PROFILE = _profile()
GRID = pd.Series({2023: 0.5})  # tCO2/MWh: 10^4 kWh = 10 MWh -> 5 tCO2
HEAT = pd.Series({2023: 0.1})  # tCO2/GJ
#: fuel burnt in the city: scope 1 of energy, I.4.4 and transboundary aviation and shipping
FUEL_REFS = r"^(I\.[1-6]\.1|I\.4\.4|II\.\d\.1|II\.[34]\.3)$"  # I.7, I.8: fugitive, not fuel burnt


def hand_built_city() -> pd.DataFrame:
    """Energy balance of a small city, 2023 (t, 10^4 m3, 10^4 kWh, GJ); every fuel closes."""
    rows = [
        # coal: a power plant (generation supplied to the grid), industry, energy-industry own use
        ("inflow", "raw_coal", 1000.0),
        ("thermal_power", "raw_coal", -600.0),
        ("industry_manufacturing", "raw_coal", 300.0),
        ("industry_utilities", "raw_coal", 100.0),
        # natural gas: a heating plant and households
        ("inflow", "natural_gas", 20.0),
        ("heating", "natural_gas", -10.0),
        ("residential", "natural_gas", 10.0),
        # transport: road diesel, jet fuel and ship fuel oil; foreign aircraft and ships fuelled
        ("inflow", "diesel", 50.0),
        ("transport", "diesel", 50.0),
        ("inflow", "kerosene", 150.0),
        ("transport", "kerosene", 100.0),
        ("bunker_home", "kerosene", 50.0),
        ("inflow", "fuel_oil", 40.0),
        ("transport", "fuel_oil", 30.0),
        ("bunker_home", "fuel_oil", 10.0),
        # electricity: imported and generated, T&D losses, five consumers
        ("inflow", "electricity", 800.0),
        ("thermal_power", "electricity", 200.0),
        ("losses", "electricity", 50.0),
        ("residential", "electricity", 300.0),
        ("commerce", "electricity", 200.0),
        ("industry_manufacturing", "electricity", 350.0),
        ("industry_utilities", "electricity", 50.0),
        ("transport", "electricity", 50.0),
        # heat from the heating plant through the network, with network losses
        ("heating", "heat", 1000.0),
        ("losses", "heat", 100.0),
        ("residential", "heat", 400.0),
        ("industry_manufacturing", "heat", 500.0),
    ]
    return pd.DataFrame(
        [(CITY, 2023, i, f, q) for i, f, q in rows],
        columns=["region_code", "year", "item", "fuel", "quantity"],
    )


def _table(balance: pd.DataFrame, other: pd.DataFrame | None = None) -> pd.DataFrame:
    act = gpc.energy_activity(bal.complete_balance(balance))
    rows = gpc.energy_emissions(act, PROFILE, fuels()["stat_unit"], GRID, HEAT)
    if other is not None:
        rows = pd.concat([rows, gpc.inventory_rows(other)], ignore_index=True)
    return gpc.reporting_table(rows, rows[["region_code", "year"]])


def test_hand_built_city_basic_basic_plus_and_memo():
    """GPC v1.1 reporting framework (Table 4.3), by hand (1.1 tCO2/t, 11 tCO2/10^4 m3,
    electricity 5 tCO2 per 10^4 kWh, heat 0.1 tCO2/GJ):

    scope 1   I.1.1  gas 10 x 11                            =   110   BASIC
              I.3.1  coal 300 x 1.1                         =   330   BASIC
              I.4.1  coal 100 x 1.1 (energy-industry own use) = 110   BASIC
              II.1.1 diesel 50 x 1.1                        =    55   BASIC
              I.4.4  coal 600 x 1.1 + gas 10 x 11           =   770   reported, not BASIC
              IV.1   cement process CO2                     =   100   BASIC+
    scope 2   I.1.2  elec 300 x 5 + heat 400 x 0.1          =  1540
              I.2.2  elec 200 x 5                           =  1000
              I.3.2  elec 350 x 5 + heat 500 x 0.1          =  1800
              I.4.2  elec 50 x 5 (own use)                  =   250
              II.2.2 elec 50 x 5                            =   250   sum 4840, BASIC
    scope 3   T&D losses: elec 50 x 5 + heat 100 x 0.1      =   260   BASIC+
              II.4.3 kerosene 100 x 1.1 (transboundary)     =   110   BASIC+
              II.3.3 fuel oil 30 x 1.1 (transboundary)      =    33   BASIC+
    memo      M.II.4 kerosene 50 x 1.1, M.II.3 fuel oil 10 x 1.1 = 55 + 11 = 66

    BASIC   = 110 + 330 + 110 + 55 + 4840        = 5445 (waste III.1.1 NE)
    BASIC+  = 5445 + 100 + 260 + 110 + 33        = 5948 (AFOLU V.1 NE)
    scope 1 (territorial) = 605 + 770 + 100      = 1475
    T&D of I.1: 250 x 300/950 + 10 x 400/900     = 83.3918128655...
    """
    other = pd.DataFrame(
        {
            "region_code": CITY,
            "year": 2023,
            "sector": ["2.A.1", "3", "4"],
            "gas": "CO2",
            "emissions_t": [100.0, np.nan, np.nan],
            "emissions_tco2e": [100.0, np.nan, np.nan],
        }
    )
    table = _table(hand_built_city(), other)
    tot = gpc.totals(table).iloc[0]
    assert tot["basic_tco2e"] == pytest.approx(5445.0, rel=1e-12)
    assert tot["basic_plus_tco2e"] == pytest.approx(5948.0, rel=1e-12)
    assert tot["memo_tco2e"] == pytest.approx(66.0, rel=1e-12)
    assert tot["scope1_tco2e"] == pytest.approx(1475.0, rel=1e-12)
    assert tot["scope2_tco2e"] == pytest.approx(4840.0, rel=1e-12)
    assert tot["scope3_tco2e"] == pytest.approx(260.0 + 143.0, rel=1e-12)
    by = table.groupby("gpc_ref")["emissions_tco2e"].sum(min_count=1)
    assert by["I.1.3"] == pytest.approx(250 * 300 / 950 + 10 * 400 / 900, rel=1e-12)
    expected = {"I.1.2": 1540.0, "I.3.2": 1800.0, "I.4.1": 110.0, "I.4.2": 250.0}
    expected |= {"I.4.4": 770.0, "II.4.3": 110.0, "II.3.3": 33.0, "M.II.4": 55.0, "M.II.3": 11.0}
    for ref, value in expected.items():
        assert by[ref] == pytest.approx(value, rel=1e-12), ref
    assert {"III.1.1", "V.1"} <= set(tot["not_estimated"].split(","))


def test_each_rule_of_the_framework():
    table = _table(hand_built_city())
    ref = table.drop_duplicates("gpc_ref").set_index("gpc_ref")
    # T&D losses are scope 3, in BASIC+ but not in BASIC
    assert (ref.loc[["I.1.3", "I.2.3", "I.3.3", "I.4.3", "II.2.3"], "scope"] == 3).all()
    assert not ref.loc["I.1.3", "basic"] and ref.loc["I.1.3", "basic_plus"]
    # heat from the network is scope 2 in BASIC, energy-industry own use is in BASIC
    assert ref.loc["I.1.2", "basic"] and ref.loc["I.4.1", "basic"] and ref.loc["I.4.2", "basic"]
    # generation supplied to the grid: reported (scope 1), in neither total
    assert ref.loc["I.4.4", "scope"] == 1
    assert not ref.loc["I.4.4", "basic"] and not ref.loc["I.4.4", "basic_plus"]
    # transboundary aviation and shipping: scope 3, BASIC+ only; bunkers: memo only
    assert (ref.loc[["II.3.3", "II.4.3"], "scope"] == 3).all()
    assert ref.loc["II.4.3", "basic_plus"] and not ref.loc["II.4.3", "basic"]
    memo = ref.loc[["M.II.3", "M.II.4"]]
    assert memo["memo"].all() and not memo["basic_plus"].any() and (memo["scope"] == 0).all()
    # every reference number of the framework is reported, absent ones with a notation key
    assert set(table["gpc_ref"]) == set(gpc.gpc_reference().index)
    absent = table[table["gas"] == ""]
    assert absent["emissions_tco2e"].isna().all() and (absent["notation_key"] != "").all()
    assert table.set_index("gpc_ref").loc["II.4.1", "notation_key"] == "IE"


def test_gpc_fuel_rows_are_the_inventory_combustion():
    """The fuel burnt in the city (scope 1, I.4.4 and the transboundary scope 3) is the
    inventory's 1.A: 1000 t coal x 1.1 + 20 x 10^4 m3 gas x 11 + diesel 55 + kerosene 110 +
    fuel oil 33 = 1518 tCO2; international bunkers are not in the inventory (the balance
    subtracts them from supply)."""
    b = bal.complete_balance(hand_built_city())
    burnt = inv.combustion_gases(inv.combustion_activity(b), PROFILE, fuels()["stat_unit"])
    table = _table(hand_built_city())
    fuel = table[table["gpc_ref"].str.match(FUEL_REFS)]
    assert burnt["emissions_tco2e"].sum() == pytest.approx(1518.0, rel=1e-12)
    assert fuel["emissions_tco2e"].sum() == pytest.approx(1518.0, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(0.0, 1e6), min_size=5, max_size=5),
    st.floats(0.0, 1e5),
    st.floats(0.0, 1e5),
)
def test_td_losses_are_shared_out_exactly(consumed, e_losses, h_losses):
    """Losses of electricity and heat are allocated to the consuming sub-sectors without loss
    or creation: sum of the x.3 rows = the losses (I.6.3 when nothing is consumed)."""
    items = ["residential", "commerce", "industry_manufacturing", "agriculture", "transport"]
    rows = [(i, "electricity", q) for i, q in zip(items, consumed, strict=True)]
    rows += [("losses", "electricity", e_losses), ("losses", "heat", h_losses)]
    rows += [("residential", "heat", consumed[0])]
    supply_e = sum(consumed) + e_losses
    rows += [("inflow", "electricity", supply_e), ("inflow", "heat", consumed[0] + h_losses)]
    b = pd.DataFrame(
        [(CITY, 2023, i, f, q) for i, f, q in rows],
        columns=["region_code", "year", "item", "fuel", "quantity"],
    )
    act = gpc.energy_activity(bal.complete_balance(b))
    lost = act[act["item"] == "losses"].groupby("fuel")["quantity"].sum()
    assert lost.get("electricity", 0.0) == pytest.approx(e_losses, rel=1e-9, abs=1e-9)
    assert lost.get("heat", 0.0) == pytest.approx(h_losses, rel=1e-9, abs=1e-9)
    assert act.loc[act["item"] == "losses", "gpc_ref"].str.endswith(".3").all()


# --------------------------------------------------------------------------- demo city
def test_demo_gpc_result(demo_home):
    from citycarbon.contract.results import CITY_INDICATORS, CITY_INVENTORY, GPC_INVENTORY
    from citycarbon.store import results

    table = results.current(GPC_INVENTORY)
    ind = results.current(CITY_INDICATORS)
    ind = ind[ind["period_type"] == "year"].set_index(["indicator", "year"])["value"]
    tot = gpc.totals(table).set_index("year")
    ci = results.current(CITY_INVENTORY)
    city = ci[(ci["level"] == "city") & ci["month"].isna() & (ci["basis"] == "territorial")]
    energy = city[city["sector"].str.startswith("1.A")].groupby("year")["emissions_tco2e"].sum()
    for y in tot.index:
        assert ind[("gpc_basic_tco2e", y)] == pytest.approx(tot.at[y, "basic_tco2e"], rel=1e-12)
        assert ind[("gpc_basic_plus_tco2e", y)] == pytest.approx(
            tot.at[y, "basic_plus_tco2e"], rel=1e-12
        )
        t = table[table["year"] == y]
        # heat from the network is in BASIC scope 2 (the demo city imports heat for industry)
        i32 = t[t["gpc_ref"] == "I.3.2"]["emissions_tco2e"].sum()
        assert i32 > 0
        # fuel burnt in the city: scope 1 energy + I.4.4 + transboundary = the inventory's 1.A
        fuel = t[t["gpc_ref"].str.match(FUEL_REFS)]
        # + the demo's rail diesel (transboundary trips: II.2.3, which also holds the T&D
        # losses of transport electricity, hence taken from the inventory's 1.A.3.c)
        rail = city[(city["sector"] == "1.A.3.c") & (city["year"] == y)]["emissions_tco2e"].sum()
        assert fuel["emissions_tco2e"].sum() + rail == pytest.approx(energy[y], rel=1e-9)
