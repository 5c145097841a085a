"""The Parquet lake: layout, partitioned staging writes, publication, cleanup and current rows.

Layout (data-contract.md, "Lake")::

    <lake>/<table>/year=YYYY/month=MM/b<batch_id>-<n>.parquet   monthly tables and readings
    <lake>/city_statistics/year=YYYY/b<batch_id>-<n>.parquet    tables without a month
    <lake>/quarantine/b<batch_id>-<n>.parquet                   rejected rows (no data period)
    <lake>/_staging/b<batch_id>/...                             a running batch's files
    <lake>/_staging/b<batch_id>.lock                            held while batch <id> runs

Every row carries ``batch_id`` (int64). Meter readings are partitioned by the *local* calendar
month of their timestamp in the city's time zone (the month energy statistics count them in),
while ``ts`` itself is stored in UTC.

Only committed batches are visible: readers take the file list from the catalog
(:func:`citycarbon.store.catalog.committed_files`). A batch writes into its staging directory,
moves its files into place and then commits in the catalog; files of a batch that never
committed (crash, ``kill -9``) are invisible and removed by :func:`cleanup` on the next ingest.
The *current* rows of a table are, per natural key, those of the highest committed batch_id
(:func:`read_current`); older rows stay in the lake (history is kept, nothing is deleted). A
retracted batch (:func:`citycarbon.store.catalog.retract_batch`) is no longer committed: its
files stay on disk, but no reader lists them, so the rows it superseded are current again.
"""

from __future__ import annotations

import os
import re
import shutil
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citycarbon.config.settings import get_settings
from citycarbon.contract.inputs import QUARANTINE_SCHEMA, SCHEMAS, Schema
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.store import catalog

try:  # POSIX advisory locks; released by the kernel when the process dies (kill -9 included)
    import fcntl
except ImportError:  # pragma: no cover - non-POSIX systems fall back to the grace period
    fcntl = None  # type: ignore[assignment]

STAGING = "_staging"
QUARANTINE = "quarantine"
#: Lake tables written by ingest (registry kinds go to the catalog instead).
LAKE_TABLES = (*(s.table for s in SCHEMAS.values() if not s.registry), QUARANTINE)
#: A 'running' batch without a lock file older than this is taken as crashed.
RUNNING_GRACE_S = 3600.0
_FILE = re.compile(r"^b(\d+)-(\d+)\.parquet$")
PARQUET_OPTIONS: dict[str, Any] = {"compression": "zstd"}


# ----------------------------------------------------------------------------------- paths
def lake_dir() -> Path:
    """The lake directory of the current settings (``$CITYCARBON_HOME/lake``)."""
    return get_settings().lake


def file_name(batch_id: int, n: int) -> str:
    """``b<batch_id>-<n>.parquet``."""
    return f"b{int(batch_id)}-{int(n)}.parquet"


def partition_path(table: str, year: int | None = None, month: int | None = None) -> str:
    """Directory of a partition relative to the lake: ``table/year=YYYY/month=MM``."""
    parts = [table]
    if year is not None:
        parts.append(f"year={int(year):04d}")
    if month is not None:
        parts.append(f"month={int(month):02d}")
    return "/".join(parts)


def batch_of(path: str | Path) -> int | None:
    """The batch id in a lake file name (``b7-0.parquet`` → 7), or None."""
    m = _FILE.match(Path(path).name)
    return int(m.group(1)) if m else None


def partition_columns(
    schema: Schema, table: pa.Table, timezone: str
) -> tuple[np.ndarray | None, np.ndarray | None]:
    """Year and month partition values of each row (None where the table has no such level).

    ``period`` → its year and month; ``ts`` → the local calendar month in ``timezone``;
    ``year`` → the year column.
    """
    if schema.partition is None:
        return None, None
    if schema.partition == "year":
        return table["year"].to_numpy(), None
    col = table[schema.partition]
    if schema.partition == "ts":
        import pyarrow.compute as pc

        local = pc.local_timestamp(col.cast(pa.timestamp("us", tz=timezone)))
        months = pc.cast(pc.cast(local, pa.timestamp("us")), pa.date32())
    else:
        months = col
    days = np.asarray(months.to_numpy(zero_copy_only=False), dtype="datetime64[D]")
    m = days.astype("datetime64[M]").astype("int64")
    return m // 12 + 1970, m % 12 + 1


