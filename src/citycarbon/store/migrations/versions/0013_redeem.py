"""碳普惠 system accounts made by the migration: the issuance source, the redemption and expiry
sinks and the donation pool exist before the first posting (a posting names them by subject in
its one entry statement instead of looking them up, or creating them, first). Accounts an
earlier version already created on first use are kept as they are.

Written by hand to match ``SYSTEM_ACCOUNTS`` in ``citycarbon.store.credits`` (frozen here).

Revision ID: 0013_redeem
Revises: 0012_credits_privacy
Create Date: 2026-12-08
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0013_redeem"
down_revision = "0012_credits_privacy"
branch_labels = None
depends_on = None

#: subject -> kind of the system accounts (partner ``system``).
SYSTEM_ACCOUNTS = {
    "issuance": "system",
    "redemption": "system",
    "expiry": "system",
    "donation_pool": "pool",
}
_ACCOUNTS = sa.table(
    "credit_accounts",
    sa.column("id", sa.Integer()),
    sa.column("partner", sa.String()),
    sa.column("subject", sa.String()),
    sa.column("kind", sa.String()),
    sa.column("balance", sa.BigInteger()),
    sa.column("created_at", sa.DateTime(timezone=True)),
)
_ENTRIES = sa.table(
    "credit_entries",
    sa.column("debit_account_id", sa.Integer()),
    sa.column("credit_account_id", sa.Integer()),
)


def upgrade() -> None:
    conn = op.get_bind()
    present = set(
        conn.execute(
            sa.select(_ACCOUNTS.c.subject).where(_ACCOUNTS.c.partner == "system")
        ).scalars()
    )
    now = datetime.now(UTC)
    missing = [
        {"partner": "system", "subject": s, "kind": k, "balance": 0, "created_at": now}
        for s, k in SYSTEM_ACCOUNTS.items()
        if s not in present
    ]
    if missing:
        conn.execute(_ACCOUNTS.insert(), missing)


def downgrade() -> None:
    """System accounts no entry uses go (those in use stay: entries are never deleted)."""
    used = sa.union(sa.select(_ENTRIES.c.debit_account_id), sa.select(_ENTRIES.c.credit_account_id))
    op.get_bind().execute(
        _ACCOUNTS.delete().where(_ACCOUNTS.c.partner == "system", _ACCOUNTS.c.id.not_in(used))
    )
