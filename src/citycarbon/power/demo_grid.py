"""A SYNTHETIC demo grid for hourly/nodal scope 2 of the demo city (not any real grid).

The demo city has grid nodes and meters but no network. This module attaches them to pandapower's
IEEE 118-bus case: units get fuels (``data/demo_case118_units.csv``), demo nodes are attached to
load buses (``data/demo_xiamen_nodes.csv``), fuel emission intensities come from
``data/generation_intensity.csv`` (sources cited per row) and the dispatch follows stylised
profiles (``data/demo_grid.yaml``). Every table it returns says ``synthetic``.

Reading the packaged data files is the only I/O here (as for factor sets); the computations are
pure functions of tables.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from importlib import resources
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.power.flow import HourlyCarbonFlow, hourly_nodal_intensity_dc
from citycarbon.power.scope2 import (
    annual_average_intensity_tco2_per_mwh,
    hourly_scope2_by_enterprise,
    node_intensity_long,
)

DATA = "citycarbon.power"


@dataclass(frozen=True)
class DemoGrid:
    """The synthetic demo grid: network, units with fuels, node attachment, fuel intensities."""

    net: Any
    units: pd.DataFrame  # element, index, bus, fuel, capacity_mw, note
    nodes: pd.DataFrame  # node_id, bus, note
    fuel_intensity: pd.DataFrame  # fuel, intensity_tco2_per_mwh, source, ..., status, note
    config: dict


def _read(name: str) -> Any:
    return resources.files(DATA).joinpath("data", name)


def fuel_intensity_table() -> pd.DataFrame:
    """Direct CO2 intensity of generation by fuel [tCO2/MWh], with source, year, clause and
    status."""
    with _read("generation_intensity.csv").open("rb") as f:
        return pd.read_csv(f, dtype={"year": "Int64"})


def load_demo_grid() -> DemoGrid:
    """The synthetic demo grid (pandapower case118 + packaged demo tables)."""
    with _read("demo_grid.yaml").open("rb") as f:
        cfg = yaml.safe_load(f)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower.networks as pn

        net = getattr(pn, cfg["case"])()
    with _read(cfg["units"]).open("rb") as f:
        units = pd.read_csv(f)
    with _read(cfg["nodes"]).open("rb") as f:
        nodes = pd.read_csv(f, dtype={"node_id": str})
    return DemoGrid(net, units, nodes, fuel_intensity_table(), cfg)


def unit_intensity_from_fuels(units: pd.DataFrame, fuel_intensity: pd.DataFrame) -> pd.DataFrame:
    """Unit intensity table (element, index, intensity_tco2_per_mwh) from each unit's fuel.

    Raises
    ------
    UnknownCodeError
        A unit's fuel has no intensity row.
    """
    table = fuel_intensity.set_index("fuel")["intensity_tco2_per_mwh"]
    pos = table.index.get_indexer(units["fuel"])
    if (pos < 0).any():
        i = int(np.flatnonzero(pos < 0)[0])
        raise UnknownCodeError(
            "fuel", units["fuel"].iloc[i], table.index, source="demo units", row=i, field="fuel"
        )
    return pd.DataFrame(
        {
            "element": units["element"].to_numpy(),
            "index": units["index"].to_numpy(),
            "intensity_tco2_per_mwh": table.to_numpy()[pos],
        }
    )


def load_factor_from_readings(readings: pd.DataFrame) -> pd.Series:
    """Hourly load factor = total metered kWh per hour / its mean over the hours [-].

    Parameters
    ----------
    readings : DataFrame
        ``ts`` (hour start, UTC) and ``kwh``.
    """
    total = readings.groupby("ts", sort=True)["kwh"].sum()
    if total.empty or total.mean() <= 0:
        raise InputError("no metered consumption to shape the demo load", source="meter_readings")
    return (total / total.mean()).rename("load_factor")


def demo_dispatch(
    grid: DemoGrid, load_factor: pd.Series, timezone: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hourly loads and unit outputs [MW] of the synthetic demo grid (rules in demo_grid.yaml).

    Loads = base load x ``load_factor``; nuclear = capacity x availability; solar, wind and hydro
    = capacity x daily[local hour] x monthly[month]; dispatchable fuels start at
    min_fraction x capacity and are loaded in ``dispatch_order`` to cover the residual load
    (load - must-run - scheduled import); the slack (ext_grid) takes what is left.

    Parameters
    ----------
    grid : DemoGrid
    load_factor : Series
        Index = hour starts (UTC, tz-aware), values = load multiplier [-].
    timezone : str
        Local time zone of the profiles (the city's, e.g. Asia/Shanghai).

    Returns
    -------
    load_mw, unit_mw : DataFrames for :func:`citycarbon.power.flow.hourly_nodal_intensity_dc`.
    """
    cfg, net, units = grid.config, grid.net, grid.units
    hours = pd.DatetimeIndex(load_factor.index)
    local = hours.tz_convert(timezone) if hours.tz is not None else hours
    loads = net.load[net.load["in_service"].astype(bool)]
    base = (loads["p_mw"] * loads["scaling"]).to_numpy(float)
    lf = load_factor.to_numpy(float)
    load_mw = pd.DataFrame(np.outer(lf, base), index=hours, columns=loads.index)
    cap = units["capacity_mw"].to_numpy(float)
    fuel = units["fuel"].to_numpy()
    out = np.zeros((len(hours), len(units)))
    for name, spec in cfg["must_run"].items():  # a few fuels
        out[:, fuel == name] = cap[fuel == name] * float(spec["availability"])
    hour, month = local.hour.to_numpy(), local.month.to_numpy() - 1
    for name, spec in cfg["capacity_factors"].items():
        cf = np.asarray(spec["daily"], float)[hour] * np.asarray(spec["monthly"], float)[month]
        out[:, fuel == name] = np.outer(cf, cap[fuel == name])
    residual = load_mw.sum(axis=1).to_numpy() - out.sum(axis=1) - float(cfg["import_schedule_mw"])
    order = cfg["dispatch_order"]
    mins = {o["fuel"]: float(o["min_fraction"]) for o in order}
    for name, frac in mins.items():
        out[:, fuel == name] = frac * cap[fuel == name]
        residual -= frac * cap[fuel == name].sum()
    for name, frac in mins.items():
        sel = fuel == name
        room = (1.0 - frac) * cap[sel].sum()
        add = np.clip(residual, 0.0, room)
        residual -= add
        if room > 0:
            out[:, sel] += np.outer(add / room, (1.0 - frac) * cap[sel])
    gens = units["element"].isin(["gen", "sgen"]).to_numpy()
    columns = pd.MultiIndex.from_arrays(
        [units["element"].to_numpy()[gens], units["index"].to_numpy()[gens]],
        names=["element", "index"],
    )
    return load_mw, pd.DataFrame(out[:, gens], index=hours, columns=columns)


