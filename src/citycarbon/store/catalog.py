"""The catalog database (目录库): engine, sessions, migrations, registry and batch ledger.

SQLite by default (``$CITYCARBON_HOME/catalog.sqlite``), PostgreSQL in production
(``CITYCARBON_DATABASE_URL=postgresql+psycopg://user@host:port/db``). Every function takes an
optional ``url``; without it the URL comes from :func:`citycarbon.config.settings.get_settings`.
The schema is made by the Alembic migrations packaged in ``citycarbon/store/migrations``;
:func:`session_scope` and the helpers below run them automatically on first use
(:func:`ensure_catalog`).

Writers that take an optional ``session`` join the caller's transaction when one is given
(so that, e.g., a registry upsert and the commit of its batch succeed or fail together);
without it they open and commit their own.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator, Mapping
from contextlib import ExitStack, contextmanager, nullcontext
from dataclasses import dataclass
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.orm import Session, sessionmaker

from citycarbon.config import load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.inputs import SCHEMAS
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.store import models
from citycarbon.store.models import REGISTRY_KEYS, AuditLog, Base, Batch, BatchFile, utcnow

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
TABLES: dict[str, sa.Table] = dict(Base.metadata.tables)
BATCH_COUNT_FIELDS = ("rows_in", "rows_accepted", "rows_quarantined")
_PG_MIGRATION_LOCK = 0x63697479  # pg_advisory_xact_lock key serialising concurrent upgrades
_engines: dict[str, sa.Engine] = {}
_sessionmakers: dict[str, sessionmaker[Session]] = {}
_writers: dict[str, sa.Engine] = {}  # the engine whose transactions are writes (SQLite: IMMEDIATE)
_ready: set[str] = set()
_lock = threading.RLock()


# --------------------------------------------------------------------------- engine, sessions
def database_url(url: str | None = None) -> str:
    """The catalog URL: ``url`` or the settings' one; bare ``postgresql://`` gets psycopg 3."""
    url = url or get_settings().database_url
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself (pysqlite's own handling skips DDL), then set pragmas.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.execute("PRAGMA synchronous = NORMAL")
    cursor.close()


def _sqlite_on_begin(conn: sa.Connection) -> None:
    conn.exec_driver_sql(conn.get_execution_options().get("sqlite_begin", "BEGIN"))


def get_engine(url: str | None = None) -> sa.Engine:
    """The SQLAlchemy engine of a catalog URL, created once per URL and process.

    SQLite: the file's directory is created, foreign keys are enforced, the journal is WAL
    (readers do not block the writer) and a locked database is waited for up to 30 s.
    PostgreSQL: ``CITYCARBON_DATABASE_POOL`` connections kept open (10 more for a burst), so
    the concurrent requests of a server process neither queue for a connection nor open and
    close one each (a new PostgreSQL connection costs a server process).
    """
    url = database_url(url)
    with _lock:
        engine = _engines.get(url)
        if engine is not None:
            return engine
        parsed = sa.make_url(url)
        if parsed.get_backend_name() == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
            engine = sa.create_engine(url, connect_args={"timeout": 30})
            sa.event.listen(engine, "connect", _sqlite_on_connect)
            sa.event.listen(engine, "begin", _sqlite_on_begin)
        else:
            engine = sa.create_engine(
                url, pool_pre_ping=True, pool_size=get_settings().database_pool
            )
        _engines[url] = engine
        _writers[url] = engine.execution_options(sqlite_begin="BEGIN IMMEDIATE")
        _sessionmakers[url] = sessionmaker(bind=_writers[url], expire_on_commit=False)
        return engine


def open_pool(url: str | None = None) -> None:
    """Migrate the catalog if needed and open the pool's ``CITYCARBON_DATABASE_POOL``
    connections (PostgreSQL; SQLite opens a file), so a server's first requests neither open
    a connection nor wait for another that does (called at start-up)."""
    url = database_url(url)
    ensure_catalog(url)
    engine = get_engine(url)
    if engine.dialect.name != "postgresql":
        return
    with ExitStack() as held:  # all at once: the pool keeps each one as it is returned
        for _ in range(get_settings().database_pool):
            held.enter_context(engine.connect())


def dispose_engines() -> None:
    """Close every pooled connection and forget the engines (tests, forked workers)."""
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()
        _writers.clear()
        _sessionmakers.clear()
        _ready.clear()


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """A session in one transaction: committed when the block ends, rolled back on an error.

    The catalog is migrated first if needed. On SQLite the transaction takes the write lock
    at its start (``BEGIN IMMEDIATE``), so concurrent writers queue instead of failing.
    Objects stay usable after the block (``expire_on_commit=False``).
    """
    url = database_url(url)
    ensure_catalog(url)
    get_engine(url)
    session = _sessionmakers[url]()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


@contextmanager
def _reading(url: str | None) -> Iterator[Session]:
    """A read-only session (no write lock taken on SQLite; nothing committed)."""
    url = database_url(url)
    ensure_catalog(url)
    with Session(get_engine(url), expire_on_commit=False) as session:
        yield session


@contextmanager
def connection_scope(session: Session | None, url: str | None) -> Iterator[sa.Connection]:
    """A Core connection in a write transaction: the caller's session's (joining their
    transaction), else a new one, committed when the block ends and rolled back on an error.

    For hot paths of Core statements only (the 碳普惠 ledger's postings): an ORM session's own
    bookkeeping costs as much CPU as the statements of a posting.
    """
    if session is not None:
        yield session.connection()
        return
    url = database_url(url)
    ensure_catalog(url)
    get_engine(url)
    with _writers[url].begin() as conn:
        yield conn


def _joined(session: Session | None, url: str | None, *, write: bool = True) -> Any:
    """The caller's session (their transaction) or a new :func:`session_scope`."""
    if session is not None:
        return nullcontext(session)
    return session_scope(url) if write else _reading(url)


# --------------------------------------------------------------------------- migrations
def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


@cache
def head_revision() -> str:
    """The newest migration revision(s) shipped with this version of citycarbon.

    Each capability (access, targets, scenarios, ...) adds its tables in its own migration
    branch off ``0001``; the heads are joined with ``+`` in sorted order.
    """
    heads = ScriptDirectory.from_config(alembic_config()).get_heads()
    assert heads, "no migrations packaged"
    return "+".join(sorted(heads))


def current_revision(url: str | None = None) -> str | None:
    """The revision(s) the database is at (``+``-joined), or None when it was never migrated."""
    with get_engine(url).connect() as conn:
        heads = MigrationContext.configure(conn).get_current_heads()
    return "+".join(sorted(heads)) if heads else None


def _run_alembic(url: str | None, fn: Any, revision: str) -> None:
    engine = get_engine(url)
    with engine.execution_options(sqlite_begin="BEGIN IMMEDIATE").begin() as conn:
        if conn.dialect.name == "postgresql":
            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        fn(cfg, revision)


def upgrade(url: str | None = None, revision: str = "heads") -> None:
    """Migrate the catalog to ``revision`` (default the newest), in one transaction.

    Concurrent upgrades of the same database are serialised (SQLite write lock, PostgreSQL
    advisory lock), so the second one finds the work done.
    """
    url = database_url(url)
    with _lock:
        _run_alembic(url, command.upgrade, revision)
        if revision in ("head", "heads"):
            _ready.add(url)


def downgrade(url: str | None = None, revision: str = "base") -> None:
    """Migrate the catalog down to ``revision`` (default ``base``: drop every table)."""
    url = database_url(url)
    with _lock:
        _ready.discard(url)
        _run_alembic(url, command.downgrade, revision)


def ensure_catalog(url: str | None = None) -> None:
    """Upgrade the catalog when it is behind the packaged head (cheap when up to date).

    Checked once per URL and process; threads arriving meanwhile wait for that one check
    instead of each reading the migrations and asking the database.
    """
    url = database_url(url)
    if url in _ready:
        return
    with _lock:
        if url in _ready:
            return
        current = current_revision(url)
        if current != head_revision():
            scripts = ScriptDirectory.from_config(alembic_config())
            known = {r.revision for r in scripts.walk_revisions()}
            if current is not None and not set(current.split("+")) <= known:
                raise InputError(
                    f"the catalog is at revision {current!r}, which this version of "
                    f"citycarbon does not know (newest {head_revision()!r}); "
                    "upgrade citycarbon",
                    source=sa.make_url(url).render_as_string(),
                )
            upgrade(url)
        _ready.add(url)


@dataclass(frozen=True)
class CatalogStatus:
    """What ``citycarbon db status`` shows."""

    url: str  # password hidden
    revision: str | None
    head: str
    row_counts: dict[str, int]  # empty when the catalog is not migrated


def status(url: str | None = None) -> CatalogStatus:
    """URL (without password), migration revision and row count per table; never migrates."""
    engine = get_engine(url)
    revision = current_revision(url)
    counts: dict[str, int] = {}
    with engine.connect() as conn:
        present = set(sa.inspect(conn).get_table_names())
        for name, table in TABLES.items():
            if name in present:
                counts[name] = conn.execute(
                    sa.select(sa.func.count()).select_from(table)
                ).scalar_one()
    return CatalogStatus(
        engine.url.render_as_string(hide_password=True), revision, head_revision(), counts
    )


# --------------------------------------------------------------------------- registry
def _table(table_name: str, allowed: Iterable[str]) -> sa.Table:
    allowed = list(allowed)
    if table_name not in allowed:
        raise UnknownCodeError("catalog table", table_name, allowed)
    return TABLES[table_name]


def _dtype(column: sa.Column) -> str | None:
    kind = column.type
    if isinstance(kind, sa.Boolean):
        return "boolean" if column.nullable else "bool"
    if isinstance(kind, sa.Integer):
        return "Int64" if column.nullable else "int64"
    if isinstance(kind, sa.Float):
        return "float64"
    return None


def registry_frame(table_name: str, *, url: str | None = None) -> pd.DataFrame:
    """A catalog table as a DataFrame, ordered by its primary key, with typed (empty) columns.

    Parameters
    ----------
    table_name : str
        A registry table (regions, parks, enterprises, grid_nodes, meters) or batches,
        batch_files, audit_log.

    Returns
    -------
    pandas.DataFrame
        One column per table column; floats as float64 (NaN for NULL), integers as int64 or
        Int64, booleans as bool, timestamps as datetime64[ns, UTC], text as object (None).
    """
    table = _table(table_name, TABLES)
    ensure_catalog(url)
    with get_engine(url).connect() as conn:
        result = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        frame = pd.DataFrame(result.all(), columns=list(result.keys()))
    for column in table.columns:
        dtype = _dtype(column)
        if dtype is not None:
            frame[column.name] = frame[column.name].astype(dtype)
        elif isinstance(column.type, models.UTCDateTime):
            frame[column.name] = pd.to_datetime(frame[column.name], utc=True)
        else:
            frame[column.name] = frame[column.name].astype(object)
    return frame


def _records(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as dicts of plain Python values, missing values as None (never NaN)."""
    plain = df.astype(object)
    return plain.where(df.notna().to_numpy(), None).to_dict("records")


def _check_keys(table_name: str, df: pd.DataFrame, key: str) -> None:
    unknown = [c for c in df.columns if c not in TABLES[table_name].c]
    if unknown:
        raise UnknownCodeError(
            f"column of {table_name}",
            unknown[0],
            TABLES[table_name].c.keys(),
            source=table_name,
            field=str(unknown[0]),
        )
    if key not in df.columns:
        raise InputError(f"the key column {key!r} is missing", source=table_name, field=key)
    missing = df[key].isna().to_numpy()
    if missing.any():
        raise InputError("the key is empty", source=table_name, row=df.index[missing][0], field=key)
    dup = df[key].duplicated().to_numpy()
    if dup.any():
        raise InputError(
            "the key appears more than once",
            source=table_name,
            row=df.index[dup][0],
            field=key,
            value=df[key][dup].iloc[0],
        )


def _check_foreign_keys(session: Session, table_name: str, df: pd.DataFrame) -> None:
    """Raise UnknownCodeError for the first value that references no existing row."""
    for fk in TABLES[table_name].foreign_keys:
        name = fk.parent.name
        if name not in df.columns:
            continue
        known = session.execute(sa.select(fk.column)).scalars().all()
        if fk.column.table.name == table_name:
            known = [*known, *df[fk.column.name]]
        values = df[name]
        bad = (values.notna() & ~values.isin(known)).to_numpy()
        if bad.any():
            raise UnknownCodeError(
                f"{fk.column.table.name} {fk.column.name}",
                values[bad].iloc[0],
                [str(k) for k in known],
                source=table_name,
                row=df.index[bad][0],
                field=name,
            )


def _insert(dialect_name: str) -> Any:
    if dialect_name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect_name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:
        raise InputError(f"catalog backend {dialect_name!r} is not supported (sqlite, postgresql)")
    return insert


def upsert_registry(
    table_name: str, df: pd.DataFrame, *, url: str | None = None, session: Session | None = None
) -> int:
    """Insert or update registry rows by their key; columns not in ``df`` are left unchanged.

    Parameters
    ----------
    table_name : str
        regions, parks, enterprises, grid_nodes or meters.
    df : pandas.DataFrame
        Columns named as in the table, the key column required (regions ``code``, parks
        ``code``, enterprises ``credit_code``, grid_nodes ``node_id``, meters ``meter_id``).
        NaN/None become NULL. The index labels are used as row numbers in errors.
    url, session : optional
        Database URL, or a session whose transaction the rows join.

    Returns
    -------
    int
        Number of rows written.

    Raises
    ------
    InputError, UnknownCodeError
        Unknown column, missing/empty/duplicate key, or a reference (district_code, park_code,
        enterprise_code, grid_node_id) to a row that does not exist.
    """
    key = REGISTRY_KEYS[_table(table_name, REGISTRY_KEYS).name]
    _check_keys(table_name, df, key)
    if df.empty:
        return 0
    table = TABLES[table_name]
    others = [c for c in df.columns if c != key]
    with _joined(session, url) as s:
        _check_foreign_keys(s, table_name, df)
        existing = df[key].isin(s.scalars(sa.select(table.c[key])).all()).to_numpy()
        try:
            if (~existing).any():  # new rows (ON CONFLICT guards a concurrent insert)
                stmt = _insert(s.get_bind().dialect.name)(table)
                stmt = (
                    stmt.on_conflict_do_update(
                        index_elements=[key], set_={c: stmt.excluded[c] for c in others}
                    )
                    if others
                    else stmt.on_conflict_do_nothing(index_elements=[key])
                )
                s.execute(stmt, _records(df[~existing]))
            if existing.any() and others:  # known rows: only the given columns change
                stmt = (
                    sa.update(table)
                    .where(table.c[key] == sa.bindparam("k_"))
                    .values({c: sa.bindparam(f"v_{c}") for c in others})
                )
                s.execute(
                    stmt,
                    _records(
                        df[existing].set_axis(
                            ["k_" if c == key else f"v_{c}" for c in df.columns], axis=1
                        )
                    ),
                )
        except sa.exc.IntegrityError as err:
            raise InputError(
                f"rows break a rule of the table: {err.orig}", source=table_name
            ) from err
    return len(df)


def sync_regions(
    city_config: Any = None, *, url: str | None = None, session: Session | None = None
) -> int:
    """Upsert the city and its districts from a city configuration into ``regions``.

    Parameters
    ----------
    city_config : citycarbon.config.CityConfig, optional
        Default :func:`citycarbon.config.load_city` (``$CITYCARBON_CITY`` or xiamen).

    Returns
    -------
    int
        Number of regions written (1 city + its districts).
    """
    if city_config is None:
        city_config = load_city()
    city = {
        "code": city_config.adcode,
        "level": "city",
        "name_zh": city_config.name.zh,
        "name_en": city_config.name.en,
        "parent_code": city_config.province.code,
    }
    districts = [
        {
            "code": d.code,
            "level": "district",
            "name_zh": d.zh,
            "name_en": d.en,
            "parent_code": city_config.adcode,
        }
        for d in city_config.districts
    ]
    return upsert_registry("regions", pd.DataFrame([city, *districts]), url=url, session=session)


# --------------------------------------------------------------------------- batch ledger
@dataclass(frozen=True)
class BatchInfo:
    """A row of ``batches`` (detached from any session)."""

    id: int
    kind: str
    source_name: str
    content_hash: str
    status: str
    rows_in: int | None
    rows_accepted: int | None
    rows_quarantined: int | None
    created_at: Any
    finished_at: Any
    created_by: str
    message: str | None
    created_by_id: int | None = None  # users.id of the owner (None: no platform user)

    @classmethod
    def of(cls, batch: Batch) -> BatchInfo:
        return cls(**{f: getattr(batch, f) for f in cls.__dataclass_fields__})


def begin_batch(
    kind: str,
    source_name: str,
    content_hash: str,
    created_by: str,
    *,
    created_by_id: int | None = None,
    url: str | None = None,
) -> int:
    """Record a new batch with status 'running' and return its id (committed at once).
    ``created_by`` is the name shown; ``created_by_id`` the platform user it belongs to.

    Ids grow monotonically, also after deletes, on SQLite and PostgreSQL. The batch stays
    'running' until :func:`commit_batch` or :func:`fail_batch`; a batch still 'running' after its
    process ended crashed, and its lake files are invisible (not in ``batch_files``).
    """
    with session_scope(url) as s:
        batch = Batch(
            kind=kind,
            source_name=source_name,
            content_hash=content_hash,
            status="running",
            created_by=created_by,
            created_by_id=created_by_id,
        )
        s.add(batch)
        s.flush()
        return batch.id


def get_batch(batch_id: int, *, url: str | None = None) -> BatchInfo | None:
    """The batch with this id, or None."""
    with _reading(url) as s:
        batch = s.get(Batch, batch_id)
        return None if batch is None else BatchInfo.of(batch)


def find_committed_batch(
    kind: str, content_hash: str, *, url: str | None = None, session: Session | None = None
) -> BatchInfo | None:
    """The committed batch of this kind with this content hash (the same file ingested before)."""
    with _joined(session, url, write=False) as s:
        batch = s.scalars(
            sa.select(Batch).where(
                Batch.kind == kind, Batch.content_hash == content_hash, Batch.status == "committed"
            )
        ).first()
        return None if batch is None else BatchInfo.of(batch)


def _running(s: Session, batch_id: int, action: str) -> Batch:
    batch = s.get(Batch, batch_id, with_for_update=True)
    if batch is None:
        raise InputError(f"batch {batch_id} does not exist", source="batches", value=batch_id)
    if batch.status != "running":
        raise InputError(
            f"batch {batch_id} is {batch.status}; only a running batch can be {action}",
            source="batches",
            value=batch_id,
        )
    return batch


def _file_rows(batch_id: int, files: Iterable[Any]) -> list[BatchFile]:
    rows = []
    for f in files:
        table_name, path, n = (
            (f["table_name"], f["path"], f["rows"]) if isinstance(f, Mapping) else f
        )
        path = PurePosixPath(Path(path).as_posix())
        if path.is_absolute() or ".." in path.parts:
            raise InputError(
                "a batch file path must be relative to the lake",
                source="batches",
                field="path",
                value=str(path),
            )
        rows.append(
            BatchFile(batch_id=batch_id, table_name=table_name, path=str(path), rows=int(n))
        )
    return rows


def commit_batch(
    batch_id: int,
    counts: Mapping[str, int],
    files: Iterable[Any],
    *,
    url: str | None = None,
    session: Session | None = None,
) -> None:
    """Mark a running batch committed, with its row counts and lake files (now visible).

    Parameters
    ----------
    batch_id : int
        Id from :func:`begin_batch`.
    counts : mapping
        Any of ``rows_in``, ``rows_accepted``, ``rows_quarantined`` (int).
    files : iterable
        ``(table_name, path, rows)`` tuples or mappings with those keys; ``path`` relative to
        the lake directory, e.g. ``energy_monthly/year=2024/month=01/b7-0.parquet``.
    url, session : optional
        Database URL, or a session whose transaction the commit joins.

    Raises
    ------
    InputError
        Unknown batch, a batch not 'running', unknown count names, an absolute file path, or
        the same (kind, content_hash) already committed by another batch.
    """
    unknown = set(counts) - set(BATCH_COUNT_FIELDS)
    if unknown:
        raise InputError(
            f"unknown batch count(s) {sorted(unknown)}; known: {list(BATCH_COUNT_FIELDS)}",
            source="batches",
        )
    with _joined(session, url) as s:
        batch = _running(s, batch_id, "committed")
        other = find_committed_batch(batch.kind, batch.content_hash, session=s)
        if other is not None:
            raise InputError(
                f"the same {batch.kind} content was already committed as batch "
                f"{other.id} ({other.source_name})",
                source=batch.source_name,
                value=batch.content_hash,
            )
        for name, n in counts.items():
            setattr(batch, name, int(n))
        batch.status, batch.finished_at = "committed", utcnow()
        new_files = _file_rows(batch_id, files)
        s.add_all(new_files)
        record_audit(
            s,
            batch.created_by,
            "commit",
            "batch",
            batch_id,
            {"status": "running"},
            {
                "status": "committed",
                **{k: int(v) for k, v in counts.items()},
                "files": len(new_files),
            },
        )
        s.flush()


def fail_batch(batch_id: int, message: str, *, url: str | None = None) -> None:
    """Mark a running batch failed with a message (in its own transaction, after a rollback)."""
    with session_scope(url) as s:
        batch = _running(s, batch_id, "failed")
        batch.status, batch.finished_at, batch.message = "failed", utcnow(), message


@dataclass(frozen=True)
class Retracted:
    """What :func:`retract_batch` did: the batch (now 'retracted') and its lake files."""

    batch: BatchInfo
    files: list[tuple[str, str, int]]  # (table, path relative to the lake, rows)

    def rows_by_table(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for table, _, rows in self.files:
            out[table] = out.get(table, 0) + rows
        return out


def retract_batch(
    batch_id: int, actor: str, reason: str | None = None, *, url: str | None = None
) -> Retracted:
    """Retract a committed batch: its rows stop counting, its files and ledger entry stay.

    The batch's status becomes ``'retracted'`` (who, when and why in the audit log and the
    batch's message). Readers take only committed batches (:func:`committed_files`), so the
    batch's rows leave every current view, and rows of earlier batches that it superseded (same
    natural key) are current again. Files are kept (history; :func:`citycarbon.store.lake.cleanup`
    leaves them alone). The same file may be ingested again afterwards as a new batch.

    Raises
    ------
    InputError
        Unknown batch; a batch that is not committed (running, failed or already retracted);
        a batch of a registry kind (enterprises, meters, ...), whose rows were merged into the
        registry without history — load a corrected registry file instead.
    """

    with session_scope(url) as s:
        batch = s.get(Batch, int(batch_id), with_for_update=True)
        if batch is None:
            last = s.scalar(sa.select(sa.func.max(Batch.id)))
            raise InputError(
                f"batch {batch_id} does not exist"
                + (f" (batches are numbered 1 to {last})" if last else " (no batches yet)"),
                source="batches",
                value=batch_id,
            )
        if batch.status == "retracted":
            raise InputError(
                f"batch {batch_id} ({batch.source_name}) is already retracted: {batch.message}",
                source="batches",
                value=batch_id,
            )
        if batch.status != "committed":
            raise InputError(
                f"batch {batch_id} ({batch.source_name}) is {batch.status}; only a committed "
                "batch can be retracted (its rows never counted)",
                source="batches",
                value=batch_id,
            )
        schema = SCHEMAS.get(batch.kind)
        if schema is not None and schema.registry:
            raise InputError(
                f"batch {batch_id} loaded the {batch.kind} registry, which keeps no history; "
                f"ingest a corrected {batch.kind} file instead",
                source="batches",
                value=batch_id,
            )
        at = utcnow()
        why = (reason or "").strip() or "no reason given"
        batch.status = "retracted"
        batch.message = f"retracted by {actor} at {at:%Y-%m-%d %H:%M} UTC: {why}"[:2000]
        files = [
            (f.table_name, f.path, int(f.rows))
            for f in s.scalars(
                sa.select(BatchFile).where(BatchFile.batch_id == batch.id).order_by(BatchFile.path)
            )
        ]
        record_audit(
            s,
            actor,
            "retract",
            "batch",
            batch.id,
            {"status": "committed"},
            {"status": "retracted", "reason": why, "at": at.isoformat(), "files": len(files)},
        )
        s.flush()
        return Retracted(BatchInfo.of(batch), files)


def batch_ids(
    status: str | None = None, *, kind: str | None = None, url: str | None = None
) -> list[int]:
    """Ids of the batches with this status (running, committed, failed, retracted) and kind,
    ascending."""
    if status is not None and status not in models.BATCH_STATUSES:
        raise UnknownCodeError("batch status", status, models.BATCH_STATUSES)
    query = sa.select(Batch.id).order_by(Batch.id)
    if status is not None:
        query = query.where(Batch.status == status)
    if kind is not None:
        query = query.where(Batch.kind == kind)
    with _reading(url) as s:
        return list(s.scalars(query))


def committed_files(table_name: str, *, url: str | None = None) -> list[tuple[int, str]]:
    """``(batch_id, path)`` of a lake table's files in committed batches, by batch id then path.

    Paths are relative to the lake directory. Files of running, failed or crashed batches are
    not listed, which is what makes them invisible to readers.
    """
    query = (
        sa.select(BatchFile.batch_id, BatchFile.path)
        .join(Batch, Batch.id == BatchFile.batch_id)
        .where(Batch.status == "committed", BatchFile.table_name == table_name)
        .order_by(BatchFile.batch_id, BatchFile.path)
    )
    with _reading(url) as s:
        return [(int(b), str(p)) for b, p in s.execute(query)]


def batch_file_paths(batch_id: int, *, url: str | None = None) -> list[tuple[str, str]]:
    """``(table_name, path)`` of every lake file a batch wrote (paths relative to the lake)."""
    query = (
        sa.select(BatchFile.table_name, BatchFile.path)
        .where(BatchFile.batch_id == int(batch_id))
        .order_by(BatchFile.path)
    )
    with _reading(url) as s:
        return [(str(t), str(p)) for t, p in s.execute(query)]


def committed_batches_by_kind(*, url: str | None = None) -> dict[str, list[int]]:
    """Ids of the committed batches per kind, ascending (a run's ``source_batches``)."""
    query = sa.select(Batch.kind, Batch.id).where(Batch.status == "committed").order_by(Batch.id)
    out: dict[str, list[int]] = {}
    with _reading(url) as s:
        for kind, bid in s.execute(query):
            out.setdefault(str(kind), []).append(int(bid))
    return out


# --------------------------------------------------------------------------- audit
def _jsonable(value: Any) -> Any:
    """A JSON-safe copy: NaN → None, numpy scalars → Python, other objects → str."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float | np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set):
        return [_jsonable(v) for v in value]
    return str(value)


def record_audit(
    session: Session,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | int | None,
    before: Mapping[str, Any] | None,
    after: Mapping[str, Any] | None,
) -> AuditLog:
    """Add an audit entry to the caller's session (written when its transaction commits).

    Parameters
    ----------
    session : Session
        The session making the change, so the entry and the change commit together.
    actor : str
        User name (or ``system``/the CLI user).
    action : str
        e.g. ``create``, ``update``, ``delete``, ``commit``.
    entity, entity_id : str
        Table (or kind of thing) and the row's key.
    before, after : mapping or None
        The entity's fields before and after (None when it did not exist / no longer exists);
        NaN is stored as null, other non-JSON values as strings.
    """
    entry = AuditLog(
        actor=actor,
        action=action,
        entity=entity,
        entity_id=None if entity_id is None else str(entity_id),
        before=_jsonable(before),
        after=_jsonable(after),
    )
    session.add(entry)
    session.flush()
    return entry
