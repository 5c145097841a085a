"""The results store: the one place that writes, finds and reads result tables.

Layout in the lake::

    results/<name>/<run_id>/<partition>.parquet     a run's rows of one partition (a year)
    results/<name>/<run_id>/all.parquet             a whole-table result (a vintage)
    results/_commits/<ns>-<run_id>.json             the commit record of a run

A run writes its files first (*staged*) and becomes visible only when its commit record is
written (atomically, by rename), so the results of one pipeline run appear together and a run
that fails leaves the previous results current. Inside :func:`transaction`, the run's own staged
results are read as current (a later step reads what an earlier step of the same run wrote).

The *current* value of a partitioned result is, per partition, the newest committed run that
wrote that partition; a run that computes 2024 never replaces 2023. Of a whole-table result it
is the newest run. Every committed run stays readable (:func:`runs`, :func:`read_run`,
:func:`vintages`).

A column added to a declaration after a run was written reads as missing (null) in that run's
rows (:func:`current`): stored runs stay readable as the declarations grow.

One cache holds the frames read; it is dropped whenever a commit appears (checked with one
``stat`` of the commit directory, so other processes' commits are seen too). Read models that
derive their own encodings key them on :func:`generation`.
"""

from __future__ import annotations

import contextvars
import json
import os
import shutil
import threading
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citycarbon.config.settings import get_settings
from citycarbon.contract.results import RESULTS, Result
from citycarbon.errors import InputError

COMMITS = "_commits"
WHOLE = "all"


def new_run_id() -> str:
    """A run id: UTC time and a random suffix, sortable (``20240105T101500Z-3f9a1c``)."""
    stamp = pd.Timestamp.now(tz="UTC").strftime("%Y%m%dT%H%M%SZ")
    return f"{stamp}-{os.urandom(3).hex()}"


def _lake(lake: str | Path | None) -> Path:
    if lake is not None:
        return Path(lake)
    return get_settings().lake


def _root(lake: Path) -> Path:
    return lake / "results"


# ------------------------------------------------------------------------------ transactions
@dataclass
class Transaction:
    """A run being written: its id, provenance defaults and staged partitions."""

    run_id: str
    lake: Path
    factor_profile: str = ""
    source_batches: str = ""
    description: str = ""
    staged: dict[str, dict[str, Path]] = field(default_factory=dict)
    committed: bool = False

    def partitions(self) -> dict[str, list[str]]:
        return {name: sorted(parts) for name, parts in self.staged.items()}


_TX: contextvars.ContextVar[Transaction | None] = contextvars.ContextVar("results_tx", default=None)
_LOCK = threading.Lock()
_LOCAL_GENERATION = [0]


def run_id_here(run_id: str | None = None) -> str:
    """The run id a computation writes under: the active transaction's, else ``run_id`` or a
    new one (pass it to :func:`transaction` to write under it)."""
    tx = _TX.get()
    return tx.run_id if tx is not None else (run_id or new_run_id())


@contextmanager
def transaction(
    run_id: str | None = None,
    *,
    lake: str | Path | None = None,
    factor_profile: str = "",
    source_batches: str = "",
    description: str = "",
) -> Iterator[Transaction]:
    """Write results as one run; commit them together at the end, or none if an error escapes.

    A transaction opened inside another joins the outer one (its writes commit with it).
    """
    outer = _TX.get()
    if outer is not None:
        yield outer
        return
    tx = Transaction(
        run_id or new_run_id(),
        _lake(lake),
        factor_profile=factor_profile,
        source_batches=source_batches,
        description=description,
    )
    token = _TX.set(tx)
    try:
        yield tx
    except BaseException:
        _discard(tx)
        raise
    finally:
        _TX.reset(token)
    if tx.staged:
        _commit(tx)


def _discard(tx: Transaction) -> None:
    for name in tx.staged:
        shutil.rmtree(_root(tx.lake) / name / tx.run_id, ignore_errors=True)
    tx.staged.clear()


