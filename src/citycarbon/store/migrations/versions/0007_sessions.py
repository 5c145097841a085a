"""Sessions in the catalog, API token expiry and scope, atomic sign-in throttling.

- ``user_sessions``: server-side web sessions (SHA-256 of the cookie's random id).
- ``api_tokens`` gains ``scope`` ('full' | 'read') and ``expires_at`` (not null). Tokens made
  before this migration never expired; they now expire :data:`GRACE` after the upgrade, so
  integrations keep working while their owners replace them.
- ``login_throttle`` (one atomic counter per key) replaces ``login_failures`` (a row per failure,
  counted and then inserted: concurrent guesses raced past the limit). Old failures are dropped.
- ``users.session_epoch`` goes: sessions are revoked one by one now. SQLite drops the column in
  place (ALTER TABLE ... DROP COLUMN, SQLite >= 3.35); re-creating ``users`` would cascade-delete
  its tokens. ``api_tokens`` is re-created on SQLite (nothing references it) to make
  ``expires_at`` NOT NULL and add the CHECK of ``scope``.

Written by hand to match the access models in ``citycarbon.store.models``.

Revision ID: 0007_sessions
Revises: 0002_access
Create Date: 2026-12-10
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import op

revision = "0007_sessions"
down_revision = "0002_access"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
#: How long API tokens made before this migration keep working after it.
GRACE = timedelta(days=30)
#: api_tokens keeps SQLite's AUTOINCREMENT (ids never reused) when batch mode re-creates it.
AUTOINCREMENT = {"sqlite_autoincrement": True}


def upgrade() -> None:
    op.create_table(
        "user_sessions",
        sa.Column("id_hash", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_seen_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.Column("address", sa.String(64), nullable=True),
        sa.Column("user_agent", sa.String(300), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            ondelete="CASCADE",
            name=op.f("fk_user_sessions_user_id_users"),
        ),
        sa.PrimaryKeyConstraint("id_hash", name=op.f("pk_user_sessions")),
    )
    op.create_index(op.f("ix_user_sessions_user_id"), "user_sessions", ["user_id"])

    op.create_table(
        "login_throttle",
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_at", TIMESTAMP, nullable=False),
        sa.Column("not_before", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_login_throttle")),
    )
    op.create_index(op.f("ix_login_throttle_last_at"), "login_throttle", ["last_at"])
    op.drop_table("login_failures")

    op.add_column(
        "api_tokens",
        sa.Column("scope", sa.String(16), server_default="full", nullable=False),
    )
    op.add_column("api_tokens", sa.Column("expires_at", TIMESTAMP, nullable=True))
    tokens = sa.table("api_tokens", sa.column("expires_at", TIMESTAMP))
    op.execute(tokens.update().values(expires_at=datetime.now(UTC) + GRACE))
    with op.batch_alter_table("api_tokens", table_kwargs=AUTOINCREMENT) as batch:
        batch.alter_column("expires_at", existing_type=TIMESTAMP, nullable=False)
        batch.create_check_constraint(op.f("ck_api_tokens_scope"), "scope IN ('full', 'read')")

    op.drop_column("users", "session_epoch")


def downgrade() -> None:
    op.add_column(
        "users",
        sa.Column("session_epoch", sa.Integer(), server_default="0", nullable=False),
    )
    with op.batch_alter_table("api_tokens", table_kwargs=AUTOINCREMENT) as batch:
        batch.drop_constraint(op.f("ck_api_tokens_scope"), type_="check")
        batch.drop_column("expires_at")
        batch.drop_column("scope")

    op.create_table(
        "login_failures",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("ip", sa.String(64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_failures")),
    )
    op.create_index("ix_login_failures_username_ip", "login_failures", ["username", "ip"])
    op.create_index(op.f("ix_login_failures_at"), "login_failures", ["at"])
    op.drop_index(op.f("ix_login_throttle_last_at"), table_name="login_throttle")
    op.drop_table("login_throttle")
    op.drop_index(op.f("ix_user_sessions_user_id"), table_name="user_sessions")
    op.drop_table("user_sessions")
