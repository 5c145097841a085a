"""What every `citycarbon` command shares: the console, printing an error (never a traceback),
the ``--city``, ``--engine`` and ``--year`` options, who runs the command, and cell formatting
of tables."""

from __future__ import annotations

import getpass
import os
from typing import Annotated, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from citycarbon.errors import InputError, cli_lang, say

console = Console()
#: The language chosen with ``--lang`` for this command (None: the environment's).
_chosen_lang: list[str | None] = [None]


def choose_lang(lang: str | None) -> None:
    """Use ``lang`` (zh or en) for this command's errors; None: :func:`cli_lang`."""
    _chosen_lang[0] = lang


def output_lang() -> str:
    """The language of this command's errors: ``--lang``, else ``CITYCARBON_LANG``, else the
    locale, else English (:func:`citycarbon.errors.cli_lang`)."""
    return _chosen_lang[0] or cli_lang()


CityOption = Annotated[
    str | None,
    typer.Option(
        "--city", help="City name or path to its YAML config (default: $CITYCARBON_CITY or xiamen)."
    ),
]
EngineOption = Annotated[
    str | None,
    typer.Option(
        "--engine",
        help="Query engine: duckdb or spark (default: $CITYCARBON_ENGINE "
        "or duckdb; Spark master from $CITYCARBON_SPARK_MASTER, default local[2]).",
    ),
]
YearOption = Annotated[int | None, typer.Option("--year", help="Only this data year.")]


def fail(err: Exception | str) -> NoReturn:
    """Print a user-facing error and exit 1: an :class:`InputError` names the file, line, field,
    value, reason and way forward in the command's language (:func:`output_lang`)."""
    lang = output_lang()
    text = err.render(lang) if isinstance(err, InputError) else str(err)
    console.print(f"[bold red]{say(lang, 'label.error')}:[/] {escape(text)}")
    raise typer.Exit(1)


def operator() -> str:
    """Who runs this command, as recorded: ``cli:<OS user>``."""
    try:
        return f"cli:{getpass.getuser()}"
    except (OSError, KeyError):  # no user name for this uid (a container)
        return f"cli:uid-{os.getuid()}"


def cell(value: object) -> str:
    """A table cell: floats with 4 decimals and thousands separators, NaN and None empty."""
    if isinstance(value, float):
        return "" if value != value else f"{value:,.4f}"
    return "" if value is None else str(value)


def frame_table(frame: pd.DataFrame, title: str) -> Table:
    """A rich table of a small frame (its index first; ``*_pct`` columns signed)."""
    table = Table(title=title)
    table.add_column(str(frame.index.name or ""), no_wrap=True)
    for col in frame.columns:
        table.add_column(str(col), justify="right" if frame[col].dtype.kind in "if" else "left")
    for idx, row in frame.iterrows():  # a printed table: a few dozen rows
        table.add_row(
            str(idx),
            *[
                (f"{v:+.2f}" if str(c).endswith("_pct") else f"{v:,.1f}")
                if isinstance(v, float)
                else str(v)
                for c, v in row.items()
            ],
        )
    return table
