"""Glue for the carbon-emission-flow commands: load a network or the demo city's meters and
readings, call the pure functions of :mod:`citycarbon.power` (no formulas here).

The emission flow uses the inventory's one scope-2 basis: power imported into the demo grid
carries the city's declared grid factor (``factors.grid_region``, the factor published for the
latest year up to the data year: :func:`citycarbon.runs.inventory.declared_grid_factors`), and
hourly scope 2 is compared with the same factor, so the annual-average scope 2 of the metered
electricity is the inventory's location-based scope 2 of it."""

from __future__ import annotations

import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from citycarbon.config import as_city
from citycarbon.config.settings import get_settings
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.power.demo_grid import demo_hourly_scope2, load_demo_grid, unit_intensity_from_fuels
from citycarbon.power.flow import INTENSITY_FIELD, UNIT_ELEMENTS, CarbonFlow, carbon_emission_flow
from citycarbon.runs.inventory import basis_label, declared_grid_factors
from citycarbon.store import catalog, query

#: pandapower example cases offered by ``citycarbon flow case`` (name -> pandapower.networks).
CASES = (
    "case9",
    "case14",
    "case30",
    "case39",
    "case57",
    "case118",
    "case300",
    "case1354pegase",
    "case2869pegase",
    "case3120sp",
    "case9241pegase",
)


def _quiet_pandapower() -> None:
    """pandapower logs a numba hint on import: not the user's business in the CLI."""
    logging.getLogger("pandapower.auxiliary").setLevel(logging.ERROR)


def load_case(name: str) -> Any:
    """A pandapower example network by name, after a converged AC power flow."""
    if name not in CASES:
        raise UnknownCodeError("pandapower case", name, CASES, field="case")
    _quiet_pandapower()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import pandapower as pp
        import pandapower.networks as pn

        net = getattr(pn, name)()
        try:
            pp.runpp(net)
        except pp.LoadflowNotConverged:
            pass  # carbon_emission_flow reports the non-converged net as an InputError
    return net


def read_unit_intensity(path: Path) -> pd.DataFrame:
    """A unit intensity CSV: element, index, intensity_tco2_per_mwh."""
    try:
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError) as err:
        raise InputError(f"cannot read the unit intensity table: {err}", source=str(path)) from err


def case_carbon_flow(
    case: str,
    *,
    intensity_csv: Path | None = None,
    default_tco2_per_mwh: float | None = None,
    import_tco2_per_mwh: float | None = None,
) -> tuple[CarbonFlow, str]:
    """Carbon emission flow of a pandapower example case; returns the result and a label.

    Unit intensities: the CSV, then ``default_tco2_per_mwh`` for units it does not list; for
    case118 with neither, the SYNTHETIC demo fuel assignment (data/demo_case118_units.csv).
    """
    net = load_case(case)
    label = "unit intensities from " + (str(intensity_csv) if intensity_csv else "defaults")
    table = read_unit_intensity(intensity_csv) if intensity_csv else None
    if table is None and default_tco2_per_mwh is None:
        if case != "case118":
            raise InputError(
                "give unit intensities: --intensity FILE (element, index, "
                f"{INTENSITY_FIELD}) and/or --default-intensity",
                source=f"citycarbon flow case {case}",
                field="intensity",
            )

        grid = load_demo_grid()
        table = unit_intensity_from_fuels(grid.units, grid.fuel_intensity)
        label = "SYNTHETIC demo fuel assignment (power/data/demo_case118_units.csv)"
        if import_tco2_per_mwh is None:
            basis = declared_basis(date.today().year)
            import_tco2_per_mwh = float(basis["ef_tco2_per_mwh"])
            label += f"; import {import_tco2_per_mwh:.4f} tCO2/MWh ({basis['label']})"
    if default_tco2_per_mwh is not None:
        listed = set()
        if table is not None:
            listed = set(zip(table["element"], table["index"], strict=True))
        rows = [
            (el, i, float(default_tco2_per_mwh))
            for el in UNIT_ELEMENTS
            if el != "ext_grid" or import_tco2_per_mwh is None
            for i in net[el].index
            if (el, i) not in listed
        ]  # one row per unit of the case (hundreds), not bulk data
        extra = pd.DataFrame(rows, columns=["element", "index", INTENSITY_FIELD])
        table = extra if table is None else pd.concat([table, extra], ignore_index=True)
    return carbon_emission_flow(net, table, import_tco2_per_mwh=import_tco2_per_mwh), label


def declared_basis(year: int, *, city: Any = None) -> pd.Series:
    """The city's declared grid factor for data year ``year`` (one row of
    :func:`citycarbon.runs.inventory.declared_grid_factors` and its ``label``): the import
    intensity of the demo grid and the annual factor hourly scope 2 is compared with."""
    cfg = as_city(city)
    basis = declared_grid_factors(cfg, cfg.factor_profile(), [year])
    return basis.assign(label=basis_label(basis)).iloc[0]


def load_grid() -> Any:
    """The synthetic demo grid (pandapower IEEE 118 case with the demo's unit fuels), quietly."""

    _quiet_pandapower()
    with warnings.catch_warnings():  # pandapower's deprecation notes on the IEEE case file
        warnings.simplefilter("ignore", DeprecationWarning)
        return load_demo_grid()


