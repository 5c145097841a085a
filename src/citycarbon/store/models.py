"""Catalog tables (目录库): the entity registry, the ingest batch ledger and the audit log.

SQLAlchemy 2 typed ORM models, portable across SQLite (the default) and PostgreSQL
(production). The schema is created and changed only through the Alembic migrations in
``citycarbon/store/migrations`` (``citycarbon db upgrade``); a test checks that the migrations
produce exactly these models.

Tables
------
regions       city and districts (GB/T 2260 six-digit codes), synced from the city config
parks         industrial parks (园区)
enterprises   enterprises by 统一社会信用代码 (GB 32100-2015), GB/T 4754-2017 industry class
grid_nodes    power-grid nodes (substations, feeders)
meters        electricity meters of enterprises at grid nodes
batches       one row per ingest run: running → committed | failed
batch_files   the Parquet files a batch wrote into the lake (paths relative to the lake)
audit_log     who changed what, with the row before and after (JSON)
jobs          background jobs (an upload and its pipeline): status, steps, progress, error
credit_accounts  碳普惠 ledger accounts: pseudonymous residents, the donation pool, system accounts
credit_entries   碳普惠 ledger entries (double entry, append-only; reversals are new entries)
credit_partner_keys, credit_nonces   partner API keys (rotatable) and used nonces (replay)
consents      an enterprise's consent that a bank user reads its data (scope, purpose, expiry)
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, ClassVar

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

#: Constraint names are fixed so that migrations can refer to them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

BATCH_STATUSES = ("running", "committed", "failed", "retracted")
REGION_LEVELS = ("city", "district")


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


class UTCDateTime(sa.TypeDecorator[datetime]):
    """A timestamp stored in UTC that always reads back timezone-aware.

    PostgreSQL keeps ``timestamp with time zone``; SQLite has no timezone type and returns naive
    values, which are UTC by construction here. Naive inputs are refused (never guessed).
    """

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"timestamp {value!r} has no timezone; give an aware datetime")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: sa.Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every catalog table."""

    metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UTCDateTime, dict[str, Any]: sa.JSON}


class Region(Base):
    """A city or district (区), keyed by its GB/T 2260 administrative division code."""

    __tablename__ = "regions"
    __table_args__ = (sa.CheckConstraint("level IN ('city', 'district')", name="level"),)

    code: Mapped[str] = mapped_column(sa.String(6), primary_key=True)
    level: Mapped[str] = mapped_column(sa.String(16))
    name_zh: Mapped[str] = mapped_column(sa.String(100))
    name_en: Mapped[str | None] = mapped_column(sa.String(100))
    # For a city the province code (not itself a row), for a district its city.
    parent_code: Mapped[str | None] = mapped_column(sa.String(6))


class Park(Base):
    """An industrial park (园区) in a district."""

    __tablename__ = "parks"

    code: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    name_zh: Mapped[str] = mapped_column(sa.String(200))
    name_en: Mapped[str | None] = mapped_column(sa.String(200))
    district_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)


class Enterprise(Base):
    """An enterprise (企业), keyed by its 18-character 统一社会信用代码 (GB 32100-2015)."""

    __tablename__ = "enterprises"
    __table_args__ = (sa.CheckConstraint("length(credit_code) = 18", name="credit_code_length"),)

    credit_code: Mapped[str] = mapped_column(sa.String(18), primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    # GB/T 4754-2017 class, with or without the section letter: 'C3974' or '3974'.
    industry_code: Mapped[str | None] = mapped_column(sa.String(5), index=True)
    district_code: Mapped[str] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    park_code: Mapped[str | None] = mapped_column(sa.ForeignKey("parks.code"), index=True)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)
    # 重点用能单位 (key energy-consuming unit)
    is_key: Mapped[bool] = mapped_column(sa.Boolean, default=False, server_default=sa.false())


class GridNode(Base):
    """A node of the power grid (substation, feeder) to which meters are attached."""

    __tablename__ = "grid_nodes"

    node_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    name: Mapped[str | None] = mapped_column(sa.String(200))
    district_code: Mapped[str | None] = mapped_column(sa.ForeignKey("regions.code"), index=True)
    voltage_kv: Mapped[float | None] = mapped_column(sa.Float)
    lon: Mapped[float | None] = mapped_column(sa.Float)
    lat: Mapped[float | None] = mapped_column(sa.Float)


