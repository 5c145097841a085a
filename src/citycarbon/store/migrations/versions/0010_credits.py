"""碳普惠 ledger and partner API: ``credit_accounts`` (pseudonymous residents, the donation
pool, system accounts; balances never negative) and ``credit_entries`` (balanced, append-only postings with an
idempotency key; reversals are new entries), ``credit_partner_keys`` (rotatable HMAC keys)
and ``credit_nonces`` (used nonces: replay refused).

Written by hand to match the credit models in ``citycarbon.store.models``.

Revision ID: 0010_credits
Revises: 0001
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_credits"
down_revision = "0001"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "credit_accounts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("balance", sa.BigInteger(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "kind IN ('resident', 'pool', 'system')", name=op.f("ck_credit_accounts_kind")
        ),
        sa.CheckConstraint("balance >= 0", name=op.f("ck_credit_accounts_balance_not_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_accounts")),
        sa.UniqueConstraint("partner", "subject", name=op.f("uq_credit_accounts_partner_subject")),
        sqlite_autoincrement=True,
    )
    op.create_table(
        "credit_entries",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("debit_account_id", sa.Integer(), nullable=False),
        sa.Column("credit_account_id", sa.Integer(), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("method", sa.String(64), nullable=True),
        sa.Column("period", sa.String(7), nullable=True),
        sa.Column("region_code", sa.String(12), nullable=True),
        sa.Column("methodology", sa.String(64), nullable=True),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("reverses_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('issuance', 'redemption', 'donation', 'expiry', 'reversal')",
            name=op.f("ck_credit_entries_kind"),
        ),
        sa.CheckConstraint("amount > 0", name=op.f("ck_credit_entries_amount_positive")),
        sa.CheckConstraint(
            "debit_account_id <> credit_account_id", name=op.f("ck_credit_entries_two_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["debit_account_id"],
            ["credit_accounts.id"],
            name=op.f("fk_credit_entries_debit_account_id_credit_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["credit_account_id"],
            ["credit_accounts.id"],
            name=op.f("fk_credit_entries_credit_account_id_credit_accounts"),
        ),
        sa.ForeignKeyConstraint(
            ["reverses_id"],
            ["credit_entries.id"],
            name=op.f("fk_credit_entries_reverses_id_credit_entries"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_entries")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_credit_entries_idempotency_key")),
        sa.UniqueConstraint("reverses_id", name=op.f("uq_credit_entries_reverses_id")),
        sqlite_autoincrement=True,
    )
    op.create_index(op.f("ix_credit_entries_at"), "credit_entries", ["at"])
    op.create_index(
        op.f("ix_credit_entries_debit_account_id"), "credit_entries", ["debit_account_id"]
    )
    op.create_index(
        op.f("ix_credit_entries_credit_account_id"), "credit_entries", ["credit_account_id"]
    )
    op.create_table(
        "credit_partner_keys",
        sa.Column("key_id", sa.String(64), nullable=False),
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("secret", sa.String(128), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("key_id", name=op.f("pk_credit_partner_keys")),
    )
    op.create_index(op.f("ix_credit_partner_keys_partner"), "credit_partner_keys", ["partner"])
    op.create_table(
        "credit_nonces",
        sa.Column("partner", sa.String(64), nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("partner", "nonce", name=op.f("pk_credit_nonces")),
    )
    op.create_index(op.f("ix_credit_nonces_at"), "credit_nonces", ["at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_credit_nonces_at"), table_name="credit_nonces")
    op.drop_table("credit_nonces")
    op.drop_index(op.f("ix_credit_partner_keys_partner"), table_name="credit_partner_keys")
    op.drop_table("credit_partner_keys")
    op.drop_index(op.f("ix_credit_entries_credit_account_id"), table_name="credit_entries")
    op.drop_index(op.f("ix_credit_entries_debit_account_id"), table_name="credit_entries")
    op.drop_index(op.f("ix_credit_entries_at"), table_name="credit_entries")
    op.drop_table("credit_entries")
    op.drop_table("credit_accounts")
