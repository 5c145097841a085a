"""The 碳普惠 ledger in the catalog: accounts, balanced append-only postings, reconciliation.

Every posting is one ``credit_entries`` row moving ``amount`` points from a debit account to a
credit account (double entry: the two legs are equal by construction):

=========== ======================= =======================
kind        debit                   credit
=========== ======================= =======================
issuance    system ``issuance``     resident
redemption  resident                system ``redemption``
donation    resident                pool ``donation_pool``
expiry      resident                system ``expiry``
reversal    the original's credit   the original's debit
=========== ======================= =======================

Balances of resident and pool accounts are stored and guarded: a debit is one conditional
``UPDATE ... SET balance = balance - n WHERE id = :id AND balance >= n``. The row lock it takes
makes concurrent debits of one account queue, and each re-checks the condition on the committed
balance (PostgreSQL READ COMMITTED; SQLite serialises writers), so no interleaving spends more
than the balance; a CHECK (balance >= 0) backs it. System accounts keep no stored balance (their
position is the sum of their entries), so no posting ever waits on a shared hot row, and one
posting locks at most two guarded rows, in id order (no deadlock).

Idempotency: a posting with an ``idempotency_key`` already used is not posted again; the first
entry is returned (``INSERT ... ON CONFLICT DO NOTHING``, safe under concurrency).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.orm import Session

from citycarbon.errors import InputError
from citycarbon.store import catalog
from citycarbon.store.models import (
    CreditAccount,
    CreditEntry,
    CreditNonce,
    CreditPartnerKey,
    utcnow,
)

_A = CreditAccount.__table__
_E = CreditEntry.__table__
SYSTEM_PARTNER = "system"
#: The accounts that are not residents': subject -> kind.
SYSTEM_ACCOUNTS = {
    "issuance": "system",
    "redemption": "system",
    "expiry": "system",
    "donation_pool": "pool",
}
#: kind -> (debit, credit); ``None`` stands for the resident account of the posting.
LEGS: dict[str, tuple[str | None, str | None]] = {
    "issuance": ("issuance", None),
    "redemption": (None, "redemption"),
    "donation": (None, "donation_pool"),
    "expiry": (None, "expiry"),
}


class InsufficientCreditsError(InputError):
    """A debit larger than the account's balance; nothing was posted."""


@dataclass(frozen=True)
class Posting:
    """The entry a request made (``created``) or found under its idempotency key."""

    entry_id: int
    created: bool


def _account_id(session: Session, partner: str, subject: str, kind: str) -> int:
    insert = catalog._insert(session.bind.dialect.name)(_A)
    session.execute(
        insert.values(
            partner=partner, subject=subject, kind=kind, balance=0, created_at=utcnow()
        ).on_conflict_do_nothing(index_elements=["partner", "subject"])
    )
    return session.execute(
        sa.select(_A.c.id).where(_A.c.partner == partner, _A.c.subject == subject)
    ).scalar_one()


def open_account(
    partner: str, subject: str, *, session: Session | None = None, url: str | None = None
) -> int:
    """The id of the resident account ``subject`` of ``partner`` (created on first use).

    ``subject`` is the partner's pseudonymous id of the resident (never a name or a phone
    number); the same person enrolled by two partners has two accounts.
    """
    if partner == SYSTEM_PARTNER or not subject:
        raise InputError("a resident account needs a partner and a subject", value=partner)
    with catalog._joined(session, url) as s:
        return _account_id(s, partner, subject, "resident")


def _system_id(session: Session, subject: str) -> int:
    return _account_id(session, SYSTEM_PARTNER, subject, SYSTEM_ACCOUNTS[subject])


def _move(session: Session, debit: int, credit: int, amount: int) -> None:
    """Apply a posting to the stored balances (guarded accounts only, in id order)."""
    kinds = dict(
        session.execute(sa.select(_A.c.id, _A.c.kind).where(_A.c.id.in_([debit, credit]))).all()
    )
    if set(kinds) != {debit, credit}:
        raise InputError("unknown credit account", value=sorted({debit, credit} - set(kinds)))
    for account in sorted((debit, credit)):
        if kinds[account] == "system":
            continue
        if account == credit:
            session.execute(
                _A.update().where(_A.c.id == account).values(balance=_A.c.balance + amount)
            )
            continue
        done = session.execute(
            _A.update()
            .where(_A.c.id == account, _A.c.balance >= amount)
            .values(balance=_A.c.balance - amount)
        )
        if done.rowcount != 1:
            raise InsufficientCreditsError(
                f"account {account} holds fewer than {amount} points", field="amount", value=amount
            )


