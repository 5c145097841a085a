"""The pipeline: after an ingest, the runs its data make stale, in dependency order.

The graph is data (:data:`STEPS`): each step names the lake tables (ingest kinds) it reads, the
declared results it reads and writes, and whether it is recomputed per data year. An ingest of
kind K makes stale every step that reads K, and every step that reads a result a stale step
writes. Steps run in the declared order, for the years the batch touched only (where a step is
per year), inside one results transaction: their results become current together when the last
step succeeds, and a failing step is recorded with its reason while the previous results stay
current.

Every entry that ingests — the CLI, the 数据 page and ``POST /api/v1/uploads`` (through the job
queue, :mod:`citycarbon.runs.jobs`), the demo — calls :func:`ingest_and_run`; ``citycarbon
pipeline run`` and commands such as ``citycarbon inventory compute --year Y`` call :func:`run`.
Runs of one home are serialised by a file lock, so two uploads run one after the other.

A step that does not apply to the data at hand (no energy balance yet, no meter readings, a
history too short for a backtest) raises :class:`NotApplicable` and is recorded as *skipped*
with its reason.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from contextvars import copy_context
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from citycarbon.config import CityConfig, load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract import results as R
from citycarbon.contract.results import Result
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.ingest.loader import ingest
from citycarbon.runs.enterprise import compute_accounts
from citycarbon.runs.green_projects import green_projects
from citycarbon.runs.inventory import METHOD_NO_BALANCE, compute_inventory
from citycarbon.runs.power import (
    read_power_data,
    renowcast,
    run_backtest,
    run_city_backtest,
    run_indicators,
)
from citycarbon.runs.rating import carbon_efficiency, energy_benchmarks
from citycarbon.runs.scope2 import persist_demo_scope2
from citycarbon.runs.subsidies import subsidies
from citycarbon.runs.targets import recompute
from citycarbon.store import catalog, lake, query, results

log = logging.getLogger("citycarbon.pipeline")

#: The lake tables that hold registry data: a change there touches every year.
REGISTRY_KINDS = frozenset({"parks", "enterprises", "grid_nodes", "meters"})
_YEAR_DIR = re.compile(r"(?:^|/)year=(\d{4})(?:/|$)")


class NotApplicable(CitycarbonError):
    """A step that has nothing to compute for the data at hand (recorded as skipped)."""


@dataclass
class Context:
    """What a step gets: the city, settings, the years to recompute (None = all), the engine."""

    cfg: Any
    settings: Any
    years: list[int] | None
    engine: str | None = None
    actor: str = "pipeline"
    notes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One node of the pipeline graph."""

    name: str  # its title in the UI: i18n key jobs.step_<name>
    inputs: frozenset[str]  # lake tables (ingest kinds) read
    reads: tuple[Result, ...]  # results read
    writes: tuple[Result, ...]  # results written
    by_year: bool  # recomputed for the affected years only
    run: Callable[[Context], str | None]  # returns a short message
    after: tuple[str, ...] = ()  # steps to wait for beyond the writers of what it reads


# ------------------------------------------------------------------------------------- steps
def _enterprise_results(ctx: Context) -> str:

    with query.open_engine(ctx.engine) as eng:
        query.register_city(eng, settings=ctx.settings, city=ctx.cfg)
        if "current_energy_monthly" not in eng.views() and "current_meter_readings" not in (
            eng.views()
        ):
            raise NotApplicable("no 205-1 returns or meter readings in the lake yet")
        skipped = {n: query.missing_views(eng, n) for n in query.named_queries()}
        out = compute_accounts(eng, years=ctx.years, city=ctx.cfg, settings=ctx.settings)
        engine = eng.name
    done = [f"{name}: {len(frame):,} rows" for name, (frame, _) in out.items()]
    gaps = [f"{name} skipped (no data for {', '.join(v)})" for name, v in skipped.items() if v]
    return f"on {engine}: " + "; ".join(done + gaps)


