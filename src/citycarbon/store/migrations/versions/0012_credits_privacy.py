"""碳普惠 privacy, quotas and keys: ``credit_consents`` (consent per partner, the city-wide
resident mapping, opt-in contact fields), ``credit_events`` (raw partner events with their
outcome, kept for the retention policy's months), ``credit_event_counts`` (what retention
aggregates), and partner secrets encrypted at rest (``credit_partner_keys.secret`` becomes the
Fernet token of the secret; existing secrets are encrypted, and decrypted again on downgrade).

Written by hand to match the credit models in ``citycarbon.store.models``.

Revision ID: 0012_credits_privacy
Revises: 0010_credits
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from citycarbon.store.credits import decrypt_secret, encrypt_secret

revision = "0012_credits_privacy"
down_revision = "0010_credits"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)
_KEYS = sa.table("credit_partner_keys", sa.column("key_id"), sa.column("secret"))


def _recode_secrets(code: object) -> None:
    conn = op.get_bind()
    for key_id, secret in conn.execute(sa.select(_KEYS.c.key_id, _KEYS.c.secret)).all():
        conn.execute(
            _KEYS.update().where(_KEYS.c.key_id == key_id).values(secret=code(secret))  # type: ignore[operator]
        )


def upgrade() -> None:
    op.create_table(
        "credit_consents",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("resident", sa.String(128), nullable=True),
        sa.Column("contact_name", sa.String(100), nullable=True),
        sa.Column("contact_phone", sa.String(32), nullable=True),
        sa.Column("granted_at", TIMESTAMP, nullable=False),
        sa.Column("withdrawn_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_consents")),
        sa.UniqueConstraint("partner", "subject", name=op.f("uq_credit_consents_partner_subject")),
    )
    op.create_index(op.f("ix_credit_consents_resident"), "credit_consents", ["resident"])
    op.create_table(
        "credit_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("event_id", sa.String(128), nullable=True),
        sa.Column("subject", sa.String(128), nullable=True),
        sa.Column("resident", sa.String(128), nullable=True),
        sa.Column("method", sa.String(64), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=True),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("quantity", sa.Float(), nullable=True),
        sa.Column("district_code", sa.String(12), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("reason", sa.String(100), nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_events")),
        sqlite_autoincrement=True,
    )
    op.create_index(
        op.f("ix_credit_events_partner_received_at"), "credit_events", ["partner", "received_at"]
    )
    op.create_index(op.f("ix_credit_events_subject"), "credit_events", ["subject"])
    op.create_index(op.f("ix_credit_events_resident"), "credit_events", ["resident"])
    op.create_index(op.f("ix_credit_events_received_at"), "credit_events", ["received_at"])
    op.create_table(
        "credit_event_counts",
        sa.Column("period", sa.String(7), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("events", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint(
            "period", "partner", "method", "status", name=op.f("pk_credit_event_counts")
        ),
    )
    with op.batch_alter_table("credit_partner_keys") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_type=sa.String(128))
    _recode_secrets(encrypt_secret)


def downgrade() -> None:
    _recode_secrets(decrypt_secret)
    with op.batch_alter_table("credit_partner_keys") as batch:
        batch.alter_column("secret", type_=sa.String(128), existing_type=sa.Text())
    op.drop_table("credit_event_counts")
    for ix in ("received_at", "resident", "subject", "partner_received_at"):
        op.drop_index(op.f(f"ix_credit_events_{ix}"), table_name="credit_events")
    op.drop_table("credit_events")
    op.drop_index(op.f("ix_credit_consents_resident"), table_name="credit_consents")
    op.drop_table("credit_consents")
