"""The query layer: portable SQL over named views, run on DuckDB (default) or Spark (PySpark).

Queries are written once, in the SQL subset both engines accept, over these views:

``current_<table>``
    The current rows of a lake table (``energy_monthly``, ``meter_readings``, ...): only files of
    committed batches (the catalog's list), and per natural key the row of the highest batch_id::

        ROW_NUMBER() OVER (PARTITION BY <natural key> ORDER BY batch_id DESC) = 1

    Files whose key ranges (Parquet footer min/max per key column) overlap no file of another
    batch cannot hold a superseded row and are read as they are; only the others go through the
    window. The result is the same (keys are unique within a batch, as ingest guarantees), and a
    year of hourly readings is not sorted to find the one corrected week. Natural keys come from
    the declared schemas (:mod:`citycarbon.contract.inputs`). Hive partition columns ``year`` and
    ``month`` come from the file paths (for readings: the local calendar month, see
    :mod:`citycarbon.store.lake`).
``lake_<table>``
    Tables without a natural key (``quarantine``): all committed rows.
registry tables
    ``regions``, ``parks``, ``enterprises``, ``grid_nodes``, ``meters`` (from the catalog).
``factor_values``
    The factor profile in long form: ``parameter, key, context, year, value_base, unit_base`` with
    the value converted by :mod:`citycarbon.units` to the base unit of its dimension (``GJ/t``,
    ``t/GJ``, ``tCO2e/GJ``, ...). Time series (``grid_ef``, ``heat_ef``) have one row per data year
    of ``year_range``, holding the latest value published for a year <= it (``source_year``).
``fuel_factors``
    Per fuel of the statistical fuel list, factors expressed per the fuel's statistical unit
    (``stat_unit`` of fuels.csv, the unit of ``energy_monthly`` quantities): ``gj_per_stat_unit``,
    ``tce_per_stat_unit``, ``ncv_gj_per_stat_unit``, ``co2_method`` with
    ``carbon_content_tc_per_gj`` and ``oxidation`` (guideline) or ``co2_ef_tco2_per_gj`` (IPCC
    Tier 1, in the inventory account mode only; ``co2_problem`` says why a fuel has no method),
    ``combustion``, ``fossil`` and the scope-2 series (``scope2_parameter``, ``scope2_key``),
    chosen as :mod:`citycarbon.accounting.combustion` chooses them.
``factor_choice``, ``unit_factors``
    One row: ``grid_region``, profile name and version, ``account_mode``; and ``symbol,
    dimension, to_base`` of the units the queries convert between (from :mod:`citycarbon.units`,
    so no constant lives in SQL).

Named queries live in ``queries/<name>.sql``; a header of ``-- key: value`` lines gives their
``title``, ``method`` (a message record key, ``run_method.<key>`` of the message catalog, which
says it in the page's language), ``requires`` (views), ``not_null`` and ``zero`` (result columns
that reveal gaps in the inputs). A query has a ``year`` column and ends with an ORDER BY of output column
names (so ``run_query(..., year=Y)`` can filter and keep the order). ``queries/<name>.check.sql``,
when present, lists the gaps (missing factors, unknown meters) that would otherwise count as zero.
Numeric literals in SQL are written as DOUBLE (``44E0``): Spark reads ``44.0`` as DECIMAL.
"""

from __future__ import annotations

import atexit
import datetime
import re
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from citycarbon import units
from citycarbon.config import AccountMode, as_city, method_with_mode
from citycarbon.config.settings import get_settings
from citycarbon.contract.inputs import SCHEMAS, SCOPE2_SERIES
from citycarbon.contract.results import result as declared
from citycarbon.errors import CitycarbonError, InputError, UnknownCodeError
from citycarbon.factors import FactorProfile, fuels, parameters
from citycarbon.store import catalog, results
from citycarbon.store.lake import LAKE_TABLES, key_columns_sql

ENGINES = ("duckdb", "spark")
QUERY_DIR = Path(__file__).parent / "queries"

# Natural keys of the lake tables, from their declared schemas (citycarbon.contract.inputs): the
# columns that identify a row across batches. A table with an alternative key (green_electricity:
# certificate_id, or enterprise_code, period and instrument where certificate_id is empty) is
# always deduplicated through the window: a certificate may be corrected to another period, so
# its key does not bound the files it can appear in.
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    s.table: s.natural_key for s in SCHEMAS.values() if not s.registry
}
ALT_KEYS: dict[str, tuple[str, ...]] = {
    s.table: s.alt_key for s in SCHEMAS.values() if not s.registry and s.alt_key
}


def _partition_sql(table: str, stored: Sequence[str]) -> str:
    """PARTITION BY expressions of a table's natural key over files holding the ``stored``
    columns (portable SQL; :func:`citycarbon.store.lake.key_columns_sql`)."""
    key, alt = NATURAL_KEYS[table], ALT_KEYS.get(table, ())
    if not alt:
        return ", ".join(key_columns_sql(SCHEMAS[table], stored))
    empty = f"COALESCE({key[0]}, '') = ''"
    return ", ".join([f"NULLIF({key[0]}, '')", *(f"CASE WHEN {empty} THEN {c} END" for c in alt)])


REGISTRY_TABLES = ("regions", "parks", "enterprises", "grid_nodes", "meters")
# Units the queries convert between (unit_factors view).
QUERY_UNITS = ("kWh", "MWh", "GJ", "tce", "t", "m3", "tCO2e")

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PART = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)=(.*)$")


class QueryError(CitycarbonError):
    """A query the engine refused or failed to run (SQL error, unreadable file); names the engine."""

    def __init__(self, engine: str, text: str, err: Exception) -> None:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        head = " ".join(text.split())[:200]
        super().__init__(f"{engine}: {first} (in: {head})")
        self.engine, self.sql, self.cause = engine, text, err


