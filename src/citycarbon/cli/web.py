"""CLI commands of the web platform: ``citycarbon serve`` and ``citycarbon users ...``
(registered in :mod:`citycarbon.cli`; logic here, no formulas)."""

from __future__ import annotations

import getpass
import signal
import subprocess
import sys
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from citycarbon.cli.common import CityOption, console, fail
from citycarbon.config import load_city
from citycarbon.config.settings import export
from citycarbon.demo.users import users_with_demo_password
from citycarbon.errors import CitycarbonError
from citycarbon.runs.actions import overdue_warnings
from citycarbon.runs.targets import JOB_ID, start_scheduler
from citycarbon.store import catalog, users

users_app = typer.Typer(
    help="Platform users (用户): add, list, set passwords.", no_args_is_help=True
)


def _password(password: str | None) -> str:
    if password:
        return password
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        fail(ValueError("the passwords differ"))
    return first


def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
    schedule: Annotated[
        bool,
        typer.Option(
            help="Also recompute targets and warnings on the city's cron (targets.schedule)."
        ),
    ] = True,
    city: CityOption = None,
    worker: Annotated[
        bool,
        typer.Option(
            help="Also run the background job worker (uploads, retractions) in a second "
            "process; --no-worker leaves the queue to `citycarbon jobs worker`."
        ),
    ] = True,
    production: Annotated[
        bool,
        typer.Option(
            "--production",
            help="Refuse to start while a user still has the documented demo password.",
        ),
    ] = False,
) -> None:
    """Serve the web platform and the API (uvicorn) on http://HOST:PORT."""

    import uvicorn

    try:
        cfg = load_city(city)
        if city:  # the workers (other processes) read the city from the environment
            export("CITYCARBON_CITY", str(cfg.path))
        catalog.ensure_catalog()
    except CitycarbonError as err:
        fail(err)
    demo = users_with_demo_password()
    if demo:
        text = (
            f"the user(s) {', '.join(demo)} still have the documented demo password "
            "(<name>-demo): anyone can sign in as them; set new ones with "
            "`citycarbon users passwd <name>`"
        )
        if production:
            fail(f"not starting with --production: {text}")
        console.print(f"[bold yellow]warning:[/] {escape(text)}")
    if schedule:  # one scheduler in this (the parent) process, whatever the worker count
        try:
            job = start_scheduler(cfg, also=(overdue_warnings,)).get_job(JOB_ID)
        except CitycarbonError as err:
            fail(err)
        console.print(
            f"targets recompute and overdue-task check scheduled ({job.trigger}); "
            f"next {job.next_run_time}"
        )
    consumer = None
    export("CITYCARBON_WORKER", "off")  # the jobs run beside the server, never in its processes
    if worker:  # one consumer in a second process: pages stay responsive while a job computes
        consumer = subprocess.Popen(
            [sys.executable, "-c", "from citycarbon.cli import app; app()", "jobs", "worker"]
        )
        console.print(f"background job worker: process {consumer.pid} (1 thread)")
    console.print(f"citycarbon web on [bold]http://{host}:{port}[/] (API docs at /docs)")
    try:
        uvicorn.run(
            "citycarbon.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            proxy_headers=False,
        )
    finally:
        if consumer is not None:  # SIGINT: huey lets a running job finish
            consumer.send_signal(signal.SIGINT)
            try:
                consumer.wait(timeout=90)
            except subprocess.TimeoutExpired:
                consumer.kill()


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Argument(help="User name.")],
    role: Annotated[
        str,
        typer.Option(
            help="admin, city_analyst, district_manager, park_manager, enterprise_user, "
            "viewer, bank or unit_user (a 责任单位 of the action plan)."
        ),
    ] = "viewer",
    scope: Annotated[
        str | None,
        typer.Option(
            help="District, park or credit code of scoped roles; unit code of a unit_user."
        ),
    ] = None,
    name: Annotated[str | None, typer.Option(help="Display name.")] = None,
    password: Annotated[
        str | None, typer.Option(help="Password (asked for when not given).")
    ] = None,
) -> None:
    """Add a user (the password is stored as an argon2 hash)."""

    try:
        info = users.create_user(
            username, _password(password), role, scope_code=scope, display_name=name, actor="cli"
        )
    except CitycarbonError as err:
        fail(err)
    console.print(
        f"user {info.username} ({info.role}{', ' + info.scope_code if info.scope_code else ''}) added"
    )


@users_app.command("list")
def users_list() -> None:
    """List the users (no password hashes)."""

    frame = users.list_users()
    table = Table("username", "role", "scope", "name", "active", "last login")
    for r in frame.itertuples():
        table.add_row(
            r.username,
            r.role,
            r.scope_code or "",
            r.display_name or "",
            "yes" if r.active else "no",
            str(r.last_login_at or "")[:19],
        )
    console.print(table)


@users_app.command("passwd")
def users_passwd(
    username: Annotated[str, typer.Argument(help="User name.")],
    password: Annotated[
        str | None, typer.Option(help="New password (asked for when not given).")
    ] = None,
) -> None:
    """Set a user's password (their sessions end, their API tokens are revoked)."""

    try:
        users.set_password(username, _password(password), actor="cli")
    except CitycarbonError as err:
        fail(err)
    console.print(f"password of {username} set")
