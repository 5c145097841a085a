"""Persisted results of the 电-碳 chain for the pages: the demo city's nodal carbon intensities
and hourly scope 2 (carbon emission flow on the SYNTHETIC demo grid), and the nowcast re-run
after an ingest. Glue only: the methods are in :mod:`citycarbon.power`.

Results (``<lake>/results/<name>/run_id=<id>/part.parquet``)
- ``grid_node_intensity``: node_id, period ('YYYY' | 'YYYY-MM'), year, month (0 = year), kwh,
  intensity_tco2_per_mwh, weighting, basis, grid.
- ``hourly_scope2``: one row per enterprise and year: meters, hours, kwh, hourly_co2_t,
  average_co2_t, difference_co2_t, difference_pct, location_effect_co2_t, timing_effect_co2_t,
  effective_intensity_tco2_per_mwh, annual_factor_tco2_per_mwh, load_intensity_correlation,
  import_tco2_per_mwh, grid, grid_region and factor_year (the declared scope-2 basis: imports
  carry it and the annual factor is it, the inventory's location-based factor of the year).

The flow and its inputs come from :func:`citycarbon.runs.flow.demo_scope2_run` (the same
path as ``citycarbon flow scope2``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

from citycarbon.config import as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import GRID_NODE_INTENSITY, HOURLY_SCOPE2
from citycarbon.power.scope2 import period_node_intensity
from citycarbon.records import join_records, message_record
from citycarbon.runs.flow import demo_scope2_run
from citycarbon.runs.inventory import grid_factor_records
from citycarbon.store import results

log = logging.getLogger("citycarbon.power")
NODE_RESULT = GRID_NODE_INTENSITY.name
SCOPE2_RESULT = HOURLY_SCOPE2.name
BASIS = "hourly carbon emission flow (DC), synthetic demo grid"


def persist_demo_scope2(
    year: int | None = None, *, settings: Any = None, city: Any = None
) -> dict[str, Any]:
    """Run the demo grid's hourly carbon emission flow for ``year`` (default: the latest year of
    meter readings) and write ``grid_node_intensity`` and ``hourly_scope2``.

    Returns a dict with ``run_id``, ``year``, the two paths and ``seconds``.
    """
    t0 = time.perf_counter()
    settings = settings or get_settings()
    cfg = as_city(city)
    readings, res, basis = demo_scope2_run(year, city=cfg, settings=settings)
    nodes = period_node_intensity(res.node_intensity, readings.node_kwh, cfg.timezone)
    run_id = results.run_id_here()
    common = {
        "run_id": run_id,
        "factor_profile": cfg.factor_profile("enterprise").version,
        "grid": "synthetic demo grid",
        "import_tco2_per_mwh": res.import_tco2_per_mwh,
    }
    nodes = nodes.assign(
        basis=f"{BASIS}; imports at {basis['label']}",
        method=message_record("emission_flow"),
        **common,
    )
    ents = res.enterprises.drop(columns=["grid"], errors="ignore")
    ents = ents.assign(
        year=readings.year,
        method=join_records(
            message_record("hourly_scope2"), grid_factor_records(basis.to_frame().T).iat[0]
        ),
        grid_region=basis["grid_region"],
        factor_year=int(basis["factor_year"]),
        **common,
    )
    with results.transaction(run_id, lake=settings.lake, factor_profile=common["factor_profile"]):
        node_path = results.write(GRID_NODE_INTENSITY, nodes)
        ent_path = results.write(HOURLY_SCOPE2, ents)
    total = time.perf_counter() - t0
    log.info("hourly scope 2 %s: %.1fs", readings.year, total)
    return {
        "run_id": run_id,
        "year": readings.year,
        "paths": {NODE_RESULT: node_path, SCOPE2_RESULT: ent_path},
        "seconds": {"total": total},
        "rows_aggregated": len(readings.hourly),
    }
