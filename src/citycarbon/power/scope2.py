"""Hourly, nodal (location-based) scope 2: metered kWh times the carbon intensity of their node.

For a meter m at grid node n(m) with hourly consumption kWh_{m,h} and the node's hourly carbon
intensity e_{n,h} (from the carbon emission flow, :mod:`citycarbon.power.flow`):

    hourly scope 2   E_hourly  = Σ_h kWh_h · e_{n,h}
    average scope 2  E_average = ē · Σ_h kWh_h            (ē an annual average factor)

and the difference splits exactly into a *location* and a *timing* part:

    E_hourly − E_average = Σ_m kWh_m · (ē_m − ē)                 location: the node's mean
                         + Σ_m Σ_h kWh_{m,h} · (e_{n,h} − ē_m)     timing: shape vs intensity

with ē_m the unweighted mean intensity of the meter's node over the hours it reports. The
timing part equals H · cov(kWh_h, e_h) per meter: enterprises that draw power when the grid is
dirty (positive correlation of load shape and intensity) are under-counted by an annual factor.

References
----------
[1] GHG Protocol Scope 2 Guidance (WRI/WBCSD 2015), Ch. 6 (location-based method: "the average
    energy generation emission factors for defined geographic locations ... and time periods").
[2] Kang C. et al. (2015). Carbon emission flow from generation to demand: a network-based model.
    IEEE Trans. Smart Grid 6(5): 2386-2394 (nodal carbon intensity, load carbon).
[3] Miller G. et al. (2022). Hourly accounting of carbon emissions from electricity consumption.
    Environ. Res. Lett. 17: 044073 (annual vs hourly factors).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.errors import InputError, UnknownCodeError

E = "intensity_tco2_per_mwh"


def _utc(ts: pd.Series | pd.Index) -> np.ndarray:
    """Timestamps as datetime64[ns, UTC] values (naive ones are taken as UTC) for exact joins."""
    return pd.to_datetime(pd.Series(ts), utc=True).astype("datetime64[ns, UTC]").array


def node_intensity_long(intensity: pd.DataFrame, node_bus: pd.DataFrame) -> pd.DataFrame:
    """Hourly intensity per grid node from hourly intensity per network bus.

    Parameters
    ----------
    intensity : DataFrame
        Hours (``ts``) x bus: nodal carbon intensity [tCO2/MWh] (e.g.
        ``HourlyCarbonFlow.intensity``).
    node_bus : DataFrame
        ``node_id``, ``bus``: the network bus each grid node is attached to.

    Returns
    -------
    DataFrame
        ts, node_id, intensity_tco2_per_mwh (long; one row per hour and node).
    """
    unknown = ~node_bus["bus"].isin(intensity.columns)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise UnknownCodeError(
            "network bus",
            node_bus["bus"].tolist()[i],
            [str(c) for c in intensity.columns],
            source="node-bus mapping",
            row=i,
            field="bus",
        )
    values = intensity[node_bus["bus"].to_numpy()].to_numpy()
    return pd.DataFrame(
        {
            "ts": intensity.index.repeat(len(node_bus)),
            "node_id": np.tile(node_bus["node_id"].to_numpy(), len(intensity.index)),
            E: values.ravel(),
        }
    )


def annual_average_intensity_tco2_per_mwh(
    load_carbon_tco2: np.ndarray, load_mwh: np.ndarray
) -> float:
    """Consumption-weighted average intensity: ē = Σ load carbon / Σ load energy [tCO2/MWh].

    For the carbon emission flow of a year, this is the annual average factor a grid operator
    would publish for the same network (all load carbon over all load energy).

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (2015), Sec. 6.3 (grid average emission factors).
    """
    energy = float(np.nansum(load_mwh))
    if energy <= 0:
        raise InputError("no consumption: the average intensity is undefined", field="load_mwh")
    return float(np.nansum(load_carbon_tco2)) / energy


def hourly_scope2_by_enterprise(
    readings: pd.DataFrame,
    meters: pd.DataFrame,
    node_intensity: pd.DataFrame,
    annual_factor_tco2_per_mwh: float,
) -> pd.DataFrame:
    """Location-based scope 2 per enterprise, hourly-nodal versus an annual average factor.

    Parameters
    ----------
    readings : DataFrame
        ``meter_id``, ``ts`` (hour start, same clock as ``node_intensity.ts``), ``kwh`` [kWh].
    meters : DataFrame
        ``meter_id``, ``enterprise_code``, ``grid_node_id`` (or ``node_id``).
    node_intensity : DataFrame
        ``ts``, ``node_id``, ``intensity_tco2_per_mwh`` (see :func:`node_intensity_long`).
    annual_factor_tco2_per_mwh : float
        The annual average factor to compare with [tCO2/MWh].

    Returns
    -------
    DataFrame
        One row per enterprise, sorted by ``abs(difference_pct)`` descending: enterprise_code,
        meters, hours, kwh, hourly_co2_t, average_co2_t, difference_co2_t, difference_pct,
        location_effect_co2_t, timing_effect_co2_t (the two parts of the difference),
        effective_intensity_tco2_per_mwh (hourly_co2_t / MWh), load_intensity_correlation
        (Pearson correlation over hours of the enterprise's kWh and the kWh-weighted intensity
        of its meters' nodes; NaN if either is constant).

    Raises
    ------
    InputError
        Negative or missing kWh, a meter unknown or without node, a reading whose node and hour
        have no intensity (e.g. an island or hour outside the flow results) — never dropped.

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (2015), Ch. 6. [2] Kang et al. (2015), IEEE TSG 6(5).
    """
    node_col = "grid_node_id" if "grid_node_id" in meters else "node_id"
    kwh = pd.to_numeric(readings["kwh"], errors="coerce")
    bad = kwh.isna() | (kwh < 0)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"meter {readings['meter_id'].iloc[i]} at {readings['ts'].iloc[i]}: kWh is "
            + ("missing" if pd.isna(kwh.iloc[i]) else "negative"),
            source="meter_readings",
            row=i,
            field="kwh",
            value=readings["kwh"].iloc[i],
        )
    m = meters.set_index("meter_id")
    pos = m.index.get_indexer(readings["meter_id"])
    if (pos < 0).any():
        i = int(np.flatnonzero(pos < 0)[0])
        raise UnknownCodeError(
            "meter",
            readings["meter_id"].iloc[i],
            m.index.astype(str),
            source="meter_readings",
            row=i,
            field="meter_id",
        )
    node = m[node_col].to_numpy()[pos]
    no_node = pd.isna(node)
    if no_node.any():
        i = int(np.flatnonzero(no_node)[0])
        raise InputError(
            f"meter {readings['meter_id'].iloc[i]} has no grid node",
            source="meters",
            row=readings["meter_id"].iloc[i],
            field=node_col,
        )
    df = pd.DataFrame(
        {
            "enterprise_code": m["enterprise_code"].to_numpy()[pos],
            "meter_id": readings["meter_id"].to_numpy(),
            "node_id": node,
            "ts": _utc(readings["ts"]),
            "kwh": kwh.to_numpy(float),
        }
    )
    ni = node_intensity[["ts", "node_id", E]].assign(ts=lambda d: _utc(d["ts"]))
    df = df.merge(ni, on=["ts", "node_id"], how="left", validate="many_to_one")
    missing = df[E].isna()
    if missing.any():
        first = df[missing].iloc[0]
        raise InputError(
            f"{int(missing.sum())} reading(s) have no carbon intensity for their node and hour"
            f" (first: meter {first['meter_id']}, node {first['node_id']}, {first['ts']}): the"
            " node is islanded, carries no power, or the hour is outside the flow results",
            source="node intensity",
            row=first["meter_id"],
            field=E,
        )
    to_mwh = units.factor("kWh", "MWh")
    df["mwh"] = df["kwh"] * to_mwh
    df["co2_t"] = df["mwh"] * df[E]

    per_meter = df.groupby("meter_id", sort=False).agg(
        enterprise_code=("enterprise_code", "first"),
        mwh=("mwh", "sum"),
        co2_t=("co2_t", "sum"),
        mean_e=(E, "mean"),
        hours=("ts", "nunique"),
    )
    per_meter["location_t"] = per_meter["mwh"] * (per_meter["mean_e"] - annual_factor_tco2_per_mwh)
    per_meter["timing_t"] = per_meter["co2_t"] - per_meter["mwh"] * per_meter["mean_e"]

    # hourly series per enterprise for the correlation of load shape and intensity
    hourly = df.groupby(["enterprise_code", "ts"], sort=False).agg(
        mwh=("mwh", "sum"), co2_t=("co2_t", "sum")
    )
    x = hourly["mwh"]
    y = (hourly["co2_t"] / hourly["mwh"]).where(hourly["mwh"] > 0)
    ok = y.notna()
    g = pd.DataFrame({"x": x[ok], "y": y[ok]}).assign(
        xx=lambda d: d["x"] ** 2, yy=lambda d: d["y"] ** 2, xy=lambda d: d["x"] * d["y"]
    )
    s = g.groupby(level="enterprise_code").agg(["sum", "count"])
    n = s[("x", "count")]
    cov = s[("xy", "sum")] - s[("x", "sum")] * s[("y", "sum")] / n
    var_x = s[("xx", "sum")] - s[("x", "sum")] ** 2 / n
    var_y = s[("yy", "sum")] - s[("y", "sum")] ** 2 / n
    tiny = 1e-12
    corr = (cov / np.sqrt((var_x * var_y).clip(lower=0.0))).where(
        (var_x > tiny * s[("xx", "sum")]) & (var_y > tiny * s[("yy", "sum")])
    )

    out = per_meter.groupby("enterprise_code").agg(
        meters=("mwh", "size"),
        hours=("hours", "max"),
        mwh=("mwh", "sum"),
        hourly_co2_t=("co2_t", "sum"),
        location_effect_co2_t=("location_t", "sum"),
        timing_effect_co2_t=("timing_t", "sum"),
    )
    out["kwh"] = out.pop("mwh") / to_mwh
    out["average_co2_t"] = out["kwh"] * to_mwh * annual_factor_tco2_per_mwh
    out["difference_co2_t"] = out["hourly_co2_t"] - out["average_co2_t"]
    out["difference_pct"] = (
        100 * out["difference_co2_t"] / out["average_co2_t"].where(out["average_co2_t"] > 0)
    )
    out["effective_intensity_tco2_per_mwh"] = out["hourly_co2_t"] / (out["kwh"] * to_mwh).where(
        out["kwh"] > 0
    )
    out["annual_factor_tco2_per_mwh"] = annual_factor_tco2_per_mwh
    out["load_intensity_correlation"] = corr.reindex(out.index)
    cols = [
        "meters",
        "hours",
        "kwh",
        "hourly_co2_t",
        "average_co2_t",
        "difference_co2_t",
        "difference_pct",
        "location_effect_co2_t",
        "timing_effect_co2_t",
        "effective_intensity_tco2_per_mwh",
        "annual_factor_tco2_per_mwh",
        "load_intensity_correlation",
    ]
    out = out[cols].reset_index()
    order = np.argsort(-out["difference_pct"].abs().fillna(-1).to_numpy(), kind="stable")
    return out.iloc[order].reset_index(drop=True)


def period_node_intensity(
    node_intensity: pd.DataFrame, node_kwh: pd.DataFrame, timezone: str
) -> pd.DataFrame:
    """Monthly and annual carbon intensity of each grid node, weighted by its metered load.

    ē_{n,P} = Σ_{h∈P} kWh_{n,h} · e_{n,h} / Σ_{h∈P} kWh_{n,h}   (a node without metered load in
    P: the unweighted mean of e_{n,h} over P's hours).

    Parameters
    ----------
    node_intensity : DataFrame
        ``ts`` (hour start, UTC), ``node_id``, ``intensity_tco2_per_mwh`` [tCO2/MWh].
    node_kwh : DataFrame
        ``ts``, ``node_id``, ``kwh``: metered consumption per node and hour [kWh].
    timezone : str
        The city's time zone: months and years are local calendar periods.

    Returns
    -------
    DataFrame
        node_id, period ('YYYY' or 'YYYY-MM'), year, month (0 for a year), kwh,
        intensity_tco2_per_mwh, weighting ('metered load' | 'hours').

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (2015), Sec. 6.3 (consumption-weighted average factors).
    [2] Kang C. et al. (2015), IEEE Trans. Smart Grid 6(5), eq. (12) (nodal intensity).
    """
    ni = node_intensity[["ts", "node_id", E]].assign(ts=lambda d: _utc(d["ts"]))
    kw = node_kwh[["ts", "node_id", "kwh"]].assign(ts=lambda d: _utc(d["ts"]))
    df = ni.merge(kw, on=["ts", "node_id"], how="left")
    df["kwh"] = df["kwh"].fillna(0.0)
    local = pd.DatetimeIndex(df["ts"]).tz_convert(timezone)
    df["year"], df["month"] = local.year, local.month
    df["ke"] = df["kwh"] * df[E]
    frames = []
    for keys, month in ((["node_id", "year", "month"], True), (["node_id", "year"], False)):
        g = df.groupby(keys, as_index=False).agg(
            kwh=("kwh", "sum"), ke=("ke", "sum"), mean_e=(E, "mean")
        )
        weighted = g["kwh"] > 0
        g[E] = np.where(weighted, g["ke"] / g["kwh"].where(weighted), g["mean_e"])
        g["weighting"] = np.where(weighted, "metered load", "hours")
        if not month:
            g["month"] = 0
        g["period"] = g["year"].astype(str) + np.where(
            g["month"] > 0, "-" + g["month"].astype(str).str.zfill(2), ""
        )
        frames.append(g)
    out = pd.concat(frames, ignore_index=True)
    return out[["node_id", "period", "year", "month", "kwh", E, "weighting"]]
