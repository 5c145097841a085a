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

from citycarbon.config.settings import environment
from citycarbon.contract.exports import write_csv
from citycarbon.errors import InputError, cli_lang, say
from citycarbon.read.presentation import present

console = Console()
#: The language chosen with ``--lang`` for this command (None: the environment's).
_chosen_lang: list[str | None] = [None]


def choose_lang(lang: str | None) -> None:
    """Use ``lang`` (zh or en) for this command's errors; None: :func:`cli_lang`."""
    _chosen_lang[0] = lang


def output_lang() -> str:
    """The language of this command's errors: ``--lang``, else ``CITYCARBON_LANG``, else the
    locale, else English (:func:`citycarbon.errors.cli_lang`)."""
    return _chosen_lang[0] or cli_lang(environment())


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
    if isinstance(err, FileNotFoundError) and err.filename:
        text = say(lang, "reason.file_not_found", path=err.filename)
    else:
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


def _check_lang(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in ("zh", "en"):
        raise typer.BadParameter("zh or en")
    choose_lang(value)  # the command's messages follow the language of its files
    return value


LangOption = Annotated[
    str | None,
    typer.Option(
        "--lang",
        callback=_check_lang,
        help="Language of written CSV/Excel files and of messages (zh or en; default: the "
        "global --lang, else zh for files): headers labelled with their units, figures in "
        "万吨 / 亿千瓦时 from eight digits, fractions as %, rounded.",
    ),
]
RawOption = Annotated[
    bool,
    typer.Option(
        "--raw", help="Write CSV files with the field names and values as computed (for programs)."
    ),
]


def file_lang(lang: str | None) -> str:
    """The language of written files: the command's ``--lang``, else the global one, else zh."""
    return lang or _chosen_lang[0] or "zh"


def write_table(
    frame: pd.DataFrame, path: object, lang: str | None = None, raw: bool = False
) -> None:
    """Write ``frame`` (a named index as its first column) as a UTF-8 CSV with BOM, its cells
    neutralised: for people (:func:`citycarbon.read.presentation.present` in ``lang``) or, with
    ``raw``, with the field names and values as computed."""
    if frame.index.name is not None:
        frame = frame.reset_index()
    write_csv(
        frame if raw else present(frame, file_lang(lang)), path, index=False, encoding="utf-8-sig"
    )
