"""Carbon dual control: targets (versioned), their annual decomposition and the warnings log.

Written by hand to match the targets models in ``citycarbon.store.models``.

Revision ID: 0003_targets
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_targets"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("code", sa.String(100), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("entity_code", sa.String(32), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("indicator", sa.String(64), nullable=False),
        sa.Column("period_label", sa.String(32), nullable=False),
        sa.Column("base_year", sa.Integer(), nullable=False),
        sa.Column("end_year", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=False),
        sa.Column("target_unit", sa.String(16), nullable=False),
        sa.Column("base_value", sa.Float(), nullable=True),
        sa.Column("decomposition", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("valid_from", TIMESTAMP, nullable=False),
        sa.Column("valid_to", TIMESTAMP, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.CheckConstraint(
            "level IN ('city', 'district', 'park', 'industry', 'enterprise')",
            name=op.f("ck_targets_level"),
        ),
        sa.CheckConstraint("kind IN ('intensity', 'total')", name=op.f("ck_targets_kind")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
        sa.UniqueConstraint("code", "version", name=op.f("uq_targets_code_version")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_targets_code"), "targets", ["code"])
    op.create_index(op.f("ix_targets_valid_to"), "targets", ["valid_to"])
    op.create_table(
        "target_annual",
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("target_value", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["target_id"],
            ["targets.id"],
            name=op.f("fk_target_annual_target_id_targets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("target_id", "year", name=op.f("pk_target_annual")),
    )
    op.create_table(
        "warnings",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("rule_id", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(100), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=True),
        sa.Column("level", sa.String(8), nullable=False),
        sa.Column("entity_level", sa.String(16), nullable=False),
        sa.Column("entity_code", sa.String(32), nullable=False),
        sa.Column("entity_name", sa.String(200), nullable=True),
        sa.Column("period", sa.String(16), nullable=False),
        sa.Column("metric", sa.String(64), nullable=False),
        sa.Column("value", sa.Float(), nullable=True),
        sa.Column("threshold", sa.Float(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("notified_via", sa.String(100), nullable=True),
        sa.Column("notify_error", sa.Text(), nullable=True),
        sa.CheckConstraint("level IN ('green', 'yellow', 'red')", name=op.f("ck_warnings_level")),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_warnings_target_id_targets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_warnings")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_warnings_at"), "warnings", ["at"])
    op.create_index(op.f("ix_warnings_run_id"), "warnings", ["run_id"])
    op.create_index(
        "ix_warnings_rule_id_subject_period", "warnings", ["rule_id", "subject", "period"]
    )


def downgrade() -> None:
    op.drop_table("warnings")
    op.drop_table("target_annual")
    op.drop_table("targets")
