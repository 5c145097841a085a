"""What every `citycarbon` command shares: the console, printing an error (never a traceback),
the ``--city``, ``--engine``, ``--year``, ``--lang`` and ``--raw`` options, who runs the
command, cell formatting of tables and CSV files for people."""

from __future__ import annotations

import getpass
import os
from typing import Annotated, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from citycarbon.contract.exports import write_csv
from citycarbon.read.presentation import present

console = Console()

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
    """Print a user-facing error (file, row, field, reason as the error gives them) and exit 1."""
    console.print(f"[bold red]error:[/] {escape(str(err))}")
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


def _check_lang(value: str) -> str:
    if value not in ("zh", "en"):
        raise typer.BadParameter("zh or en")
    return value


LangOption = Annotated[
    str,
    typer.Option(
        "--lang",
        callback=_check_lang,
        help="Language of written CSV/Excel files (zh or en): headers labelled with their units, "
        "figures in 万吨 / 亿千瓦时 from eight digits, fractions as %, rounded.",
    ),
]
RawOption = Annotated[
    bool,
    typer.Option(
        "--raw", help="Write CSV files with the field names and values as computed (for programs)."
    ),
]


def write_table(frame: pd.DataFrame, path: object, lang: str = "zh", raw: bool = False) -> None:
    """Write ``frame`` (a named index as its first column) as a UTF-8 CSV with BOM, its cells
    neutralised: for people (:func:`citycarbon.read.presentation.present` in ``lang``) or, with
    ``raw``, with the field names and values as computed."""
    if frame.index.name is not None:
        frame = frame.reset_index()
    write_csv(frame if raw else present(frame, lang), path, index=False, encoding="utf-8-sig")