def _post(
    session: Session,
    kind: str,
    debit: int,
    credit: int,
    amount: int,
    *,
    key: str | None,
    at: datetime | None = None,
    method: str | None = None,
    methodology: str | None = None,
    reverses_id: int | None = None,
    note: str | None = None,
) -> Posting:
    if int(amount) != amount or amount <= 0:
        raise InputError("a posting moves a positive whole number of points", value=amount)
    insert = catalog._insert(session.bind.dialect.name)(_E).values(
        at=at or utcnow(),
        kind=kind,
        debit_account_id=debit,
        credit_account_id=credit,
        amount=int(amount),
        method=method,
        methodology=methodology,
        idempotency_key=key,
        reverses_id=reverses_id,
        note=note,
    )
    if key is not None:
        insert = insert.on_conflict_do_nothing(index_elements=["idempotency_key"])
    entry_id = session.execute(insert.returning(_E.c.id)).scalar_one_or_none()
    if entry_id is None:
        found = session.execute(sa.select(_E.c.id).where(_E.c.idempotency_key == key))
        return Posting(found.scalar_one(), created=False)
    _move(session, debit, credit, int(amount))
    return Posting(entry_id, created=True)


def post(
    kind: str,
    account_id: int,
    points: int,
    *,
    key: str | None = None,
    at: datetime | None = None,
    method: str | None = None,
    methodology: str | None = None,
    note: str | None = None,
    session: Session | None = None,
    url: str | None = None,
) -> Posting:
    """Post ``points`` of ``kind`` (issuance, redemption, donation, expiry) for a resident
    account, in one transaction; a debit beyond the balance raises
    :class:`InsufficientCreditsError` and posts nothing."""
    if kind not in LEGS:
        raise InputError(f"unknown posting kind {kind!r}", field="kind", value=kind)
    with catalog._joined(session, url) as s:
        debit, credit = (account_id if leg is None else _system_id(s, leg) for leg in LEGS[kind])
        return _post(
            s,
            kind,
            debit,
            credit,
            points,
            key=key,
            at=at,
            method=method,
            methodology=methodology,
            note=note,
        )


def reverse(
    entry_id: int,
    *,
    note: str,
    key: str | None = None,
    session: Session | None = None,
    url: str | None = None,
) -> Posting:
    """Reverse an entry by a new ``reversal`` entry with its legs swapped (entries are never
    edited; an entry is reversed at most once, a reversal is not reversed)."""
    with catalog._joined(session, url) as s:
        row = s.execute(sa.select(_E).where(_E.c.id == entry_id)).one_or_none()
        if row is None or row.kind == "reversal":
            raise InputError("no reversible entry", field="entry_id", value=entry_id)
        return _post(
            s,
            "reversal",
            row.credit_account_id,
            row.debit_account_id,
            row.amount,
            key=key or f"reversal:{entry_id}",
            method=row.method,
            methodology=row.methodology,
            reverses_id=entry_id,
            note=note,
        )


