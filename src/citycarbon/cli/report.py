"""CLI sub-apps ``citycarbon report ...`` and ``citycarbon targets ...`` (thin: no formulas)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from citycarbon.cli.common import CityOption, console, fail
from citycarbon.config import load_city
from citycarbon.config.settings import get_settings
from citycarbon.errors import CitycarbonError
from citycarbon.reports.excel import write_excel, write_gpc_csv
from citycarbon.reports.pdf import inventory_pdf, targets_pdf
from citycarbon.runs.reports import inventory_report, targets_report
from citycarbon.runs.targets import JOB_ID, recompute, start_scheduler
from citycarbon.store.targets import warnings_frame

report_app = typer.Typer(
    help="Reports (报告): inventory and dual-control targets, PDF and Excel.", no_args_is_help=True
)
targets_app = typer.Typer(
    help="Carbon dual control (碳排放双控): targets, progress, warnings.", no_args_is_help=True
)

OutOption = Annotated[
    Path | None,
    typer.Option("--out", help="Output directory (default $CITYCARBON_HOME/reports)."),
]


def _out(out: Path | None) -> Path:

    return out or get_settings().home / "reports"


@report_app.command("inventory")
def report_inventory(
    year: Annotated[int, typer.Option("--year", help="Inventory year.")],
    month: Annotated[
        int | None, typer.Option("--month", help="Monthly report of this month.")
    ] = None,
    out: OutOption = None,
    city: CityOption = None,
) -> None:
    """Inventory report (清单报告): PDF, Excel (all tables) and the GPC table as CSV."""
    t0 = time.perf_counter()
    try:
        data = inventory_report(year, month, cfg=load_city(city))
        stem = _out(out) / f"inventory-{data.period}"
        paths = [
            inventory_pdf(data, stem.with_suffix(".pdf")),
            write_excel(data, stem.with_suffix(".xlsx")),
        ]
        if "gpc" in data.tables:
            paths.append(write_gpc_csv(data, stem.with_name(stem.name + "-gpc.csv")))
    except CitycarbonError as err:
        fail(err)
    for p in paths:
        console.print(f"wrote {p}")
    console.print(f"source {data.source}; {time.perf_counter() - t0:.1f} s")


@report_app.command("targets")
def report_targets(
    period: Annotated[
        str | None, typer.Option("--period", help="e.g. 2021-2025 (default all).")
    ] = None,
    out: OutOption = None,
    city: CityOption = None,
) -> None:
    """Dual-control report (双控目标进展): progress vs schedule, warnings; PDF and Excel."""
    try:
        data = targets_report(period, cfg=load_city(city))
        stem = _out(out) / f"targets-{data.period}"
        paths = [
            targets_pdf(data, stem.with_suffix(".pdf")),
            write_excel(data, stem.with_suffix(".xlsx")),
        ]
    except CitycarbonError as err:
        fail(err)
    for p in paths:
        console.print(f"wrote {p}")


@targets_app.command("recompute")
def targets_recompute(
    notify: Annotated[bool, typer.Option(help="Send new warnings to the channels.")] = True,
    city: CityOption = None,
) -> None:
    """Sync the targets from the city config, compute progress, log and send warnings."""
    try:
        r = recompute(load_city(city), actor="cli", notify=notify)
    except CitycarbonError as err:
        fail(err)
    table = Table("level", "rule", "subject", "period", "value", title=f"status (run {r.run_id})")
    colour = {"red": "red", "yellow": "yellow", "green": "green"}
    for s in r.status.sort_values("level").itertuples(index=False):
        table.add_row(
            f"[{colour[s.level]}]{s.level}[/]",
            s.rule_id,
            str(s.subject),
            str(s.period),
            f"{s.value:,.2f}",
        )
    console.print(table)
    console.print(
        f"source {r.source}; {len(r.logged)} new warning(s) logged; sent: {r.notified or '-'}"
    )


@targets_app.command("warnings")
def targets_warnings(limit: Annotated[int, typer.Option(help="Newest entries.")] = 30) -> None:
    """Show the warnings log, newest first."""
    table = Table("id", "at", "level", "message", "sent")
    for w in warnings_frame(limit=limit).itertuples(index=False):
        table.add_row(str(w.id), str(w.at)[:19], w.level, w.message, w.notified_via or "")
    console.print(table)


@targets_app.command("schedule")
def targets_schedule(city: CityOption = None) -> None:
    """Run the recompute on the city's cron schedule until interrupted (Ctrl-C)."""
    try:
        scheduler = start_scheduler(load_city(city))
    except CitycarbonError as err:
        fail(err)
    job = scheduler.get_job(JOB_ID)
    console.print(f"scheduled {job.trigger}; next run {job.next_run_time}")
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        scheduler.shutdown()