def _ident(name: str) -> str:
    if not _IDENT.match(name or ""):
        raise InputError("not a valid view name (letters, digits and _ only)", value=name)
    return name


def _sql_str(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


def hive_partitions(path: str | Path, base_path: str | Path | None = None) -> dict[str, str]:
    """``key=value`` directory levels of ``path`` below ``base_path`` (e.g. year=2023/month=03)."""
    path = Path(path)
    parts = path.parent.parts
    if base_path is not None:
        try:
            parts = path.parent.relative_to(Path(base_path)).parts
        except ValueError:
            pass
    return dict(m.groups() for m in map(_PART.match, parts) if m)


def _canonical(table: pa.Table) -> pd.DataFrame:
    """An Arrow result as pandas with engine-independent dtypes.

    Integers (and decimals without fraction) become int64, other decimals and float32 float64,
    dictionaries their values, timestamps microseconds (time-zone-aware ones in UTC), dates
    datetime64; so DuckDB and Spark results of the same query compare equal.
    """
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_integer(t) or (pa.types.is_decimal(t) and t.scale == 0):
            t = pa.int64()  # DuckDB sums BIGINT into HUGEINT (decimal(38,0) in Arrow)
        elif pa.types.is_floating(t) or pa.types.is_decimal(t):
            t = pa.float64()
        elif pa.types.is_large_string(t):
            t = pa.string()
        elif pa.types.is_timestamp(t):
            t = pa.timestamp("us", tz="UTC" if t.tz else None)
        elif pa.types.is_date(t):
            t = pa.timestamp("us")
        fields.append(pa.field(f.name, t))
    schema = pa.schema(fields)
    if schema != table.schema:
        table = table.cast(schema)
    return table.to_pandas()


def _to_arrow(df: pd.DataFrame) -> pa.Table:
    table = pa.Table.from_pandas(df, preserve_index=False)
    fields = []
    for f in table.schema:
        t = f.type
        if pa.types.is_dictionary(t):
            t = t.value_type
        if pa.types.is_null(t):
            t = pa.string()
        if pa.types.is_large_string(t):
            t = pa.string()
        fields.append(pa.field(f.name, t))
    return table.cast(pa.schema(fields))


class QueryEngine:
    """What DuckDB and Spark engines share; see :func:`open_engine`."""

    name = "base"

    def register_files(
        self, view: str, paths: Sequence[str | Path], base_path: str | Path | None = None
    ) -> None:
        """Expose Parquet files as ``view``; ``key=value`` directories below ``base_path``
        (``year=2023/month=03``) become integer columns."""
        raise NotImplementedError

    def register_frame(self, view: str, frame: pd.DataFrame) -> None:
        """Expose a pandas DataFrame as ``view``."""
        raise NotImplementedError

    def create_view(self, view: str, select_sql: str) -> None:
        """Create (or replace) a temporary view from a SELECT."""
        raise NotImplementedError

    def sql(self, text: str) -> pd.DataFrame:
        """Run a query and return its result as pandas (engine-independent dtypes)."""
        raise NotImplementedError

    def views(self) -> set[str]:
        """Names of the views registered so far."""
        return set(self._views)

    def columns(self, view: str) -> list[str]:
        """Column names of a view."""
        return list(self.sql(f"SELECT * FROM {_ident(view)} WHERE 1 = 0").columns)

    def register_lake(
        self, lake_dir: str | Path, files_by_table: Mapping[str, Iterable], *, prune: bool = True
    ) -> dict[str, LakeTableInfo]:
        """See :func:`register_lake`."""
        return register_lake(self, lake_dir, files_by_table, prune=prune)

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> QueryEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @staticmethod
    def _partition_types(paths: Sequence[str | Path], base_path) -> dict[str, str]:
        keys: dict[str, bool] = {}
        for p in paths:
            for k, v in hive_partitions(p, base_path).items():
                keys[k] = keys.get(k, True) and v.lstrip("-").isdigit()
        return {k: ("BIGINT" if numeric else "VARCHAR") for k, numeric in keys.items()}


class DuckDBEngine(QueryEngine):
    """DuckDB, embedded, in memory; the time zone is UTC.

    Parameters
    ----------
    threads : int, optional
        Worker threads (default: DuckDB's, the number of cores).
    memory_limit : str, optional
        E.g. ``'4GB'`` (default: DuckDB's, 80 % of RAM).
    """

    name = "duckdb"

    def __init__(self, *, threads: int | None = None, memory_limit: str | None = None) -> None:
        import duckdb

        self.con = duckdb.connect(":memory:")
        self.con.execute("SET TimeZone = 'UTC'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")
        if memory_limit:
            self.con.execute(f"SET memory_limit = {_sql_str(memory_limit)}")
        self._views: set[str] = set()

    def _drop(self, view: str) -> None:
        if view in self._views:
            try:
                self.con.unregister(view)
            except Exception:  # a view, not a registered object
                pass
            self.con.execute(f"DROP VIEW IF EXISTS {view}")
            self._views.discard(view)

    def register_files(self, view, paths, base_path=None) -> None:
        view = _ident(view)
        if not paths:
            raise InputError("no files to register", source=str(base_path or ""), field=view)
        types = self._partition_types(paths, base_path)
        listing = "[" + ", ".join(_sql_str(Path(p)) for p in paths) + "]"
        hive = ", hive_types = {" + ", ".join(f"{_sql_str(k)}: {t}" for k, t in types.items()) + "}"
        options = "hive_partitioning = true" + (hive if types else "") + ", union_by_name = true"
        # partition columns that are not also in the files go last, in path order (as on Spark)
        physical = set(pq.read_schema(paths[0]).names)
        moved = [k for k in types if k not in physical]
        select = f"* EXCLUDE ({', '.join(moved)}), {', '.join(moved)}" if moved else "*"
        self._drop(view)
        self.con.execute(
            f"CREATE OR REPLACE TEMP VIEW {view} AS "
            f"SELECT {select} FROM read_parquet({listing}, {options})"
        )
        self._views.add(view)

    def register_frame(self, view, frame) -> None:
        view = _ident(view)
        self._drop(view)
        self.con.register(view, _to_arrow(frame))
        self._views.add(view)

    def create_view(self, view, select_sql) -> None:
        view = _ident(view)
        self._drop(view)
        self.con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS {select_sql}")
        self._views.add(view)

    def sql(self, text: str) -> pd.DataFrame:
        import duckdb

        try:
            rel = self.con.sql(text)
            table = None if rel is None else rel.to_arrow_table()
        except duckdb.Error as err:
            raise QueryError(self.name, text, err) from err
        return pd.DataFrame() if table is None else _canonical(table)

    def close(self) -> None:
        self.con.close()


_SPARK_LOCK = threading.Lock()
_SPARK_ROOT: Any = None
_SPARK_ATEXIT: list[bool] = []
_LOOPBACK = re.compile(r"^(127\.\d+\.\d+\.\d+|localhost|\[::1\])$", flags=re.IGNORECASE)


def _loopback_master(master: str) -> bool:
    """Whether a master runs on this machine only: local mode, or a standalone master (or the
    masters of an HA list, ``spark://h1:7077,h2:7077``) whose hosts are loopback addresses."""
    if master.startswith("local"):
        return True
    m = re.match(r"^spark://(.+)$", master)
    if not m:
        return False
    hosts = [h.strip().rsplit(":", 1)[0] for h in m.group(1).split(",")]  # host:port, ...
    return all(_LOOPBACK.match(h) for h in hosts)


def spark_session(master: str | None = None) -> Any:
    """The process's Spark session for ``master`` (default ``$CITYCARBON_SPARK_MASTER``, else
    ``local[2]``): started once and reused while the master stays the same.

    A process has one Spark context: asking for another master stops the running session first
    (engines opened on it can no longer run queries) and starts one on the new master.

    Configuration: no UI, few shuffle partitions (data that fits local mode or a small cluster),
    UTC session time zone, Arrow transfers to and from pandas. With local mode or a standalone
    master on a loopback address (a cluster started on this machine, as the tests do) the driver
    binds to and advertises 127.0.0.1, so the executors reach it without leaving the machine;
    otherwise Spark's own settings (``SPARK_LOCAL_IP``, ``spark-defaults.conf``) decide.
    """
    global _SPARK_ROOT
    settings = get_settings()
    master = master or settings.spark_master
    with _SPARK_LOCK:
        if _SPARK_ROOT is not None:
            if _SPARK_ROOT.sparkContext.master == master:
                return _SPARK_ROOT
            _stop_spark_locked()
        from pyspark.sql import SparkSession

        builder = (
            SparkSession.builder.master(master)
            .appName("citycarbon")
            .config("spark.ui.enabled", "false")
            .config("spark.ui.showConsoleProgress", "false")
            .config(
                "spark.sql.shuffle.partitions",
                str(settings.spark_shuffle_partitions),
            )
            .config("spark.sql.session.timeZone", "UTC")
            .config("spark.sql.execution.arrow.pyspark.enabled", "true")
            .config("spark.driver.memory", settings.spark_driver_memory)
        )
        if _loopback_master(master):
            builder = builder.config("spark.driver.host", "127.0.0.1").config(
                "spark.driver.bindAddress", "127.0.0.1"
            )
        _SPARK_ROOT = builder.getOrCreate()
        _SPARK_ROOT.sparkContext.setLogLevel("ERROR")
        if not _SPARK_ATEXIT:
            atexit.register(stop_spark)
            _SPARK_ATEXIT.append(True)
        return _SPARK_ROOT


def _stop_spark_locked() -> None:
    global _SPARK_ROOT
    if _SPARK_ROOT is not None:
        _SPARK_ROOT.stop()
        _SPARK_ROOT = None


def stop_spark(master: str | None = None) -> bool:
    """Stop the process's Spark session (only if it runs on ``master``, when given); a
    standalone cluster then frees the cores its executors held. Returns whether one stopped."""
    with _SPARK_LOCK:
        if _SPARK_ROOT is None or (master and _SPARK_ROOT.sparkContext.master != master):
            return False
        _stop_spark_locked()
        return True


class SparkEngine(QueryEngine):
    """Spark SQL through PySpark; each engine is its own session (views) on the shared context.

    An engine belongs to the context it was opened on: once the process switched to another
    master (see :func:`spark_session`) or stopped Spark, it refuses to run and says so.
    """

    name = "spark"

    def __init__(self, *, master: str | None = None) -> None:
        self._spark = spark_session(master).newSession()
        self._spark.conf.set("spark.sql.session.timeZone", "UTC")
        self.master: str = self._spark.sparkContext.master
        self._views: set[str] = set()

    def _stopped(self) -> bool:
        return self._spark.sparkContext._jsc is None

    @property
    def spark(self) -> Any:
        """The engine's Spark session (an error if its context has been stopped)."""
        if self._stopped():
            raise InputError(
                "this Spark engine's session has stopped (the process stopped Spark or switched "
                "to another master): open a new engine",
                field="spark_master",
                value=self.master,
            )
        return self._spark

    def register_files(self, view, paths, base_path=None) -> None:
        view = _ident(view)
        if not paths:
            raise InputError("no files to register", source=str(base_path or ""), field=view)
        # merging schemas costs a Spark job; only when the files' schemas differ
        schemas = {pq.read_schema(p).remove_metadata() for p in paths}
        reader = self.spark.read.option("mergeSchema", "true" if len(schemas) > 1 else "false")
        if base_path is not None:
            reader = reader.option("basePath", str(base_path))
        frame = reader.parquet(*[str(p) for p in paths])
        for col, typ in self._partition_types(paths, base_path).items():
            if typ == "BIGINT":  # same type as on DuckDB
                frame = frame.withColumn(col, frame[col].cast("bigint"))
        frame.createOrReplaceTempView(view)
        self._views.add(view)

    def register_frame(self, view, frame) -> None:
        view = _ident(view)
        table = _to_arrow(frame)
        if table.num_rows == 0:
            from pyspark.sql.pandas.types import from_arrow_schema

            df = self.spark.createDataFrame([], schema=from_arrow_schema(table.schema))
        else:
            df = self.spark.createDataFrame(table)
        df.createOrReplaceTempView(view)
        self._views.add(view)

    def create_view(self, view, select_sql) -> None:
        view = _ident(view)
        self.spark.sql(select_sql).createOrReplaceTempView(view)
        self._views.add(view)

    def sql(self, text: str) -> pd.DataFrame:
        from pyspark.errors import PySparkException

        try:
            table = self.spark.sql(text).toArrow()
        except PySparkException as err:
            raise QueryError(self.name, text, err) from err
        return _canonical(table)

    def close(self) -> None:
        if not self._stopped():  # a stopped context took its views with it
            for view in self._views:
                self._spark.catalog.dropTempView(view)
        self._views.clear()


def open_engine(name: str | None = None, *, spark_master: str | None = None) -> QueryEngine:
    """A query engine: ``'duckdb'`` or ``'spark'`` (default: ``$CITYCARBON_ENGINE``, else duckdb).

    Both have ``register_files(view, paths, base_path)``, ``register_frame(view, df)``,
    ``create_view(view, select)``, ``sql(text) -> DataFrame``, ``register_lake(...)`` and
    ``close()``, and give the same results for the same portable SQL.

    Parameters
    ----------
    name : {'duckdb', 'spark'}, optional
    spark_master : str, optional
        Spark master URL (default ``$CITYCARBON_SPARK_MASTER``, else ``local[2]``).
    """
    name = (name or get_settings().engine or "duckdb").strip().lower()
    if name == "duckdb":
        return DuckDBEngine()
    if name == "spark":
        return SparkEngine(master=spark_master)
    raise UnknownCodeError("query engine", name, ENGINES, field="engine")


# --------------------------------------------------------------------------------------- lake
@dataclass(frozen=True)
class LakeTableInfo:
    """What :func:`register_lake` exposed for one table."""

    view: str
    files: int
    batches: int
    window_files: int  # files deduplicated through the ROW_NUMBER window
    years: tuple[int, ...]


def _file_list(lake_dir: Path, table: str, entries: Iterable) -> list[tuple[int | None, Path]]:
    out = []
    for entry in entries:
        batch, rel = entry if isinstance(entry, tuple | list) else (None, entry)
        path = Path(rel)
        path = path if path.is_absolute() else lake_dir / path
        if not path.exists():
            raise InputError(
                "the catalog lists this committed file, but it is not in the lake",
                source=str(path),
                field=table,
            )
        if batch is None:
            m = re.match(r"^b(\d+)-", path.name)
            batch = int(m.group(1)) if m else None
        out.append((None if batch is None else int(batch), path))
    return out


def _key_ranges(paths: Sequence[Path], key: Sequence[str], base: Path) -> list[list[tuple]]:
    """Per file and key column, (min, max) from the Parquet footer or the partition path;
    (None, None) where unknown."""
    boxes = []
    for path in paths:
        meta = pq.read_metadata(path)
        names = meta.schema.to_arrow_schema().names
        parts = hive_partitions(path, base)
        box = []
        for col in key:
            if col in parts:
                v = parts[col]
                v = int(v) if v.lstrip("-").isdigit() else v
                box.append((v, v))
                continue
            if col not in names or meta.num_row_groups == 0:
                box.append((None, None))
                continue
            j = names.index(col)
            lo = hi = None
            for g in range(meta.num_row_groups):
                st = meta.row_group(g).column(j).statistics
                if st is None or not st.has_min_max:
                    lo = hi = None
                    break
                lo = st.min if lo is None else min(lo, st.min)
                hi = st.max if hi is None else max(hi, st.max)
            box.append((lo, hi))
        boxes.append(box)
    return boxes


def _comparable(values: list) -> np.ndarray:
    """Key bounds of one column as an array numpy can compare: float64 for numbers, int64 for
    dates and times (naive ones taken as UTC), else objects (strings compare as strings)."""
    if all(
        isinstance(v, int | float | np.integer | np.floating) and not isinstance(v, bool)
        for v in values
    ):
        return np.asarray(values, dtype="float64")
    if all(isinstance(v, datetime.date) for v in values):
        try:
            return pd.to_datetime(pd.Series(values), utc=True).to_numpy().astype("int64")
        except (ValueError, TypeError):  # aware and naive mixed: compared as objects
            pass
    return np.asarray(values, dtype=object)


def files_needing_window(batches: Sequence[int | None], boxes: list[list[tuple]]) -> np.ndarray:
    """Which files may share a natural key with a file of another batch (boolean per file).

    Two files can share a key only if their [min, max] ranges overlap on every key column; a
    range that is unknown overlaps everything. Files that overlap no file of another batch hold
    only current rows (keys are unique within a batch), the others need the ROW_NUMBER window.
    """
    n = len(batches)
    if n <= 1:
        return np.zeros(n, dtype=bool)
    b = np.array([-1 if x is None else x for x in batches])
    cand = b[:, None] != b[None, :]
    cand |= (b[:, None] < 0) | (b[None, :] < 0)
    np.fill_diagonal(cand, False)
    for j in range(len(boxes[0])):
        lo = [box[j][0] for box in boxes]
        hi = [box[j][1] for box in boxes]
        unknown = np.array([x is None or y is None for x, y in zip(lo, hi, strict=True)])
        if unknown.all():
            continue
        idx = np.flatnonzero(~unknown)
        lo_a = _comparable([lo[i] for i in idx])
        hi_a = _comparable([hi[i] for i in idx])
        if lo_a.dtype == object or hi_a.dtype == object:
            ii, jj = np.nonzero(cand[np.ix_(idx, idx)])  # compare only remaining pairs
            try:
                keep = np.fromiter(
                    (
                        lo_a[a] <= hi_a[c] and lo_a[c] <= hi_a[a]
                        for a, c in zip(ii, jj, strict=True)
                    ),
                    bool,
                    len(ii),
                )
            except TypeError:  # incomparable bounds: keep the pairs
                continue
            sub = np.zeros((len(idx), len(idx)), dtype=bool)
            sub[ii[keep], jj[keep]] = True
        else:
            sub = (lo_a[:, None] <= hi_a[None, :]) & (lo_a[None, :] <= hi_a[:, None])
        block = cand[np.ix_(idx, idx)] & sub
        cand[np.ix_(idx, idx)] = block
    return cand.any(axis=1)


def register_lake(
    engine: QueryEngine,
    lake_dir: str | Path,
    committed_files_by_table: Mapping[str, Iterable],
    *,
    prune: bool = True,
) -> dict[str, LakeTableInfo]:
    """Expose the committed lake files as ``current_<table>`` (or ``lake_<table>``) views.

    Parameters
    ----------
    engine : QueryEngine
    lake_dir : path
        The lake root (``<table>/year=YYYY/month=MM/b<batch>-<n>.parquet`` below it).
    committed_files_by_table : mapping
        Table name -> the catalog's committed files, as ``(batch_id, path relative to lake_dir)``
        pairs (``citycarbon.store.catalog.committed_files``) or plain paths named
        ``b<batch>-<n>.parquet``. Files not listed (running or failed batches) stay invisible.
    prune : bool
        Read files that cannot hold a superseded row without the window (default); False sends
        every file through it (same result, slower).

    Returns
    -------
    dict
        Table -> :class:`LakeTableInfo`; tables without files are left out (no view).
    """
    lake_dir = Path(lake_dir)
    info = {}
    for table, entries in committed_files_by_table.items():
        _ident(table)
        files = _file_list(lake_dir, table, entries)
        if not files:
            continue
        base = lake_dir / table
        batches = [b for b, _ in files]
        paths = [p for _, p in files]
        years = tuple(
            sorted(
                {int(v) for p in paths if (v := hive_partitions(p, base).get("year", "")).isdigit()}
            )
        )
        key = NATURAL_KEYS.get(table)
        if key is None:
            engine.register_files(f"lake_{table}", paths, base)
            info[table] = LakeTableInfo(f"lake_{table}", len(paths), len(set(batches)), 0, years)
            continue
        if not prune or table in ALT_KEYS or None in batches:
            window = np.ones(len(paths), dtype=bool)
        else:
            window = files_needing_window(batches, _key_ranges(paths, key, base))
        plain = [p for p, w in zip(paths, window, strict=True) if not w]
        dedup = [p for p, w in zip(paths, window, strict=True) if w]
        raw = {"plain": f"_lake_{table}_plain", "window": f"_lake_{table}_window"}
        if plain:
            engine.register_files(raw["plain"], plain, base)
        if dedup:
            engine.register_files(raw["window"], dedup, base)
        if plain and dedup and engine.columns(raw["plain"]) != engine.columns(raw["window"]):
            plain, dedup = [], paths  # the files' schemas differ: one view, all windowed
            engine.register_files(raw["window"], dedup, base)
        cols = ", ".join(engine.columns(raw["plain"] if plain else raw["window"]))
        parts = [f"SELECT {cols} FROM {raw['plain']}"] if plain else []
        if dedup:
            partition = _partition_sql(table, engine.columns(raw["window"]))
            parts.append(
                f"SELECT {cols} FROM (SELECT *, ROW_NUMBER() OVER (PARTITION BY {partition} "
                f"ORDER BY batch_id DESC) AS _row_rank FROM {raw['window']}) w "
                "WHERE _row_rank = 1"
            )
        view = f"current_{table}"
        engine.create_view(view, " UNION ALL ".join(parts))
        info[table] = LakeTableInfo(view, len(paths), len(set(batches)), len(dedup), years)
    return info


# ------------------------------------------------------------------------------------ factors
def factor_values_frame(profile: FactorProfile, year_range: Iterable[int]) -> pd.DataFrame:
    """The ``factor_values`` view: every profile value converted to its dimension's base unit.

    Time series parameters (``by_year`` in parameters.yaml: grid_ef, heat_ef, ...) get a row per
    year of ``year_range`` with the latest value for a year <= it (``source_year``), so queries
    join on ``year = <data year>``; a year before the first value has no row (as
    :meth:`FactorProfile.lookup_many`). Other parameters keep one row per parameter, key and
    context: the highest-priority value.

    Returns
    -------
    pandas.DataFrame
        parameter, key, context, year, value_base, unit_base, source_year, value, unit, set_id,
        set_version, source, clause.
    """
    t = profile.table.copy()
    t["value_base"] = t["value"].astype("float64") * t["to_base"].astype("float64")
    t["unit_base"] = [units.base_unit(d) for d in t["dimension"]]  # per factor row, not bulk data
    t["year"] = t["year"].astype("int64")
    t["source_year"] = t["year"]
    group = ["parameter", "key", "context"]
    by_year = {p for p, spec in parameters().items() if spec.get("by_year")}
    series = t["parameter"].isin(list(by_year))
    parts = [t[~series].drop_duplicates(group, keep="first")]  # the table is in priority order
    t = t.sort_values("year", kind="stable")
    series = t["parameter"].isin(list(by_year))
    years = pd.DataFrame({"year": sorted({int(y) for y in year_range})}, dtype="int64")
    if series.any() and len(years):
        grid = t.loc[series, group].drop_duplicates().merge(years, how="cross")
        expanded = pd.merge_asof(
            grid.sort_values("year"), t[series], on="year", by=group, direction="backward"
        )
        parts.append(expanded[expanded["value_base"].notna()])
    cols = [
        "parameter",
        "key",
        "context",
        "year",
        "value_base",
        "unit_base",
        "source_year",
        "value",
        "unit",
        "set_id",
        "set_version",
        "source",
        "clause",
    ]
    out = pd.concat(parts, ignore_index=True).reindex(columns=cols)
    text = [c for c in cols if c not in ("year", "value_base", "source_year", "value")]
    out[text] = out[text].astype(object).fillna("").astype(str)
    out[["year", "source_year"]] = out[["year", "source_year"]].astype("int64")
    out[["value_base", "value"]] = out[["value_base", "value"]].astype("float64")
    return out.sort_values(["parameter", "key", "context", "year"], ignore_index=True)


def _per_stat_unit(
    rows: pd.DataFrame,
    keys: pd.Series,
    numerator: str,
    stat_units: pd.Series,
    problems: pd.Series,
    parameter: str,
) -> pd.Series:
    """Values of ``rows`` for ``keys`` (per fuel) in ``numerator`` per the fuel's stat unit.

    NaN where the key has no value; NaN and a note in ``problems`` where the value's denominator
    is not of the stat unit's dimension (an NCV per tonne for a fuel counted in 10^4 m3).
    """
    found = rows.reindex(keys.fillna("").to_numpy())
    num = units.parse(numerator)
    den = stat_units.map(units.parse)  # fuels: tens of rows
    want = [f"{num.dimension}/{d.dimension}" for d in den]
    ok = found["dimension"].to_numpy() == np.array(want, dtype=object)
    value = (
        found["value"].to_numpy(dtype="float64")
        * found["to_base"].to_numpy(dtype="float64")
        * np.array([d.to_base for d in den])
        / num.to_base
    )
    wrong = found["value"].notna().to_numpy() & ~ok
    for i in np.flatnonzero(wrong):  # only the fuels with a problem
        note = (
            f"{parameter} of {keys.iloc[i]!r} is in {found['unit'].iloc[i]}, cannot be "
            f"expressed per {stat_units.iloc[i]} (the fuel's statistical unit)"
        )
        problems.iloc[i] = note if not problems.iloc[i] else f"{problems.iloc[i]}; {note}"
    return pd.Series(np.where(ok, value, np.nan), index=keys.index)


def fuel_factors_frame(
    profile: FactorProfile, *, tier1: bool, grid_region: str = "national"
) -> pd.DataFrame:
    """The ``fuel_factors`` view: per fuel of fuels.csv, factors per its statistical unit.

    ``energy_monthly`` quantities are in each fuel's ``stat_unit`` (t, 10^4 m3, 10^4 kWh, GJ), so
    each factor is converted, through :mod:`citycarbon.units`, to that denominator: NCV to GJ per
    stat unit, the standard-coal coefficient to tce per stat unit. Factors are chosen as
    :func:`citycarbon.accounting.combustion.fuel_combustion_emissions` chooses them
    (:meth:`~citycarbon.factors.FactorProfile.co2_methods`): the highest-priority value per key;
    CO2 by the guideline method (the fuel code's own NCV, carbon content and oxidation) where the
    profile has them, else, only where ``tier1`` allows it (the inventory mode; never in the
    核算指南 guideline mode), by IPCC Tier 1 (``co2_ef`` of the IPCC fuel type, with the fuel's
    own NCV or its type's). A factor the profile lacks is NULL, one whose unit cannot be expressed
    per the stat unit is NULL with a ``factor_problem`` note, a fuel without a CO2 method has
    ``co2_method`` NULL and the reason in ``co2_problem``; the check query reports them when
    data use the fuel.

    Returns
    -------
    pandas.DataFrame
        fuel, name_zh, category, stat_unit, ipcc_fuel, fossil, combustion, gj_per_stat_unit,
        tce_per_stat_unit, ncv_gj_per_stat_unit, co2_method ('guideline', 'tier1' or NULL),
        carbon_content_tc_per_gj, oxidation, co2_ef_tco2_per_gj, scope2_parameter, scope2_key,
        factor_problem, co2_problem.

    References
    ----------
    [1] GB/T 2589-2020 综合能耗计算通则, 4.2 and Appendix A (standard-coal coefficients per
        physical unit; 1 kgce = 29 307.6 kJ).
    [2] GB/T 32150-2015 工业企业温室气体排放核算和报告通则, 6.4 (AD x NCV x CC x OF x 44/12),
        6.7 (purchased electricity and heat).
    [3] IPCC 2006 Guidelines, Vol. 2, Ch. 2, eq. 2.1 (Tier 1, AD x NCV x EF).
    [4] 国家统计局 能源统计报表制度, 205-1表 《能源购进、消费与库存》: quantities in physical units.
    """
    ref = fuels()[["name_zh", "category", "stat_unit", "ipcc_fuel"]].copy()
    ref["fossil"] = fuels()["fossil"].str.lower().eq("true")
    ref["combustion"] = ~ref.index.isin(list(SCOPE2_SERIES))
    stat = ref["stat_unit"]
    code = pd.Series(ref.index, index=ref.index)
    ipcc = ref["ipcc_fuel"].replace("", np.nan)
    problems = pd.Series("", index=ref.index, dtype=object)
    rows = {
        p: profile.chosen(p)
        for p in ("coal_equivalent", "ncv", "carbon_content", "oxidation", "co2_ef")
    }
    stat_dim = stat.map(units.dimension)
    ref["gj_per_stat_unit"] = np.where(stat_dim == "energy", units.to_base_factors(stat), np.nan)
    ref["tce_per_stat_unit"] = _per_stat_unit(
        rows["coal_equivalent"], code, "tce", stat, problems, "coal_equivalent"
    )
    methods = profile.co2_methods(code, ref["ipcc_fuel"], tier1=tier1)
    guideline = (methods["method"] == "guideline") & ref["combustion"]
    tier1_rows = (methods["method"] == "tier1") & ref["combustion"]
    own_ncv = (code.isin(rows["ncv"].index) | guideline) & ref["combustion"]
    ncv_key = code.where(own_ncv, ipcc).where(ref["combustion"])
    ref["ncv_gj_per_stat_unit"] = _per_stat_unit(rows["ncv"], ncv_key, "GJ", stat, problems, "ncv")
    no_method = ref["combustion"] & (methods["method"] == "")
    ref["co2_problem"] = methods["problem"].where(no_method, None)
    ref["co2_method"] = np.where(guideline, "guideline", np.where(tier1_rows, "tier1", None))
    cc, of = rows["carbon_content"], rows["oxidation"]
    g = code.where(guideline).fillna("").to_numpy()
    ref["carbon_content_tc_per_gj"] = (cc["value"] * cc["to_base"]).reindex(g).to_numpy()
    ref["oxidation"] = (of["value"] * of["to_base"]).reindex(g).to_numpy()
    ef = rows["co2_ef"]  # kg/TJ or kgCO2e/TJ: base t/GJ or tCO2e/GJ, numerically equal
    ref["co2_ef_tco2_per_gj"] = (
        (ef["value"] * ef["to_base"])
        .reindex(ipcc.where(tier1_rows).fillna("").to_numpy())
        .to_numpy()
    )
    ref["scope2_parameter"] = [SCOPE2_SERIES.get(f, (None, None))[0] for f in ref.index]
    ref["scope2_key"] = [
        (SCOPE2_SERIES[f][1] or grid_region) if f in SCOPE2_SERIES else None for f in ref.index
    ]
    ref["factor_problem"] = problems.replace("", None)
    return ref.rename_axis("fuel").reset_index()


def unit_factors_frame() -> pd.DataFrame:
    """The ``unit_factors`` view: symbol, dimension and factor to base of :data:`QUERY_UNITS`."""
    parsed = [units.parse(s) for s in QUERY_UNITS]
    return pd.DataFrame(
        {
            "symbol": [u.symbol for u in parsed],
            "dimension": [u.dimension for u in parsed],
            "to_base": [u.to_base for u in parsed],
        }
    )


def register_factors(
    engine: QueryEngine,
    profile: FactorProfile,
    year_range: Iterable[int],
    *,
    mode: AccountMode,
    grid_region: str = "national",
) -> None:
    """Expose a factor profile as the ``factor_values``, ``fuel_factors``, ``factor_choice`` and
    ``unit_factors`` views (see the module docstring).

    Parameters
    ----------
    engine : QueryEngine
    profile : citycarbon.factors.FactorProfile
    year_range : iterable of int
        Data years the queries will look time-series factors up for.
    mode : {"guideline", "inventory"}
        The enterprise account mode (the city config's ``factors.mode.enterprise``): IPCC Tier 1
        may give the CO2 of a fuel without guideline factors only in the inventory mode (see
        :func:`fuel_factors_frame`); :func:`compute` records the mode in each result's method.
    grid_region : str
        Key of the ``grid_ef`` series for location-based scope 2 (the city config's
        ``factors.grid_region``).
    """
    engine.register_frame("factor_values", factor_values_frame(profile, year_range))
    engine.register_frame(
        "fuel_factors",
        fuel_factors_frame(profile, tier1=mode == "inventory", grid_region=grid_region),
    )
    engine.register_frame(
        "factor_choice",
        pd.DataFrame(
            {
                "grid_region": [grid_region],
                "profile_name": [profile.name],
                "profile_version": [profile.version],
                "account_mode": [mode],
            }
        ),
    )
    engine.register_frame("unit_factors", unit_factors_frame())


# ------------------------------------------------------------------------------ named queries
@dataclass(frozen=True)
class NamedQuery:
    """A query of ``queries/<name>.sql`` with its header fields.

    ``not_null`` and ``zero`` name result columns that must hold no NULL / only zeros; a row that
    breaks this reveals a gap in the inputs (an unregistered meter, a missing factor), and
    ``check_sql`` (``<name>.check.sql``) lists those gaps.
    """

    name: str
    sql: str
    title: str
    method: str
    requires: tuple[str, ...]
    not_null: tuple[str, ...] = ()
    zero: tuple[str, ...] = ()
    check_sql: str | None = None


def _strip(sql: str) -> str:
    return sql.strip().rstrip(";").strip()


def _header_list(head: dict[str, str], key: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in head.get(key, "").split(",") if v.strip())


@cache
def named_queries() -> dict[str, NamedQuery]:
    """All named queries, by name."""
    out = {}
    for path in sorted(QUERY_DIR.glob("*.sql")):
        if path.name.endswith(".check.sql"):
            continue
        text = path.read_text("utf-8")
        head = dict(re.findall(r"^--\s*(\w+):\s*(.+?)\s*$", text, flags=re.MULTILINE))
        check = path.with_name(path.stem + ".check.sql")
        out[path.stem] = NamedQuery(
            name=path.stem,
            sql=_strip(text),
            title=head.get("title", path.stem),
            method=head.get("method", path.stem),
            requires=_header_list(head, "requires"),
            not_null=_header_list(head, "not_null"),
            zero=_header_list(head, "zero"),
            check_sql=_strip(check.read_text("utf-8")) if check.exists() else None,
        )
    return out


def get_query(name: str) -> NamedQuery:
    """A named query; unknown names raise :class:`UnknownCodeError` with suggestions."""
    queries = named_queries()
    if name not in queries:
        raise UnknownCodeError("query", name, queries, field="name")
    return queries[name]


def missing_views(engine: QueryEngine, name: str) -> list[str]:
    """Views a named query needs that the engine does not have (e.g. a lake table with no data)."""
    return [v for v in get_query(name).requires if v not in engine.views()]


def check_query(engine: QueryEngine, name: str) -> pd.DataFrame:
    """The gaps in a named query's inputs (its ``.check.sql``); empty when all is well."""
    q = get_query(name)
    return engine.sql(q.check_sql) if q.check_sql else pd.DataFrame()


def _years(year: int | Iterable[int] | None) -> list[int] | None:
    if year is None:
        return None
    return [int(year)] if isinstance(year, int | np.integer) else sorted({int(y) for y in year})


def run_query(
    engine: QueryEngine,
    name: str,
    *,
    year: int | Iterable[int] | None = None,
    check: bool = True,
) -> pd.DataFrame:
    """Run a named query (optionally for data year(s) ``year`` only).

    Raises :class:`InputError` if a view it needs is missing, or (``check``) if its result shows
    gaps in the inputs (a meter not in the registry, a fuel without factors, a data year before
    the first grid factor, a quantity not in the fuel's statistical unit), naming them: such rows
    would otherwise count as zero.
    """
    q = get_query(name)
    missing = missing_views(engine, name)
    if missing:
        raise InputError(
            f"query {name} needs view(s) {', '.join(missing)}: no committed data "
            "or no factors registered for them",
            field="views",
        )
    text = q.sql
    years = _years(year)
    if years is not None:  # filter, then order as the query does (its last ORDER BY names columns)
        last = re.search(r"\bORDER\s+BY\s+([^()]*)$", text, flags=re.IGNORECASE)
        body, order = (text[: last.start()], f" ORDER BY {last.group(1)}") if last else (text, "")
        listed = ", ".join(map(str, years)) or "NULL"
        text = f"SELECT * FROM ({body}) q WHERE q.year IN ({listed}){order}"
    result = engine.sql(text)
    if check and len(result):
        bad = np.zeros(len(result), dtype=bool)
        for col in q.not_null:
            bad |= result[col].isna().to_numpy()
        for col in q.zero:
            bad |= result[col].fillna(1).to_numpy() != 0
        if bad.any():
            gaps = check_query(engine, name)
            if not len(gaps):
                gaps = result.loc[bad]
            first = gaps.iloc[0]
            listing = "; ".join(
                ", ".join(f"{c}={r[c]}" for c in gaps.columns) for _, r in gaps.head(5).iterrows()
            )
            raise InputError(
                f"query {name}: {int(bad.sum())} result row(s) rest on missing inputs; "
                f"{len(gaps)} gap(s): {listing}",
                source=str(first.get("source", name)),
                field=str(first.get("missing", "")) or None,
                value=first.get("key"),
            )
    return result


# ---------------------------------------------------------------------------- city + results
def register_city(
    engine: QueryEngine, *, settings=None, city=None, years: Iterable[int] | None = None
) -> dict[str, LakeTableInfo]:
    """Register everything the named queries read, from the catalog, the lake and the city config.

    ``current_<table>`` views from the catalog's committed files, the registry tables, and the
    city's factor profile for the data years found in the lake (or ``years``).
    """

    settings = settings or get_settings()
    city = as_city(city)
    url = settings.database_url
    files = {t: catalog.committed_files(t, url=url) for t in LAKE_TABLES}
    info = register_lake(engine, settings.lake, files)
    for table in REGISTRY_TABLES:
        engine.register_frame(table, catalog.registry_frame(table, url=url))
    data_years = {y for i in info.values() for y in i.years}
    register_factors(  # the enterprise results' profile and account mode
        engine,
        city.factor_profile("enterprise"),
        years or data_years or [],
        mode=city.factors.mode.enterprise,
        grid_region=city.factors.grid_region,
    )
    return info


def compute(
    engine: QueryEngine,
    names: Sequence[str] | None = None,
    *,
    lake_dir: str | Path,
    run_id: str | None = None,
    year: int | Iterable[int] | None = None,
    profile_version: str | None = None,
) -> dict[str, tuple[pd.DataFrame, Path]]:
    """Run named queries and write each result, with ``run_id``, ``factor_profile`` and
    ``method`` columns, to the lake results area. Queries whose views are missing are skipped.
    The method names the account mode the factors were registered for
    (:func:`citycarbon.config.method_with_mode`).

    Returns
    -------
    dict
        Query name -> (result with provenance columns, path written).
    """
    mode = None
    if "factor_choice" in engine.views():
        choice = engine.sql("SELECT profile_version, account_mode FROM factor_choice").iloc[0]
        profile_version = profile_version or str(choice["profile_version"])
        mode = str(choice["account_mode"])
    out = {}
    with results.transaction(run_id, lake=lake_dir, factor_profile=profile_version or "") as tx:
        for name in names or [n for n in named_queries() if not missing_views(engine, n)]:
            frame = run_query(engine, name, year=year)
            q = get_query(name)
            frame = frame.assign(
                run_id=tx.run_id,
                factor_profile=profile_version or "",
                method=method_with_mode(mode, q.method) if mode else q.method,
                engine=engine.name,
            )
            path = results.write(declared(name), frame, partitions=_years(year))
            out[name] = (frame, path)
    return out