# ------------------------------------------------------------------------------- staging
@dataclass
class StagedFile:
    """A data file a batch wrote to staging, and its sidecar of source row numbers."""

    table: str
    rel: str  # final path relative to the lake
    data: Path  # staging path of the data
    rows_file: Path | None  # staging path of the row numbers (same order), or None
    rows: int = 0


@dataclass
class _Part:
    key: tuple
    files: list[StagedFile] = field(default_factory=list)
    writer: Any = None
    row_writer: Any = None
    buffer: list[pa.Table] = field(default_factory=list)
    buffered: int = 0
    in_file: int = 0


class StagingWriter:
    """Writes a batch's rows into partitioned Parquet files under its staging directory.

    Rows are buffered per partition and written in row groups of at least ``group_rows`` rows
    (memory stays bounded by ``max_buffered``); a file rolls over after ``file_rows`` rows. Next to
    each data file a sidecar holds the source row number of every row (for duplicate reports),
    so that files without problems can be moved into the lake unchanged.
    """

    def __init__(
        self,
        staging: Path,
        batch_id: int,
        schema: pa.Schema,
        table: str,
        *,
        group_rows: int = 262_144,
        max_buffered: int = 2_000_000,
        file_rows: int = 16_000_000,
        first_n: int = 0,
    ) -> None:
        self.staging, self.batch_id, self.schema, self.table = staging, batch_id, schema, table
        self.group_rows, self.max_buffered, self.file_rows = group_rows, max_buffered, file_rows
        self.parts: dict[tuple, _Part] = {}
        self.n = first_n
        self.buffered = 0

    def write(
        self, data: pa.Table, rows: np.ndarray, years: np.ndarray | None, months: np.ndarray | None
    ) -> None:
        """Add rows (``data`` in the table's schema, ``rows`` their source row numbers)."""
        if data.num_rows == 0:
            return
        data = data.cast(self.schema) if data.schema != self.schema else data
        if years is None:
            self._add((None, None), data.append_column("_row", pa.array(rows, pa.int64())))
            return
        code = years.astype("int64") * 100 + (months.astype("int64") if months is not None else 0)
        order = np.argsort(code, kind="stable")
        sorted_code = code[order]
        bounds = np.flatnonzero(np.diff(sorted_code)) + 1
        starts = np.concatenate([[0], bounds])
        ends = np.concatenate([bounds, [len(code)]])
        full = data.append_column("_row", pa.array(rows, pa.int64()))
        same = len(starts) == 1
        for s, e in zip(starts, ends, strict=True):  # loop over partitions, not rows
            c = int(sorted_code[s])
            key = (c // 100, c % 100 if months is not None else None)
            piece = full if same else full.take(pa.array(order[s:e]))
            self._add(key, piece)

    def _add(self, key: tuple, piece: pa.Table) -> None:
        part = self.parts.get(key)
        if part is None:
            part = self.parts[key] = _Part(key)
        part.buffer.append(piece)
        part.buffered += piece.num_rows
        self.buffered += piece.num_rows
        if part.buffered >= self.group_rows:
            self._flush(part)
        while self.buffered > self.max_buffered:
            self._flush(max(self.parts.values(), key=lambda p: p.buffered))

    def _open(self, part: _Part) -> None:
        rel = f"{partition_path(self.table, *part.key)}/{file_name(self.batch_id, self.n)}"
        self.n += 1
        data = self.staging / "data" / rel
        rows = self.staging / "rows" / rel
        data.parent.mkdir(parents=True, exist_ok=True)
        rows.parent.mkdir(parents=True, exist_ok=True)
        part.writer = pq.ParquetWriter(data, self.schema, **PARQUET_OPTIONS)
        part.row_writer = pq.ParquetWriter(
            rows, pa.schema([("_row", pa.int64())]), compression="zstd"
        )
        part.files.append(StagedFile(self.table, rel, data, rows))
        part.in_file = 0

    def _flush(self, part: _Part) -> None:
        if not part.buffered:
            return
        table = pa.concat_tables(part.buffer) if len(part.buffer) > 1 else part.buffer[0]
        part.buffer, self.buffered = [], self.buffered - part.buffered
        part.buffered = 0
        if part.writer is None or part.in_file >= self.file_rows:
            self._close_files(part)
            self._open(part)
        part.writer.write_table(table.drop_columns(["_row"]), row_group_size=table.num_rows)
        part.row_writer.write_table(table.select(["_row"]), row_group_size=table.num_rows)
        part.in_file += table.num_rows
        part.files[-1].rows += table.num_rows

    @staticmethod
    def _close_files(part: _Part) -> None:
        if part.writer is not None:
            part.writer.close()
            part.row_writer.close()
            part.writer = part.row_writer = None

    def close(self) -> dict[tuple, list[StagedFile]]:
        """Flush and close everything; the staged files per partition key."""
        for part in self.parts.values():
            self._flush(part)
            self._close_files(part)
        return {k: p.files for k, p in self.parts.items()}


def write_table_file(table: pa.Table, path: Path) -> None:
    """Write one Parquet file (parent directories created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, **PARQUET_OPTIONS)


def publish(files: Iterable[StagedFile], lake: Path) -> list[Path]:
    """Move staged data files to their final lake paths (atomic renames on one file system).

    Returns the final paths, in order; on an error the files moved so far are moved back out
    (deleted) and the error is raised.
    """
    moved: list[Path] = []
    try:
        for f in files:
            target = lake / f.rel
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise InputError("a lake file of this batch already exists", source=str(target))
            os.replace(f.data, target)
            moved.append(target)
    except BaseException:
        for p in moved:
            p.unlink(missing_ok=True)
        raise
    return moved


# --------------------------------------------------------------------------------- locks
class BatchLock:
    """An exclusive advisory lock on ``<lake>/_staging/b<id>.lock`` held while a batch runs.

    The kernel releases it when the process ends in any way, so :func:`cleanup` can tell a
    crashed batch (lock free) from a running one (lock held).
    """

    def __init__(self, lake: Path, batch_id: int) -> None:
        self.path = lake / STAGING / f"b{int(batch_id)}.lock"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fd: int | None = os.open(self.path, os.O_CREAT | os.O_RDWR, 0o644)
        if fcntl is not None:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.write(self._fd, f"{os.getpid()}\n".encode())

    def release(self, *, remove: bool = True) -> None:
        if self._fd is None:
            return
        if remove:
            self.path.unlink(missing_ok=True)
        os.close(self._fd)  # closing releases the flock
        self._fd = None


def lock_is_held(path: Path) -> bool:
    """Whether another open file holds the lock (the batch's process is alive)."""
    if fcntl is None:  # pragma: no cover
        return time.time() - path.stat().st_mtime < RUNNING_GRACE_S
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


# ------------------------------------------------------------------------------- cleanup
@dataclass
class CleanupReport:
    """What :func:`cleanup` did."""

    failed_batches: list[int] = field(default_factory=list)
    removed_files: list[Path] = field(default_factory=list)
    removed_dirs: list[Path] = field(default_factory=list)


def cleanup(lake: Path | None = None, *, url: str | None = None) -> CleanupReport:
    """Remove what crashed batches left behind; mark such batches 'failed'.

    A batch is crashed when its lock file is free (its process ended) or, without a lock file,
    when it has been 'running' longer than :data:`RUNNING_GRACE_S`. Its staging directory and
    any lake file named ``b<id>-*.parquet`` are removed: only committed (and retracted, kept as
    history) batches' files remain.
    Files of running batches (lock held) are left alone.
    """

    lake = Path(lake) if lake is not None else lake_dir()
    report = CleanupReport()
    staging = lake / STAGING
    running = set(catalog.batch_ids("running", url=url))
    kept = set(catalog.batch_ids("committed", url=url))  # files of these batches stay:
    kept |= set(catalog.batch_ids("retracted", url=url))  # retracted ones are history
    alive: set[int] = set()
    dead: set[int] = set()
    if staging.exists():
        for lock in staging.glob("b*.lock"):
            bid = int(lock.stem[1:]) if lock.stem[1:].isdigit() else None
            if bid is None:
                continue
            if lock_is_held(lock):
                alive.add(bid)
                continue
            dead.add(bid)
            _fail(catalog, bid, running, url, report)
            lock.unlink(missing_ok=True)
        for d in staging.iterdir():
            name = d.name.split(".")[0]
            if not (name[:1] == "b" and name[1:].isdigit()) or d.suffix == ".lock":
                continue
            bid = int(name[1:])
            if bid in alive:
                continue
            if bid in running and bid not in dead and not _stale(catalog, bid, url):
                alive.add(bid)  # just begun, lock not yet taken
                continue
            if d.is_dir():
                shutil.rmtree(d, ignore_errors=True)
            else:
                d.unlink(missing_ok=True)  # a test marker (b<id>.<stage>)
            report.removed_dirs.append(d)
    for bid in sorted(running - alive - set(report.failed_batches)):
        if _stale(catalog, bid, url):
            _fail(catalog, bid, running, url, report)
        else:
            alive.add(bid)
    for table in LAKE_TABLES:
        root = lake / table
        if not root.exists():
            continue
        for path in root.rglob("b*.parquet"):
            bid = batch_of(path)
            if bid is None or bid in kept or bid in alive:
                continue
            path.unlink(missing_ok=True)
            report.removed_files.append(path)
    return report


def batch_ledger(
    kind: str | None = None, *, now: pd.Timestamp | None = None, url: str | None = None
) -> pd.DataFrame:
    """The batches (newest first) with ``state``: their status, except that a batch still
    'running' after :data:`RUNNING_GRACE_S` is ``'interrupted'`` (its process ended before it
    committed; the next ingest marks it failed and removes its files)."""

    frame = catalog.registry_frame("batches", url=url)
    if kind:
        frame = frame[frame["kind"] == kind]
    frame = frame.sort_values("id", ascending=False).reset_index(drop=True)
    now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now)
    age_s = (now - frame["created_at"]).dt.total_seconds().to_numpy()
    stale = (frame["status"] == "running").to_numpy() & (age_s > RUNNING_GRACE_S)
    return frame.assign(state=np.where(stale, "interrupted", frame["status"].to_numpy()))


def _stale(catalog: Any, batch_id: int, url: str | None) -> bool:
    info = catalog.get_batch(batch_id, url=url)
    if info is None or info.status != "running":
        return False
    age = pd.Timestamp.now(tz="UTC") - pd.Timestamp(info.created_at)
    return age.total_seconds() > RUNNING_GRACE_S


def _fail(
    catalog: Any, batch_id: int, running: set[int], url: str | None, report: CleanupReport
) -> None:
    if batch_id in running:
        try:
            catalog.fail_batch(
                batch_id,
                "interrupted: the process ended before the batch committed; its files were removed",
                url=url,
            )
            report.failed_batches.append(batch_id)
        except InputError:  # committed or failed meanwhile
            pass


# --------------------------------------------------------------------------------- readers
def key_columns_sql(schema: Schema, stored: Iterable[str]) -> list[str]:
    """SQL of each natural-key column over files that hold the ``stored`` columns: an optional
    text column with a default, declared after some files were written, is its default in
    those files (absent: the literal; NULL in a union of old and new files: COALESCE), so a
    later row with the default supersedes the older one."""
    stored = set(stored)
    out = []
    for name in schema.natural_key:
        default = schema.column(name).default
        if not isinstance(default, str):
            out.append(name)
        elif name not in stored:
            out.append(f"'{default}'")
        else:
            out.append(f"COALESCE({name}, '{default}')")
    return out


def _key_sql(schema: Schema, stored: Iterable[str]) -> str:
    if schema.alt_key:
        first = schema.natural_key[0]
        alt = " || '|' || ".join(f"CAST({c} AS VARCHAR)" for c in schema.alt_key)
        return f"CASE WHEN COALESCE({first}, '') = '' THEN 'k|' || {alt} ELSE 'c|' || {first} END"
    return ", ".join(key_columns_sql(schema, stored))


def committed_paths(table: str, *, lake: Path | None = None, url: str | None = None) -> list[Path]:
    """Absolute paths of a lake table's files in committed batches (the catalog's list)."""

    lake = Path(lake) if lake is not None else lake_dir()
    return [lake / p for _, p in catalog.committed_files(table, url=url)]


def read_current(
    table: str,
    filters: Mapping[str, Any] | None = None,
    *,
    columns: Sequence[str] | None = None,
    lake: Path | None = None,
    url: str | None = None,
    memory_limit: str = "2GB",
) -> pd.DataFrame:
    """The current rows of a lake table as pandas: committed batches only, and per natural key
    the row of the highest batch_id (DuckDB over the catalog's file list).

    Parameters
    ----------
    table : str
        ``energy_monthly``, ``meter_readings``, ``city_statistics``, ``industrial_output``,
        ``green_electricity`` or ``quarantine`` (all committed rows: it has no natural key).
    filters : mapping, optional
        Column -> value or list of values (``IN``); partition columns ``year``/``month`` may be
        used. Filters on key and partition columns are applied before the deduplication.
    columns : list of str, optional
        Columns to return (default all, with the partition columns ``year``/``month`` last).

    Returns
    -------
    pandas.DataFrame
        Ordered by the natural key (quarantine: by batch and source row).
    """
    import duckdb

    schema = SCHEMAS.get(table)
    if table != QUARANTINE and (schema is None or schema.registry):
        raise UnknownCodeError("lake table", table, LAKE_TABLES, field="table")
    paths = committed_paths(table, lake=lake, url=url)
    empty = _empty_frame(table)
    if not paths:
        return empty if columns is None else empty[list(columns)]
    con = duckdb.connect()
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute(f"SET memory_limit = '{memory_limit}'")
        listing = "[" + ", ".join("'" + str(p).replace("'", "''") + "'" for p in paths) + "]"
        src = (
            f"read_parquet({listing}, hive_partitioning = true, union_by_name = true, "
            "hive_types_autocast = true)"
        )
        where, params = [], []
        for col, value in (filters or {}).items():
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", col):
                raise InputError("not a column name", field=col)
            if isinstance(value, list | tuple | set | np.ndarray | pd.Index):
                values = list(value)
                where.append(f"{col} IN ({', '.join('?' * len(values))})" if values else "FALSE")
                params += values
            else:
                where.append(f"{col} = ?")
                params.append(value)
        cond = (" WHERE " + " AND ".join(where)) if where else ""
        if schema is None:  # quarantine
            sql = f"SELECT * FROM {src}{cond} ORDER BY batch_id, source_row"
        else:
            stored = set(con.execute(f"SELECT * FROM {src} LIMIT 0").df().columns)
            order = ", ".join(k for k in schema.natural_key if k in stored)
            sql = (
                f"SELECT * EXCLUDE (_rank) FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY "
                f"{_key_sql(schema, stored)} ORDER BY batch_id DESC) AS _rank FROM {src}{cond}) "
                f"WHERE _rank = 1 ORDER BY {order}"
            )
        frame = con.execute(sql, params).df()
    finally:
        con.close()
    parts = [c for c in ("year", "month") if c in frame.columns and c not in empty.columns]
    # a column declared after the files were written (a new optional column) reads as empty
    frame = frame.reindex(columns=[*empty.columns, *parts])
    for c in parts:
        frame[c] = frame[c].astype("int64")
    return frame if columns is None else frame[list(columns)]


def _empty_frame(table: str) -> pd.DataFrame:

    schema = QUARANTINE_SCHEMA if table == QUARANTINE else SCHEMAS[table].arrow_schema()
    return schema.empty_table().to_pandas()


def table_files(table: str, lake: Path | None = None) -> list[Path]:
    """Every Parquet file on disk under a table (committed or not), sorted."""
    lake = Path(lake) if lake is not None else lake_dir()
    root = lake / table
    return sorted(root.rglob("*.parquet")) if root.exists() else []