def _inventory(ctx: Context) -> str:

    have = lake.read_current(
        "energy_balance",
        None,
        columns=["region_code", "year"],
        lake=ctx.settings.lake,
        url=ctx.settings.database_url,
    )
    if not (have["region_code"] == ctx.cfg.adcode).any():
        raise NotApplicable(
            f"no energy balance (能源平衡表) of {ctx.cfg.adcode} yet: "
            "ingest energy_balance to compute the city inventory"
        )
    out = compute_inventory(ctx.years, city=ctx.cfg, settings=ctx.settings)
    inv = out["city_inventory"]
    years = ctx.years or sorted({int(y) for y in inv["year"].unique()})
    open_ = sorted({int(y) for y in inv.loc[inv["method"] == METHOD_NO_BALANCE, "year"]})
    return f"years {', '.join(map(str, years))}" + (
        f" ({', '.join(map(str, open_))}: no energy balance yet, bottom-up only)" if open_ else ""
    )


def _power_data(ctx: Context) -> Any:

    if "power_data" not in ctx.notes:
        try:
            ctx.notes["power_data"] = read_power_data(settings=ctx.settings, city=ctx.cfg)
        except InputError as err:
            raise NotApplicable(str(err)) from None
    return ctx.notes["power_data"]


def _nowcast(ctx: Context) -> str:

    data = _power_data(ctx)
    run = renowcast(cfg=ctx.cfg, settings=ctx.settings, data=data)
    run_indicators(settings=ctx.settings, data=data)
    if run is None:
        return "no meter readings: indicators only"
    return f"vintage as of {run.as_of:%Y-%m-%d}, calibrated through {run.calibrated_through:%Y-%m}"


def _backtest(ctx: Context) -> str:

    data = _power_data(ctx)
    try:
        _, errors, _ = run_backtest(settings=ctx.settings, data=data)
    except InputError as err:
        raise NotApplicable(str(err)) from None
    years = run_city_backtest(settings=ctx.settings, data=data)
    return f"{len(errors):,} origin-level errors" + (
        "; city-wide: no inventory year to test yet"
        if years is None
        else f"; city-wide against the inventory of {', '.join(map(str, sorted(set(years['year']))))}"
    )


def _scope2(ctx: Context) -> str:

    if not catalog.committed_files("meter_readings", url=ctx.settings.database_url):
        raise NotApplicable("no meter readings in the lake yet")
    try:
        out = persist_demo_scope2(settings=ctx.settings, city=ctx.cfg)
    except InputError as err:
        raise NotApplicable(str(err)) from None
    return f"year {out['year']}, {out['rows_aggregated']:,} hourly rows"


def _targets(ctx: Context) -> str:

    got = recompute(ctx.cfg, settings=ctx.settings, actor=ctx.actor)
    return f"{len(got.progress)} target(s), {len(got.logged)} warning change(s)"


def _energy_benchmark(ctx: Context) -> str:
    if not catalog.committed_files("industrial_output", url=ctx.settings.database_url):
        raise NotApplicable("no industrial output in the lake yet (industrial_output)")
    if not results.has(R.ENTERPRISE_MONTH_FUEL, lake=ctx.settings.lake):
        raise NotApplicable("no enterprise accounts yet (enterprise_month_fuel_emissions)")
    try:
        assessed, _ = energy_benchmarks(ctx.years, settings=ctx.settings)
    except InputError as err:
        raise NotApplicable(err.reason) from None
    return f"{len(assessed):,} enterprise-year(s) assessed against the energy-efficiency levels"


def _subsidies(ctx: Context) -> str:
    try:
        apps, _, _ = subsidies(city=ctx.cfg, settings=ctx.settings)
    except InputError as err:
        raise NotApplicable(err.reason) from None
    return f"{len(apps):,} subsidy application(s), {int(apps['eligible'].sum()):,} eligible"


def _rating(ctx: Context) -> str:

    if not catalog.committed_files("enterprise_value_added", url=ctx.settings.database_url):
        raise NotApplicable("no enterprise value added in the lake yet (enterprise_value_added)")
    graded, _ = carbon_efficiency(ctx.years, city=ctx.cfg, settings=ctx.settings)
    annual = graded[(graded["period_type"] == "year") & (graded["grade"] > 0)]
    return f"{annual['enterprise_code'].nunique():,} enterprise(s) graded, {len(graded):,} rows"


