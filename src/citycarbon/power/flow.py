"""Carbon emission flow (碳排放流) in a power network: nodal intensity, branch and load carbon.

Method
------
Kang et al. (2012, 2015) attach a *carbon flow* to every active-power flow of a solved network
under the **proportional-sharing** assumption: the power leaving a node is a homogeneous mix of
everything that entered it, so every outflow of node *n* carries the same carbon intensity
``e_n`` [tCO2/MWh], the *nodal carbon intensity*. For each node

    e_n · (Σ_g P_g,n + Σ_{b→n} P_b,recv) = Σ_g P_g,n · e_g + Σ_{b→n} P_b,recv · e_from(b)

which, stacked over all nodes, is the nodal carbon intensity equation of Kang et al. (2015)
(equation numbers are not cited here: not checked against the paper):

    (P_N − P_B^T) · e_N = P_G^T · e_G

with ``P_N = diag(nodal inflow)``, ``P_B[i, j]`` the active power that *arrives* at node j from
node i, ``P_G`` the generator-to-node injections and ``e_G`` the generator emission intensities.
The system is solved with sparse LU (``scipy.sparse.linalg.spsolve``); it is row-diagonally
dominant (each row's off-diagonals sum to the inflow minus the local generation) and
non-singular when every node that carries power is reached from a source.

Losses (the convention used here, stated explicitly):

- A branch's carbon flow density equals the intensity of its **sending** node (Kang et al. 2015,
  "branch carbon flow density"). The *branch carbon flow rate* reported is the one at
  the sending end, ``R_b = P_b,send · e_send`` [tCO2/h].
- **Losses carry carbon**: ``P_b,loss = P_b,send − P_b,recv`` is consumed inside the branch at the
  sending node's intensity, so the carbon delivered at the receiving end is ``P_b,recv · e_send``
  and ``P_B`` holds receiving-end flows (so the nodal balance is exact in a lossy network).
- A branch into which *both* ends feed power (a lightly loaded AC line whose losses exceed its
  transfer) carries no flow from one node to the other: each end's power is a loss at that end's
  intensity.
- In general each *receiving* end (p < 0 in pandapower's sign) draws its power from the other
  end's node; power a branch delivers beyond what enters it (negative losses, found in some
  equivalenced test cases such as case3120sp) carries the sending node's intensity and shows up
  as negative loss carbon. A node carrying no power contributes intensity 0.
- Conservation: generator + import carbon = load carbon + loss carbon + other consumption carbon
  (shunts, storage charging, exports at ext_grids, generators running as motors), up to the power
  flow's own mismatch.

Buses joined by closed bus-bus switches are one node (pandapower fuses them too). Buses that are
out of service, not supplied, or carry no power get a NaN intensity and a reason.

A DC power flow (``pandapower.rundcpp``) is lossless; the same functions apply. For many hours,
see :func:`hourly_nodal_intensity_dc`, which solves the DC power flow and the carbon flow of all
hours at once.

References
----------
[1] Kang C., Zhou T., Chen Q., Xu Q., Xia Q., Ji Z. (2012). Carbon emission flow in networks.
    Scientific Reports 2: 479. doi:10.1038/srep00479.
[2] Kang C., Zhou T., Chen Q., Wang J., Sun Y., Xia Q., Yan H. (2015). Carbon emission flow from
    generation to demand: a network-based model. IEEE Trans. Smart Grid 6(5): 2386-2394.
    doi:10.1109/TSG.2015.2388695.
[3] Bialek J. (1996). Tracing the flow of electricity. IEE Proc. Gener. Transm. Distrib. 143(4):
    313-320 (the proportional-sharing principle).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components
from scipy.sparse.linalg import spsolve

from citycarbon.errors import InputError, UnknownCodeError

#: Elements that generate; their emission intensity comes from the unit intensity table
#: (ext_grid may instead take the import intensity). pandapower sign: p_mw > 0 = generation.
UNIT_ELEMENTS = ("gen", "sgen", "ext_grid")
#: Elements that consume; pandapower sign: p_mw > 0 = consumption. ``load`` is reported per load.
CONSUMER_ELEMENTS = ("load", "shunt", "storage", "motor", "ward", "xward", "asymmetric_load")
#: Two-terminal branches: (from bus column, to bus column, from p column, to p column);
#: pandapower sign: p > 0 = power flowing from the bus into the branch.
BRANCH_ELEMENTS = {
    "line": ("from_bus", "to_bus", "p_from_mw", "p_to_mw"),
    "trafo": ("hv_bus", "lv_bus", "p_hv_mw", "p_lv_mw"),
    "impedance": ("from_bus", "to_bus", "p_from_mw", "p_to_mw"),
    "dcline": ("from_bus", "to_bus", "p_from_mw", "p_to_mw"),
}
INTENSITY_TABLE = "unit intensity table"
INTENSITY_FIELD = "intensity_tco2_per_mwh"

REASON_OUT_OF_SERVICE = "bus out of service"
REASON_NOT_SUPPLIED = "bus not supplied (no power flow result: isolated from every source)"
REASON_NO_FLOW = "no active power flows through the bus"


@dataclass(frozen=True)
class CarbonFlow:
    """Result tables of :func:`carbon_emission_flow` (pandapower style: one table per element).

    Attributes
    ----------
    bus : DataFrame
        Index = bus. ``intensity_tco2_per_mwh`` (nodal carbon intensity, NaN where undefined),
        ``inflow_mw`` (active power entering the node), ``reason`` ("" or why NaN).
    branch : DataFrame
        One row per in-service line/trafo/impedance/dcline: element, index, from_bus, to_bus,
        sending_bus (-1 if both ends feed the branch), p_send_mw, p_receive_mw, loss_mw,
        density_tco2_per_mwh, carbon_flow_tco2_per_h (sending end), carbon_delivered_tco2_per_h,
        loss_carbon_tco2_per_h.
    load : DataFrame
        Index = load. bus, p_mw, intensity_tco2_per_mwh, carbon_tco2_per_h.
    unit : DataFrame
        element, index, bus, p_mw, intensity_tco2_per_mwh (the unit's own),
        carbon_tco2_per_h (emissions of generation, 0 for units consuming).
    balance : Series
        generation_tco2_per_h = load_tco2_per_h + loss_tco2_per_h + other_tco2_per_h
        + residual_tco2_per_h (residual = the power flow's mismatch x intensity).
    """

    bus: pd.DataFrame
    branch: pd.DataFrame
    load: pd.DataFrame
    unit: pd.DataFrame
    balance: pd.Series


# --------------------------------------------------------------------------------------------
# the linear system
# --------------------------------------------------------------------------------------------


def nodal_intensity_tco2_per_mwh(
    n_nodes: int,
    arc_from: np.ndarray,
    arc_to: np.ndarray,
    arc_receive_mw: np.ndarray,
    source_node: np.ndarray,
    source_mw: np.ndarray,
    source_tco2_per_mwh: np.ndarray,
    *,
    tol_mw: float = 1e-9,
) -> tuple[np.ndarray, np.ndarray]:
    """Nodal carbon intensities from flows and sources: solve (P_N − P_B^T)·e_N = P_G^T·e_G.

    Parameters
    ----------
    n_nodes : int
        Number of nodes (0 .. n_nodes-1).
    arc_from, arc_to : array of int
        Sending and receiving node of each directed flow (one per branch carrying power).
    arc_receive_mw : array of float
        Active power arriving at ``arc_to`` [MW] (>= 0; losses already taken out).
    source_node, source_mw, source_tco2_per_mwh : arrays
        Generation injected at a node [MW] (>= 0) and its emission intensity [tCO2/MWh].
    tol_mw : float
        Nodes whose inflow is at most this [MW] carry no power: their intensity is NaN.

    Returns
    -------
    intensity_tco2_per_mwh : ndarray (n_nodes,)
        Nodal carbon intensity; NaN where no power flows in.
    inflow_mw : ndarray (n_nodes,)
        The diagonal of P_N.

    References
    ----------
    [1] Kang et al. (2015), IEEE Trans. Smart Grid 6(5): 2386-2394 (nodal carbon intensity;
        proportional sharing).
    """
    arc_from = np.asarray(arc_from, dtype=np.int64)
    arc_to = np.asarray(arc_to, dtype=np.int64)
    recv = np.asarray(arc_receive_mw, dtype=float)
    src = np.asarray(source_node, dtype=np.int64)
    g = np.asarray(source_mw, dtype=float)
    eg = np.asarray(source_tco2_per_mwh, dtype=float)
    inflow = np.bincount(arc_to, weights=recv, minlength=n_nodes) + np.bincount(
        src, weights=g, minlength=n_nodes
    )
    rhs = np.bincount(src, weights=g * eg, minlength=n_nodes)
    live = inflow > tol_mw
    keep = live[arc_to]
    diag = np.where(live, inflow, 1.0)
    rhs = np.where(live, rhs, 0.0)
    a = sp.csc_matrix(
        (
            np.concatenate([diag, -recv[keep]]),
            (
                np.concatenate([np.arange(n_nodes), arc_to[keep]]),
                np.concatenate([np.arange(n_nodes), arc_from[keep]]),
            ),
        ),
        shape=(n_nodes, n_nodes),
    )
    e = np.atleast_1d(spsolve(a, rhs))
    e[~live] = np.nan
    return e, inflow


# --------------------------------------------------------------------------------------------
# from a pandapower net
# --------------------------------------------------------------------------------------------


def _table(net: Any, name: str) -> pd.DataFrame:
    t = net[name] if name in net else None
    return t if isinstance(t, pd.DataFrame) else pd.DataFrame()


def check_converged(net: Any) -> None:
    """Raise InputError unless ``net`` holds the results of a converged power flow."""
    if not bool(getattr(net, "converged", False)) or _table(net, "res_bus").empty:
        raise InputError(
            "the power flow has not converged (or was not run): carbon emission flow needs the"
            " results of a converged pandapower.runpp(net) or rundcpp(net); check the network"
            " data or run the power flow with other initial values",
            source=f"pandapower net {getattr(net, 'name', '') or ''}".strip(),
            field="converged",
            value=getattr(net, "converged", None),
        )


def unit_intensities(
    net: Any, unit_intensity: pd.DataFrame, *, import_tco2_per_mwh: float | None = None
) -> pd.DataFrame:
    """The emission intensity of every in-service gen, sgen and ext_grid, validated.

    Parameters
    ----------
    net : pandapowerNet
    unit_intensity : DataFrame
        Columns ``element`` (gen | sgen | ext_grid), ``index`` (the element's index in the net),
        ``intensity_tco2_per_mwh`` [tCO2/MWh] (>= 0).
    import_tco2_per_mwh : float, optional
        Intensity of power imported through an ext_grid not listed in ``unit_intensity``.

    Returns
    -------
    DataFrame
        element, index, bus, intensity_tco2_per_mwh for every in-service unit.

    Raises
    ------
    InputError
        A listed intensity is missing or negative, a unit has none, a row is duplicated or
        names a unit the net does not have (the message names the unit and the field).
    """
    need = {"element", "index", INTENSITY_FIELD}
    missing = need - set(unit_intensity.columns)
    if missing:
        raise InputError(
            f"column(s) {sorted(missing)} missing; expected element, index, {INTENSITY_FIELD}",
            source=INTENSITY_TABLE,
            field=sorted(missing)[0],
        )
    t = unit_intensity.reset_index(drop=True)
    other = ~t["element"].isin(UNIT_ELEMENTS)
    if other.any():
        i = int(np.flatnonzero(other.to_numpy())[0])
        raise UnknownCodeError(
            "generating element",
            t["element"].iloc[i],
            UNIT_ELEMENTS,
            source=INTENSITY_TABLE,
            row=i,
            field="element",
        )
    value = pd.to_numeric(t[INTENSITY_FIELD], errors="coerce")
    bad = value.isna() | (value < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        what = "missing" if pd.isna(value.iloc[i]) else "negative"
        raise InputError(
            f"{t['element'].iloc[i]} {t['index'].iloc[i]}: emission intensity is {what}"
            " (expected a number >= 0 in tCO2/MWh)",
            source=INTENSITY_TABLE,
            row=i,
            field=INTENSITY_FIELD,
            value=t[INTENSITY_FIELD].iloc[i],
        )
    dup = t.duplicated(["element", "index"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"{t['element'].iloc[i]} {t['index'].iloc[i]} is listed twice",
            source=INTENSITY_TABLE,
            row=i,
            field="index",
            value=t["index"].iloc[i],
        )
    frames = []
    for el in UNIT_ELEMENTS:
        tab = _table(net, el)
        tab = tab[tab["in_service"].astype(bool)] if len(tab) else tab
        given = t[t["element"] == el]
        unknown = ~given["index"].isin(_table(net, el).index)
        if unknown.any():
            i = int(given.index[unknown.to_numpy()][0])
            raise InputError(
                f"the net has no {el} {t['index'].iloc[i]}",
                source=INTENSITY_TABLE,
                row=i,
                field="index",
                value=t["index"].iloc[i],
            )
        ei = pd.Series(value[given.index].to_numpy(), index=given["index"].to_numpy())
        ei = ei.reindex(tab.index)
        if el == "ext_grid" and import_tco2_per_mwh is not None:
            if not np.isfinite(import_tco2_per_mwh) or import_tco2_per_mwh < 0:
                raise InputError(
                    "import intensity must be a number >= 0 [tCO2/MWh]",
                    source="carbon_emission_flow",
                    field="import_tco2_per_mwh",
                    value=import_tco2_per_mwh,
                )
            ei = ei.fillna(float(import_tco2_per_mwh))
        if ei.isna().any():
            idx = ei.index[ei.isna().to_numpy()][0]
            field = "import_tco2_per_mwh" if el == "ext_grid" else INTENSITY_FIELD
            raise InputError(
                f"{el} {idx} (bus {tab.at[idx, 'bus']}) has no emission intensity"
                + (" and no import intensity is given" if el == "ext_grid" else ""),
                source=INTENSITY_TABLE,
                row=f"{el} {idx}",
                field=field,
                suggestions=(),
            )
        frames.append(
            pd.DataFrame(
                {
                    "element": el,
                    "index": tab.index.to_numpy(),
                    "bus": tab["bus"].to_numpy(),
                    INTENSITY_FIELD: ei.to_numpy(dtype=float),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def bus_nodes(net: Any) -> pd.Series:
    """Node number (0..n-1) of every bus; buses joined by closed bus-bus switches share one."""
    buses = net.bus.index
    n = len(buses)
    sw = _table(net, "switch")
    if len(sw):
        closed = sw[(sw["et"] == "b") & sw["closed"].astype(bool)]
        if "in_service" in closed:
            closed = closed[closed["in_service"].astype(bool)]
        i = buses.get_indexer(closed["bus"])
        j = buses.get_indexer(closed["element"])
        graph = sp.coo_matrix((np.ones(len(i)), (i, j)), shape=(n, n))
        _, label = connected_components(graph, directed=False)
    else:
        label = np.arange(n)
    return pd.Series(label, index=buses, name="node")


def _res_p(net: Any, el: str, column: str = "p_mw") -> pd.Series:
    """Result column of the in-service elements of ``el`` (NaN results as 0)."""
    tab = _table(net, el)
    if tab.empty:
        return pd.Series(dtype=float)
    tab = tab[tab["in_service"].astype(bool)]
    res = _table(net, f"res_{el}")
    if column not in res:
        return pd.Series(0.0, index=tab.index)
    return res[column].reindex(tab.index).fillna(0.0).astype(float)


def carbon_emission_flow(
    net: Any,
    unit_intensity: pd.DataFrame,
    *,
    import_tco2_per_mwh: float | None = None,
    tol_mw: float = 1e-9,
) -> CarbonFlow:
    """Carbon emission flow of a solved pandapower net (AC or DC power flow).

    Parameters
    ----------
    net : pandapowerNet
        After a converged ``pandapower.runpp`` or ``rundcpp`` (uses res_bus, res_line, res_trafo,
        res_impedance, res_dcline, res_gen, res_sgen, res_ext_grid, res_load, res_shunt, ...).
    unit_intensity : DataFrame
        element (gen | sgen | ext_grid), index, intensity_tco2_per_mwh [tCO2/MWh].
    import_tco2_per_mwh : float, optional
        Intensity of imports through ext_grids not listed in ``unit_intensity`` [tCO2/MWh].
    tol_mw : float
        Flows and injections of at most this magnitude [MW] are treated as zero.

    Returns
    -------
    CarbonFlow
        Tables bus, branch, load, unit and the carbon balance (see :class:`CarbonFlow`).

    Raises
    ------
    InputError
        Power flow not converged; unit intensity missing or negative; a consumer element
        (load, shunt, storage, ...) injecting active power (its carbon is unknown: model it as
        an sgen with an intensity); three-winding transformers (not supported).

    References
    ----------
    [1] Kang et al. (2015), IEEE Trans. Smart Grid 6(5): 2386-2394 (branch carbon flow rate and
        density, nodal carbon intensity, load carbon emission rate).
    [2] Kang et al. (2012), Scientific Reports 2: 479.
    """
    check_converged(net)
    if len(t3 := _table(net, "trafo3w")) and t3["in_service"].astype(bool).any():
        raise InputError(
            "three-winding transformers are not supported by the carbon emission flow yet;"
            " replace each by three two-winding transformers to a star bus",
            source="pandapower net",
            row=f"trafo3w {t3.index[0]}",
        )
    units = unit_intensities(net, unit_intensity, import_tco2_per_mwh=import_tco2_per_mwh)
    node = bus_nodes(net)
    n_nodes = int(node.max()) + 1 if len(node) else 0

    def nodes_of(bus: pd.Series | np.ndarray) -> np.ndarray:
        return node.reindex(np.asarray(bus)).to_numpy(dtype=np.int64)

    # units: generation > 0 is a source, < 0 (export, motoring) an outflow
    unit_p = np.concatenate(
        [
            _res_p(net, el).reindex(units.loc[units["element"] == el, "index"]).to_numpy()
            for el in UNIT_ELEMENTS
        ]
    )
    units = units.assign(p_mw=unit_p)
    gen = unit_p > tol_mw
    src_node = nodes_of(units["bus"])[gen]
    src_mw = unit_p[gen]
    src_e = units[INTENSITY_FIELD].to_numpy()[gen]

    # consumers
    consumers = []
    for el in CONSUMER_ELEMENTS:
        p = _res_p(net, el)
        if p.empty:
            continue
        neg = p < -tol_mw
        if neg.any():
            idx = p.index[neg.to_numpy()][0]
            raise InputError(
                f"{el} {idx} injects {-p[idx]:.6g} MW: its carbon intensity is unknown; model it"
                " as an sgen with an emission intensity",
                source=f"res_{el}",
                row=idx,
                field="p_mw",
                value=float(p[idx]),
            )
        consumers.append(
            pd.DataFrame(
                {"element": el, "index": p.index, "bus": net[el].loc[p.index, "bus"], "p_mw": p}
            )
        )

    # branches
    frames = []
    for el, (fb, tb, pf, pt) in BRANCH_ELEMENTS.items():
        tab = _table(net, el)
        if tab.empty:
            continue
        tab = tab[tab["in_service"].astype(bool)]
        frames.append(
            pd.DataFrame(
                {
                    "element": el,
                    "index": tab.index,
                    "from_bus": tab[fb].to_numpy(),
                    "to_bus": tab[tb].to_numpy(),
                    "p_from_mw": _res_p(net, el, pf).to_numpy(),
                    "p_to_mw": _res_p(net, el, pt).to_numpy(),
                }
            )
        )
    br = (
        pd.concat(frames, ignore_index=True)
        if frames
        else pd.DataFrame(
            columns=["element", "index", "from_bus", "to_bus", "p_from_mw", "p_to_mw"]
        )
    )
    p_f = np.where(np.abs(br["p_from_mw"].to_numpy(float)) > tol_mw, br["p_from_mw"], 0.0)
    p_t = np.where(np.abs(br["p_to_mw"].to_numpy(float)) > tol_mw, br["p_to_mw"], 0.0)
    n_f, n_t = nodes_of(br["from_bus"]), nodes_of(br["to_bus"])
    pos_f, neg_f = np.maximum(p_f, 0.0), np.maximum(-p_f, 0.0)
    pos_t, neg_t = np.maximum(p_t, 0.0), np.maximum(-p_t, 0.0)
    # a receiving end (p < 0) takes its power from the other end's node
    forward, backward = neg_t > 0, neg_f > 0
    e_node, inflow = nodal_intensity_tco2_per_mwh(
        n_nodes,
        np.concatenate([n_f[forward], n_t[backward]]),
        np.concatenate([n_t[forward], n_f[backward]]),
        np.concatenate([neg_t[forward], neg_f[backward]]),
        src_node,
        src_mw,
        src_e,
        tol_mw=tol_mw,
    )

    # bus table with reasons
    e_bus = e_node[node.to_numpy()] if n_nodes else np.zeros(0)
    reason = np.where(np.isnan(e_bus), REASON_NO_FLOW, "")
    res_bus = _table(net, "res_bus")
    not_supplied = (
        res_bus["vm_pu"].reindex(net.bus.index).isna().to_numpy()
        if len(res_bus)
        else np.ones(len(net.bus), dtype=bool)
    )
    reason = np.where(not_supplied, REASON_NOT_SUPPLIED, reason)
    reason = np.where(~net.bus["in_service"].astype(bool).to_numpy(), REASON_OUT_OF_SERVICE, reason)
    e_bus = np.where(reason == "", e_bus, np.nan)
    bus = pd.DataFrame(
        {INTENSITY_FIELD: e_bus, "inflow_mw": inflow[node.to_numpy()], "reason": reason},
        index=net.bus.index,
    )
    e_of = bus[INTENSITY_FIELD]

    # branch table
    e_f = e_of.reindex(br["from_bus"]).to_numpy(dtype=float)
    e_t = e_of.reindex(br["to_bus"]).to_numpy(dtype=float)
    only_f, only_b = forward & ~backward, backward & ~forward
    e_send = np.where(only_f, e_f, np.where(only_b, e_t, np.nan))
    # NaN intensity (a node carrying no power) enters the solve as 0
    c_in = pos_f * np.nan_to_num(e_f) + pos_t * np.nan_to_num(e_t)
    c_out = neg_t * np.nan_to_num(e_f) + neg_f * np.nan_to_num(e_t)
    branch = br.assign(
        sending_bus=np.where(
            only_f,
            br["from_bus"].astype(np.int64),
            np.where(only_b, br["to_bus"].astype(np.int64), -1),
        ),
        p_send_mw=np.where(only_f, pos_f, np.where(only_b, pos_t, 0.0)),
        p_receive_mw=neg_f + neg_t,
        loss_mw=p_f + p_t,
        density_tco2_per_mwh=e_send,
        carbon_flow_tco2_per_h=np.where(only_f, pos_f * e_f, np.where(only_b, pos_t * e_t, 0.0)),
        carbon_delivered_tco2_per_h=c_out,
        loss_carbon_tco2_per_h=c_in - c_out,
    )
    loss_carbon = c_in - c_out

    # consumers and units
    cons = (
        pd.concat(consumers, ignore_index=True)
        if consumers
        else pd.DataFrame(columns=["element", "index", "bus", "p_mw"])
    )
    cons_e = e_of.reindex(cons["bus"]).to_numpy(dtype=float)
    cons_c = cons["p_mw"].to_numpy(float) * cons_e
    is_load = (cons["element"] == "load").to_numpy()
    load = pd.DataFrame(
        {
            "bus": cons["bus"].to_numpy()[is_load],
            "p_mw": cons["p_mw"].to_numpy(float)[is_load],
            INTENSITY_FIELD: cons_e[is_load],
            "carbon_tco2_per_h": cons_c[is_load],
        },
        index=pd.Index(cons["index"].to_numpy()[is_load], name="load"),
    )
    unit_c = np.where(gen, unit_p * units[INTENSITY_FIELD].to_numpy(), 0.0)
    sink_c = np.where(unit_p < -tol_mw, -unit_p * e_of.reindex(units["bus"]).to_numpy(float), 0.0)
    unit = units.assign(carbon_tco2_per_h=unit_c)[
        ["element", "index", "bus", "p_mw", INTENSITY_FIELD, "carbon_tco2_per_h"]
    ]

    generation = float(unit_c.sum())
    load_c = float(np.nansum(load["carbon_tco2_per_h"]))
    loss_c = float(np.nansum(loss_carbon))
    other = float(np.nansum(cons_c[~is_load]) + np.nansum(sink_c))
    balance = pd.Series(
        {
            "generation_tco2_per_h": generation,
            "load_tco2_per_h": load_c,
            "loss_tco2_per_h": loss_c,
            "other_tco2_per_h": other,
            "residual_tco2_per_h": generation - load_c - loss_c - other,
        },
        name="carbon_balance",
    )
    return CarbonFlow(bus=bus, branch=branch, load=load, unit=unit, balance=balance)


# --------------------------------------------------------------------------------------------
# many hours: DC power flow + carbon emission flow, vectorised over hours
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class HourlyCarbonFlow:
    """Result of :func:`hourly_nodal_intensity_dc` (index = the hours given).

    Attributes
    ----------
    intensity : DataFrame
        Hours x bus: nodal carbon intensity [tCO2/MWh]; NaN at buses out of service, isolated or
        carrying no power in that hour (see ``bus_reason``).
    bus_reason : Series
        Index = bus: "" or why the bus has no intensity in any hour (out of service, isolated).
    branch_flow_mw : DataFrame
        Hours x (element, index): DC active power flow from the from/hv bus [MW].
    load_carbon : DataFrame
        Hours x load: carbon attributed to each load [tCO2/h]; NaN for loads not supplied.
    balance : DataFrame
        Per hour: generation_tco2_per_h = load_tco2_per_h + other_tco2_per_h + residual
        (other = shunts, constant consumers, exports at the slack; DC flows are lossless).
    slack_mw : Series
        Per hour: power delivered by the slack (ext_grid) [MW]; negative = export.
    iterations : int
        Sweeps of the vectorised solve (the longest flow path, as the DC flow graph is acyclic).
    """

    intensity: pd.DataFrame
    bus_reason: pd.Series
    branch_flow_mw: pd.DataFrame
    load_carbon: pd.DataFrame
    balance: pd.DataFrame
    slack_mw: pd.Series
    iterations: int


def scaled_dispatch(
    net: Any,
    load_factor: pd.Series | pd.DataFrame,
    unit_factor: pd.Series | pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly load and unit dispatch [MW] as base values of the net times hourly factors.

    Parameters
    ----------
    net : pandapowerNet
        Base values ``load.p_mw x load.scaling`` and ``gen/sgen.p_mw x scaling``.
    load_factor : Series (hours) or DataFrame (hours x load index)
        Multiplier of every load (Series) or of each load (DataFrame) [-].
    unit_factor : Series (hours) or DataFrame (hours x (element, index)), optional
        Multiplier of every gen and sgen (default: ``load_factor`` if a Series, else 1).

    Returns
    -------
    load_mw : DataFrame
        Hours x load index [MW].
    unit_mw : DataFrame
        Hours x MultiIndex (element, index) of in-service gens and sgens [MW].
    """
    loads = net.load[net.load["in_service"].astype(bool)]
    base_load = (loads["p_mw"] * loads["scaling"]).astype(float)
    if isinstance(load_factor, pd.Series):
        load_mw = pd.DataFrame(
            np.outer(load_factor.to_numpy(float), base_load.to_numpy()),
            index=load_factor.index,
            columns=base_load.index,
        )
    else:
        load_mw = load_factor.reindex(columns=base_load.index).fillna(1.0) * base_load
    hours = load_mw.index
    cols, base = [], []
    for el in ("gen", "sgen"):
        tab = _table(net, el)
        if tab.empty:
            continue
        tab = tab[tab["in_service"].astype(bool)]
        cols += [(el, i) for i in tab.index]
        base.append((tab["p_mw"] * tab["scaling"]).to_numpy(float))
    columns = pd.MultiIndex.from_tuples(cols, names=["element", "index"])
    base_unit = np.concatenate(base) if base else np.zeros(0)
    if unit_factor is None:
        unit_factor = load_factor if isinstance(load_factor, pd.Series) else pd.Series(1.0, hours)
    if isinstance(unit_factor, pd.Series):
        f = np.repeat(unit_factor.reindex(hours).to_numpy(float)[:, None], len(cols), axis=1)
    else:
        f = unit_factor.reindex(index=hours, columns=columns).fillna(1.0).to_numpy(float)
    return load_mw, pd.DataFrame(f * base_unit, index=hours, columns=columns)


def _check_hourly(frame: pd.DataFrame, source: str, what: str, *, negative_ok: bool) -> None:
    """Raise InputError naming the first missing (or, for loads, negative) hourly value."""
    values = frame.to_numpy(float)
    bad = np.isnan(values) if negative_ok else np.isnan(values) | (values < 0)
    if bad.any():
        h, c = (int(k[0]) for k in np.nonzero(bad))
        kind = "missing" if np.isnan(values[h, c]) else "negative"
        raise InputError(
            f"{what} {frame.columns[c]} at {frame.index[h]}: value is {kind}"
            + ("" if kind == "missing" else " (a negative load would inject carbon-free power)"),
            source=source,
            row=str(frame.index[h]),
            field=str(frame.columns[c]),
            value=float(values[h, c]),
        )


def _dc_model(net: Any) -> dict[str, Any]:
    """DC model of the net through pandapower's own conversion (a copy; the net is untouched)."""
    import copy

    import pandapower as pp
    from pandapower.pypower.idx_brch import BR_STATUS
    from pandapower.pypower.idx_bus import BUS_TYPE, GS, NONE, PD, REF, VA
    from pandapower.pypower.makeBdc import makeBdc

    work = copy.deepcopy(net)
    try:
        pp.rundcpp(work)
    except Exception as err:  # pandapower raises its own errors for unsolvable nets
        raise InputError(
            f"the DC power flow of the base case failed: {err}",
            source=f"pandapower net {getattr(net, 'name', '') or ''}".strip(),
        ) from err
    ppc = work._ppc
    bus, branch = ppc["bus"], ppc["branch"]
    on = branch[:, BR_STATUS].real == 1
    b_bus, b_f, p_businj, p_finj = makeBdc(bus.real, branch[on].real)[:4]
    lookup = work._pd2ppc_lookups
    ref = np.flatnonzero(bus[:, BUS_TYPE].real == REF)
    return {
        "base_mva": float(ppc["baseMVA"]),
        "bus_lookup": np.asarray(lookup["bus"]),
        "n": len(bus),
        "isolated": bus[:, BUS_TYPE].real == NONE,
        "ref": ref,
        "va_ref_rad": np.deg2rad(bus[ref, VA].real),
        "pd_mw": bus[:, PD].real.copy(),
        "gs_mw": bus[:, GS].real.copy(),
        "b_bus": b_bus.tocsc(),
        "b_f": b_f.tocsr(),
        "p_businj": np.asarray(p_businj).ravel(),
        "p_finj": np.asarray(p_finj).ravel(),
        "branch_on": on,
        "branch_f": branch[on, 0].real.astype(np.int64),
        "branch_t": branch[on, 1].real.astype(np.int64),
        "branch_lookup": dict(lookup["branch"]),
    }


def hourly_nodal_intensity_dc(
    net: Any,
    unit_intensity: pd.DataFrame,
    load_mw: pd.DataFrame,
    unit_mw: pd.DataFrame | None = None,
    *,
    import_tco2_per_mwh: float | None = None,
    tol_mw: float = 1e-9,
) -> HourlyCarbonFlow:
    """Nodal carbon intensity for many hours: one DC power flow and one carbon flow per hour.

    Choice of method (stated because it matters): each hour is a **DC power flow** (lossless,
    flat voltage; the B-matrix of ``pandapower.rundcpp``) rather than an AC power flow, so that
    all hours are solved together: one sparse LU factorisation of the reduced B-matrix serves every
    hour (a multi-column solve), and the carbon flow system of all hours is solved by vectorised
    sweeps. In a DC flow power runs from higher to lower voltage angle, so the flow graph is
    acyclic and the sweep ``e ← (P_G e_G + P_B^T e) / P_N`` is exact after as many sweeps as the
    longest flow path (Jacobi on a nilpotent system). The slack (the net's single ext_grid or
    slack gen) balances each hour; an hour where it is negative exports at its bus intensity.
    Losses are not modelled (DC), so every generator's carbon ends at a load or other consumer.

    Parameters
    ----------
    net : pandapowerNet
        The network (topology, impedances, constant consumers such as shunts and wards).
    unit_intensity : DataFrame
        element, index, intensity_tco2_per_mwh (as for :func:`carbon_emission_flow`).
    load_mw : DataFrame
        Hours x load index: active power of each load [MW]; loads not listed keep their base
        value ``p_mw x scaling``.
    unit_mw : DataFrame, optional
        Hours x MultiIndex (element, index) of gens/sgens [MW]; units not listed keep their base
        value. The slack unit is computed.
    import_tco2_per_mwh : float, optional
        Intensity of the ext_grid when it is not in ``unit_intensity`` [tCO2/MWh].
    tol_mw : float
        Flows and inflows of at most this [MW] count as zero.

    Returns
    -------
    HourlyCarbonFlow

    References
    ----------
    [1] Kang et al. (2015), IEEE Trans. Smart Grid 6(5): 2386-2394 (nodal carbon intensity).
    [2] Stott B., Jardim J., Alsaç O. (2009). DC power flow revisited. IEEE Trans. Power Syst.
        24(3): 1290-1300 (the DC approximation).
    """
    from scipy.sparse.linalg import splu

    units = unit_intensities(net, unit_intensity, import_tco2_per_mwh=import_tco2_per_mwh)
    m = _dc_model(net)
    if len(m["ref"]) != 1:
        raise InputError(
            f"hourly DC carbon flow needs exactly one slack bus, the net has {len(m['ref'])}",
            source="pandapower net",
            field="ext_grid",
        )
    n, ref, base = m["n"], int(m["ref"][0]), m["base_mva"]
    hours = load_mw.index
    n_h = len(hours)
    lk = m["bus_lookup"]

    # consumption per (hour, DC bus): hourly loads + constant rest (wards, storage, shunts GS)
    loads = net.load[net.load["in_service"].astype(bool)]
    base_load = (loads["p_mw"] * loads["scaling"]).astype(float)
    lmw = load_mw.reindex(columns=base_load.index)
    unknown = ~load_mw.columns.isin(base_load.index)
    if unknown.any():
        raise InputError(
            f"load {load_mw.columns[unknown][0]} is not an in-service load of the net",
            source="load_mw",
            field="columns",
            value=load_mw.columns[unknown][0],
        )
    _check_hourly(load_mw, "load_mw", "load", negative_ok=False)
    lmw = lmw.fillna(base_load).to_numpy(float)  # fills only the loads not given
    load_node = lk[loads["bus"].to_numpy()]
    # loads at isolated or out-of-service buses are not supplied: no power, carbon NaN
    unsupplied = m["isolated"][load_node] | ~net.bus.loc[loads["bus"], "in_service"].to_numpy(bool)
    lmw[:, unsupplied] = 0.0
    onehot_load = sp.csr_matrix(
        (np.ones(len(loads)), (np.arange(len(loads)), load_node)), shape=(len(loads), n)
    )
    # units: hourly values where given, else base; the slack's output is computed
    u_el, u_idx = units["element"].to_numpy(), units["index"].to_numpy()
    base_u = np.zeros(len(units))
    for el in ("gen", "sgen"):
        sel = u_el == el
        if sel.any():
            tab = net[el].loc[u_idx[sel]]
            base_u[sel] = (tab["p_mw"] * tab["scaling"]).to_numpy(float)
    umw = np.repeat(base_u[None, :], n_h, axis=0)
    if unit_mw is not None and unit_mw.shape[1]:
        pos = pd.MultiIndex.from_arrays([u_el, u_idx]).get_indexer(unit_mw.columns)
        if (pos < 0).any():
            raise InputError(
                f"unit {unit_mw.columns[pos < 0][0]} is not an in-service gen/sgen of the net",
                source="unit_mw",
                field="columns",
                value=str(unit_mw.columns[pos < 0][0]),
            )
        if not unit_mw.index.equals(hours):
            raise InputError(
                "unit_mw must have the same hours (index) as load_mw",
                source="unit_mw",
                field="index",
            )
        _check_hourly(unit_mw, "unit_mw", "unit", negative_ok=True)
        umw[:, pos] = unit_mw.to_numpy(float)
    unit_node = lk[units["bus"].to_numpy()]
    umw[:, m["isolated"][unit_node]] = 0.0  # units in an island without slack deliver nothing
    slack_sel = (u_el == "ext_grid") & (unit_node == ref)
    if not slack_sel.any():
        gen_tab = _table(net, "gen")
        slack_gens = (
            set(gen_tab.index[gen_tab["slack"].astype(bool)]) if "slack" in gen_tab else set()
        )
        slack_sel = (u_el == "gen") & np.isin(u_idx, list(slack_gens)) & (unit_node == ref)
    if not slack_sel.any():
        raise InputError(
            "hourly DC carbon flow needs an in-service ext_grid (or slack gen) at the slack bus",
            source="pandapower net",
            field="ext_grid",
        )
    slack_pos = int(np.flatnonzero(slack_sel)[0])
    umw[:, slack_sel] = 0.0
    const_other = m["pd_mw"] - np.bincount(
        load_node, np.where(unsupplied, 0.0, base_load.to_numpy()), minlength=n
    )
    sgen_sel = u_el == "sgen"
    const_other += np.bincount(unit_node[sgen_sel], base_u[sgen_sel], minlength=n)
    const_other += m["gs_mw"]
    const_other[m["isolated"]] = 0.0
    if (const_other < -1e-6).any():
        i = int(np.flatnonzero(const_other < -1e-6)[0])
        raise InputError(
            "a constant element (ward, storage, shunt ...) injects active power: its carbon is"
            " unknown; model it as an sgen with an emission intensity",
            source="pandapower net",
            row=f"bus {np.flatnonzero(lk == i)[:1]}",
            value=float(const_other[i]),
        )
    const_other = np.maximum(const_other, 0.0)
    consumption = (onehot_load.T @ lmw.T).T + const_other[None, :]  # hours x n
    unit_onehot = sp.csr_matrix(
        (np.ones(len(units)), (np.arange(len(units)), unit_node)), shape=(len(units), n)
    )
    injection = (unit_onehot.T @ umw.T).T - consumption
    slack = -injection.sum(axis=1)
    umw[:, slack_pos] = slack
    injection[:, ref] += slack

    # DC power flow of all hours: one factorisation, one multi-column solve
    active = ~m["isolated"]
    pvpq = np.flatnonzero(active & (np.arange(n) != ref))
    b = m["b_bus"]
    rhs = injection[:, pvpq].T / base - m["p_businj"][pvpq, None]
    rhs -= b[pvpq][:, [ref]].toarray() * m["va_ref_rad"][0]
    theta = np.zeros((n, n_h))
    theta[ref] = m["va_ref_rad"][0]
    theta[pvpq] = splu(b[pvpq][:, pvpq].tocsc()).solve(np.ascontiguousarray(rhs))
    flow = (m["b_f"] @ theta + m["p_finj"][:, None]) * base  # branches x hours

    # carbon flow of all hours
    e_u = units[INTENSITY_FIELD].to_numpy()
    gen_mw = np.maximum(umw, 0.0)
    src_mw = (unit_onehot.T @ gen_mw.T).T
    src_c = (unit_onehot.T @ (gen_mw * e_u).T).T
    fwd = flow.T > tol_mw
    bwd = flow.T < -tol_mw
    f_n, t_n = m["branch_f"][None, :], m["branch_t"][None, :]
    send = np.where(fwd, f_n, t_n)
    recv = np.where(fwd, t_n, f_n)
    w = np.where(fwd | bwd, np.abs(flow.T), 0.0)
    offset = (np.arange(n_h) * n)[:, None]
    send_flat, recv_flat = (send + offset).ravel(), (recv + offset).ravel()
    w_flat = w.ravel()
    size = n_h * n
    inflow = src_mw + np.bincount(recv_flat, w_flat, minlength=size).reshape(n_h, n)
    live = inflow > tol_mw
    denom = np.where(live, inflow, 1.0)
    e = np.where(live, src_c / denom, 0.0)
    iterations, done = 0, False
    while not done and iterations <= n:  # exact after (longest flow path) sweeps
        iterations += 1
        acc = np.bincount(recv_flat, w_flat * e.ravel()[send_flat], minlength=size)
        new = np.where(live, (src_c + acc.reshape(n_h, n)) / denom, 0.0)
        done = np.array_equal(new, e) or np.max(np.abs(new - e)) <= 1e-12 * max(1.0, new.max())
        e = new
    if not done:  # impossible for a DC flow (acyclic); kept so that it can never pass silently
        raise InputError(
            f"the carbon flow sweeps did not settle in {iterations} sweeps: the flow graph has a"
            " cycle (zero-impedance loop?)",
            source="pandapower net",
        )
    e = np.where(live, e, np.nan)

    # back to buses, loads and the balance
    bus_index = net.bus.index
    bus_pos = lk[bus_index.to_numpy()]
    oos = ~net.bus["in_service"].astype(bool).to_numpy()
    valid_pos = (bus_pos >= 0) & (bus_pos < n)
    isolated = oos | ~valid_pos
    isolated[valid_pos] |= m["isolated"][bus_pos[valid_pos]]
    reason = np.where(oos, REASON_OUT_OF_SERVICE, np.where(isolated, REASON_NOT_SUPPLIED, ""))
    e_bus = np.full((n_h, len(bus_index)), np.nan)
    e_bus[:, ~isolated] = e[:, bus_pos[~isolated]]
    intensity = pd.DataFrame(e_bus, index=hours, columns=bus_index)
    e0 = np.nan_to_num(e)
    load_c = lmw * e0[:, load_node]
    load_c[:, unsupplied] = np.nan
    exports = np.maximum(-umw, 0.0)
    other_c = (const_other[None, :] * e0).sum(axis=1) + (exports * e0[:, unit_node]).sum(axis=1)
    gen_c = (gen_mw * e_u).sum(axis=1)
    balance = pd.DataFrame(
        {
            "generation_tco2_per_h": gen_c,
            "load_tco2_per_h": np.nansum(load_c, axis=1),
            "other_tco2_per_h": other_c,
        },
        index=hours,
    )
    balance["residual_tco2_per_h"] = (
        balance["generation_tco2_per_h"] - balance["load_tco2_per_h"] - balance["other_tco2_per_h"]
    )
    on_rows = np.flatnonzero(m["branch_on"])
    cols = []
    for el, (start, stop) in m["branch_lookup"].items():
        tab = _table(net, el)
        same = len(tab) == stop - start
        for k in range(start, stop):  # a few hundred branch labels, not bulk data
            cols.append((el, tab.index[k - start] if same else k - start))
    labels = pd.MultiIndex.from_tuples([cols[k] for k in on_rows], names=["element", "index"])
    return HourlyCarbonFlow(
        intensity=intensity,
        bus_reason=pd.Series(reason, index=bus_index, name="reason"),
        branch_flow_mw=pd.DataFrame(flow.T, index=hours, columns=labels),
        load_carbon=pd.DataFrame(load_c, index=hours, columns=base_load.index),
        balance=balance,
        slack_mw=pd.Series(slack, index=hours, name="slack_mw"),
        iterations=iterations,
    )
