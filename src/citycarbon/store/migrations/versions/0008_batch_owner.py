"""Batch owner: ``batches.created_by_id``, the id of the platform user a batch belongs to.

Batches were matched to users by name, so a user named ``cli`` or ``demo`` saw the batches of
the command line and the demo. Batches made before this migration belong to no user (city-wide
roles see them, as they see every batch).

Written by hand to match the ``Batch`` model in ``citycarbon.store.models``.

Revision ID: 0008_batch_owner
Revises: 0001
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_batch_owner"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("created_by_id", sa.Integer(), nullable=True))
    op.create_index(op.f("ix_batches_created_by_id"), "batches", ["created_by_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_batches_created_by_id"), table_name="batches")
    op.drop_column("batches", "created_by_id")  # SQLite >= 3.35: in place, no table copy
