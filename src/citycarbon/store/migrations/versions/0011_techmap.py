"""Action-plan tracking: the ``unit_user`` role (a 责任单位's user, scope_code = unit code) and
``task_status_updates`` (append-only status reports of the action plan's tasks).

The role's CHECK constraint changes as in 0009_finance (SQLite: the stored definition is edited
in place; PostgreSQL: dropped and re-created).

Written by hand to match the ``TaskStatusUpdate`` and ``User`` models in
``citycarbon.store.models``.

Revision ID: 0011_techmap
Revises: 0009_finance
Create Date: 2026-12-07
"""

from __future__ import annotations

import importlib

import sqlalchemy as sa
from alembic import op

revision = "0011_techmap"
down_revision = "0009_finance"
branch_labels = None
depends_on = None

_finance = importlib.import_module("citycarbon.store.migrations.versions.0009_finance")
OLD = _finance.NEW
NEW = f"{_finance.ROLES}, 'bank', 'unit_user')"


def upgrade() -> None:
    _finance._roles(OLD, NEW)
    op.create_table(
        "task_status_updates",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("task_id", sa.String(64), nullable=False),
        sa.Column("unit", sa.String(32), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("progress_pct", sa.Float(), nullable=False),
        sa.Column("planned_date", sa.Date(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('not_started', 'in_progress', 'done', 'delayed')",
            name=op.f("ck_task_status_updates_status"),
        ),
        sa.CheckConstraint(
            "progress_pct >= 0 AND progress_pct <= 100",
            name=op.f("ck_task_status_updates_progress_pct"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_task_status_updates")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_task_status_updates_task_id"), "task_status_updates", ["task_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_task_status_updates_task_id"), table_name="task_status_updates")
    op.drop_table("task_status_updates")
    op.execute("DELETE FROM users WHERE role = 'unit_user'")
    _finance._roles(NEW, OLD)