def _commit(tx: Transaction) -> None:
    folder = _root(tx.lake) / COMMITS
    folder.mkdir(parents=True, exist_ok=True)
    record = {
        "run_id": tx.run_id,
        "committed_at": pd.Timestamp.now(tz="UTC").isoformat(),
        "results": tx.partitions(),
        "factor_profile": tx.factor_profile,
        "source_batches": tx.source_batches,
        "description": tx.description,
    }
    name = f"{time.time_ns():020d}-{tx.run_id}.json"
    tmp = folder / f".{name}.tmp"
    tmp.write_text(json.dumps(record, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(folder / name)
    tx.committed = True
    with _LOCK:
        _LOCAL_GENERATION[0] += 1


# ------------------------------------------------------------------------------------ write
def _part_name(value: Any) -> str:
    """A partition's file name: the year (the only partition column, see contract/results.py)."""
    if value is None or pd.isna(value):
        raise InputError("a partition value is missing (NaN)")
    return str(int(value))


def write(
    result: Result,
    frame: pd.DataFrame,
    *,
    partitions: Iterable[Any] | None = None,
    lake: str | Path | None = None,
    factor_profile: str | None = None,
) -> Path:
    """Stage ``frame`` as the current run's rows of ``result`` (commit at the transaction's end;
    outside a transaction the write is its own run, committed at once).

    For a partitioned result, ``partitions`` are the periods this run recomputed: rows outside
    them are dropped, and a listed partition without rows becomes empty (its earlier rows stop
    being current). Default: the partitions present in ``frame``.

    Returns the run's directory of this result.
    """
    if _TX.get() is None:
        with transaction(lake=lake, factor_profile=factor_profile or "") as tx:
            return write(result, frame, partitions=partitions, factor_profile=factor_profile)
    tx = _TX.get()
    assert tx is not None
    frame = frame.assign(run_id=tx.run_id)
    if "factor_profile" not in frame:
        frame = frame.assign(factor_profile=factor_profile or tx.factor_profile)
    if "method" not in frame:
        frame = frame.assign(method=result.method)
    if "source_batches" not in frame:
        frame = frame.assign(source_batches=tx.source_batches)
    frame = result.conform(frame)
    out = _root(tx.lake) / result.name / tx.run_id
    out.mkdir(parents=True, exist_ok=True)
    staged = tx.staged.setdefault(result.name, {})
    if result.partition is None:
        staged[WHOLE] = _write_file(frame, out / f"{WHOLE}.parquet")
        return out
    col = result.partition
    have = pd.Series(frame[col].dropna().unique())
    wanted = {_part_name(v) for v in (have if partitions is None else partitions)}
    keys = frame[col].astype("Int64").astype("string").fillna("")
    for part in sorted(wanted):
        rows = frame[(keys == part).to_numpy()]
        staged[part] = _write_file(rows, out / f"{part}.parquet")
    return out


def _write_file(frame: pd.DataFrame, path: Path) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), tmp)
    tmp.replace(path)
    return path


# ------------------------------------------------------------------------------------ index
@dataclass(frozen=True)
class Commit:
    run_id: str
    committed_at: str
    results: Mapping[str, Sequence[str]]
    description: str = ""


_INDEX: dict[Path, tuple[tuple, list[Commit]]] = {}
_FRAMES: dict[tuple, tuple[tuple, pd.DataFrame]] = {}


def generation(lake: str | Path | None = None) -> tuple:
    """A token that changes whenever a run is committed (in any process)."""
    folder = _root(_lake(lake)) / COMMITS
    try:
        st = folder.stat()
        stamp: tuple = (st.st_mtime_ns, st.st_ino)
    except FileNotFoundError:
        stamp = (0, 0)
    return (str(folder), *stamp, _LOCAL_GENERATION[0])


def commits(lake: str | Path | None = None) -> list[Commit]:
    """Every committed run, oldest first."""
    lake = _lake(lake)
    gen = generation(lake)
    hit = _INDEX.get(lake)
    if hit is not None and hit[0] == gen:
        return hit[1]
    folder = _root(lake) / COMMITS
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        rec = json.loads(path.read_text(encoding="utf-8"))
        out.append(
            Commit(rec["run_id"], rec["committed_at"], rec["results"], rec.get("description", ""))
        )
    with _LOCK:
        _INDEX[lake] = (gen, out)
    return out


def _current_map(result: Result, lake: Path) -> dict[str, Path]:
    """Partition -> file of the run that is current for it (committed, then this context's
    transaction on top)."""
    out: dict[str, Path] = {}
    base = _root(lake) / result.name
    for c in commits(lake):
        parts = c.results.get(result.name)
        if parts is None:
            continue
        if result.partition is None:
            out = {WHOLE: base / c.run_id / f"{WHOLE}.parquet"}
        else:
            out.update({p: base / c.run_id / f"{p}.parquet" for p in parts})
    tx = _TX.get()
    if tx is not None and tx.lake == lake and result.name in tx.staged:
        staged = tx.staged[result.name]
        out = dict(staged) if result.partition is None else {**out, **staged}
    return out


def current_files(
    result: Result, partitions: Iterable[Any] | None = None, *, lake: str | Path | None = None
) -> list[Path]:
    """The files holding the current rows of ``result`` (of ``partitions`` only, if given),
    in partition order; [] when nothing was computed yet."""
    found = _current_map(result, _lake(lake))
    if partitions is not None and result.partition is not None:
        wanted = {_part_name(p) for p in partitions}
        found = {p: f for p, f in found.items() if p in wanted}
    return [found[p] for p in sorted(found) if found[p].exists()]  # files deleted by hand: absent