def _green_projects(ctx: Context) -> str:

    if not catalog.committed_files("green_projects", url=ctx.settings.database_url):
        raise NotApplicable("no green projects in the lake yet (green_projects)")
    reduced, eligible = green_projects(city=ctx.cfg, settings=ctx.settings)
    yes = eligible.loc[eligible["eligible"] == "yes", "project_id"].nunique()
    return (
        f"{len(reduced):,} project(s), {reduced['reduction_tco2_per_yr'].sum():,.0f} tCO2/yr "
        f"expected; {yes:,} eligible under at least one catalogue"
    )


METER_KINDS = frozenset({"meter_readings", "meters", "enterprises"})
STEPS: tuple[Step, ...] = (
    Step(
        "enterprise_results",
        frozenset(
            {"energy_monthly", "meter_readings", "enterprises", "meters", "green_electricity"}
        ),
        (),
        (R.ENTERPRISE_MONTH_FUEL, R.ENTERPRISE_MONTH_ELECTRICITY, R.ENTERPRISE_MONTH_GASES),
        True,
        _enterprise_results,
    ),
    Step(
        "inventory",
        frozenset(
            {
                "energy_balance",
                "energy_monthly",
                "city_statistics",
                "industrial_output",
                "green_electricity",
                "enterprises",
                "parks",
                "waste_disposal",
                "wastewater",
                "land_carbon",
                "blue_carbon_sites",
                "mariculture",
                "transport_fuel",
                "agriculture",
                "fugitive_activity",
            }
        ),
        (R.ENTERPRISE_MONTH_GASES,),  # the bottom-up: the enterprise accounts by sector and gas
        (
            R.ENERGY_BALANCE,
            R.CITY_INVENTORY,
            R.CITY_INDICATORS,
            R.INVENTORY_UNCERTAINTY,
            R.INVENTORY_RECONCILIATION,
            R.CITY_SCOPE2,
            R.GPC_INVENTORY,
            R.CITY_SINKS,
            R.CITY_TRANSPORT,
        ),
        True,
        _inventory,
    ),
    Step(
        "nowcast",
        METER_KINDS | {"city_statistics", "city_monthly_statistics"},
        (R.ENTERPRISE_MONTH_FUEL, R.CITY_INVENTORY),  # the inventory: the city-wide scaling
        (R.NOWCAST, R.METER_QUALITY, R.POWER_INDICATORS, R.LOAD_ANOMALIES),
        False,
        _nowcast,
    ),
    Step(
        "backtest",
        METER_KINDS | {"city_statistics", "city_monthly_statistics"},
        (R.ENTERPRISE_MONTH_FUEL, R.CITY_INVENTORY),
        (R.NOWCAST_BACKTEST, R.NOWCAST_CITY_BACKTEST),
        False,
        _backtest,
        after=("nowcast",),  # reuses the meter data the nowcast step read
    ),
    Step(
        "scope2",
        frozenset({"meter_readings", "meters", "grid_nodes"}),
        (),
        (R.GRID_NODE_INTENSITY, R.HOURLY_SCOPE2),
        False,
        _scope2,
    ),
    Step(
        "targets",
        frozenset({"city_statistics", "green_electricity"}),
        (R.ENTERPRISE_MONTH_FUEL, R.CITY_INVENTORY, R.ENERGY_BALANCE),
        (R.DUAL_CONTROL, R.TARGET_PROGRESS, R.TARGET_STATUS),
        False,
        _targets,
    ),
    Step(
        "rating",
        frozenset({"enterprise_value_added", "green_electricity", "enterprises"}),
        (R.ENTERPRISE_MONTH_FUEL,),
        (R.CARBON_EFFICIENCY, R.CARBON_EFFICIENCY_DISTRIBUTION),
        True,
        _rating,
    ),
    Step(
        "green_projects",
        frozenset({"green_projects"}),
        (),
        (R.GREEN_PROJECT_REDUCTION, R.GREEN_PROJECT_ELIGIBILITY),
        False,
        _green_projects,
    ),
    Step(
        "energy_benchmark",
        frozenset({"industrial_output"}),
        (R.ENTERPRISE_MONTH_FUEL,),
        (R.ENERGY_BENCHMARK, R.ENERGY_BENCHMARK_SUMMARY),
        True,
        _energy_benchmark,
    ),
    Step(
        "subsidies",
        frozenset({"subsidy_applications"}),
        (),
        (R.SUBSIDY_APPLICATION, R.SUBSIDY_SCHEDULE, R.SUBSIDY_BUDGET),
        False,
        _subsidies,
    ),
)
STEP_NAMES = tuple(s.name for s in STEPS)


