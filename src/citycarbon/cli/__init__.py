"""The `citycarbon` command line: a thin shell over the domain core (no formulas here)."""

from __future__ import annotations

import logging
import traceback
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from citycarbon import __version__, factors
from citycarbon.accounting.enterprise import (
    MODE_METHODS,
    account_lines,
    account_summary,
    process_lines,
)
from citycarbon.cli.common import (
    CityOption,
    EngineOption,
    LangOption,
    RawOption,
    YearOption,
    cell,
    choose_lang,
    console,
    fail,
    file_lang,
    frame_table,
    operator,
    output_lang,
    write_table,
)
from citycarbon.cli.pipeline import exit_if_failed, print_run
from citycarbon.config import load_city
from citycarbon.config.home import make_private
from citycarbon.config.settings import describe, get_settings
from citycarbon.contract.exports import write_csv
from citycarbon.contract.inputs import SCHEMAS
from citycarbon.contract.records import reason_texts
from citycarbon.demo import generate_city
from citycarbon.demo.pipeline import run_demo, summarise
from citycarbon.errors import LANGS, CitycarbonError, InputError, Location
from citycarbon.ingest import excel205
from citycarbon.read import access
from citycarbon.reports.excel import write_excel
from citycarbon.runs.inventory import latest_result, write_balance_xlsx
from citycarbon.runs.pipeline import ingest_and_run, run
from citycarbon.runs.reports import account_report
from citycarbon.store import catalog, lake, query

