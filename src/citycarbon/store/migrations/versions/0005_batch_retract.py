"""Batch retraction: a committed batch may become ``retracted`` (its rows stop counting).

Only the CHECK constraint of ``batches.status`` changes. PostgreSQL drops and re-creates it.
SQLite cannot alter a constraint, and re-creating ``batches`` would cascade-delete its
``batch_files`` (foreign keys are on and cannot be switched off inside the migration's
transaction), so the table's stored definition is edited in place, the way SQLite documents for
loosening a CHECK constraint (https://www.sqlite.org/lang_altertable.html, "Making Other Kinds
Of Table Schema Changes"): the stored rows are valid under both definitions.

Revision ID: 0005_batch_retract
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_batch_retract"
down_revision = "0001"
branch_labels = None
depends_on = None

OLD = "status IN ('running', 'committed', 'failed')"
NEW = "status IN ('running', 'committed', 'failed', 'retracted')"


def _sqlite_replace(conn: sa.Connection, old: str, new: str) -> None:
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'batches'"
    ).scalar_one()
    if old not in sql:
        raise RuntimeError(f"batches has an unexpected definition: {sql}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'batches'",
        (sql.replace(old, new),),
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _change(old: str, new: str) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_replace(conn, old, new)
    else:
        op.drop_constraint(op.f("ck_batches_status"), "batches", type_="check")
        op.create_check_constraint(op.f("ck_batches_status"), "batches", new)


def upgrade() -> None:
    _change(OLD, NEW)


def downgrade() -> None:
    # retracted batches become failed: their files are not listed as current either way
    op.execute(
        "UPDATE batches SET status = 'failed', message = COALESCE(message, 'retracted') "
        "WHERE status = 'retracted'"
    )
    _change(NEW, OLD)