def stale_steps(
    kinds: Iterable[str], *, only: Iterable[str] | None = None, follow: bool = True
) -> list[Step]:
    """The steps an ingest of ``kinds`` makes stale, in order: those reading one of the kinds,
    then those reading a result a stale step writes. ``only``: these steps (and what depends
    on them) instead of the kinds' closure; ``follow=False``: without what depends on them
    (their results are then newer than their dependants' until those run too)."""
    kinds = set(kinds)
    chosen = set(only or ())
    unknown = chosen - set(STEP_NAMES)
    if unknown:
        raise InputError(
            f"unknown pipeline step(s) {sorted(unknown)} (steps: {', '.join(STEP_NAMES)})"
        )
    out: list[Step] = []
    written: set[str] = set()
    for step in STEPS:
        follows = follow and bool({r.name for r in step.reads} & written)
        if step.name in chosen or step.inputs & kinds or follows:
            out.append(step)
            written |= {r.name for r in step.writes}
    return out


def results_written(step_names: Iterable[str]) -> list[str]:
    """The results the named steps write, in pipeline order (what a finished job refreshed)."""
    names = set(step_names)
    return [r.name for step in STEPS if step.name in names for r in step.writes]


def affected_years(batch_ids: Iterable[int], *, url: str | None = None) -> list[int] | None:
    """The data years the batches' lake files hold (their ``year=`` partitions); None when a
    batch holds registry data or unpartitioned files (every year is affected)."""

    years: set[int] = set()
    for bid in batch_ids:
        info = catalog.get_batch(int(bid), url=url)
        if info is None or info.kind in REGISTRY_KINDS:
            return None
        for _table, path in catalog.batch_file_paths(int(bid), url=url):
            m = _YEAR_DIR.search(path)
            if m is None:
                return None
            years.add(int(m.group(1)))
    return sorted(years)


def _source_batches(kinds: Iterable[str], url: str | None) -> str:

    by_kind = catalog.committed_batches_by_kind(url=url)
    parts = []
    for kind in sorted(set(kinds) & set(by_kind)):
        ids = by_kind[kind]
        parts.append(f"{kind}:{ids[0]}-{ids[-1]}" if len(ids) > 1 else f"{kind}:{ids[0]}")
    return ",".join(parts)


# ------------------------------------------------------------------------------------- runs
@dataclass
class StepReport:
    """How one step of a pipeline run went."""

    name: str
    status: str = "pending"  # pending | running | done | skipped | failed
    seconds: float = 0.0
    message: str = ""