def current_runs(result: Result, *, lake: str | Path | None = None) -> list[str]:
    """Run ids the current rows of ``result`` come from (oldest first)."""
    return sorted({f.parent.name for f in current_files(result, lake=lake)})


def fingerprint(*declared: Result, lake: str | Path | None = None) -> tuple:
    """A token that changes only when a run commits new rows of one of ``declared`` (their
    current files), unlike :func:`generation`, which changes with every commit: caches of a
    few results keep them across runs that did not touch them."""
    lake = _lake(lake)
    return tuple((r.name, *map(str, current_files(r, lake=lake))) for r in declared)


def has(result: Result, *, lake: str | Path | None = None) -> bool:
    """Whether ``result`` has current rows (a committed run wrote it)."""
    return bool(current_files(result, lake=lake))


def current(
    result: Result,
    *,
    partitions: Iterable[Any] | None = None,
    columns: Sequence[str] | None = None,
    lake: str | Path | None = None,
    hint: str | None = None,
) -> pd.DataFrame:
    """The current rows of ``result``.

    Parameters
    ----------
    partitions : iterable, optional
        Only these partitions (years) of a partitioned result.
    columns : sequence of str, optional
        Only these columns.
    hint : str, optional
        A command that computes the result: with it, an InputError naming the command when
        nothing was computed yet; without it, an empty frame with the declared columns.
    """
    lake = _lake(lake)
    files = current_files(result, partitions, lake=lake)
    cols = list(columns) if columns is not None else list(result.all_columns)
    if not files:
        if hint:
            raise InputError(
                f"no {result.name} result yet: run `{hint}` first",
                source=str(_root(lake) / result.name),
            )
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    tx = _TX.get()
    key = (str(lake), result.name, tuple(map(str, files)), tuple(cols))
    gen = generation(lake)
    cacheable = tx is None or result.name not in tx.staged
    hit = _FRAMES.get(key) if cacheable else None
    if hit is not None and hit[0] == gen:
        return hit[1].copy(deep=False)
    frames = [_read(f, cols) for f in files]
    frames = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    if cacheable:
        with _LOCK:
            if len(_FRAMES) > 256:
                _FRAMES.clear()
            _FRAMES[key] = (gen, out)
    return out.copy(deep=False)


def _read(path: Path, columns: list[str]) -> pd.DataFrame:
    """``columns`` of one result file; a column declared after the file was written (a newer
    version of the platform, before its step ran again) comes back empty, as in the lake."""
    stored = set(pq.read_schema(path).names)
    frame = pq.read_table(path, columns=[c for c in columns if c in stored]).to_pandas()
    return frame.reindex(columns=columns)


def runs(result: Result, *, lake: str | Path | None = None) -> list[str]:
    """Every committed run that wrote ``result``, oldest first (runs whose files were deleted by
    hand are absent, as in :func:`current_files`)."""
    base = _root(_lake(lake)) / result.name
    return [
        c.run_id for c in commits(lake) if result.name in c.results and (base / c.run_id).is_dir()
    ]


def read_run(
    result: Result,
    run_id: str,
    *,
    columns: Sequence[str] | None = None,
    filters: list | None = None,
    lake: str | Path | None = None,
) -> pd.DataFrame:
    """The rows one run wrote of ``result`` (every partition it wrote)."""
    folder = _root(_lake(lake)) / result.name / run_id
    files = sorted(folder.glob("*.parquet"))
    if not files:
        raise InputError(f"run {run_id} wrote no {result.name}", source=str(folder))
    cols = list(columns) if columns is not None else None
    frames = [pd.read_parquet(f, columns=cols, filters=filters) for f in files]
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def vintages(result: Result, *, lake: str | Path | None = None) -> pd.DataFrame:
    """Every committed run of ``result``: ``run_id, committed_at, partitions, description``
    (for "how did 2024 change")."""
    rows = [
        {
            "run_id": c.run_id,
            "committed_at": c.committed_at,
            "partitions": ",".join(c.results[result.name]),
            "description": c.description,
        }
        for c in commits(lake)
        if result.name in c.results
    ]
    return pd.DataFrame(rows, columns=["run_id", "committed_at", "partitions", "description"])


__all__ = [
    "RESULTS",
    "Transaction",
    "commits",
    "current",
    "current_files",
    "current_runs",
    "generation",
    "has",
    "new_run_id",
    "read_run",
    "run_id_here",
    "runs",
    "transaction",
    "vintages",
    "write",
]
