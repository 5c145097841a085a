"""Carbon emission flow speed (issue 6).

Floors: 8,760 hourly snapshots of IEEE 118-bus (DC power flow + carbon flow per hour) <= 10 s;
one snapshot of a ~3,000-bus case (case2869pegase, AC power flow solved beforehand) <= 0.5 s and
>= 10x faster than the dense textbook formulation e_N = (P_N - P_B^T)^-1 P_G^T e_G
(numpy.linalg.inv / numpy.linalg.solve on the dense N x N matrix; implemented here only).

Run: .venv/bin/python -m pytest -m slow -s benchmarks/bench_power_flow.py
"""

from __future__ import annotations

import time
import warnings

import numpy as np
import pandas as pd
import pytest

from citycarbon.power.flow import (
    bus_nodes,
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


def random_intensity(net, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.concat(
        [
            pd.DataFrame(
                {"element": el, "index": net[el].index, E: rng.uniform(0, 1, len(net[el]))}
            )
            for el in ("gen", "sgen")
            if len(net[el])
        ],
        ignore_index=True,
    )


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


@pytest.mark.slow
def test_8760_hours_ieee118():
    net = pn.case118()
    table = random_intensity(net)
    rng = np.random.default_rng(2)
    hours = pd.date_range("2024-01-01", periods=8760, freq="h", tz="UTC")
    daily = 0.85 + 0.15 * np.sin(2 * np.pi * (hours.hour.to_numpy() - 6) / 24)
    load_factor = pd.Series(daily * (1 + 0.05 * rng.standard_normal(len(hours))), index=hours)
    units = pd.MultiIndex.from_tuples([("gen", i) for i in net.gen.index])
    unit_factor = pd.DataFrame(
        load_factor.to_numpy()[:, None] * rng.uniform(0.6, 1.2, (len(hours), len(units))),
        index=hours,
        columns=units,
    )
    load_mw, unit_mw = scaled_dispatch(net, load_factor, unit_factor)
    hourly_nodal_intensity_dc(
        net, table, load_mw.iloc[:24], unit_mw.iloc[:24], import_tco2_per_mwh=0.5
    )
    t = time.perf_counter()
    h = hourly_nodal_intensity_dc(net, table, load_mw, unit_mw, import_tco2_per_mwh=0.5)
    seconds = time.perf_counter() - t
    residual = h.balance["residual_tco2_per_h"].abs().max()
    print(
        f"\nIEEE 118, 8,760 hourly DC power flows + carbon flows: {seconds:.2f} s "
        f"({seconds / 8760 * 1e6:.0f} us/hour), {h.iterations} sweeps, "
        f"max |carbon residual| {residual:.2e} tCO2/h"
    )
    assert residual < 1e-6
    assert seconds <= 10.0


def flow_system(net, cf):
    """Arcs and sources of the carbon flow system, rebuilt from the result tables."""
    node = bus_nodes(net)
    br = cf.branch
    nf = node.reindex(br["from_bus"]).to_numpy()
    nt = node.reindex(br["to_bus"]).to_numpy()
    pf, pt = br["p_from_mw"].to_numpy(float), br["p_to_mw"].to_numpy(float)
    fwd, bwd = pt < -1e-9, pf < -1e-9
    arcs = (
        np.concatenate([nf[fwd], nt[bwd]]),
        np.concatenate([nt[fwd], nf[bwd]]),
        np.concatenate([-pt[fwd], -pf[bwd]]),
    )
    gen = cf.unit["p_mw"].to_numpy() > 1e-9
    src = (
        node.reindex(cf.unit["bus"]).to_numpy()[gen],
        cf.unit["p_mw"].to_numpy()[gen],
        cf.unit[E].to_numpy()[gen],
    )
    return int(node.max()) + 1, arcs, src


def dense_textbook(n, arcs, src, method):
    """e_N = (P_N - P_B^T)^-1 P_G^T e_G with dense NumPy matrices (Kang et al. 2015)."""
    a_from, a_to, recv = arcs
    s_node, s_mw, s_e = src
    p_b = np.zeros((n, n))
    np.add.at(p_b, (a_from, a_to), recv)
    inflow = p_b.sum(axis=0) + np.bincount(s_node, s_mw, minlength=n)
    live = inflow > 1e-9
    p_n = np.diag(np.where(live, inflow, 1.0))
    p_b[:, ~live] = 0.0
    rhs = np.bincount(s_node, s_mw * s_e, minlength=n)
    m = p_n - p_b.T
    e = np.linalg.inv(m) @ rhs if method == "inv" else np.linalg.solve(m, rhs)
    e[~live] = np.nan
    return e


@pytest.mark.slow
@pytest.mark.parametrize("case", ["case2869pegase", "case3120sp", "case9241pegase"])
def test_one_snapshot_large_case(case):
    net = getattr(pn, case)()
    pp.runpp(net)
    table = random_intensity(net)
    run = lambda: carbon_emission_flow(net, table, import_tco2_per_mwh=0.5)  # noqa: E731
    cf = run()
    full = best_of(run, 5)
    b = cf.balance  # conservation: generation = load + loss + other (+ power flow mismatch)
    assert abs(b["residual_tco2_per_h"]) <= 1e-9 * b["generation_tco2_per_h"] + 1e-6
    if case.endswith("pegase"):  # pumping units (gen p < 0) are consumers ("other")
        assert b["other_tco2_per_h"] > 0
    n, arcs, src = flow_system(net, cf)
    sparse = best_of(lambda: nodal_intensity_tco2_per_mwh(n, *arcs, *src), 5)
    e_sparse, _ = nodal_intensity_tco2_per_mwh(n, *arcs, *src)
    head = (
        f"\n{case} ({len(net.bus)} buses, {len(arcs[0])} flows): carbon_emission_flow "
        f"{full * 1e3:.1f} ms (tables in and out); sparse system {sparse * 1e3:.2f} ms; "
        f"residual {cf.balance['residual_tco2_per_h']:.1e} tCO2/h"
    )
    if len(net.bus) > 4000:  # dense N x N inverse of 9,241 buses takes minutes: not repeated
        print(head)
        return
    figures = {}
    for method in ("solve", "inv"):
        figures[method] = best_of(lambda m=method: dense_textbook(n, arcs, src, m), 2)
        np.testing.assert_allclose(
            dense_textbook(n, arcs, src, method), e_sparse, rtol=1e-8, atol=1e-10
        )
    print(
        f"{head}; dense solve {figures['solve'] * 1e3:.0f} ms "
        f"({figures['solve'] / sparse:.0f}x the sparse system, {figures['solve'] / full:.0f}x the "
        f"whole function), dense inv {figures['inv'] * 1e3:.0f} ms ({figures['inv'] / sparse:.0f}x,"
        f" {figures['inv'] / full:.0f}x)"
    )
    if case == "case2869pegase":
        assert full <= 0.5
        assert figures["solve"] >= 10 * sparse and figures["inv"] >= 10 * sparse
