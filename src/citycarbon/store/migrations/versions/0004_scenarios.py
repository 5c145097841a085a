"""Pathways: scenarios (情景) with versions — name, description, base year, measures (JSON).

Written by hand to match the pathways models in ``citycarbon.store.models``. Every save of a
scenario adds a row with the next version; the newest version is the current one, older rows are
its history.

Revision ID: 0004_scenarios
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_scenarios"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("title_zh", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("base_year", sa.Integer(), nullable=True),
        sa.Column("measures", sa.JSON(), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("version >= 1", name=op.f("ck_scenarios_version_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scenarios")),
        sa.UniqueConstraint("name", "version", name=op.f("uq_scenarios_name_version")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_scenarios_name"), "scenarios", ["name"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scenarios_name"), table_name="scenarios")
    op.drop_table("scenarios")