def issue_batch(
    partner: str, rows: pd.DataFrame, *, session: Session | None = None, url: str | None = None
) -> pd.Series:
    """Issue the credits of a batch of a partner's events in one transaction.

    ``rows``: ``subject`` (the partner's pseudonymous id), ``event_id``, ``points`` (> 0),
    ``method``, ``methodology``, ``at``, ``period`` (YYYY-MM, local), ``region_code`` (the
    district of the activity or None). Accounts are opened as needed; an event already issued
    (idempotency key ``<partner>:<event_id>``) is not issued again. Returns, aligned with
    ``rows``, True where this call issued the event.
    """
    if rows.empty:
        return pd.Series(False, index=rows.index, dtype=bool)
    keys = partner + ":" + rows["event_id"].astype(str)
    with catalog._joined(session, url) as s:
        insert = catalog._insert(s.bind.dialect.name)
        now = utcnow()
        subjects = sorted(set(rows["subject"].astype(str)))
        s.execute(
            insert(_A)
            .values(
                [
                    {
                        "partner": partner,
                        "subject": x,
                        "kind": "resident",
                        "balance": 0,
                        "created_at": now,
                    }
                    for x in subjects
                ]
            )
            .on_conflict_do_nothing(index_elements=["partner", "subject"])
        )
        ids = dict(
            s.execute(
                sa.select(_A.c.subject, _A.c.id).where(
                    _A.c.partner == partner, _A.c.subject.in_(subjects)
                )
            ).all()
        )
        source = _system_id(s, "issuance")
        entries = pd.DataFrame(
            {
                "at": pd.to_datetime(rows["at"], utc=True),
                "kind": "issuance",
                "debit_account_id": source,
                "credit_account_id": rows["subject"].astype(str).map(ids).astype(int),
                "amount": rows["points"].astype("int64"),
                "method": rows["method"],
                "period": rows["period"],
                "region_code": rows["region_code"]
                .astype(object)
                .where(rows["region_code"].notna(), None),
                "methodology": rows["methodology"],
                "idempotency_key": keys,
            }
        )
        if (entries["amount"] <= 0).any():
            raise InputError("every issued event needs positive points", field="points")
        posted = s.execute(
            insert(_E)
            .values(entries.to_dict("records"))
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(_E.c.idempotency_key, _E.c.credit_account_id, _E.c.amount)
        ).all()
        new = pd.DataFrame(posted, columns=["key", "account", "amount"])
        if not new.empty:
            adds = new.groupby("account", as_index=False)["amount"].sum().sort_values("account")
            s.execute(
                _A.update()
                .where(_A.c.id == sa.bindparam("account_id"))
                .values(balance=_A.c.balance + sa.bindparam("add")),
                [{"account_id": int(a), "add": int(n)} for a, n in adds.itertuples(index=False)],
            )
    return keys.isin(set(new["key"]))


def issued_since(
    partner: str, subjects: list[str], since: datetime, *, url: str | None = None
) -> pd.DataFrame:
    """The standing (not reversed) issuances of ``partner``'s accounts ``subjects`` at or after
    ``since``: ``subject``, ``method``, ``at``, ``points`` (what earlier batches used of the
    caps)."""
    reversal = _E.alias("reversal")
    query = (
        sa.select(_A.c.subject, _E.c.method, _E.c.at, _E.c.amount.label("points"))
        .select_from(
            _E.join(_A, _A.c.id == _E.c.credit_account_id).outerjoin(
                reversal, reversal.c.reverses_id == _E.c.id
            )
        )
        .where(
            _E.c.kind == "issuance",
            _E.c.at >= since,
            _A.c.partner == partner,
            _A.c.subject.in_(subjects),
            reversal.c.id.is_(None),
        )
    )
    with catalog._joined(None, url, write=False) as s:
        rows = s.execute(query).all()
    frame = pd.DataFrame(rows, columns=["subject", "method", "at", "points"])
    return frame.assign(at=pd.to_datetime(frame["at"], utc=True))


def issuance_summary(*, url: str | None = None) -> pd.DataFrame:
    """Standing issuances (reversed ones left out) by ``period``, ``method`` and
    ``region_code``: ``points`` and ``events``. Aggregates only: no account appears."""
    reversal = _E.alias("reversal")
    query = (
        sa.select(
            _E.c.period,
            _E.c.method,
            _E.c.region_code,
            sa.func.sum(_E.c.amount).label("points"),
            sa.func.count().label("events"),
        )
        .select_from(_E.outerjoin(reversal, reversal.c.reverses_id == _E.c.id))
        .where(_E.c.kind == "issuance", reversal.c.id.is_(None))
        .group_by(_E.c.period, _E.c.method, _E.c.region_code)
    )
    with catalog._joined(None, url, write=False) as s:
        rows = s.execute(query).all()
    frame = pd.DataFrame(rows, columns=["period", "method", "region_code", "points", "events"])
    return frame.astype({"points": "int64", "events": "int64"})


def balance(account_id: int, *, url: str | None = None) -> int:
    """The stored balance of an account [points]."""
    with catalog._joined(None, url, write=False) as s:
        return s.execute(sa.select(_A.c.balance).where(_A.c.id == account_id)).scalar_one()