@dataclass
class DemoReadings:
    """A year of the demo city's metered kWh, summed in DuckDB for the emission flow."""

    year: int
    hourly: pd.DataFrame  # meter_id ('<enterprise>|<node>'), ts, kwh: one series per pair
    pseudo_meters: pd.DataFrame  # meter_id, enterprise_code, grid_node_id of those series
    node_kwh: pd.DataFrame  # node_id, ts, kwh
    meters_per_enterprise: pd.Series  # enterprise_code -> metered meters in the year


def read_demo_readings(year: int | None, *, cfg: Any, settings: Any) -> DemoReadings:
    """The readings of ``year`` (default: the latest year read), local calendar year, summed per
    (enterprise, grid node, hour) in DuckDB. The location and timing parts of hourly scope 2 are
    linear in a node's kWh, so the sum changes no number and moves ~3x fewer rows into pandas.
    """

    meters = catalog.registry_frame("meters", url=settings.database_url)
    meters = meters.dropna(subset=["enterprise_code", "grid_node_id"])
    eng = query.open_engine("duckdb")
    try:
        eng.con.execute("SET enable_progress_bar = false")
        files = catalog.committed_files("meter_readings", url=settings.database_url)
        query.register_lake(eng, settings.lake, {"meter_readings": files})
        eng.register_frame("_s2_meters", meters[["meter_id", "enterprise_code", "grid_node_id"]])
        if year is None:
            t1 = eng.sql("SELECT MAX(ts) AS t1 FROM current_meter_readings").iat[0, 0]
            if pd.isna(t1):
                raise InputError(
                    "no meter readings: run `citycarbon demo` or ingest readings first",
                    source="lake meter_readings",
                )
            year = pd.Timestamp(t1).tz_convert(cfg.timezone).year
        start = pd.Timestamp(year=int(year), month=1, day=1, tz=cfg.timezone).tz_convert("UTC")
        end = pd.Timestamp(year=int(year) + 1, month=1, day=1, tz=cfg.timezone).tz_convert("UTC")
        where = (
            f"r.ts >= TIMESTAMPTZ '{start.isoformat()}' AND r.ts < TIMESTAMPTZ '{end.isoformat()}'"
        )
        join = "FROM current_meter_readings r JOIN _s2_meters m ON r.meter_id = m.meter_id"
        # (only three columns of the big frame: strings per row are what costs memory)
        hourly = eng.sql(
            "SELECT m.enterprise_code || '|' || m.grid_node_id AS meter_id, r.ts, "
            f"SUM(r.kwh) AS kwh {join} WHERE {where} GROUP BY ALL"
        )
        node_kwh = eng.sql(
            f"SELECT m.grid_node_id AS node_id, r.ts, SUM(r.kwh) AS kwh {join} "
            f"WHERE {where} GROUP BY ALL"
        )
        counts = eng.sql(
            "SELECT m.enterprise_code, COUNT(DISTINCT r.meter_id) AS meters "
            f"{join} WHERE {where} GROUP BY 1"
        ).set_index("enterprise_code")["meters"]
    finally:
        eng.close()
    if hourly.empty:
        raise InputError(
            f"no meter readings for {year}: run `citycarbon demo` or ingest readings first",
            source="lake meter_readings",
            field="year",
            value=year,
        )
    hourly["meter_id"] = hourly["meter_id"].astype("category")
    pseudo = meters[["enterprise_code", "grid_node_id"]].drop_duplicates()
    pseudo = pseudo.assign(meter_id=pseudo["enterprise_code"] + "|" + pseudo["grid_node_id"])
    return DemoReadings(int(year), hourly, pseudo, node_kwh, counts)


def demo_scope2_run(
    year: int | None = None,
    *,
    city: Any = None,
    annual_factor: float | None = None,
    settings: Any = None,
) -> tuple[DemoReadings, Any, pd.Series]:
    """Hourly nodal scope 2 of the demo city for one year on the SYNTHETIC demo grid: the
    readings (:func:`read_demo_readings`), the result of
    :func:`citycarbon.power.demo_grid.demo_hourly_scope2` (``meters`` per enterprise counts the
    real meters) and the declared basis (:func:`declared_basis`). Imports carry the declared
    grid factor of the year; hourly scope 2 is compared with ``annual_factor`` (default: the
    same declared factor, the inventory's location-based scope 2).
    """

    settings = settings or get_settings()
    cfg = as_city(city)
    # importing pandapower and parsing case118 take seconds: do it while DuckDB reads
    with ThreadPoolExecutor(max_workers=1) as pool:
        grid_future = pool.submit(load_grid)
        readings = read_demo_readings(year, cfg=cfg, settings=settings)
        grid = grid_future.result()
    basis = declared_basis(readings.year, city=cfg)
    declared = float(basis["ef_tco2_per_mwh"])
    res = demo_hourly_scope2(
        grid,
        readings.hourly,
        readings.pseudo_meters,
        import_tco2_per_mwh=declared,
        timezone=cfg.timezone,
        annual_factor_tco2_per_mwh=declared if annual_factor is None else annual_factor,
    )
    ents = res.enterprises
    counted = ents["enterprise_code"].map(readings.meters_per_enterprise)
    ents["meters"] = counted.fillna(ents["meters"]).astype("int64")
    return readings, res, basis


def demo_scope2(year: int, *, city: str | None = None, annual_factor: float | None = None) -> Any:
    """Hourly nodal scope 2 of the demo city for one year (see :func:`demo_scope2_run`)."""
    return demo_scope2_run(year, city=city, annual_factor=annual_factor)[1]
