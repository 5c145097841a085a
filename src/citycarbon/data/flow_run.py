"""Glue for the carbon-emission-flow commands: load a network or the demo city's meters and
readings, call the pure functions of :mod:`citycarbon.power` (no formulas here)."""

from __future__ import annotations

import logging
import warnings
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd

from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.power.flow import INTENSITY_FIELD, UNIT_ELEMENTS, CarbonFlow, carbon_emission_flow

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
        from citycarbon.power.demo_grid import load_demo_grid, unit_intensity_from_fuels

        grid = load_demo_grid()
        table = unit_intensity_from_fuels(grid.units, grid.fuel_intensity)
        label = "SYNTHETIC demo fuel assignment (power/data/demo_case118_units.csv)"
        if import_tco2_per_mwh is None:
            import_tco2_per_mwh = demo_import_intensity(grid.config, date.today().year)
            label += f"; import {import_tco2_per_mwh:.4f} tCO2/MWh (latest {_import_key(grid)})"
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


def _import_key(grid: Any) -> str:
    spec = grid.config["import_factor"]
    return f"{spec['parameter']} {spec['key']}"


def demo_import_intensity(config: dict, year: int, *, city: str | None = None) -> float:
    """The demo grid's import intensity: the city's factor profile value named in demo_grid.yaml
    (``grid_ef`` of ``fujian``, latest year <= ``year``) [tCO2/MWh]."""
    from citycarbon.config import load_city

    spec = config["import_factor"]
    return (
        load_city(city)
        .factor_profile()
        .lookup(spec["parameter"], spec["key"], spec["unit"], year=year)
    )


def demo_scope2(year: int, *, city: str | None = None, annual_factor: float | None = None) -> Any:
    """Hourly nodal scope 2 of the demo city for one year on the SYNTHETIC demo grid.

    Reads the catalog's ``meters`` and the lake's hourly ``meter_readings`` of ``year``; the
    import intensity is the city's factor profile value of ``grid_ef`` for the key named in
    ``power/data/demo_grid.yaml`` (Fujian by default).
    """
    from citycarbon.config import load_city
    from citycarbon.data import catalog, lake
    from citycarbon.power.demo_grid import demo_hourly_scope2, load_demo_grid

    cfg = load_city(city)
    _quiet_pandapower()
    grid = load_demo_grid()
    meters = catalog.registry_frame("meters")
    readings = lake.read_current(
        "meter_readings", {"year": year}, columns=["meter_id", "ts", "kwh"]
    )
    if readings.empty:
        raise InputError(
            f"no meter readings for {year}: run `citycarbon demo` or ingest readings first",
            source="lake meter_readings",
            field="year",
            value=year,
        )
    imp = demo_import_intensity(grid.config, year, city=city)
    return demo_hourly_scope2(
        grid,
        readings,
        meters,
        import_tco2_per_mwh=imp,
        timezone=cfg.timezone,
        annual_factor_tco2_per_mwh=annual_factor,
    )
