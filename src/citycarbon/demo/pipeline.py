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
from citycarbon.demo.generator import generate_city
from citycarbon.errors import InputError
from citycarbon.ingest.loader import IngestResult, ingest
from citycarbon.store import catalog, query

# registry first (later kinds reference it), then activity data
INGEST_ORDER = (
    "parks",
    "grid_nodes",
    "enterprises",
    "meters",
    "energy_monthly",
    "meter_readings",
    "city_statistics",
    "energy_balance",
    "industrial_output",
    "green_electricity",
)


@dataclass
class DemoRun:
    ingests: list[IngestResult]
    results: dict[str, tuple[pd.DataFrame, Path]]
    input_dir: Path
    users: list = field(default_factory=list)  # web demo users (citycarbon.demo.users)


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
        task = progress.add_task("computing", total=1)
        with query.open_engine(engine) as eng:
            query.register_city(eng, settings=settings, city=cfg)
            results = query.compute(eng, lake_dir=settings.lake)
        progress.advance(task)
        # city energy balance and GHG inventory (issue 5), under the same run id
        task = progress.add_task("inventory (能源平衡表, 城市清单)", total=1)
        from citycarbon.runs.inventory import compute_inventory

        run_id = next(iter(results.values()))[0]["run_id"].iat[0] if results else None
        for name, frame in compute_inventory(run_id=run_id, city=cfg, settings=settings).items():
            part = f"run_id={frame['run_id'].iat[0]}"
            results[name] = (frame, settings.lake / "results" / name / part / "part.parquet")
        progress.advance(task)
        # 电-碳 chain: nowcast vintages as if the statistics of the last 2, then 1 month(s) were
        # still out, and the 电-碳-能 indicators (citycarbon/data/power_runs.py)
        task = progress.add_task("nowcast (以电折碳) and indicators", total=1)
        from citycarbon.runs import power as power_runs

        power = power_runs.read_power_data(settings=settings, city=cfg)
        run = power_runs.run_nowcast(holdout_months=2, settings=settings, data=power)
        run = power_runs.run_nowcast(  # the next vintage keeps the models the first one chose
            holdout_months=1,
            model=run.models,
            sigma_floor=run.sigma_floor,
            settings=settings,
            data=power,
        )
        results["nowcast"] = (run.table, run.path)
        power_runs.run_indicators(settings=settings, data=power)
        progress.advance(task)
        # nodal intensities and hourly scope 2 of the latest year (synthetic demo grid)
        task = progress.add_task("nowcast backtest, hourly nodal scope 2 (碳排放流)", total=1)
        from citycarbon.runs.scope2 import persist_demo_scope2

        try:  # MAPE vs naive, per level (needs a year of statistics before its origins)
            power_runs.run_backtest(settings=settings, data=power)
        except InputError as err:
            console.print(f"[yellow]nowcast backtest skipped: {err}[/yellow]")

        persist_demo_scope2(settings=settings, city=cfg)
        progress.advance(task)
    # carbon dual control: targets, progress and warnings after the ingest (failure-safe hook)
    from citycarbon.runs.targets import after_ingest

    after_ingest(cfg=cfg, settings=settings)
    # web platform: one demo user per role (passwords documented, demo only)
    from citycarbon.demo.users import create_demo_users

    demo_users = create_demo_users(cfg)
    # pathways: the catalogue's default scenarios (baseline, policy, enhanced) in the catalog
    from citycarbon.runs.scenarios import ensure_default_scenarios

    ensure_default_scenarios()
    return DemoRun(ingests=ingests, results=results, input_dir=input_dir, users=demo_users)


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