@dataclass
class PipelineRun:
    """A pipeline run: its steps, years, and whether its results were committed."""

    run_id: str
    kinds: list[str]
    years: list[int] | None
    steps: list[StepReport]
    started_at: str
    finished_at: str = ""
    ok: bool = False
    committed: bool = False
    error: str = ""
    actor: str = "pipeline"
    batch: Any = None  # the ingest result, when the run followed an ingest

    def record(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("batch")
        if self.batch is not None:
            out["batch_id"] = int(self.batch.batch_id)
            out["batch_status"] = str(self.batch.status)
        return out


OnStep = Callable[[StepReport], None]


def _runs_dir(settings: Any) -> Path:
    return Path(settings.home) / "pipeline" / "runs"


def _save(run: PipelineRun, settings: Any) -> None:
    folder = _runs_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{run.started_at.replace(':', '')}-{run.run_id}.json"
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(run.record(), ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


@contextmanager
def _home_lock(settings: Any) -> Iterator[None]:
    """One pipeline run at a time per home (across processes)."""
    Path(settings.home).mkdir(parents=True, exist_ok=True)
    path = Path(settings.home) / "pipeline.lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def _now() -> str:
    import pandas as pd

    return pd.Timestamp.now(tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


#: Steps that may run at once (threads): independent steps overlap, e.g. the nodal scope 2 with
#: the enterprise → inventory → targets chain. DuckDB, NumPy and Arrow release the GIL.
STEP_WORKERS = 2


def step_dependencies(todo: Sequence[Step]) -> dict[str, set[str]]:
    """For each step of ``todo``, the steps of ``todo`` it waits for: the writers of the results
    it reads and the steps it names in ``after``."""
    names = {s.name for s in todo}
    writer = {r.name: s.name for s in todo for r in s.writes}
    return {
        s.name: {writer[r.name] for r in s.reads if r.name in writer} | (set(s.after) & names)
        for s in todo
    }


def _run_step(step: Step, rep: StepReport, ctx: Context, tell: OnStep) -> None:
    rep.status = "running"
    tell(rep)
    t0 = time.perf_counter()
    try:
        rep.message = step.run(ctx) or ""
        rep.status = "done"
    except NotApplicable as err:
        rep.status, rep.message = "skipped", str(err)
    except Exception as err:
        rep.status = "failed"
        if isinstance(err, CitycarbonError):  # our message: what is wrong and what to do
            rep.message = str(err)
            log.warning("pipeline step %s failed: %s", step.name, err)
        else:  # the details (and the traceback) go to the log, not to users
            rep.message = f"internal error ({type(err).__name__}); the server log has the details"
            log.error("pipeline step %s failed", step.name, exc_info=err)
        raise
    finally:
        rep.seconds = round(time.perf_counter() - t0, 3)
        tell(rep)


def _execute(
    todo: Sequence[Step], reports: Sequence[StepReport], ctx: Context, tell: OnStep, workers: int
) -> None:
    """Run the steps, each as soon as the steps it depends on are done, at most ``workers`` at
    once, every one in the caller's context (its results transaction). The first failure stops
    new steps, waits for the running ones and is raised."""
    deps = step_dependencies(todo)
    report = dict(zip((s.name for s in todo), reports, strict=True))
    waiting = list(todo)
    done: set[str] = set()
    failure: BaseException | None = None
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pipeline") as pool:
        running: dict[Future, str] = {}
        while waiting or running:
            ready = [s for s in waiting if deps[s.name] <= done] if failure is None else []
            for step in ready[: workers - len(running)]:
                waiting.remove(step)
                task = copy_context().run  # the results transaction travels with the step
                running[pool.submit(task, _run_step, step, report[step.name], ctx, tell)] = (
                    step.name
                )
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for fut in finished:
                name = running.pop(fut)
                if fut.exception() is not None:
                    failure = failure or fut.exception()
                else:
                    done.add(name)
    if failure is not None:
        raise failure


def run(
    kinds: Iterable[str] = (),
    *,
    years: Sequence[int] | None = None,
    steps: Iterable[str] | None = None,
    city: Any = None,
    settings: Any = None,
    engine: str | None = None,
    on_step: OnStep | None = None,
    actor: str = "pipeline",
    batch: Any = None,
    follow: bool = True,
) -> PipelineRun:
    """Run the steps that ``kinds`` make stale (or ``steps`` and their dependants, or without
    them with ``follow=False``; all steps when neither is given) for ``years`` (None: every
    year), as one results transaction.

    Returns the :class:`PipelineRun`; its ``ok`` is False when a step failed (the results of
    this run are then not committed, and the step's report holds the reason).
    """

    settings = settings or get_settings()
    cfg = city if isinstance(city, CityConfig) else load_city(city)
    kinds = list(kinds)
    todo = stale_steps(kinds, only=steps, follow=follow) if (kinds or steps) else list(STEPS)
    years_list = sorted({int(y) for y in years}) if years is not None else None
    reports = [StepReport(s.name) for s in todo]
    pr = PipelineRun(
        run_id=results.new_run_id(),
        kinds=kinds,
        years=years_list,
        steps=reports,
        started_at=_now(),
        actor=actor,
        batch=batch,
    )
    ctx = Context(cfg, settings, years_list, engine=engine, actor=actor)
    all_inputs = set().union(*(s.inputs for s in todo)) if todo else set()

    def tell(rep: StepReport) -> None:
        if on_step is not None:
            try:
                on_step(rep)
            except Exception:  # a broken progress callback never breaks the run
                log.exception("pipeline: on_step callback failed")

    with _home_lock(settings):
        try:
            with results.transaction(
                pr.run_id,
                lake=settings.lake,
                factor_profile=cfg.factor_versions(),
                source_batches=_source_batches(all_inputs, settings.database_url),
                description=f"pipeline: {', '.join(s.name for s in todo)}"
                + (f" for {years_list}" if years_list is not None else ""),
            ) as tx:
                for rep in reports:  # every step listed at once, in the declared order
                    tell(rep)
                _execute(todo, reports, ctx, tell, workers=STEP_WORKERS)
            pr.committed = tx.committed
            pr.ok = True
        except Exception as err:
            pr.error = next(
                (f"{r.name}: {r.message}" for r in reports if r.status == "failed"), str(err)
            )
            for rep in reports:
                if rep.status == "pending":
                    rep.status = "skipped"
                    rep.message = "not run: an earlier step failed"
        finally:
            pr.finished_at = _now()
            _save(pr, settings)
    return pr


def ingest_and_run(
    kind: str,
    path: str | Path,
    *,
    source_name: str | None = None,
    created_by: str = "cli",
    created_by_id: int | None = None,
    report_dir: str | Path | None = None,
    city: Any = None,
    settings: Any = None,
    engine: str | None = None,
    on_step: OnStep | None = None,
) -> PipelineRun:
    """Ingest one file, then run what it makes stale for the years it touched.

    The ingest is the run's first step (``ingest``); a file that changes nothing (the same file
    again, or every row quarantined) runs nothing else. ``source_name``: the file's name as the
    user gave it, where ``path`` is a private copy (uploads); ``created_by_id``: the platform
    user the batch belongs to (None: the operator of the CLI). An ingest error (unreadable file,
    wrong kind) is raised as it is, after the step is reported failed.
    """

    settings = settings or get_settings()
    cfg = city if isinstance(city, CityConfig) else load_city(city)
    rep = StepReport("ingest", status="running")
    if on_step is not None:
        on_step(rep)
    t0 = time.perf_counter()
    try:
        got = ingest(
            kind,
            path,
            created_by=created_by,
            created_by_id=created_by_id,
            report_dir=report_dir,
            city=cfg,
            source_name=source_name,
        )
    except Exception as err:
        rep.status, rep.message = "failed", str(err)
        rep.seconds = round(time.perf_counter() - t0, 3)
        if on_step is not None:
            on_step(rep)
        raise
    rep.status, rep.seconds = "done", round(time.perf_counter() - t0, 3)
    rep.message = (
        f"batch {got.batch_id}: {got.rows_accepted:,} accepted, "
        f"{got.rows_quarantined:,} quarantined"
        + (" (unchanged: the same file was ingested before)" if got.unchanged else "")
    )
    if on_step is not None:
        on_step(rep)
    if got.unchanged or got.status != "committed" or not got.rows_accepted:
        pr = PipelineRun(
            run_id="",
            kinds=[kind],
            years=[],
            steps=[rep],
            started_at=_now(),
            finished_at=_now(),
            ok=True,
            actor=created_by,
            batch=got,
        )
        return pr
    years = affected_years([got.batch_id], url=settings.database_url)
    pr = run(
        [kind],
        years=years,
        city=cfg,
        settings=settings,
        engine=engine,
        on_step=on_step,
        actor=created_by,
        batch=got,
    )
    pr.steps.insert(0, rep)
    return pr


def retract_and_run(
    batch_id: int,
    *,
    actor: str,
    reason: str = "",
    city: Any = None,
    settings: Any = None,
    on_step: OnStep | None = None,
) -> PipelineRun:
    """Retract a batch (its rows stop counting, history kept) and recompute what it touched."""

    settings = settings or get_settings()
    info = catalog.get_batch(int(batch_id), url=settings.database_url)
    if info is None:
        raise InputError(f"batch {batch_id} does not exist", field="batch", value=batch_id)
    years = affected_years([batch_id], url=settings.database_url)
    catalog.retract_batch(int(batch_id), actor=actor, reason=reason, url=settings.database_url)
    return run([info.kind], years=years, city=city, settings=settings, on_step=on_step, actor=actor)


def history(settings: Any = None, *, limit: int = 20) -> list[dict[str, Any]]:
    """The newest pipeline runs of the home (newest first), as recorded."""

    settings = settings or get_settings()
    folder = _runs_dir(settings)
    if not folder.is_dir():
        return []
    files = sorted(folder.glob("*.json"), reverse=True)[:limit]
    return [json.loads(f.read_text(encoding="utf-8")) for f in files]