class Meter(Base):
    """An electricity meter of an enterprise, connected at a grid node."""

    __tablename__ = "meters"

    meter_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    enterprise_code: Mapped[str | None] = mapped_column(
        sa.ForeignKey("enterprises.credit_code"), index=True
    )
    grid_node_id: Mapped[str | None] = mapped_column(
        sa.ForeignKey("grid_nodes.node_id"), index=True
    )


class Batch(Base):
    """One ingest run. Ids only grow; a (kind, content_hash) pair is committed at most once."""

    __tablename__ = "batches"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('running', 'committed', 'failed', 'retracted')", name="status"
        ),
        sa.Index(
            "uq_batches_committed_kind_content_hash",
            "kind",
            "content_hash",
            unique=True,
            sqlite_where=sa.text("status = 'committed'"),
            postgresql_where=sa.text("status = 'committed'"),
        ),
        # SQLite reuses the largest rowid after a delete unless AUTOINCREMENT is set.
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(32))
    source_name: Mapped[str] = mapped_column(sa.String(500))
    content_hash: Mapped[str] = mapped_column(sa.String(64))
    status: Mapped[str] = mapped_column(sa.String(16), default="running", index=True)
    rows_in: Mapped[int | None] = mapped_column(sa.Integer)
    rows_accepted: Mapped[int | None] = mapped_column(sa.Integer)
    rows_quarantined: Mapped[int | None] = mapped_column(sa.Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(sa.String(100))  # shown: user name or cli:<OS user>
    # The platform user the batch belongs to (users.id, migration 0008_batch_owner): None for
    # the CLI without --as, the demo and the system, whose batches city-wide roles see.
    created_by_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)
    message: Mapped[str | None] = mapped_column(sa.Text)


