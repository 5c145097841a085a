"""Initial catalog: registry (regions, parks, enterprises, grid nodes, meters), batch ledger, audit.

Written by hand to match ``citycarbon.store.models``; ``tests/test_catalog.py`` compares the
migrated schema with the models on SQLite and PostgreSQL.

Revision ID: 0001
Revises:
Create Date: 2025-01-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "regions",
        sa.Column("code", sa.String(6), nullable=False),
        sa.Column("level", sa.String(16), nullable=False),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=True),
        sa.Column("parent_code", sa.String(6), nullable=True),
        sa.CheckConstraint("level IN ('city', 'district')", name=op.f("ck_regions_level")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_regions")),
    )
    op.create_table(
        "parks",
        sa.Column("code", sa.String(32), nullable=False),
        sa.Column("name_zh", sa.String(200), nullable=False),
        sa.Column("name_en", sa.String(200), nullable=True),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_code"], ["regions.code"], name=op.f("fk_parks_district_code_regions")
        ),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_parks")),
    )
    op.create_index(op.f("ix_parks_district_code"), "parks", ["district_code"])
    op.create_table(
        "enterprises",
        sa.Column("credit_code", sa.String(18), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("industry_code", sa.String(5), nullable=True),
        sa.Column("district_code", sa.String(6), nullable=False),
        sa.Column("park_code", sa.String(32), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.Column("is_key", sa.Boolean(), server_default=sa.false(), nullable=False),
        sa.CheckConstraint(
            "length(credit_code) = 18", name=op.f("ck_enterprises_credit_code_length")
        ),
        sa.ForeignKeyConstraint(
            ["district_code"], ["regions.code"], name=op.f("fk_enterprises_district_code_regions")
        ),
        sa.ForeignKeyConstraint(
            ["park_code"], ["parks.code"], name=op.f("fk_enterprises_park_code_parks")
        ),
        sa.PrimaryKeyConstraint("credit_code", name=op.f("pk_enterprises")),
    )
    op.create_index(op.f("ix_enterprises_district_code"), "enterprises", ["district_code"])
    op.create_index(op.f("ix_enterprises_industry_code"), "enterprises", ["industry_code"])
    op.create_index(op.f("ix_enterprises_park_code"), "enterprises", ["park_code"])
    op.create_table(
        "grid_nodes",
        sa.Column("node_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("district_code", sa.String(6), nullable=True),
        sa.Column("voltage_kv", sa.Float(), nullable=True),
        sa.Column("lon", sa.Float(), nullable=True),
        sa.Column("lat", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(
            ["district_code"], ["regions.code"], name=op.f("fk_grid_nodes_district_code_regions")
        ),
        sa.PrimaryKeyConstraint("node_id", name=op.f("pk_grid_nodes")),
    )
    op.create_index(op.f("ix_grid_nodes_district_code"), "grid_nodes", ["district_code"])
    op.create_table(
        "meters",
        sa.Column("meter_id", sa.String(64), nullable=False),
        sa.Column("enterprise_code", sa.String(18), nullable=True),
        sa.Column("grid_node_id", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(
            ["enterprise_code"],
            ["enterprises.credit_code"],
            name=op.f("fk_meters_enterprise_code_enterprises"),
        ),
        sa.ForeignKeyConstraint(
            ["grid_node_id"], ["grid_nodes.node_id"], name=op.f("fk_meters_grid_node_id_grid_nodes")
        ),
        sa.PrimaryKeyConstraint("meter_id", name=op.f("pk_meters")),
    )
    op.create_index(op.f("ix_meters_enterprise_code"), "meters", ["enterprise_code"])
    op.create_index(op.f("ix_meters_grid_node_id"), "meters", ["grid_node_id"])
    op.create_table(
        "batches",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("source_name", sa.String(500), nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("rows_in", sa.Integer(), nullable=True),
        sa.Column("rows_accepted", sa.Integer(), nullable=True),
        sa.Column("rows_quarantined", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("created_by", sa.String(100), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'committed', 'failed')", name=op.f("ck_batches_status")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batches")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_batches_status"), "batches", ["status"])
    op.create_index(
        "uq_batches_committed_kind_content_hash",
        "batches",
        ["kind", "content_hash"],
        unique=True,
        sqlite_where=sa.text("status = 'committed'"),
        postgresql_where=sa.text("status = 'committed'"),
    )
    op.create_table(
        "batch_files",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("table_name", sa.String(64), nullable=False),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("rows", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"],
            ["batches.id"],
            ondelete="CASCADE",
            name=op.f("fk_batch_files_batch_id_batches"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_batch_files")),
        sa.UniqueConstraint("path", name=op.f("uq_batch_files_path")),
    )
    op.create_index(op.f("ix_batch_files_batch_id"), "batch_files", ["batch_id"])
    op.create_index(op.f("ix_batch_files_table_name"), "batch_files", ["table_name"])
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("entity", sa.String(64), nullable=False),
        sa.Column("entity_id", sa.String(100), nullable=True),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("batch_files")
    op.drop_table("batches")
    op.drop_table("meters")
    op.drop_table("grid_nodes")
    op.drop_table("enterprises")
    op.drop_table("parks")
    op.drop_table("regions")