def reconciliation(*, as_of: datetime | None = None, url: str | None = None) -> dict[str, Any]:
    """The ledger's reconciliation at ``as_of`` (default: now), from the entries alone.

    ``issued`` (out of the issuance source, net of reversals) - ``redeemed`` - ``expired``
    equals ``outstanding`` (what resident and pool accounts hold, ``donated`` being the pool's
    part). Without ``as_of`` the stored balances are checked against the entries too:
    ``stored_outstanding`` and ``drifted_accounts`` (accounts whose stored balance differs).
    """
    legs = sa.union_all(
        sa.select(_E.c.credit_account_id.label("account"), _E.c.amount.label("amount")).where(
            _E.c.at <= (as_of or utcnow())
        ),
        sa.select(_E.c.debit_account_id, -_E.c.amount).where(_E.c.at <= (as_of or utcnow())),
    ).subquery()
    net = (
        sa.select(legs.c.account, sa.func.sum(legs.c.amount).label("net"))
        .group_by(legs.c.account)
        .subquery()
    )
    entries_net = sa.func.coalesce(net.c.net, 0)
    bucket = sa.case((_A.c.partner == SYSTEM_PARTNER, _A.c.subject), else_="resident")
    query = (
        sa.select(
            bucket.label("bucket"),
            sa.func.sum(entries_net).label("net"),
            sa.func.sum(_A.c.balance).label("stored"),
            sa.func.sum(sa.case((_A.c.balance != entries_net, 1), else_=0)).label("drifted"),
        )
        .select_from(_A.outerjoin(net, net.c.account == _A.c.id))
        .group_by(bucket)
    )
    with catalog._joined(None, url, write=False) as s:
        by = {r.bucket: r for r in s.execute(query).all()}
    held = [by[b] for b in ("resident", "donation_pool") if b in by]

    def net_of(bucket: str) -> int:
        return int(by[bucket].net) if bucket in by else 0

    out: dict[str, Any] = {
        "issued": -net_of("issuance"),
        "redeemed": net_of("redemption"),
        "expired": net_of("expiry"),
        "donated": net_of("donation_pool"),
        "outstanding": sum(int(r.net) for r in held),
    }
    out["balanced"] = out["issued"] - out["redeemed"] - out["expired"] == out["outstanding"]
    if as_of is None:
        out["stored_outstanding"] = sum(int(r.stored) for r in held)
        out["drifted_accounts"] = sum(int(r.drifted) for r in held)
    return out


# --------------------------------------------------------------------------- partner keys, nonces
_K = CreditPartnerKey.__table__
_N = CreditNonce.__table__


def add_partner_key(partner: str, *, url: str | None = None) -> tuple[str, str]:
    """A new HMAC key of ``partner``: ``(key_id, secret)``; the secret is shown once."""
    key_id, secret = "pk_" + secrets.token_hex(8), secrets.token_urlsafe(32)
    with catalog._joined(None, url) as s:
        s.execute(
            _K.insert().values(key_id=key_id, partner=partner, secret=secret, created_at=utcnow())
        )
    return key_id, secret


def revoke_partner_key(key_id: str, *, url: str | None = None) -> None:
    """Stop accepting a key (rotation: after the partner has switched to its new key)."""
    with catalog._joined(None, url) as s:
        s.execute(_K.update().where(_K.c.key_id == key_id).values(revoked_at=utcnow()))


def partner_secret(partner: str, key_id: str, *, url: str | None = None) -> str | None:
    """The secret of a live key of ``partner`` (None when unknown, another's or revoked)."""
    with catalog._joined(None, url, write=False) as s:
        return s.execute(
            sa.select(_K.c.secret).where(
                _K.c.key_id == key_id, _K.c.partner == partner, _K.c.revoked_at.is_(None)
            )
        ).scalar_one_or_none()


def use_nonce(partner: str, nonce: str, *, prune_before: datetime, url: str | None = None) -> bool:
    """Record a request's nonce; False when ``partner`` used it before (a replay). Nonces older
    than ``prune_before`` (outside the signature window, so refused by their timestamp) go."""
    with catalog._joined(None, url) as s:
        s.execute(_N.delete().where(_N.c.at < prune_before))
        done = s.execute(
            catalog._insert(s.bind.dialect.name)(_N)
            .values(partner=partner, nonce=nonce, at=utcnow())
            .on_conflict_do_nothing(index_elements=["partner", "nonce"])
        )
        return done.rowcount == 1
