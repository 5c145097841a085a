"""CLI of the background jobs: ``citycarbon jobs worker|list|show`` (registered in
:mod:`citycarbon.cli`; the queue is :mod:`citycarbon.runs.jobs`)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from citycarbon.cli.common import output_lang
from citycarbon.config.settings import get_settings
from citycarbon.errors import CitycarbonError, say
from citycarbon.runs.jobs import run_worker
from citycarbon.store.jobs import get_job, list_jobs

console = Console()
jobs_app = typer.Typer(
    help="Background jobs (uploads and their pipeline): worker, list, show.",
    no_args_is_help=True,
)
COLOUR = {"queued": "cyan", "running": "yellow", "done": "green", "failed": "red"}


def _fail(err: Exception) -> None:
    console.print(f"[bold red]error:[/] {err}")
    raise typer.Exit(2)


@jobs_app.command("worker")
def jobs_worker() -> None:
    """Run the job consumer in the foreground (one worker thread; Ctrl-C stops it). For
    production next to `citycarbon serve --no-worker`."""
    settings = get_settings()
    where = settings.queue_file if settings.queue == "sqlite" else settings.queue
    console.print(f"job worker on {where} (1 thread); Ctrl-C to stop")
    try:
        run_worker(settings)
    except CitycarbonError as err:
        _fail(err)


@jobs_app.command("list")
def jobs_list(
    status: Annotated[
        str | None, typer.Option(help="Only queued, running, done or failed jobs.")
    ] = None,
    limit: Annotated[int, typer.Option(help="Newest jobs to show.")] = 50,
) -> None:
    """List jobs, newest first, with status, progress and error."""
    try:
        items, total = list_jobs(status=status, limit=limit)
    except CitycarbonError as err:
        _fail(err)
    table = Table("id", "kind", "file", "status", "progress", "by", "created", "batch", "error")
    for j in items:
        table.add_row(
            str(j.id),
            j.ingest_kind or j.kind,
            j.source_name or "",
            f"[{COLOUR.get(j.status, 'white')}]{j.status}[/]",
            f"{j.progress:.0%}",
            j.created_by,
            j.created_at.isoformat()[:19],
            str(j.batch_id or ""),
            (j.error_in(output_lang()) or "")[:60],
        )
    console.print(table)
    console.print(f"{len(items)} of {total} job(s)")


@jobs_app.command("show")
def jobs_show(job_id: Annotated[int, typer.Argument(help="Job id.")]) -> None:
    """One job: status, times, steps with their seconds and messages, error and batch."""
    try:
        job = get_job(job_id)
    except CitycarbonError as err:
        _fail(err)
    if job is None:
        _fail(ValueError(f"job {job_id} does not exist; `citycarbon jobs list` shows the jobs"))
    console.print(
        f"job {job.id} · {job.ingest_kind or job.kind} · {job.source_name or ''} · "
        f"[{COLOUR.get(job.status, 'white')}]{job.status}[/] {job.progress:.0%} · by {job.created_by}"
    )
    for label, at in (("created", job.created_at), ("started", job.started_at),
                      ("finished", job.finished_at)):  # fmt: skip
        if at is not None:
            console.print(f"  {label}: {at.isoformat()[:19]} UTC")
    table = Table("step", "status", "seconds", "message")
    for s in job.steps:
        table.add_row(s["name"], s["status"], f"{s['seconds']:.1f}", s["message"] or "")
    console.print(table)
    if job.batch_id:
        console.print(f"batch {job.batch_id} (`citycarbon quarantine --batch {job.batch_id}`)")
    if job.error:
        lang = output_lang()
        console.print(
            f"[bold red]{say(lang, 'label.error')}:[/] {escape(job.error_in(lang) or '')}"
        )
        raise typer.Exit(1)
