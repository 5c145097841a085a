"""Finance: the ``bank`` role and enterprises' consents that a bank user reads their data.

- ``users.role`` may be ``bank``. Only the CHECK constraint changes: PostgreSQL drops and
  re-creates it; SQLite edits the table's stored definition in place (as 0005_batch_retract
  does, https://www.sqlite.org/lang_altertable.html "Making Other Kinds Of Table Schema
  Changes"; re-creating ``users`` would cascade-delete its tokens and sessions).
- ``consents``: enterprise, grantee (a bank user; none for 'publication'), scope ('rating' |
  'full' | 'publication'), purpose, who granted it, granted/expires/revoked.

Written by hand to match the ``Consent`` and ``User`` models in ``citycarbon.store.models``.

Revision ID: 0009_finance
Revises: 0002_access
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009_finance"
down_revision = "0002_access"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
ROLES = (
    "role IN ('admin', 'city_analyst', 'district_manager', 'park_manager', "
    "'enterprise_user', 'viewer'"
)
OLD = f"{ROLES})"
NEW = f"{ROLES}, 'bank')"


def _sqlite_replace(conn: sa.Connection, old: str, new: str) -> None:
    sql = conn.exec_driver_sql(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'users'"
    ).scalar_one()
    if old not in sql:
        raise RuntimeError(f"users has an unexpected definition: {sql}")
    version = conn.exec_driver_sql("PRAGMA schema_version").scalar_one()
    conn.exec_driver_sql("PRAGMA writable_schema = ON")
    conn.exec_driver_sql(
        "UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'users'",
        (sql.replace(old, new),),
    )
    conn.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    conn.exec_driver_sql("PRAGMA writable_schema = OFF")


def _roles(old: str, new: str) -> None:
    conn = op.get_bind()
    if conn.dialect.name == "sqlite":
        _sqlite_replace(conn, old, new)
    else:
        op.drop_constraint(op.f("ck_users_role"), "users", type_="check")
        op.create_check_constraint(op.f("ck_users_role"), "users", new)


def upgrade() -> None:
    _roles(OLD, NEW)
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("enterprise_code", sa.String(18), nullable=False),
        sa.Column("grantee_user_id", sa.Integer(), nullable=True),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(200), nullable=False),
        sa.Column("granted_by", sa.String(64), nullable=False),
        sa.Column("granted_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_by", sa.String(64), nullable=True),
        sa.CheckConstraint(
            "scope IN ('rating', 'full', 'publication')", name=op.f("ck_consents_scope")
        ),
        sa.CheckConstraint(
            "(scope = 'publication' AND grantee_user_id IS NULL) OR "
            "(scope <> 'publication' AND grantee_user_id IS NOT NULL)",
            name=op.f("ck_consents_grantee"),
        ),
        sa.ForeignKeyConstraint(
            ["enterprise_code"],
            ["enterprises.credit_code"],
            ondelete="CASCADE",
            name=op.f("fk_consents_enterprise_code_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["grantee_user_id"],
            ["users.id"],
            ondelete="CASCADE",
            name=op.f("fk_consents_grantee_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_consents")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_consents_enterprise_code"), "consents", ["enterprise_code"])
    op.create_index(op.f("ix_consents_grantee_user_id"), "consents", ["grantee_user_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_consents_grantee_user_id"), table_name="consents")
    op.drop_index(op.f("ix_consents_enterprise_code"), table_name="consents")
    op.drop_table("consents")
    op.execute("DELETE FROM users WHERE role = 'bank'")  # their tokens and sessions go too
    _roles(NEW, OLD)
