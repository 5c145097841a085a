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

Readings are summed per (enterprise, grid node, hour) in DuckDB before the flow: the location and
timing parts are linear in a node's kWh, so this changes no number (``meters`` is taken from
the registry) and moves ~3x fewer rows into pandas.
"""

from __future__ import annotations

import logging
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pandas as pd

log = logging.getLogger("citycarbon.power")
NODE_RESULT = "grid_node_intensity"
SCOPE2_RESULT = "hourly_scope2"
BASIS = "hourly carbon emission flow (DC), synthetic demo grid"


def _load_grid() -> Any:
    import warnings

    from citycarbon.data.flow_run import _quiet_pandapower

    _quiet_pandapower()
    with warnings.catch_warnings():  # pandapower's deprecation notes on the IEEE case file
        warnings.simplefilter("ignore", DeprecationWarning)
        from citycarbon.power.demo_grid import load_demo_grid

        return load_demo_grid()


def persist_demo_scope2(
    year: int | None = None, *, settings: Any = None, city: Any = None
) -> dict[str, Any]:
    """Run the demo grid's hourly carbon emission flow for ``year`` (default: the latest year of
    meter readings) and write ``grid_node_intensity`` and ``hourly_scope2``.

    Returns a dict with ``run_id``, ``year``, the two paths and ``seconds`` per stage.
    """
    from citycarbon.config import load_city
    from citycarbon.data import catalog, query
    from citycarbon.data.flow_run import demo_import_intensity
    from citycarbon.power.demo_grid import demo_hourly_scope2
    from citycarbon.power.scope2 import period_node_intensity
    from citycarbon.settings import get_settings

    t0 = time.perf_counter()
    settings = settings or get_settings()
    cfg = city if city is not None and not isinstance(city, str | Path) else load_city(city)
    # importing pandapower and parsing case118 take seconds: do it while DuckDB reads
    pool = ThreadPoolExecutor(max_workers=1)
    grid_future = pool.submit(_load_grid)
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
            year = pd.Timestamp(t1).tz_convert(cfg.timezone).year
        start = pd.Timestamp(year=int(year), month=1, day=1, tz=cfg.timezone).tz_convert("UTC")
        end = pd.Timestamp(year=int(year) + 1, month=1, day=1, tz=cfg.timezone).tz_convert("UTC")
        where = (
            f"r.ts >= TIMESTAMPTZ '{start.isoformat()}' AND r.ts < TIMESTAMPTZ '{end.isoformat()}'"
        )
        # (only three columns of the big frame: strings per row are what costs memory)
        agg = eng.sql(
            "SELECT m.enterprise_code || '|' || m.grid_node_id AS meter_id, r.ts, "
            "SUM(r.kwh) AS kwh FROM current_meter_readings r "
            f"JOIN _s2_meters m ON r.meter_id = m.meter_id WHERE {where} GROUP BY ALL"
        )
        agg["meter_id"] = agg["meter_id"].astype("category")
        node_kwh = eng.sql(
            "SELECT m.grid_node_id AS node_id, r.ts, SUM(r.kwh) AS kwh "
            "FROM current_meter_readings r JOIN _s2_meters m ON r.meter_id = m.meter_id "
            f"WHERE {where} GROUP BY ALL"
        )
        n_meters = eng.sql(
            "SELECT m.enterprise_code, COUNT(DISTINCT r.meter_id) AS meters "
            f"FROM current_meter_readings r JOIN _s2_meters m ON r.meter_id = m.meter_id "
            f"WHERE {where} GROUP BY 1"
        ).set_index("enterprise_code")["meters"]
    finally:
        eng.close()
    t_read = time.perf_counter() - t0  # (the grid loads meanwhile)
    grid = grid_future.result()
    pool.shutdown()
    imp = demo_import_intensity(grid.config, int(year), city=cfg.id)
    pseudo = meters[["enterprise_code", "grid_node_id"]].drop_duplicates()
    pseudo = pseudo.assign(meter_id=pseudo["enterprise_code"] + "|" + pseudo["grid_node_id"])
    res = demo_hourly_scope2(
        grid,
        agg,
        pseudo,
        import_tco2_per_mwh=imp,
        timezone=cfg.timezone,
    )
    t_flow = time.perf_counter() - t0 - t_read
    nodes = period_node_intensity(res.node_intensity, node_kwh, cfg.timezone)
    profile = cfg.factor_profile().version
    run_id = query.new_run_id()
    common = {
        "run_id": run_id,
        "factor_profile": profile,
        "grid": "synthetic demo grid",
        "import_tco2_per_mwh": res.import_tco2_per_mwh,
    }
    nodes = nodes.assign(basis=BASIS, method="Kang et al. (2015) carbon emission flow", **common)
    ents = res.enterprises.drop(columns=["grid"], errors="ignore")
    ents = ents.reset_index() if "enterprise_code" not in ents else ents
    ents["meters"] = ents["enterprise_code"].map(n_meters).fillna(ents["meters"]).astype("int64")
    ents = ents.assign(
        year=int(year), method="hourly nodal scope 2 vs annual factor (GHG Protocol)", **common
    )
    node_path = query.write_result(nodes, settings.lake, NODE_RESULT, run_id)
    ent_path = query.write_result(ents, settings.lake, SCOPE2_RESULT, run_id)
    total = time.perf_counter() - t0
    log.info("hourly scope 2 %s: read %.1fs, flow %.1fs, total %.1fs", year, t_read, t_flow, total)
    return {
        "run_id": run_id,
        "year": int(year),
        "paths": {NODE_RESULT: node_path, SCOPE2_RESULT: ent_path},
        "seconds": {"read": t_read, "flow": t_flow, "total": total},
        "rows_aggregated": len(agg),
    }


def renowcast(*, cfg: Any = None, settings: Any = None) -> Any:
    """A new nowcast vintage over the current lake (after statistics or meters arrived),
    keeping the models of the newest vintage; None (with a log line) when there is no vintage
    yet or nothing to nowcast. Earlier vintages are kept (a new run id)."""
    from citycarbon.data import power_runs, query
    from citycarbon.errors import InputError
    from citycarbon.settings import get_settings

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