@dataclass(frozen=True)
class DemoScope2:
    """Result of :func:`demo_hourly_scope2` (everything computed on the SYNTHETIC demo grid)."""

    enterprises: pd.DataFrame
    node_intensity: pd.DataFrame
    flow: HourlyCarbonFlow
    annual_factor_tco2_per_mwh: float
    import_tco2_per_mwh: float
    label: str = "SYNTHETIC demo grid (IEEE 118-bus case; not the real grid)"


def demo_hourly_scope2(
    grid: DemoGrid,
    readings: pd.DataFrame,
    meters: pd.DataFrame,
    *,
    import_tco2_per_mwh: float,
    timezone: str,
    annual_factor_tco2_per_mwh: float | None = None,
) -> DemoScope2:
    """Hourly nodal scope 2 of the demo city's enterprises on the synthetic demo grid.

    1. The load of the IEEE case follows the city's metered hourly shape; units are dispatched by
       :func:`demo_dispatch`.
    2. Hourly DC carbon emission flow (:func:`~citycarbon.power.flow.hourly_nodal_intensity_dc`).
    3. Demo grid nodes take the intensity of their load bus; meters that of their node.
    4. Per enterprise: Σ_h kWh_h x e_h versus the annual factor x Σ kWh (default: the demo
       grid's own consumption-weighted annual average, so the difference is the effect of
       timing and location only).

    Parameters
    ----------
    grid : DemoGrid
    readings : DataFrame
        meter_id, ts (hour start, UTC), kwh: hourly readings (one year, typically).
    meters : DataFrame
        meter_id, enterprise_code, grid_node_id (the catalog's ``meters`` table).
    import_tco2_per_mwh : float
        Intensity of power imported through the ext_grid [tCO2/MWh].
    timezone : str
        The city's time zone (local hours of the profiles).
    annual_factor_tco2_per_mwh : float, optional
        The factor to compare with; default the demo grid's annual average.
    """
    hourly = readings.groupby("ts")["kwh"].sum().index
    freq = pd.Series(hourly).diff().dropna()
    if len(freq) and (freq != pd.Timedelta("1h")).any():
        raise InputError(
            "demo hourly scope 2 needs hourly readings without gaps (found an interval of "
            f"{freq[freq != pd.Timedelta('1h')].iloc[0]})",
            source="meter_readings",
            field="ts",
        )
    load_factor = load_factor_from_readings(readings)
    load_mw, unit_mw = demo_dispatch(grid, load_factor, timezone)
    table = unit_intensity_from_fuels(grid.units, grid.fuel_intensity)
    flow = hourly_nodal_intensity_dc(
        grid.net, table, load_mw, unit_mw, import_tco2_per_mwh=import_tco2_per_mwh
    )
    if annual_factor_tco2_per_mwh is None:
        annual_factor_tco2_per_mwh = annual_average_intensity_tco2_per_mwh(
            flow.load_carbon.to_numpy(), load_mw.to_numpy()
        )
    node_e = node_intensity_long(flow.intensity, grid.nodes)
    ent = hourly_scope2_by_enterprise(readings, meters, node_e, annual_factor_tco2_per_mwh)
    return DemoScope2(
        enterprises=ent.assign(grid="synthetic demo grid"),
        node_intensity=node_e,
        flow=flow,
        annual_factor_tco2_per_mwh=float(annual_factor_tco2_per_mwh),
        import_tco2_per_mwh=float(import_tco2_per_mwh),
    )
