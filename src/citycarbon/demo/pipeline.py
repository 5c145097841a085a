"""`citycarbon demo`: generate the synthetic demo city, ingest it through the real ingest path,
compute with the query layer, and summarise. Every number printed is computed, none is canned."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from citycarbon.config import load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import RESULTS
from citycarbon.demo.generator import generate_city
from citycarbon.demo.users import create_demo_users
from citycarbon.errors import InputError
from citycarbon.ingest.loader import IngestResult, ingest
from citycarbon.runs import pipeline
from citycarbon.runs import power as power_runs
from citycarbon.runs.scenarios import ensure_default_scenarios
from citycarbon.store import catalog, results

# registry first (later kinds reference it), then activity data
INGEST_ORDER = (
    "parks",
    "grid_nodes",
    "enterprises",
    "meters",
    "energy_monthly",
    "meter_readings",
    "city_statistics",
    "city_monthly_statistics",
    "yearbook_series",
    "energy_balance",
    "industrial_output",
    "green_electricity",
    "enterprise_value_added",
    "enterprise_offsets",
    "subsidy_applications",
    "waste_disposal",
    "wastewater",
    "land_carbon",
    "blue_carbon_sites",
    "mariculture",
    "transport_fuel",
    "green_projects",
    "agriculture",
    "fugitive_activity",
)


@dataclass
class DemoRun:
    ingests: list[IngestResult]
    results: dict[str, tuple[pd.DataFrame, Path]]
    input_dir: Path
    users: list = field(default_factory=list)  # web demo users (citycarbon.demo.users)
    run: pipeline.PipelineRun | None = None  # the pipeline run that computed everything


def run_demo(
    *,
    enterprises: int = 3000,
    years: int = 3,
    meters: int | None = None,
    seed: int = 20261123,
    engine: str | None = None,
    city: str | None = None,
    console: Console | None = None,
) -> DemoRun:
    """Build, ingest and compute the demo city in the current ``CITYCARBON_HOME``."""
    console = console or Console()
    settings = get_settings()
    cfg = load_city(city)
    input_dir = settings.home / "demo-input"
    columns = (
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
    )
    with Progress(*columns, console=console) as progress:
        task = progress.add_task(f"generating synthetic {cfg.name.zh} (seed {seed})", total=1)
        files = generate_city(
            input_dir, city=city, seed=seed, enterprises=enterprises, meters=meters, years=years
        )
        progress.advance(task)
        catalog.ensure_catalog()
        catalog.sync_regions(cfg)
        task = progress.add_task("ingesting", total=len(INGEST_ORDER))
        ingests = []
        for kind in INGEST_ORDER:
            progress.update(task, description=f"ingesting {kind}")
            ingests.append(ingest(kind, files[kind], created_by="demo", city=cfg))
            progress.advance(task)
        # an earlier nowcast vintage, as if the statistics of the last 2 months were still out
        # (the pipeline's nowcast step then adds the vintage with 1 month out, same models)
        task = progress.add_task("nowcast vintage (以电折碳, 2 months held out)", total=1)

        first = pipeline.run(  # the enterprise results the nowcast reads; the rest follows below
            steps=["enterprise_results"],
            follow=False,
            city=cfg,
            settings=settings,
            engine=engine,
            actor="demo",
        )
        _raise_failed(first)
        power_runs.run_nowcast(
            holdout_months=2,
            settings=settings,
            data=power_runs.read_power_data(settings=settings, city=cfg),
        )
        progress.advance(task)
        # everything else through the pipeline, as after any ingest
        steps = [s.name for s in pipeline.STEPS if s.name != "enterprise_results"]
        task = progress.add_task("pipeline", total=len(steps))

        def on_step(rep: pipeline.StepReport) -> None:
            progress.update(task, description=f"pipeline: {rep.name} ({rep.status})")
            if rep.status in ("done", "skipped", "failed"):
                progress.advance(task)

        run = pipeline.run(
            steps=steps, city=cfg, settings=settings, engine=engine, on_step=on_step, actor="demo"
        )
        _raise_failed(run)
    for rep in run.steps:
        if rep.status == "skipped":
            console.print(f"[yellow]{rep.name} skipped: {rep.message}[/yellow]")
    out = {
        name: (results.current(decl, lake=settings.lake), settings.lake / "results" / name)
        for name, decl in RESULTS.items()
        if results.has(decl, lake=settings.lake)
    }
    # web platform: one demo user per role (passwords documented, demo only)

    demo_users = create_demo_users(cfg)
    # pathways: the catalogue's default scenarios (baseline, policy, enhanced) in the catalog

    ensure_default_scenarios()
    return DemoRun(ingests=ingests, results=out, input_dir=input_dir, users=demo_users, run=run)


def _raise_failed(run: pipeline.PipelineRun) -> None:
    if not run.ok:
        raise InputError(f"demo pipeline failed: {run.error}")


def summarise(run: DemoRun) -> dict[str, pd.DataFrame]:
    """Tables a carbon office would look at first, from the computed results.

    - ``by_year``: energy (tce), scope 1, scope 2 and total CO2 of the covered enterprises.
    - ``by_district``: the same for the latest year by district (区).
    - ``top``: the ten largest emitters of the latest year.
    - ``power_check``: scope-2 CO2 from meter readings vs from the 205-1 electricity returns
      (the two data chains must agree within the meters' stated accuracy).
    """
    fuel = run.results["enterprise_month_fuel_emissions"][0]
    sums = ["energy_tce", "scope1_co2_t", "scope2_co2_t", "co2_t"]
    by_year = fuel.groupby("year")[sums].sum()
    latest = int(by_year.index.max())
    ents = catalog.registry_frame("enterprises").set_index("credit_code")
    regions = catalog.registry_frame("regions").set_index("code")
    last = fuel[fuel["year"] == latest].groupby("enterprise_code")[sums].sum()
    last = last.join(ents[["name", "industry_code", "district_code"]])
    by_district = last.groupby("district_code")[sums].sum()
    by_district.index = regions.reindex(by_district.index)["name_zh"].fillna("?")
    top = last.nlargest(10, "co2_t")[["name", "industry_code", "energy_tce", "co2_t"]]
    out = {"by_year": by_year, "by_district": by_district, "top": top}
    if "enterprise_month_electricity_emissions" in run.results:
        meters = run.results["enterprise_month_electricity_emissions"][0]
        m = meters.groupby(["enterprise_code", "year", "month"])["co2_t"].sum()
        f = fuel.set_index(["enterprise_code", "year", "month"])["electricity_co2_t"]
        both = pd.concat({"meters_co2_t": m, "returns_co2_t": f}, axis=1, join="inner")
        check = both.groupby(level="year").sum()
        check["difference_pct"] = 100 * (check["meters_co2_t"] / check["returns_co2_t"] - 1)
        out["power_check"] = check
    return out