class BatchFile(Base):
    """A Parquet file a batch wrote, ``path`` relative to the lake directory."""

    __tablename__ = "batch_files"
    __table_args__ = (sa.UniqueConstraint("path"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    batch_id: Mapped[int] = mapped_column(
        sa.ForeignKey("batches.id", ondelete="CASCADE"), index=True
    )
    table_name: Mapped[str] = mapped_column(sa.String(64), index=True)
    path: Mapped[str] = mapped_column(sa.String(500))
    rows: Mapped[int] = mapped_column(sa.BigInteger)


class AuditLog(Base):
    """Who did what to which entity, with its state before and after (JSON, None if absent)."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(sa.String(100))
    action: Mapped[str] = mapped_column(sa.String(50))
    entity: Mapped[str] = mapped_column(sa.String(64))
    entity_id: Mapped[str | None] = mapped_column(sa.String(100))
    before: Mapped[dict[str, Any] | None]
    after: Mapped[dict[str, Any] | None]


# --------------------------------------------------------------------------- access (web)
# Users and API tokens (migration 0002_access), sessions and sign-in throttling (0007_sessions);
# rules in citycarbon.read.access.
USER_ROLES = (
    "admin",
    "city_analyst",
    "district_manager",
    "park_manager",
    "enterprise_user",
    "viewer",
    "bank",  # sees an enterprise only under its valid consent (migration 0009_finance)
    "unit_user",  # a 责任单位 of the action plan (scope_code = unit code; 0011_techmap)
)


class User(Base):
    """A platform user: argon2 password hash, one role, and the code its scope is bound to
    (district code, park code or credit code for district/park/enterprise roles)."""

    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint(
            "role IN ('admin', 'city_analyst', 'district_manager', 'park_manager', "
            "'enterprise_user', 'viewer', 'bank', 'unit_user')",
            name="role",
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(sa.String(64), unique=True)
    display_name: Mapped[str | None] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(sa.String(32))
    scope_code: Mapped[str | None] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]


#: What an API token may do: ``full`` = everything its user may, ``read`` = only reading
#: (rules in citycarbon.read.access.TOKEN_SCOPES).
TOKEN_SCOPES = ("full", "read")


class ApiToken(Base):
    """An API token of a user for integrations; only its SHA-256 is stored (shown once). It
    acts as its user, narrowed to ``scope``, until ``expires_at`` or ``revoked_at``."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('full', 'read')", name="scope"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(sa.String(100))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scope: Mapped[str] = mapped_column(sa.String(16), default="full", server_default="full")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class UserSession(Base):
    """A signed-in web session (migration 0007_sessions). The cookie carries a random 256-bit
    id; the catalog keeps only its SHA-256 (``id_hash``), so a copy of the catalog opens no
    session. A session ends at ``expires_at`` (absolute), after the idle timeout since
    ``last_seen_at`` (written at most once a minute), or when revoked (sign-out, password
    change, deactivation, role change, an admin's "end all sessions")."""

    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    address: Mapped[str | None] = mapped_column(sa.String(64))
    user_agent: Mapped[str | None] = mapped_column(sa.String(300))


class LoginThrottle(Base):
    """An attempt counter of sign-in throttling (migration 0007_sessions): one row per key
    (``address:<ip>`` or ``user:<ip>:<user name>``), counted by one atomic upsert; no attempt
    is checked before ``not_before`` (exponential back-off, citycarbon.store.throttle; NULL: no
    wait)."""

    __tablename__ = "login_throttle"

    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    attempts: Mapped[int] = mapped_column(sa.Integer)
    last_at: Mapped[datetime] = mapped_column(index=True)
    not_before: Mapped[datetime | None]


# --------------------------------------------------------------------------- targets (双控)
# Carbon dual-control targets with history, their annual decomposition and the warnings log
# (migration 0003_targets; access in citycarbon.store.targets).
TARGET_LEVELS = ("city", "district", "park", "industry", "enterprise")


class Target(Base):
    """One version of a dual-control target; a change closes it (``valid_to``) and adds the next
    version of the same ``code``, so the history stays."""

    __tablename__ = "targets"
    __table_args__ = (
        sa.UniqueConstraint("code", "version"),
        sa.CheckConstraint(
            "level IN ('city', 'district', 'park', 'industry', 'enterprise')", name="level"
        ),
        sa.CheckConstraint("kind IN ('intensity', 'total')", name="kind"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(sa.String(100), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    name: Mapped[str] = mapped_column(sa.String(200))
    level: Mapped[str] = mapped_column(sa.String(16))
    entity_code: Mapped[str] = mapped_column(sa.String(32))
    kind: Mapped[str] = mapped_column(sa.String(16))
    indicator: Mapped[str] = mapped_column(sa.String(64))
    period_label: Mapped[str] = mapped_column(sa.String(32))
    base_year: Mapped[int] = mapped_column(sa.Integer)
    end_year: Mapped[int] = mapped_column(sa.Integer)
    target_value: Mapped[float] = mapped_column(sa.Float)
    target_unit: Mapped[str] = mapped_column(sa.String(16))
    base_value: Mapped[float | None] = mapped_column(sa.Float)
    decomposition: Mapped[str] = mapped_column(sa.String(16))
    status: Mapped[str] = mapped_column(sa.String(16))  # published | illustrative
    source: Mapped[str] = mapped_column(sa.Text)
    valid_from: Mapped[datetime] = mapped_column(default=utcnow)
    valid_to: Mapped[datetime | None] = mapped_column(index=True)
    created_by: Mapped[str] = mapped_column(sa.String(100))


class TargetAnnual(Base):
    """The annual decomposition of a target version (schedule-proportional value per year)."""

    __tablename__ = "target_annual"

    target_id: Mapped[int] = mapped_column(
        sa.ForeignKey("targets.id", ondelete="CASCADE"), primary_key=True
    )
    year: Mapped[int] = mapped_column(sa.Integer, primary_key=True)
    target_value: Mapped[float | None] = mapped_column(sa.Float)


class WarningLog(Base):
    """An early warning: raised when a rule's level becomes yellow/red or changes."""

    __tablename__ = "warnings"
    __table_args__ = (
        sa.CheckConstraint("level IN ('green', 'yellow', 'red')", name="level"),
        sa.Index("ix_warnings_rule_id_subject_period", "rule_id", "subject", "period"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    run_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    rule_id: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(100))  # target code or entity code
    target_id: Mapped[int | None] = mapped_column(sa.ForeignKey("targets.id"))
    level: Mapped[str] = mapped_column(sa.String(8))
    entity_level: Mapped[str] = mapped_column(sa.String(16))
    entity_code: Mapped[str] = mapped_column(sa.String(32))
    entity_name: Mapped[str | None] = mapped_column(sa.String(200))
    period: Mapped[str] = mapped_column(sa.String(16))
    metric: Mapped[str] = mapped_column(sa.String(64))
    value: Mapped[float | None] = mapped_column(sa.Float)
    threshold: Mapped[float | None] = mapped_column(sa.Float)
    message: Mapped[str] = mapped_column(sa.Text)
    notified_via: Mapped[str | None] = mapped_column(sa.String(100))
    notify_error: Mapped[str | None] = mapped_column(sa.Text)


# --------------------------------------------------------------------------- action plan
# Status updates of the action plan's tasks (migration 0011_techmap; rules in
# citycarbon.read.access and citycarbon.techmap.tracking). Append-only: the newest row per task
# is its current status.
TASK_STATUSES = ("not_started", "in_progress", "done", "delayed")


class TaskStatusUpdate(Base):
    """One status report of a task of the action plan by its responsible unit."""

    __tablename__ = "task_status_updates"
    __table_args__ = (
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'done', 'delayed')", name="status"
        ),
        sa.CheckConstraint("progress_pct >= 0 AND progress_pct <= 100", name="progress_pct"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    task_id: Mapped[str] = mapped_column(sa.String(64), index=True)
    unit: Mapped[str | None] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(16))
    progress_pct: Mapped[float] = mapped_column(sa.Float)
    planned_date: Mapped[date | None] = mapped_column(sa.Date)
    note: Mapped[str | None] = mapped_column(sa.Text)
    actor: Mapped[str] = mapped_column(sa.String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- pathways (scenarios)
# Scenarios with versions (migration 0004_scenarios; rules in citycarbon.runs.scenarios).
class Scenario(Base):
    """One version of a scenario (情景): baseline + measures (JSON list of {id, start_year,
    full_year, scale, params}). Saving again adds the next version; older rows are the history."""

    __tablename__ = "scenarios"
    __table_args__ = (
        sa.UniqueConstraint("name", "version"),
        sa.CheckConstraint("version >= 1", name="version_positive"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(sa.String(100), index=True)
    version: Mapped[int] = mapped_column(sa.Integer)
    title_zh: Mapped[str | None] = mapped_column(sa.String(200))
    description: Mapped[str | None] = mapped_column(sa.Text)
    base_year: Mapped[int | None] = mapped_column(sa.Integer)
    measures: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON)
    settings: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_by: Mapped[str] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- jobs
# Background jobs: an upload and the pipeline it runs (migration 0006_jobs; queue in
# citycarbon.runs.jobs, rows in citycarbon.store.jobs).
JOB_STATUSES = ("queued", "running", "done", "failed")


class Job(Base):
    """A background job: queued → running → done | failed, its steps (JSON list of
    ``{name, status, seconds, message}``), progress [0-1], error and the batch it made.
    ``source_name`` is the file name the user gave (never a server path)."""

    __tablename__ = "jobs"
    __table_args__ = (
        sa.CheckConstraint("status IN ('queued', 'running', 'done', 'failed')", name="status"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(sa.String(32))  # 'ingest'
    ingest_kind: Mapped[str | None] = mapped_column(sa.String(32))
    source_name: Mapped[str | None] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(16), default="queued", index=True)
    created_by_id: Mapped[int | None] = mapped_column(sa.Integer, index=True)  # users.id
    created_by: Mapped[str] = mapped_column(sa.String(100))  # user name
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    steps: Mapped[list[dict[str, Any]]] = mapped_column(sa.JSON, default=list)
    progress: Mapped[float] = mapped_column(sa.Float, default=0.0)
    error: Mapped[str | None] = mapped_column(sa.Text)
    batch_id: Mapped[int | None] = mapped_column(sa.ForeignKey("batches.id", ondelete="SET NULL"))


# --------------------------------------------------------------------------- credits (碳普惠)
# The resident carbon-credit ledger (migration 0010_credits; postings in citycarbon.store.credits).
CREDIT_ACCOUNT_KINDS = ("resident", "pool", "system")
CREDIT_ENTRY_KINDS = ("issuance", "redemption", "donation", "expiry", "reversal")


class CreditAccount(Base):
    """A ledger account. ``resident``: a pseudonymous id scoped to the partner that enrolled the
    resident (``subject``; never a name or a phone number); ``pool``: the donation pool;
    ``system``: the issuance source and the redemption and expiry sinks, whose positions are the
    sums of their entries (their ``balance`` stays 0, so no posting ever waits on their row).
    ``balance`` [points] of resident and pool accounts never goes below 0 (CHECK, and the
    conditional UPDATE of every debit)."""

    __tablename__ = "credit_accounts"
    __table_args__ = (
        sa.UniqueConstraint("partner", "subject"),
        sa.CheckConstraint("kind IN ('resident', 'pool', 'system')", name="kind"),
        sa.CheckConstraint("balance >= 0", name="balance_not_negative"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    partner: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(128))
    kind: Mapped[str] = mapped_column(sa.String(16))
    balance: Mapped[int] = mapped_column(sa.BigInteger, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class CreditEntry(Base):
    """One balanced posting: ``amount`` points from ``debit_account_id`` to
    ``credit_account_id``. Append-only: a correction is a ``reversal`` entry with the legs
    swapped (``reverses_id``; one reversal per entry). ``idempotency_key`` (unique) makes a
    repeated request post once."""

    __tablename__ = "credit_entries"
    __table_args__ = (
        sa.CheckConstraint(
            "kind IN ('issuance', 'redemption', 'donation', 'expiry', 'reversal')", name="kind"
        ),
        sa.CheckConstraint("amount > 0", name="amount_positive"),
        sa.CheckConstraint("debit_account_id <> credit_account_id", name="two_accounts"),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(sa.String(16))
    debit_account_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_accounts.id"), index=True)
    credit_account_id: Mapped[int] = mapped_column(sa.ForeignKey("credit_accounts.id"), index=True)
    amount: Mapped[int] = mapped_column(sa.BigInteger)
    method: Mapped[str | None] = mapped_column(sa.String(64))  # 碳普惠 method of an issuance
    # an issuance's activity month (YYYY-MM, the methodology set's timezone) and district
    period: Mapped[str | None] = mapped_column(sa.String(7))
    region_code: Mapped[str | None] = mapped_column(sa.String(12))
    methodology: Mapped[str | None] = mapped_column(sa.String(64))  # set@version
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(200), unique=True)
    reverses_id: Mapped[int | None] = mapped_column(sa.ForeignKey("credit_entries.id"), unique=True)
    note: Mapped[str | None] = mapped_column(sa.Text)


class CreditPartnerKey(Base):
    """A partner's HMAC key for the partner API. Rotation: a new key, the previous one stays
    live until the partner has switched (two live keys at most), then is revoked
    (``revoked_at``). The secret is stored Fernet-encrypted (``CITYCARBON_PARTNER_SECRETS_KEY``;
    HMAC verification needs it back, so it cannot be hashed); migration 0012_credits_privacy."""

    __tablename__ = "credit_partner_keys"

    key_id: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    partner: Mapped[str] = mapped_column(sa.String(64), index=True)
    secret: Mapped[str] = mapped_column(sa.Text)  # Fernet token of the secret
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]


class CreditNonce(Base):
    """A nonce a partner request used (replay refused); rows older than the signature window
    are pruned."""

    __tablename__ = "credit_nonces"

    partner: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    nonce: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CreditConsent(Base):
    """A resident's consent (PIPL art. 14-15) that ``partner`` sends their behaviour events for
    credits: recorded and withdrawn through the partner API. A withdrawn consent stops new
    credits from that partner. ``resident`` is the city-wide pseudonymous id the partner maps
    its account to (duplicates across partners are found through it); ``contact_name`` and
    ``contact_phone`` only when the resident opts in. Deleted on erasure (PIPL art. 47);
    migration 0012_credits_privacy."""

    __tablename__ = "credit_consents"
    __table_args__ = (sa.UniqueConstraint("partner", "subject"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    partner: Mapped[str] = mapped_column(sa.String(64))
    subject: Mapped[str] = mapped_column(sa.String(128))
    resident: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    contact_name: Mapped[str | None] = mapped_column(sa.String(100))
    contact_phone: Mapped[str | None] = mapped_column(sa.String(32))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    withdrawn_at: Mapped[datetime | None]


class CreditEvent(Base):
    """A raw partner event as received, with its outcome (credited, held, refused) and reason:
    the quota count, the cross-partner duplicate check and the review queue of held events.
    Kept for the retention policy's months (``credits/data/retention.yaml``), then aggregated
    into :class:`CreditEventCount` and deleted; migration 0012_credits_privacy."""

    __tablename__ = "credit_events"
    __table_args__ = (sa.Index(None, "partner", "received_at"), {"sqlite_autoincrement": True})

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    partner: Mapped[str] = mapped_column(sa.String(64))
    event_id: Mapped[str | None] = mapped_column(sa.String(128))
    subject: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    resident: Mapped[str | None] = mapped_column(sa.String(128), index=True)
    method: Mapped[str | None] = mapped_column(sa.String(64))
    at: Mapped[datetime | None]
    ended_at: Mapped[datetime | None]
    quantity: Mapped[float | None]
    district_code: Mapped[str | None] = mapped_column(sa.String(12))
    status: Mapped[str] = mapped_column(sa.String(16))
    reason: Mapped[str] = mapped_column(sa.String(100), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)


class CreditEventCount(Base):
    """Raw events past retention, aggregated: count by receipt month, partner, method ('' when
    none) and status; migration 0012_credits_privacy."""

    __tablename__ = "credit_event_counts"

    period: Mapped[str] = mapped_column(sa.String(7), primary_key=True)
    partner: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    method: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    status: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    events: Mapped[int] = mapped_column(sa.BigInteger)


#: Registry tables (loaded through ingest) and the column that identifies a row.
REGISTRY_KEYS = {
    "regions": "code",
    "parks": "code",
    "enterprises": "credit_code",
    "grid_nodes": "node_id",
    "meters": "meter_id",
}


# --------------------------------------------------------------------------- finance
#: What a consent allows (rules in citycarbon.read.access): ``rating`` = a bank reads the 绿色金融
#: views only (grades, trend, data quality); ``full`` = also the enterprise's pages (emissions);
#: ``publication`` = the city may publish the enterprise's low/zero/negative-carbon class (no
#: grantee).
CONSENT_SCOPES = ("rating", "full", "publication")


class Consent(Base):
    """An enterprise's consent that one bank user reads its data for a purpose, or that the
    city publishes its carbon class (scope ``publication``, no grantee); migration
    0009_finance. Valid from ``granted_at`` until ``expires_at`` unless ``revoked_at``; the
    grant, the revocation and every bank read under it are in the audit log."""

    __tablename__ = "consents"
    __table_args__ = (
        sa.CheckConstraint("scope IN ('rating', 'full', 'publication')", name="scope"),
        sa.CheckConstraint(
            "(scope = 'publication' AND grantee_user_id IS NULL) OR "
            "(scope <> 'publication' AND grantee_user_id IS NOT NULL)",
            name="grantee",
        ),
        {"sqlite_autoincrement": True},
    )

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    enterprise_code: Mapped[str] = mapped_column(
        sa.ForeignKey("enterprises.credit_code", ondelete="CASCADE"), index=True
    )
    grantee_user_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("users.id", ondelete="CASCADE"), index=True
    )
    scope: Mapped[str] = mapped_column(sa.String(16))
    purpose: Mapped[str] = mapped_column(sa.String(200))
    granted_by: Mapped[str] = mapped_column(sa.String(64))
    granted_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    revoked_by: Mapped[str | None] = mapped_column(sa.String(64))
