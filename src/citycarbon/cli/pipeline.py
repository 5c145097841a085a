"""`citycarbon pipeline run|status|steps`: the runs after an ingest, as one declared graph
(:mod:`citycarbon.runs.pipeline`); also how `ingest`, `inventory compute` and `targets
recompute` print the pipeline run they started."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from citycarbon.cli.common import CityOption, EngineOption, console, fail
from citycarbon.contract.results import RESULTS
from citycarbon.errors import CitycarbonError
from citycarbon.runs import pipeline
from citycarbon.store import results

if TYPE_CHECKING:
    from citycarbon.runs.pipeline import PipelineRun

pipeline_app = typer.Typer(
    help="The pipeline (流水线): what an ingest makes stale, recomputed in dependency order.",
    no_args_is_help=True,
)
STATUS_STYLE = {"done": "green", "skipped": "yellow", "failed": "red", "running": "cyan"}


def print_run(run: PipelineRun, *, title: str | None = None) -> None:
    """The steps of a pipeline run (a :class:`~citycarbon.runs.pipeline.PipelineRun`)."""
    table = Table("step", "status", "seconds", "message", title=title or "pipeline")
    for rep in run.steps:
        style = STATUS_STYLE.get(rep.status, "")
        table.add_row(
            rep.name,
            f"[{style}]{rep.status}[/]" if style else rep.status,
            f"{rep.seconds:.1f}",
            rep.message,
        )
    console.print(table)
    if run.run_id:
        years = run.years
        console.print(
            f"run [bold]{run.run_id}[/]"
            + (f" for years {', '.join(map(str, years))}" if years else " for every year")
            + (": results committed" if run.committed else ": nothing committed")
        )


def exit_if_failed(run: PipelineRun) -> None:
    """Exit 1 with the failing step's reason when the run failed."""
    if not run.ok:
        console.print(f"[red]pipeline failed:[/] {run.error}; the previous results stay current")
        raise typer.Exit(1)


@pipeline_app.command("run")
def run_command(
    kind: Annotated[
        list[str] | None,
        typer.Option("--kind", help="Recompute what an ingest of this kind makes stale."),
    ] = None,
    step: Annotated[
        list[str] | None,
        typer.Option("--step", help="Run this step and what depends on it (repeatable)."),
    ] = None,
    year: Annotated[
        list[int] | None, typer.Option("--year", help="Only these data years (repeatable).")
    ] = None,
    engine: EngineOption = None,
    city: CityOption = None,
) -> None:
    """Run the pipeline: every step (default), or what --kind makes stale, or --step and its
    dependants; for --year only where a step is per year."""
    try:
        run = pipeline.run(
            kind or (),
            steps=step or None,
            years=year or None,
            city=city,
            engine=engine,
            actor="cli",
        )
    except CitycarbonError as err:
        fail(err)
    print_run(run)
    exit_if_failed(run)


@pipeline_app.command("status")
def status_command(
    limit: Annotated[int, typer.Option("--limit", min=1, max=200)] = 10,
) -> None:
    """The newest pipeline runs of this home and the current run of each result."""
    runs = pipeline.history(limit=limit)
    if not runs:
        console.print("no pipeline run yet: ingest data or run `citycarbon pipeline run`")
    else:
        table = Table("started", "run", "by", "years", "steps", "result", title="pipeline runs")
        for r in runs:
            steps = ", ".join(f"{s['name']}:{s['status']}" for s in r["steps"])
            years = r["years"]
            table.add_row(
                r["started_at"],
                r["run_id"] or "-",
                r["actor"],
                "all" if years is None else ", ".join(map(str, years)) or "-",
                steps,
                "[green]ok[/]" if r["ok"] else f"[red]failed[/] {r['error']}",
            )
        console.print(table)
    cur = Table("result", "partition", "current run(s)", title="current results")
    for name, decl in RESULTS.items():
        runs_ = results.current_runs(decl)
        if runs_:
            cur.add_row(name, decl.partition or "vintage", ", ".join(runs_))
    if cur.row_count:
        console.print(cur)


@pipeline_app.command("steps")
def steps_command() -> None:
    """The pipeline graph: each step with the ingest kinds and results it reads and writes."""
    table = Table("step", "per year", "reads kinds", "reads results", "writes", title="steps")
    for s in pipeline.STEPS:
        table.add_row(
            s.name,
            "yes" if s.by_year else "no",
            ", ".join(sorted(s.inputs)),
            ", ".join(r.name for r in s.reads),
            ", ".join(r.name for r in s.writes),
        )
    console.print(table)
