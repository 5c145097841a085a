"""Persisted results of the 电-碳 chain for the pages: the demo city's nodal carbon intensities
and hourly scope 2 (carbon emission flow on the SYNTHETIC demo grid), and the nowcast re-run
after an ingest. Glue only: the methods are in :mod:`citycarbon.power`.

Results (``<lake>/results/<name>/run_id=<id>/part.parquet``)
- ``grid_node_intensity``: node_id, period ('YYYY' | 'YYYY-MM'), year, month (0 = year), kwh,
  intensity_tco2_per_mwh, weighting, basis, grid.
- ``hourly_scope2``: one row per enterprise and year: meters, hours, kwh, hourly_co2_t,
  average_co2_t, difference_co2_t, difference_pct, location_effect_co2_t, timing_effect_co2_t,
  effective_intensity_tco2_per_mwh, annual_factor_tco2_per_mwh, load_intensity_correlation,
  import_tco2_per_mwh, grid.

The flow and its inputs come from :func:`citycarbon.runs.flow.demo_scope2_run` (the same
path as ``citycarbon flow scope2``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import pandas as pd

log = logging.getLogger("citycarbon.power")
NODE_RESULT = "grid_node_intensity"
SCOPE2_RESULT = "hourly_scope2"
BASIS = "hourly carbon emission flow (DC), synthetic demo grid"


def persist_demo_scope2(
    year: int | None = None, *, settings: Any = None, city: Any = None
) -> dict[str, Any]:
    """Run the demo grid's hourly carbon emission flow for ``year`` (default: the latest year of
    meter readings) and write ``grid_node_intensity`` and ``hourly_scope2``.

    Returns a dict with ``run_id``, ``year``, the two paths and ``seconds``.
    """
    from citycarbon.config import as_city
    from citycarbon.config.settings import get_settings
    from citycarbon.power.scope2 import period_node_intensity
    from citycarbon.runs.flow import demo_scope2_run
    from citycarbon.store import query

    t0 = time.perf_counter()
    settings = settings or get_settings()
    cfg = as_city(city)
    readings, res = demo_scope2_run(year, city=cfg, settings=settings)
    nodes = period_node_intensity(res.node_intensity, readings.node_kwh, cfg.timezone)
    run_id = query.new_run_id()
    common = {
        "run_id": run_id,
        "factor_profile": cfg.factor_profile().version,
        "grid": "synthetic demo grid",
        "import_tco2_per_mwh": res.import_tco2_per_mwh,
    }
    nodes = nodes.assign(basis=BASIS, method="Kang et al. (2015) carbon emission flow", **common)
    ents = res.enterprises.drop(columns=["grid"], errors="ignore")
    ents = ents.assign(
        year=readings.year,
        method="hourly nodal scope 2 vs annual factor (GHG Protocol)",
        **common,
    )
    node_path = query.write_result(nodes, settings.lake, NODE_RESULT, run_id)
    ent_path = query.write_result(ents, settings.lake, SCOPE2_RESULT, run_id)
    total = time.perf_counter() - t0
    log.info("hourly scope 2 %s: %.1fs", readings.year, total)
    return {
        "run_id": run_id,
        "year": readings.year,
        "paths": {NODE_RESULT: node_path, SCOPE2_RESULT: ent_path},
        "seconds": {"total": total},
        "rows_aggregated": len(readings.hourly),
    }


def renowcast(*, cfg: Any = None, settings: Any = None) -> Any:
    """A new nowcast vintage over the current lake (after statistics or meters arrived),
    keeping the models of the newest vintage; None (with a log line) when there is no vintage
    yet or nothing to nowcast. Earlier vintages are kept (a new run id)."""
    from citycarbon.config.settings import get_settings
    from citycarbon.errors import InputError
    from citycarbon.runs import power as power_runs
    from citycarbon.store import query

    settings = settings or get_settings()
    runs = query.result_runs(power_runs.NOWCAST, settings.lake)
    if not runs:
        log.info("nowcast: no vintage yet, not re-run after ingest")
        return None
    last = pd.read_parquet(runs[-1], columns=["method", "calibrated_through"])
    models = _models_of(str(last["method"].iat[0]))
    data = power_runs.read_power_data(settings=settings, city=cfg)
    try:
        return power_runs.run_nowcast(model=models, settings=settings, data=data)
    except InputError as err:
        if "nothing to nowcast" not in str(err):
            raise
    # statistics cover every metered month (a demo/replay lake): keep the newest vintage's cut
    through = pd.Timestamp(last["calibrated_through"].max())
    stat_last = data.stats.loc[data.stats["co2_t"].notna(), "period"].max()
    holdout = max((stat_last.year - through.year) * 12 + stat_last.month - through.month, 1)
    log.info("nowcast: statistics cover every metered month; replaying with %d held out", holdout)
    return power_runs.run_nowcast(
        holdout_months=holdout, model=models, settings=settings, data=data
    )


def _models_of(method: str) -> str | dict[str, str]:
    """The models a vintage used, from its ``method`` text ('... model per level: city=ratio,
    district=loglinear' or '... model per level: ratio')."""
    spec = method.rsplit("model per level:", 1)[-1].strip()
    if "=" not in spec:
        return spec or "auto"
    return dict(part.strip().split("=", 1) for part in spec.split(","))
