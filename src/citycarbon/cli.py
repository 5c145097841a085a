"""The `citycarbon` command line: a thin shell over the domain core (no formulas here)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from citycarbon import __version__, factors
from citycarbon.errors import CitycarbonError

app = typer.Typer(
    help="citycarbon — city carbon peaking and neutrality platform (碳达峰碳中和管理决策平台).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
factors_app = typer.Typer(help="Browse and compare factor sets (因子库).", no_args_is_help=True)
app.add_typer(factors_app, name="factors")
console = Console()

CityOption = Annotated[
    str | None,
    typer.Option("--city", help="City name or path to its YAML config (default: $CITYCARBON_CITY "
                 "or xiamen)."),
]


def fail(err: Exception) -> None:
    """Print a user-facing error and exit 2 (never a bare traceback)."""
    console.print(f"[bold red]error:[/] {err}")
    raise typer.Exit(2)


@app.command()
def version() -> None:
    """Print the citycarbon version."""
    console.print(__version__)


@factors_app.command("list")
def factors_list(
    path: Annotated[list[Path] | None, typer.Option(help="Extra directory with factor sets.")] = None,
) -> None:
    """List the factor sets on the search path."""
    table = Table("id", "version", "title", "values", "parameters")
    for s in factors.list_factor_sets(path or ()):
        table.add_row(s.id, s.version, s.title, str(len(s.table)),
                      ", ".join(sorted(s.table["parameter"].unique())))
    console.print(table)


@factors_app.command("show")
def factors_show(
    set_id: Annotated[str, typer.Argument(help="Factor set id or directory.")],
    parameter: Annotated[str | None, typer.Option(help="Only this parameter.")] = None,
    key: Annotated[str | None, typer.Option(help="Only this key (fuel, gas, region...).")] = None,
) -> None:
    """Show the values of a factor set with unit, source and clause."""
    try:
        s = factors.load_factor_set(set_id)
    except CitycarbonError as err:
        fail(err)
    t = s.table
    if parameter:
        t = t[t["parameter"] == parameter]
    if key:
        t = t[t["key"] == key]
    console.print(f"[bold]{s.label}[/] {s.title}\n{s.description}".rstrip())
    table = Table("parameter", "key", "context", "year", "value", "unit", "source", "clause")
    for r in t.itertuples():
        table.add_row(r.parameter, r.key, r.context, str(r.year), f"{r.value:g}", r.unit,
                      r.source, r.clause)
    console.print(table)


@factors_app.command("diff")
def factors_diff(
    a: Annotated[str, typer.Argument(help="First factor set id or directory.")],
    b: Annotated[str, typer.Argument(help="Second factor set id or directory.")],
) -> None:
    """Compare two factor sets: values only in one, and changed values (in the first set's unit)."""
    try:
        d = factors.diff(factors.load_factor_set(a), factors.load_factor_set(b))
    except CitycarbonError as err:
        fail(err)
    table = Table("parameter", "key", "context", "year", "status", f"{a}", f"{b} (in {a} unit)",
                  "change")
    for r in d.itertuples():
        table.add_row(r.parameter, r.key, r.context, str(r.year), r.status,
                      "" if r.value_a != r.value_a else f"{r.value_a:g} {r.unit_a}",
                      "" if r.value_b_in_unit_a != r.value_b_in_unit_a
                      else f"{r.value_b_in_unit_a:g}",
                      "" if r.rel_change != r.rel_change else f"{r.rel_change:+.2%}")
    console.print(table)
    console.print(f"{len(d)} difference(s)")


if __name__ == "__main__":
    app()