app = typer.Typer(
    help="citycarbon — city carbon peaking and neutrality platform (碳达峰碳中和管理决策平台).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
factors_app = typer.Typer(help="Browse and compare factor sets (因子库).", no_args_is_help=True)
app.add_typer(factors_app, name="factors")
db_app = typer.Typer(help="Catalog database (目录库): migrations and status.", no_args_is_help=True)
app.add_typer(db_app, name="db")
# web platform (issue 7): `citycarbon serve`, `citycarbon users add|list|passwd`
from citycarbon.cli.web import serve_command, users_app  # noqa: E402

app.add_typer(users_app, name="users")
app.command("serve")(serve_command)
# reports and carbon dual control (issue 5 part B): sub-apps in citycarbon.reports.cli
from citycarbon.cli.report import report_app, targets_app  # noqa: E402

app.add_typer(report_app, name="report")
app.add_typer(targets_app, name="targets")
# pathways and decision support (issue 8): sub-app in citycarbon.scenario_cli
from citycarbon.cli.scenario import scenario_app  # noqa: E402

app.add_typer(scenario_app, name="scenario")
# background jobs (issue 12): `citycarbon jobs worker|list|show`
from citycarbon.cli.jobs import jobs_app  # noqa: E402

app.add_typer(jobs_app, name="jobs")
# 碳普惠 operations (issue 17): `citycarbon credits reconcile|purge|held|rotate-key|revoke-key`
from citycarbon.cli.credits import credits_app  # noqa: E402

app.add_typer(credits_app, name="credits")


class _MessageHandler(logging.Handler):
    """Log records of the CLI as one-line messages on stderr: a failure logged with its
    exception shows the exception's text, not a traceback (``CITYCARBON_DEBUG=1`` shows it)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.err = Console(stderr=True)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
            if record.exc_info and record.exc_info[1] is not None:
                exc = record.exc_info[1]
                text += f" ({type(exc).__name__}: {exc})"
                if get_settings().debug:
                    text += "\n" + "".join(traceback.format_exception(exc))
            level = "warning" if record.levelno < logging.ERROR else "error"
            self.err.print(f"[yellow]{level}:[/] {escape(text)}", soft_wrap=True)
        except Exception:  # pragma: no cover - logging must never raise
            self.handleError(record)


@app.callback()
def _main(
    lang: Annotated[
        str | None,
        typer.Option(
            "--lang",
            help="Language of error messages: zh or en (default: $CITYCARBON_LANG, else the "
            "locale, e.g. LANG=zh_CN.UTF-8, else en).",
        ),
    ] = None,
) -> None:
    """citycarbon — city carbon peaking and neutrality platform (碳达峰碳中和管理决策平台)."""
    if lang is not None:
        if lang not in LANGS:
            fail(f"--lang {lang!r}: give zh or en")
    choose_lang(lang)
    try:
        make_private()  # files 0600, directories 0700, the home closed
    except CitycarbonError:
        pass  # a bad setting: the command itself says which
    root = logging.getLogger()
    if not any(isinstance(h, _MessageHandler) for h in root.handlers) and not root.handlers:
        root.addHandler(_MessageHandler())


@app.command()
def version() -> None:
    """Print the citycarbon version."""
    console.print(__version__)


@app.command("config")
def config_command(city: CityOption = None) -> None:
    """Print every setting (environment variable: value, default, meaning; secrets masked) and
    the city configuration in use."""

    try:
        rows = describe()
        cfg = load_city(city)
    except CitycarbonError as err:
        fail(err)
    table = Table(title="settings")
    table.add_column("variable", no_wrap=True)
    for col in ("value", "from", "default", "meaning"):
        table.add_column(col, overflow="fold")
    for r in rows:
        table.add_row(*(escape(r[k]) for k in ("name", "value", "given", "default", "meaning")))
    console.print(table)
    console.print(
        f"city: [bold]{cfg.id}[/] {cfg.name.zh} {cfg.name.en} ({cfg.adcode}), "
        f"{len(cfg.districts)} districts, time zone {cfg.timezone}; config {cfg.path}"
    )


@factors_app.command("list")
def factors_list(
    path: Annotated[
        list[Path] | None, typer.Option(help="Extra directory with factor sets.")
    ] = None,
) -> None:
    """List the factor sets on the search path."""
    try:
        sets = factors.list_factor_sets([*(path or ()), *get_settings().factors_path])
    except CitycarbonError as err:
        fail(err)
    table = Table("id", "version", "title", "values", "parameters")
    for s in sets:
        table.add_row(
            s.id,
            s.version,
            s.title,
            str(len(s.table)),
            ", ".join(sorted(s.table["parameter"].unique())),
        )
    console.print(table)


@factors_app.command("show")
def factors_show(
    set_id: Annotated[str, typer.Argument(help="Factor set id or directory.")],
    parameter: Annotated[str | None, typer.Option(help="Only this parameter.")] = None,
    key: Annotated[str | None, typer.Option(help="Only this key (fuel, gas, region...).")] = None,
) -> None:
    """Show the values of a factor set with unit, source and clause."""
    try:
        s = factors.load_factor_set(set_id, extra_paths=get_settings().factors_path)
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
        value = f"{r.value:g}" + (" (assumption)" if r.status == "assumption" else "")
        table.add_row(r.parameter, r.key, r.context, str(r.year), value, r.unit, r.source, r.clause)
    console.print(table)


@factors_app.command("diff")
def factors_diff(
    a: Annotated[str, typer.Argument(help="First factor set id or directory.")],
    b: Annotated[str, typer.Argument(help="Second factor set id or directory.")],
) -> None:
    """Compare two factor sets: values only in one, and changed values (in the first set's unit)."""
    try:
        extra = get_settings().factors_path
        d = factors.diff(
            factors.load_factor_set(a, extra_paths=extra),
            factors.load_factor_set(b, extra_paths=extra),
        )
    except CitycarbonError as err:
        fail(err)
    table = Table("parameter", "key", "context", "year", "status", a, b, "change")
    for r in d.itertuples():
        if pd.notna(r.value_b_in_unit_a):
            value_b = f"{r.value_b_in_unit_a:g} {r.unit_a}"
        else:
            value_b = "" if pd.isna(r.value_b) else f"{r.value_b:g} {r.unit_b}"
        table.add_row(
            r.parameter,
            r.key,
            r.context,
            "" if pd.isna(r.year) else str(r.year),
            r.status,
            "" if pd.isna(r.value_a) else f"{r.value_a:g} {r.unit_a}",
            value_b,
            "" if pd.isna(r.rel_change) else f"{r.rel_change:+.2%}",
        )
    console.print(table)
    console.print(f"{len(d)} difference(s)")


@app.command()
def compute(engine: EngineOption = None, year: YearOption = None, city: CityOption = None) -> None:
    """Recompute the enterprise results (the named queries over the lake) and everything that
    depends on them: a pipeline run from its enterprise_results step (--year: that year only)."""
    try:
        got = run(
            steps=["enterprise_results"],
            years=[year] if year else None,
            city=city,
            engine=engine,
            actor="cli",
        )
    except CitycarbonError as err:
        fail(err)
    print_run(got)
    exit_if_failed(got)


@app.command("query")
def query_command(
    name: Annotated[str | None, typer.Argument(help="Named query; omit to list them.")] = None,
    engine: EngineOption = None,
    year: YearOption = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
    csv: Annotated[bool, typer.Option("--csv", help="Print all rows as CSV.")] = False,
    city: CityOption = None,
) -> None:
    """Print a named query's result (or, without a name, the list of named queries)."""

    if name is None:
        listing = Table(title="named queries")
        for col in ("query", "title", "needs"):
            listing.add_column(col, overflow="fold")
        for q in query.named_queries().values():
            listing.add_row(q.name, q.title, ", ".join(q.requires))
        console.print(listing)
        return
    try:
        query.get_query(name)
        with query.open_engine(engine) as eng:
            query.register_city(eng, city=load_city(city))
            frame = query.run_query(eng, name, year=year)
    except CitycarbonError as err:
        fail(err)
    if csv:
        typer.echo(write_csv(frame, index=False), nl=False)
        return
    table = Table(title=f"{name} ({len(frame)} rows)")
    for col in frame.columns:
        table.add_column(str(col), overflow="fold")
    for row in frame.head(limit).itertuples(index=False):
        table.add_row(*map(cell, row))
    console.print(table)
    if len(frame) > limit:
        console.print(f"... {len(frame) - limit} more rows (--limit)")


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Migrate the catalog database ($CITYCARBON_DATABASE_URL) to the newest schema."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        before = catalog.current_revision()
        catalog.upgrade()
        st = catalog.status()
    except (CitycarbonError, SQLAlchemyError) as err:
        fail(err)
    console.print(f"{st.url}: revision {before or '(empty)'} → {st.revision}")


@db_app.command("status")
def db_status() -> None:
    """Show the catalog URL (no password), its migration revision and the rows per table."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        st = catalog.status()
    except (CitycarbonError, SQLAlchemyError) as err:
        fail(err)
    state = (
        "up to date"
        if st.revision == st.head
        else "not migrated: run `citycarbon db upgrade`"
        if st.revision is None
        else f"behind {st.head}: run `citycarbon db upgrade`"
    )
    console.print(f"[bold]{st.url}[/]\nrevision {st.revision or '-'} ({state})")
    table = Table("table", "rows")
    for name, n in st.row_counts.items():
        table.add_row(name, f"{n:,}")
    if st.row_counts:
        console.print(table)


@app.command("demo-data")
def demo_data(
    out_dir: Annotated[Path, typer.Argument(help="Directory to write the demo files to.")],
    enterprises: Annotated[int, typer.Option(help="Number of synthetic enterprises.")] = 3000,
    meters: Annotated[
        int | None, typer.Option(help="Number of meters (default: 1-4 per key enterprise).")
    ] = None,
    years: Annotated[int, typer.Option(help="Calendar years of data.")] = 3,
    end_year: Annotated[int, typer.Option(help="Last year of data.")] = 2024,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same bytes).")] = 20261123,
    readings: Annotated[str, typer.Option(help="hourly, 15min, daily or none.")] = "hourly",
    city: CityOption = None,
) -> None:
    """Write the deterministic synthetic demo city (示例城市, calibrated to published totals)."""

    try:
        paths = generate_city(
            out_dir,
            city=city,
            seed=seed,
            enterprises=enterprises,
            meters=meters,
            years=years,
            end_year=end_year,
            readings=readings,
        )
    except CitycarbonError as err:
        fail(err)
    table = Table("table", "file", "bytes")
    for name, path in paths.items():
        table.add_row(name, str(path), f"{path.stat().st_size:,}")
    console.print(table)


@app.command("ingest")
def ingest_command(
    kind: Annotated[
        str,
        typer.Argument(help="One of: " + ", ".join(SCHEMAS) + "."),
    ],
    file: Annotated[Path, typer.Argument(help="A .csv (UTF-8 or GBK), .xlsx or .parquet file.")],
    report_dir: Annotated[
        Path | None,
        typer.Option(
            "--report-dir",
            help="Where the error report goes (default $CITYCARBON_HOME/reports/"
            "ingest); written to <dir>/<batch_id>/errors.csv and errors.xlsx.",
        ),
    ] = None,
    as_user: Annotated[
        str | None,
        typer.Option(
            "--as",
            help="The platform user the batch belongs to (they see it on the 数据 page); "
            "default: your OS account, recorded as cli:<name>, seen by city-wide roles only.",
        ),
    ] = None,
    city: CityOption = None,
) -> None:
    """Validate a file and load it (数据接入): accepted rows to the lake or registry, rejected
    rows to quarantine with the reason, one batch in the catalog."""

    try:
        owner = access.principal_named(as_user) if as_user else None
        run = ingest_and_run(
            kind,
            file,
            created_by=owner.username if owner else operator(),
            created_by_id=owner.user_id if owner else None,
            report_dir=report_dir,
            city=city,
        )
    except CitycarbonError as err:
        fail(err)
    r = run.batch
    if r.unchanged:
        console.print(
            f"[yellow]unchanged:[/] this file was ingested before as batch "
            f"[bold]{r.batch_id}[/] ({r.source_name}); nothing added"
        )
    table = Table(
        "batch",
        "kind",
        "rows in",
        "accepted",
        "quarantined",
        "skipped",
        "seconds",
        title=f"{r.source_name} ({r.encoding or file.suffix.lstrip('.')})",
    )
    table.add_row(
        str(r.batch_id),
        r.kind,
        f"{r.rows_in:,}",
        f"[green]{r.rows_accepted:,}[/]",
        f"[red]{r.rows_quarantined:,}[/]" if r.rows_quarantined else "0",
        f"{r.rows_skipped:,}",
        f"{r.seconds:.1f}",
    )
    console.print(table)
    if r.problems is not None and len(r.problems):
        probs = Table("column", "reason", "rows", "first at", title="quarantined rows by reason")
        lang = output_lang()
        said = reason_texts(r.problems, lang)
        for p, why in zip(r.problems.itertuples(index=False), said, strict=True):
            first = Location.of(p.example_source, p.example_row).text(lang)
            probs.add_row(escape(str(p.column)), escape(why), f"{p.rows:,}", first)
        console.print(probs)
    if r.ignored_columns:
        console.print(f"[yellow]ignored columns:[/] {', '.join(r.ignored_columns)}")
    if r.report_csv:
        console.print(f"error report: {r.report_csv} and {r.report_xlsx}")
    if len(run.steps) > 1:
        print_run(run, title="recomputed after the ingest (pipeline)")
    exit_if_failed(run)


@app.command("template")
def template_command(
    form: Annotated[str, typer.Argument(help="Form: 205-1 (能源购进、消费与库存).")],
    out: Annotated[Path, typer.Argument(help="The .xlsx file to write.")],
    enterprise: Annotated[
        str | None,
        typer.Option(help="统一社会信用代码: one enterprise-month form (with --period)."),
    ] = None,
    period: Annotated[str | None, typer.Option(help="报告期, e.g. 2024-01.")] = None,
    city: CityOption = None,
) -> None:
    """Write a downloadable Excel template of a statistics form to fill in."""

    if form.replace("表", "") != "205-1":
        fail(CitycarbonError(f"unknown form {form!r}; available: 205-1"))
    try:
        path = excel205.write_template(out, enterprise_code=enterprise, period=period, city=city)
    except CitycarbonError as err:
        fail(err)
    console.print(
        f"wrote {path} (205-1表 能源购进、消费与库存); load it with "
        f"`citycarbon ingest energy_monthly {path}`"
    )


batches_app = typer.Typer(
    help="Ingest batches (批次): list them; retract a wrong one.", invoke_without_command=True
)
app.add_typer(batches_app, name="batches")


@batches_app.callback()
def batches_command(
    ctx: typer.Context,
    kind: Annotated[str | None, typer.Option(help="Only this kind.")] = None,
    limit: Annotated[int, typer.Option(help="Newest batches to show.")] = 50,
) -> None:
    """List ingest batches (newest first) with their status and row counts.

    A batch still running after an hour is shown as interrupted (its process ended before it
    committed); a retracted batch stays listed with who retracted it, when and why.
    """
    if ctx.invoked_subcommand is not None:
        return

    try:
        frame = lake.batch_ledger(kind).head(limit)
    except CitycarbonError as err:
        fail(err)
    table = Table(
        "id", "kind", "file", "status", "in", "accepted", "quarantined", "created", "by", "message"
    )
    colour = {
        "committed": "green",
        "failed": "red",
        "running": "yellow",
        "interrupted": "red",
        "retracted": "magenta",
    }
    counts = frame[["rows_in", "rows_accepted", "rows_quarantined"]].astype(object)
    counts = counts.where(frame[counts.columns].notna(), None)
    for b, n in zip(frame.itertuples(index=False), counts.itertuples(index=False), strict=True):
        table.add_row(
            str(b.id),
            escape(b.kind),
            escape(b.source_name),
            f"[{colour.get(b.state, 'white')}]{b.state}[/]",
            *("" if v is None else f"{int(v):,}" for v in n),
            str(b.created_at)[:19],
            escape(b.created_by),
            escape((b.message if isinstance(b.message, str) else "")[:80]),
        )
    console.print(table)


@batches_app.command("retract")
def batches_retract(
    batch: Annotated[int, typer.Argument(help="Id of the committed batch to retract.")],
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why (kept in the audit log).")
    ] = None,
    user: Annotated[str, typer.Option("--user", help="Recorded as who retracted it.")] = "cli",
) -> None:
    """Retract a committed batch: its rows stop counting (rows it superseded count again);
    its files and its entry in `citycarbon batches` stay as history."""

    try:
        done = catalog.retract_batch(batch, user, reason)
    except CitycarbonError as err:
        console.print(f"[bold red]error:[/] {escape(str(err))}")
        raise typer.Exit(1) from None
    b = done.batch
    console.print(
        f"retracted batch [bold]{b.id}[/] ({escape(b.kind)}, {escape(b.source_name)}, "
        f"committed {str(b.finished_at)[:19]} by {escape(b.created_by)}): "
        f"{b.rows_accepted or 0:,} accepted rows no longer count"
    )
    for table_name, rows in sorted(done.rows_by_table().items()):
        n_files = sum(1 for f in done.files if f[0] == table_name)
        console.print(f"  {table_name}: {rows:,} rows in {n_files} file(s), kept as history")
    console.print(
        "rows of earlier batches that it superseded are current again; recompute the results "
        "that depend on it"
    )


@app.command("quarantine")
def quarantine_command(
    batch: Annotated[int | None, typer.Option("--batch", help="Only this batch.")] = None,
    limit: Annotated[int, typer.Option(help="Rows to print.")] = 50,
    lang: LangOption = None,
) -> None:
    """Show quarantined (rejected) rows with their place in the file (file, sheet, line or
    Excel row), column, value and reason (in --lang: reasons said from the message catalog)."""
    try:
        frame = access.quarantine(access.SYSTEM, batch)
    except CitycarbonError as err:
        fail(err)
    lang = output_lang()
    head = _QUARANTINE_HEAD["zh" if lang == "zh" else "en"]
    table = Table(*head[:-1], title=head[-1].format(n=f"{len(frame):,}"))
    shown = frame.head(limit)  # a printed table: --limit rows
    said = reason_texts(shown, lang)
    for q, why in zip(shown.itertuples(index=False), said, strict=True):
        table.add_row(
            str(q.batch_id),
            escape(Location.of(q.source_name, q.source_row).text(lang)),
            escape(str(q.column or "")),
            escape(str(q.value or "")),
            escape(why),
        )
    console.print(table)
    if len(frame) > limit:
        console.print(f"... {len(frame) - limit:,} more (--limit)")


#: Column heads and title of ``citycarbon quarantine`` by language.
_QUARANTINE_HEAD = {
    "zh": ("批次", "位置（文件、工作表、行）", "列", "值", "原因", "隔离的行（{n}）"),
    "en": (
        "batch",
        "where (file, sheet, line)",
        "column",
        "value",
        "reason",
        "quarantined rows ({n})",
    ),
}


def _read_table(path: Path, as_written: bool = False) -> pd.DataFrame:
    """A table file, indexed by its rows as the user sees them (:mod:`citycarbon.errors`): a
    CSV's line (header line 1), a workbook's Excel row (header in row 1), a Parquet record
    (1-based), so an error names the place in the file. ``as_written``: every value as text,
    as written in the file (the accounting functions read numbers from text)."""
    if path.suffix.lower() in (".xlsx", ".xls"):
        frame = pd.read_excel(path, dtype=str if as_written else {"enterprise_code": str})
        first = 2
    elif path.suffix.lower() == ".parquet":
        frame, first = pd.read_parquet(path), 1
    else:
        frame = pd.read_csv(
            path,
            dtype=str if as_written else {"enterprise_code": str},
            encoding="utf-8-sig",
            skip_blank_lines=False,
        )
        first = 2
    frame.index = pd.RangeIndex(first, first + len(frame), name="line")
    return frame


def _account_year(frame: pd.DataFrame, year: int | None, source: str) -> int:
    """The data year of an account: ``--year``, or the file's ``year`` column (one year)."""
    if "year" not in frame.columns:
        if year is None:
            raise InputError(code="no_year", source=source, field="year")
        return int(year)
    years = pd.to_numeric(frame["year"], errors="coerce")
    other = years != (year if year is not None else years.iloc[0])
    if len(frame) and other.any():
        i = int(other.to_numpy().argmax())
        raise InputError(
            code="year_mixed",
            params={"year": year if year is not None else years.iloc[0]},
            source=source,
            row=frame.index[i],  # the file's line (_read_table)
            field="year",
            value=frame["year"].iloc[i],
        )
    if year is not None:
        return int(year)
    if not len(frame):
        raise InputError(code="no_rows", source=source)
    return int(years.iloc[0])


@app.command()
def account(
    energy: Annotated[
        Path,
        typer.Argument(
            help="CSV/Excel/Parquet: enterprise_code, fuel, quantity, unit [, feedstock_quantity]"
            " — or 205-1 rows (consumed_total, consumed_as_feedstock) as in energy_monthly."
        ),
    ],
    year: Annotated[
        int | None,
        typer.Option(help="Data year (selects time-series factors); default: the year column."),
    ] = None,
    process: Annotated[
        Path | None,
        typer.Option(
            help="Process activity: enterprise_code, process, material, quantity, unit, product."
        ),
    ] = None,
    green: Annotated[
        Path | None, typer.Option(help="Green electricity: enterprise_code, mwh.")
    ] = None,
    output: Annotated[
        Path | None,
        typer.Option(help="Output: enterprise_code, output_value_10k_cny [, product_quantity]."),
    ] = None,
    lines_csv: Annotated[
        Path | None,
        typer.Option(
            "--lines", help="Write the account lines (with method and factor provenance) here."
        ),
    ] = None,
    summary_csv: Annotated[
        Path | None,
        typer.Option("--summary", help="Write the per-enterprise totals (CSV) here."),
    ] = None,
    report_xlsx: Annotated[
        Path | None,
        typer.Option(
            "--report",
            help="Write the account report (Excel) here: the 核算指南 tables in the guideline "
            "mode, emissions by gas in the inventory mode, and every line with its factors.",
        ),
    ] = None,
    mode: Annotated[
        str | None,
        typer.Option(
            help="guideline (核算指南: CO2 only, guideline factors) or inventory (all gases, "
            "GWP set); default: the city config's factors.mode.enterprise."
        ),
    ] = None,
    lang: LangOption = None,
    raw: RawOption = False,
    city: CityOption = None,
) -> None:
    """Enterprise carbon account (企业碳排放核算) of files, in the structure of the 核算指南.

    Fuels, feedstock, factors and the grid factor are chosen as the platform chooses them for
    its enterprise results (the city's enterprise factor priority and grid region): "energy CO2"
    equals the CO2 the 企业 page and the map show for the same 205-1 rows. In the guideline mode
    the account is a CO2 report; in the inventory mode the tCO2e columns add CH4 and N2O (GWP100
    of the profile, industrial-combustion factors) and process F-gases.
    """

    try:
        cfg = load_city(city)
        mode = mode or cfg.factors.mode.enterprise
        profile = cfg.factor_profile("enterprise")
        rows = _read_table(energy, as_written=True)
        year = _account_year(rows, year, str(energy))
        try:
            parts = [
                account_lines(
                    rows,
                    profile,
                    year=year,
                    mode=mode,
                    grid_region=cfg.factors.grid_region,
                    source=str(energy),
                )
            ]
        except InputError as err:  # a check deep in the accounting knows the row, not the file
            raise err.within(str(energy)) from None
        if process:
            try:
                parts.append(
                    process_lines(
                        _read_table(process, as_written=True),
                        profile,
                        mode=mode,
                        source=str(process),
                    )
                )
            except InputError as err:
                raise err.within(str(process)) from None
        lines = pd.concat(parts, ignore_index=True)
        summary = account_summary(
            lines,
            profile,
            year=year,
            grid_region=cfg.factors.grid_region,
            green=_read_table(green) if green else None,
            output=_read_table(output) if output else None,
        )
    except (CitycarbonError, FileNotFoundError) as err:
        fail(err)
    table = Table(title=f"enterprise carbon accounts {year}")
    table.add_column("enterprise", no_wrap=True)
    table.add_column("energy CO2 t", justify="right")
    for name in ("scope 1", "scope 2 location", "scope 2 market", "total", "per 万元"):
        table.add_column(f"{name} tCO2e", justify="right")
    for code, r in summary.iterrows():
        table.add_row(
            str(code),
            f"{r.energy_co2_t:,.2f}",
            f"{r.scope1_tco2e:,.2f}",
            f"{r.scope2_location_tco2e:,.2f}",
            f"{r.scope2_market_tco2e:,.2f}",
            f"{r.total_tco2e:,.2f}",
            f"{r.tco2e_per_10k_cny:,.4f}" if "tco2e_per_10k_cny" in r else "",
        )
    console.print(table)
    console.print(
        "energy CO2 = fossil fuel burnt (less feedstock) + purchased electricity and heat, "
        f"grid factor {escape(cfg.factors.grid_region)} {year} (location-based): the platform's "
        "enterprise CO2 (企业 page, map). "
        + (
            "Guideline mode: CO2 only, so tCO2e = tCO2 (plus process CO2)"
            if mode == "guideline"
            else "Inventory mode: tCO2e adds CH4, N2O (GWP100) and process emissions"
        )
        + "; biogenic CO2 is a memo item in neither."
    )
    console.print(f"account mode: {mode} ({escape(MODE_METHODS[mode])})")
    console.print(f"factor profile: {escape(profile.version)}")
    if lines_csv:
        write_table(lines, lines_csv, lang, raw)
        console.print(f"account lines written to {lines_csv}")
    if summary_csv:
        write_table(summary, summary_csv, lang, raw)
        console.print(f"totals written to {summary_csv}")
    if report_xlsx:
        data = account_report(
            lines, cfg=cfg, period=str(year), title=f"企业温室气体排放报告 {year}"
        )
        console.print(
            f"account report written to {write_excel(data, report_xlsx, file_lang(lang))}"
        )


# --- city energy balance and GHG inventory (issue 5) -----------------------------------------
inventory_app = typer.Typer(
    help="City energy balance (能源平衡表) and GHG inventory (城市温室气体清单).",
    no_args_is_help=True,
)
app.add_typer(inventory_app, name="inventory")
InventoryYear = Annotated[
    int | None, typer.Option("--year", help="Data year (default: all / the latest).")
]


@inventory_app.command("compute")
def inventory_compute(year: InventoryYear = None, city: CityOption = None) -> None:
    """Compute balance, inventory, indicators, uncertainty and reconciliation (for --year only,
    other years keep their results) and what depends on them: a run of the pipeline."""

    try:
        got = run(steps=["inventory"], years=[year] if year else None, city=city, actor="cli")
    except CitycarbonError as err:
        fail(err)
    print_run(got)
    exit_if_failed(got)
    _print_indicators(latest_result("city_indicators"), year)


@inventory_app.command("show")
def inventory_show(year: InventoryYear = None) -> None:
    """Show the latest inventory by IPCC sector and gas, both accounting bases."""

    try:
        inv = latest_result("city_inventory")
        ind = latest_result("city_indicators")
    except CitycarbonError as err:
        fail(err)
    year = year or int(inv["year"].max())
    city = inv[(inv["level"] == "city") & inv["month"].isna() & (inv["year"] == year)]
    table = Table("sector", "名称", "gas", "scope", "basis", "t", "tCO2e", "key", title=str(year))
    for r in city.sort_values(["basis", "sector", "gas"]).itertuples():
        table.add_row(
            r.sector,
            r.sector_name_zh,
            r.gas,
            str(r.scope),
            r.basis,
            "" if pd.isna(r.emissions_t) else f"{r.emissions_t:,.1f}",
            "" if pd.isna(r.emissions_tco2e) else f"{r.emissions_tco2e:,.1f}",
            r.notation_key,
        )
    console.print(table)
    _print_indicators(ind, year)


@inventory_app.command("balance")
def inventory_balance(
    year: InventoryYear = None,
    xlsx: Annotated[Path | None, typer.Option(help="Write the table in 统计年鉴 layout.")] = None,
) -> None:
    """Show the latest energy balance (合计 column, tce) and optionally export it to Excel."""

    try:
        b = latest_result("energy_balance")
        year = year or int(b["year"].max())
        total = b[(b["fuel"] == "total") & (b["year"] == year)]
        table = Table("项目", "当量值 tce", "等价值 tce", "check", title=f"能源平衡表 {year}")
        wide = total.pivot_table(index=["order", "item_zh"], columns="tce_basis", values="tce")
        flags = total.groupby(["order", "item_zh"])["flag"].first()
        for (order, name), r in wide.iterrows():
            table.add_row(
                name, f"{r['calorific']:,.1f}", f"{r['coal_equivalent']:,.1f}", flags[(order, name)]
            )
        console.print(table)
        if xlsx:
            console.print(f"written {write_balance_xlsx(b, xlsx, year=year)}")
    except CitycarbonError as err:
        fail(err)


def _print_indicators(ind: pd.DataFrame, year: int | None) -> None:
    rows = ind[ind["period_type"] == "year"]
    if year:
        rows = rows[rows["year"] == year]
    table = Table("year", "indicator", "value", "unit", title="city indicators (城市指标)")
    for r in rows.itertuples():
        table.add_row(str(r.year), r.indicator, f"{r.value:,.4g}", r.unit)
    console.print(table)


@app.command()
def demo(
    enterprises: Annotated[int, typer.Option(help="Synthetic enterprises.")] = 3000,
    years: Annotated[int, typer.Option(help="Years of data.")] = 3,
    engine: EngineOption = None,
    city: CityOption = None,
) -> None:
    """Build the deterministic synthetic demo city, ingest it, compute and summarise (合成数据)."""

    try:
        run = run_demo(
            enterprises=enterprises, years=years, engine=engine, city=city, console=console
        )
        tables = summarise(run)
    except CitycarbonError as err:
        fail(err)
    ingested = Table(
        "kind",
        "rows in",
        "accepted",
        "quarantined",
        "batch",
        "seconds",
        title="ingest (through the validating ingest path)",
    )
    for r in run.ingests:
        ingested.add_row(
            r.kind,
            f"{r.rows_in:,}",
            f"{r.rows_accepted:,}",
            f"{r.rows_quarantined:,}",
            f"{r.batch_id} {r.status}",
            f"{r.seconds:.1f}",
        )
    console.print(ingested)
    for name, title in (
        ("by_year", "covered enterprises by year"),
        ("by_district", "by district, latest year"),
        ("top", "ten largest emitters, latest year"),
        ("power_check", "电-碳 check: scope-2 CO2 from meters vs 205-1 returns"),
    ):
        if name in tables:
            console.print(frame_table(tables[name], f"{title} — 合成数据 synthetic data"))
    console.print(f"inputs in {run.input_dir}; results under {get_settings().lake / 'results'}")
    if run.users:  # web platform demo users (passwords for the synthetic demo only)
        users = Table("username", "password", "role", "scope", title="web demo users 演示用户")
        for u in run.users:
            users.add_row(u.username, u.password, u.role, u.scope_code or "")
        console.print(users)


# --- carbon emission flow (碳排放流) and hourly nodal scope 2 (issue 6): commands in cli_flow.py
from citycarbon.cli.flow import flow_app  # noqa: E402

app.add_typer(flow_app, name="flow")


# 电-碳 chain: `nowcast run|backtest|history` and `indicators` (commands in cli/power.py)
from citycarbon.cli.power import indicators_command, nowcast_app  # noqa: E402

app.add_typer(nowcast_app, name="nowcast")
app.command("indicators")(indicators_command)


# the pipeline: `pipeline run|status|steps` (commands in cli/pipeline.py)
from citycarbon.cli.pipeline import pipeline_app  # noqa: E402

app.add_typer(pipeline_app, name="pipeline")


# 电碳生态地图 (issues 6/7): `map check|precompute` (commands in cli/maps.py)
from citycarbon.cli.maps import map_app  # noqa: E402

app.add_typer(map_app, name="map")


if __name__ == "__main__":
    app()
