"""Carbon emission flow (Kang et al. 2012, 2015): hand-checked networks, IEEE cases, invariants."""

from __future__ import annotations

import copy
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.power.flow import (
    REASON_NOT_SUPPLIED,
    REASON_OUT_OF_SERVICE,
    carbon_emission_flow,
    hourly_nodal_intensity_dc,
    nodal_intensity_tco2_per_mwh,
    scaled_dispatch,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    import pandapower as pp
    import pandapower.networks as pn

E = "intensity_tco2_per_mwh"


def intensities(rows: list[tuple[str, int, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["element", "index", E])


# --------------------------------------------------------------------------------------------
# hand-checked networks
# --------------------------------------------------------------------------------------------


def test_four_bus_lossy_network_by_hand():
    """Four buses, four lossy branches, three generators; every number derived by hand.

    Generators: bus 0 coal 113 MW at 0.9 tCO2/MWh; bus 1 gas 40 MW at 0.4; bus 2 wind 50 MW at 0.
    Branches (sending -> receiving, sent / received MW, loss):
      a 0->1 62 / 60 (2), b 0->2 51 / 50 (1), c 1->3 50 / 48 (2), d 2->3 50 / 48 (2).
    Loads: bus 1 50 MW, bus 2 50 MW, bus 3 96 MW (bus 0 none).

    Nodal intensity e_n = (carbon in) / (power in), Kang et al. (2015) nodal intensity, row by row:
      e0 = 113*0.9 / 113                 = 0.9
      e1 = (40*0.4 + 60*e0) / (40 + 60)  = (16 + 54) / 100 = 0.7
      e2 = (50*0 + 50*e0) / (50 + 50)    = 45 / 100        = 0.45
      e3 = (48*e1 + 48*e2) / 96          = (33.6 + 21.6) / 96 = 0.575
    Branch carbon flow at the sending end (density = sending-node intensity):
      a 62*0.9 = 55.8, b 51*0.9 = 45.9, c 50*0.7 = 35.0, d 50*0.45 = 22.5 tCO2/h.
    Conservation: generation 113*0.9 + 40*0.4 = 117.7 tCO2/h
      = loads 50*0.7 + 50*0.45 + 96*0.575 = 35 + 22.5 + 55.2 = 112.7
      + losses 2*0.9 + 1*0.9 + 2*0.7 + 2*0.45 = 1.8 + 0.9 + 1.4 + 0.9 = 5.0.
    """
    e, inflow = nodal_intensity_tco2_per_mwh(
        4,
        arc_from=[0, 0, 1, 2],
        arc_to=[1, 2, 3, 3],
        arc_receive_mw=[60, 50, 48, 48],
        source_node=[0, 1, 2],
        source_mw=[113, 40, 50],
        source_tco2_per_mwh=[0.9, 0.4, 0.0],
    )
    np.testing.assert_allclose(e, [0.9, 0.7, 0.45, 0.575], rtol=1e-12)
    np.testing.assert_allclose(inflow, [113, 100, 100, 96])
    sent = np.array([62, 51, 50, 50])
    received = np.array([60, 50, 48, 48])
    send_e = e[[0, 0, 1, 2]]
    np.testing.assert_allclose(sent * send_e, [55.8, 45.9, 35.0, 22.5], rtol=1e-12)
    loads = np.array([0, 50, 50, 96]) @ e
    losses = (sent - received) @ send_e
    assert loads == pytest.approx(112.7, rel=1e-12)
    assert losses == pytest.approx(5.0, rel=1e-12)
    assert loads + losses == pytest.approx(113 * 0.9 + 40 * 0.4, rel=1e-12)


def radial_net(load2_mw: float = 50.0, pv_mw: float = 30.0) -> pp.pandapowerNet:
    """bus0 (ext_grid) - bus1 (coal gen 60 MW, load 20) - bus2 (PV sgen, load) ; bus1 - bus3 (load 40)."""
    net = pp.create_empty_network(sn_mva=100)
    b = [pp.create_bus(net, vn_kv=110.0) for _ in range(4)]
    pp.create_ext_grid(net, b[0])
    for f, t in [(0, 1), (1, 2), (1, 3)]:
        pp.create_line_from_parameters(
            net,
            b[f],
            b[t],
            length_km=10,
            r_ohm_per_km=0.05,
            x_ohm_per_km=0.4,
            c_nf_per_km=0,
            max_i_ka=2,
        )
    pp.create_gen(net, b[1], p_mw=60.0, vm_pu=1.0)
    pp.create_sgen(net, b[2], p_mw=pv_mw)
    pp.create_load(net, b[1], p_mw=20.0)
    pp.create_load(net, b[2], p_mw=load2_mw)
    pp.create_load(net, b[3], p_mw=40.0)
    return net


RADIAL_INTENSITY = intensities([("gen", 0, 0.9), ("sgen", 0, 0.0)])


def test_radial_dc_network_by_hand():
    """DC power flow of a radial net: flows follow from the loads alone, so all is hand-checkable.

    Loads: bus1 20, bus2 50, bus3 40 MW; coal gen at bus1 60 MW (0.9 tCO2/MWh); PV at bus2 30 MW (0);
    ext_grid at bus0 imports at 0.5 tCO2/MWh.
    Flows: line 1->2 = 50 - 30 = 20; line 1->3 = 40; line 0->1 = 20 + 20 + 40 - 60 = 20 (import).
      e0 = 0.5 (only the import flows in)
      e1 = (60*0.9 + 20*e0) / (60 + 20) = (54 + 10) / 80 = 0.8
      e2 = (30*0 + 20*e1) / (30 + 20)   = 16 / 50 = 0.32
      e3 = 40*e1 / 40                   = 0.8
    Load carbon: 20*0.8 = 16, 50*0.32 = 16, 40*0.8 = 32 tCO2/h; sum 64 = 54 (coal) + 10 (import).
    """
    net = radial_net()
    pp.rundcpp(net)
    cf = carbon_emission_flow(net, RADIAL_INTENSITY, import_tco2_per_mwh=0.5)
    np.testing.assert_allclose(cf.bus[E], [0.5, 0.8, 0.32, 0.8], rtol=1e-9)
    np.testing.assert_allclose(cf.load["carbon_tco2_per_h"], [16, 16, 32], rtol=1e-9)
    line = cf.branch.set_index("index")
    np.testing.assert_allclose(line["carbon_flow_tco2_per_h"], [20 * 0.5, 20 * 0.8, 40 * 0.8])
    assert cf.balance["generation_tco2_per_h"] == pytest.approx(64.0)
    assert cf.balance["residual_tco2_per_h"] == pytest.approx(0.0, abs=1e-9)


def test_bus_fed_by_one_generator_takes_its_intensity():
    # Bus 3 of the radial net is fed only from bus 1; make bus 1 fed only by the coal unit (no
    # import: load at bus 2 covered by the PV) -> buses 1 and 3 get exactly the coal intensity.
    net = radial_net(load2_mw=20.0, pv_mw=20.0)
    net.gen.loc[0, "p_mw"] = 60.0 + 0.0  # 20 (bus1) + 40 (bus3): ext_grid delivers 0 in DC
    pp.rundcpp(net)
    cf = carbon_emission_flow(net, RADIAL_INTENSITY, import_tco2_per_mwh=0.5)
    assert cf.bus.loc[1, E] == pytest.approx(0.9)
    assert cf.bus.loc[3, E] == pytest.approx(0.9)
    assert cf.load.loc[2, E] == pytest.approx(0.9)


# --------------------------------------------------------------------------------------------
# IEEE cases (AC power flow, with losses)
# --------------------------------------------------------------------------------------------

#: Stated unit intensities for IEEE 14 [tCO2/MWh]: the slack (bus 1) is a coal plant, the unit at
#: bus 2 gas; the synchronous condensers at buses 3, 6, 8 produce no active power (intensity 0).
CASE14_INTENSITY = intensities(
    [("ext_grid", 0, 0.877), ("gen", 0, 0.392), ("gen", 1, 0.0), ("gen", 2, 0.0), ("gen", 3, 0.0)]
)


@pytest.fixture(scope="module")
def case14() -> pp.pandapowerNet:
    net = pn.case14()
    pp.runpp(net)
    return net


def test_case14_conservation_and_bounds(case14):
    cf = carbon_emission_flow(case14, CASE14_INTENSITY)
    b = cf.balance
    assert b["generation_tco2_per_h"] == pytest.approx(
        case14.res_ext_grid.p_mw.sum() * 0.877 + case14.res_gen.p_mw[0] * 0.392, rel=1e-12
    )
    total = b["load_tco2_per_h"] + b["loss_tco2_per_h"] + b["other_tco2_per_h"]
    assert total == pytest.approx(b["generation_tco2_per_h"], rel=1e-9)
    assert b["loss_tco2_per_h"] > 0
    e = cf.bus[E].dropna()
    assert (e >= 0.392 - 1e-12).all() and (e <= 0.877 + 1e-12).all()
    # the slack bus only receives the slack's power: coal intensity
    assert cf.bus.loc[0, E] == pytest.approx(0.877)
    # bus 8 (index 7) holds only a synchronous condenser: no active power, reported not silent
    assert np.isnan(cf.bus.loc[7, E]) and cf.bus.loc[7, "reason"]
    # branch conservation: sending carbon = delivered + loss carbon
    br = cf.branch
    np.testing.assert_allclose(
        br["carbon_flow_tco2_per_h"],
        br["carbon_delivered_tco2_per_h"] + br["loss_carbon_tco2_per_h"],
        rtol=1e-9,
        atol=1e-12,
    )


def test_case14_uniform_intensity_everywhere(case14):
    same = CASE14_INTENSITY.assign(**{E: 0.6})
    cf = carbon_emission_flow(case14, same)
    np.testing.assert_allclose(cf.bus[E].dropna(), 0.6, rtol=1e-12)
    np.testing.assert_allclose(cf.load[E], 0.6, rtol=1e-12)


def test_input_net_not_modified(case14):
    before = copy.deepcopy(case14.res_line)
    carbon_emission_flow(case14, CASE14_INTENSITY)
    pd.testing.assert_frame_equal(before, case14.res_line)


@pytest.fixture(scope="module")
def case30() -> pp.pandapowerNet:
    net = pn.case30()
    pp.runpp(net)
    return net


@settings(max_examples=25, deadline=None)
@given(st.lists(st.floats(0.0, 1.2), min_size=6, max_size=6), st.floats(0.01, 10.0))
def test_conservation_and_bounds_property(case30, values, scale):
    """Generator carbon = load + loss carbon; intensities within the producing units' range;
    intensities scale linearly with the unit intensities (the system of Kang et al. 2015 is linear in e_G)."""
    table = intensities(
        [("ext_grid", 0, values[0])] + [("gen", i, values[1 + i]) for i in range(5)]
    )
    cf = carbon_emission_flow(case30, table)
    b = cf.balance
    assert abs(b["residual_tco2_per_h"]) <= 1e-7 * max(1.0, b["generation_tco2_per_h"])
    producing = cf.unit[cf.unit["p_mw"] > 1e-9][E]
    e = cf.bus[E].dropna()
    assert (e >= producing.min() - 1e-9).all() and (e <= producing.max() + 1e-9).all()
    scaled = carbon_emission_flow(case30, table.assign(**{E: table[E] * scale}))
    np.testing.assert_allclose(scaled.bus[E], cf.bus[E] * scale, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case", ["case118"])  # PEGASE cases: benchmarks/bench_power_flow.py
def test_large_cases_conserve(case):
    net = getattr(pn, case)()
    pp.runpp(net)
    rng = np.random.default_rng(7)
    table = pd.concat(
        [
            pd.DataFrame(
                {"element": el, "index": net[el].index, E: rng.uniform(0, 1, len(net[el]))}
            )
            for el in ("gen", "sgen")
        ]
    )
    cf = carbon_emission_flow(net, table, import_tco2_per_mwh=0.5704)
    b = cf.balance
    assert abs(b["residual_tco2_per_h"]) <= 1e-9 * b["generation_tco2_per_h"]
    assert b["loss_tco2_per_h"] > 0


# --------------------------------------------------------------------------------------------
# bad input
# --------------------------------------------------------------------------------------------


def test_not_converged_raises():
    net = radial_net()
    with pytest.raises(InputError, match="not converged"):
        carbon_emission_flow(net, RADIAL_INTENSITY, import_tco2_per_mwh=0.5)
    net.load["p_mw"] *= 500  # no AC solution
    with pytest.raises(pp.LoadflowNotConverged):
        pp.runpp(net)
    with pytest.raises(InputError, match="not converged"):
        carbon_emission_flow(net, RADIAL_INTENSITY, import_tco2_per_mwh=0.5)


def test_negative_or_missing_intensity_names_unit_and_field(case14):
    bad = CASE14_INTENSITY.copy()
    bad.loc[1, E] = -0.1
    with pytest.raises(InputError, match="gen 0: emission intensity is negative") as err:
        carbon_emission_flow(case14, bad)
    assert err.value.field == E and err.value.row == 1
    bad.loc[1, E] = np.nan
    with pytest.raises(InputError, match="gen 0: emission intensity is missing"):
        carbon_emission_flow(case14, bad)
    with pytest.raises(InputError, match=r"gen 2 \(bus 5\) has no emission intensity") as err:
        carbon_emission_flow(case14, CASE14_INTENSITY.drop(index=3))
    assert err.value.field == E
    with pytest.raises(InputError, match="ext_grid 0") as err:
        carbon_emission_flow(case14, CASE14_INTENSITY.drop(index=0))
    assert err.value.field == "import_tco2_per_mwh"
    with pytest.raises(InputError, match="generating element 'load' is unknown"):
        carbon_emission_flow(case14, pd.concat([CASE14_INTENSITY, intensities([("load", 0, 0)])]))
    with pytest.raises(InputError, match="no sgen 5"):
        carbon_emission_flow(case14, pd.concat([CASE14_INTENSITY, intensities([("sgen", 5, 0)])]))


def test_islanded_and_out_of_service_buses_reported():
    net = radial_net()
    island = pp.create_bus(net, vn_kv=110.0)
    pp.create_line_from_parameters(
        net,
        3,
        island,
        length_km=1,
        r_ohm_per_km=0.05,
        x_ohm_per_km=0.4,
        c_nf_per_km=0,
        max_i_ka=2,
        in_service=False,
    )
    pp.create_load(net, island, p_mw=5.0)
    dead = pp.create_bus(net, vn_kv=110.0, in_service=False)
    pp.runpp(net)
    cf = carbon_emission_flow(net, RADIAL_INTENSITY, import_tco2_per_mwh=0.5)
    assert np.isnan(cf.bus.loc[island, E]) and cf.bus.loc[island, "reason"] == REASON_NOT_SUPPLIED
    assert np.isnan(cf.bus.loc[dead, E]) and cf.bus.loc[dead, "reason"] == REASON_OUT_OF_SERVICE
    assert cf.bus.loc[[0, 1, 2, 3], "reason"].eq("").all()
    assert abs(cf.balance["residual_tco2_per_h"]) < 1e-6


def test_hourly_dc_reports_islands_and_unsupplied_loads():
    net = radial_net()
    island = pp.create_bus(net, vn_kv=110.0)
    pp.create_line_from_parameters(
        net,
        3,
        island,
        length_km=1,
        r_ohm_per_km=0.05,
        x_ohm_per_km=0.4,
        c_nf_per_km=0,
        max_i_ka=2,
        in_service=False,
    )
    pp.create_load(net, island, p_mw=5.0)
    dead = pp.create_bus(net, vn_kv=110.0, in_service=False)
    pp.create_load(net, dead, p_mw=5.0)
    # hour 1: bus 2 load 10 MW < PV 30 MW -> 20 MW of PV flows to bus 1, and the coal unit's
    # surplus is exported: e1 = (60*0.9 + 20*0) / 80 = 0.675, which bus 0 and bus 3 receive
    h = hourly_nodal_intensity_dc(
        net, RADIAL_INTENSITY, pd.DataFrame({1: [50.0, 10.0]}), import_tco2_per_mwh=0.5
    )
    np.testing.assert_allclose(h.intensity.loc[1, [0, 1, 2, 3]], [0.675, 0.675, 0.0, 0.675])
    assert h.intensity[[island, dead]].isna().all().all()
    assert h.bus_reason[island] == REASON_NOT_SUPPLIED
    assert h.bus_reason[dead] == REASON_OUT_OF_SERVICE
    assert h.load_carbon[[3, 4]].isna().all().all()  # unsupplied loads: NaN, not 0
    np.testing.assert_allclose(h.slack_mw, [20.0, -20.0])
    np.testing.assert_allclose(h.balance["residual_tco2_per_h"], 0.0, atol=1e-9)


def test_consumer_injecting_power_raises():
    net = radial_net()
    net.load.loc[2, "p_mw"] = -5.0
    pp.runpp(net)
    with pytest.raises(InputError, match="load 2 injects") as err:
        carbon_emission_flow(net, RADIAL_INTENSITY, import_tco2_per_mwh=0.5)
    assert err.value.field == "p_mw"


def test_bus_bus_switch_fuses_nodes():
    net = radial_net()
    extra = pp.create_bus(net, vn_kv=110.0)
    pp.create_switch(net, 3, extra, et="b", closed=True)
    pp.create_load(net, extra, p_mw=10.0)
    pp.runpp(net)
    cf = carbon_emission_flow(net, RADIAL_INTENSITY, import_tco2_per_mwh=0.5)
    assert cf.bus.loc[extra, E] == pytest.approx(cf.bus.loc[3, E])
    assert abs(cf.balance["residual_tco2_per_h"]) < 1e-6


# --------------------------------------------------------------------------------------------
# hourly (DC) carbon flow
# --------------------------------------------------------------------------------------------


def test_hourly_dc_matches_snapshot_and_hand_values():
    net = radial_net()
    hours = pd.date_range("2024-07-01", periods=3, freq="h", tz="UTC")
    load_mw = pd.DataFrame({0: [20.0, 20, 20], 1: [50.0, 20, 50], 2: [40.0, 40, 40]}, index=hours)
    unit_mw = pd.DataFrame(
        [[60.0, 30.0], [60.0, 20.0], [80.0, 0.0]],
        index=hours,
        columns=pd.MultiIndex.from_tuples([("gen", 0), ("sgen", 0)]),
    )
    h = hourly_nodal_intensity_dc(net, RADIAL_INTENSITY, load_mw, unit_mw, import_tco2_per_mwh=0.5)
    # hour 0 is the hand-checked case; hour 1: PV covers bus 2 alone (e2 = 0), coal covers buses 1
    # and 3 alone (0.9), nothing flows through bus 0 (NaN); hour 2: coal 80 MW + import 30 MW:
    # e1 = (80*0.9 + 30*0.5)/110 = 87/110, e2 = e1 (PV off), e3 = e1
    e1 = 87 / 110
    np.testing.assert_allclose(
        h.intensity.to_numpy(),
        [[0.5, 0.8, 0.32, 0.8], [np.nan, 0.9, 0.0, 0.9], [0.5, e1, e1, e1]],
        rtol=1e-9,
    )
    np.testing.assert_allclose(h.slack_mw, [20.0, 0.0, 30.0], atol=1e-9)
    np.testing.assert_allclose(h.balance["residual_tco2_per_h"], 0.0, atol=1e-9)
    assert (h.balance["generation_tco2_per_h"] > 0).all()


def test_hourly_dc_equals_pandapower_rundcpp_on_case118():
    net = pn.case118()
    rng = np.random.default_rng(3)
    table = intensities(
        [("gen", i, float(v)) for i, v in zip(net.gen.index, rng.uniform(0, 1, 53), strict=True)]
    )
    factor = pd.Series([0.7, 1.0, 1.15])
    load_mw, unit_mw = scaled_dispatch(net, factor)
    h = hourly_nodal_intensity_dc(net, table, load_mw, unit_mw, import_tco2_per_mwh=0.6)
    for k, f in enumerate(factor):
        snap = copy.deepcopy(net)
        snap.load["scaling"] *= f
        snap.gen["scaling"] *= f
        pp.rundcpp(snap)
        np.testing.assert_allclose(
            h.branch_flow_mw.iloc[k].loc["line"].to_numpy(), snap.res_line.p_from_mw, atol=1e-8
        )
        cf = carbon_emission_flow(snap, table, import_tco2_per_mwh=0.6)
        np.testing.assert_allclose(h.intensity.iloc[k], cf.bus[E], rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(h.balance["residual_tco2_per_h"], 0.0, atol=1e-8)


def test_hourly_dc_rejects_unknown_units():
    net = radial_net()
    load_mw = pd.DataFrame({0: [20.0]})
    unit_mw = pd.DataFrame([[1.0]], columns=pd.MultiIndex.from_tuples([("gen", 9)]))
    with pytest.raises(InputError, match="not an in-service gen"):
        hourly_nodal_intensity_dc(net, RADIAL_INTENSITY, load_mw, unit_mw, import_tco2_per_mwh=0.5)
    with pytest.raises(InputError, match="load 0 at 1: value is missing"):
        hourly_nodal_intensity_dc(
            net, RADIAL_INTENSITY, pd.DataFrame({0: [20.0, None]}), import_tco2_per_mwh=0.5
        )
    with pytest.raises(InputError, match="load 2 at 0: value is negative"):
        hourly_nodal_intensity_dc(
            net, RADIAL_INTENSITY, pd.DataFrame({2: [-1.0]}), import_tco2_per_mwh=0.5
        )
