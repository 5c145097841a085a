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
than the balance; a CHECK (balance >= 0) backs it. System accounts (made by the migrations) keep
no stored balance (their position is the sum of their entries), so no posting ever waits on a
shared hot row, and one posting locks at most two guarded rows, a resident's before the pool's
(no deadlock).

Idempotency: a posting with an ``idempotency_key`` already used is not posted again; the first
entry is returned (``INSERT ... ON CONFLICT DO NOTHING``, safe under concurrency).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.orm import Session

from citycarbon.config.home import stored_secret
from citycarbon.config.settings import get_settings
from citycarbon.errors import InputError
from citycarbon.store import catalog
from citycarbon.store.models import (
    CreditAccount,
    CreditConsent,
    CreditEntry,
    CreditEvent,
    CreditEventCount,
    CreditNonce,
    CreditPartnerKey,
    UTCDateTime,
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


#: A leg of a posting: (account, kind of account); the account is its id, or for a system
#: account its subject (they are made by the migrations).
Leg = tuple[int | str, str]


def _account_sql(leg: str) -> str:
    """SQL of the id of a posting's ``leg`` account: ``:<leg>``, else the system account
    ``:<leg>_system`` (one statement, no lookup first)."""
    system = (
        f"SELECT id FROM {_A.name} WHERE partner = '{SYSTEM_PARTNER}' AND subject = :{leg}_system"
    )
    return f"COALESCE(:{leg}, ({system}))"


def _leg_params(leg: str, placed: Leg) -> dict[str, Any]:
    """The parameters :func:`_account_sql` takes for ``leg``: the id, or the system subject."""
    account = placed[0]
    system = isinstance(account, str)
    return {leg: None if system else account, f"{leg}_system": account if system else None}


# The statements of a posting, built once (compiled once per process, from SQLAlchemy's cache).
# The entry's ``ON CONFLICT`` is written out: SQLAlchemy's dialect ``insert()`` with
# ``on_conflict_do_nothing()`` is never cached, and compiling it took a fifth of a posting's
# CPU. The same text runs on PostgreSQL and SQLite (>= 3.35).
_NEW_ENTRY = sa.text(
    f"INSERT INTO {_E.name} (at, kind, debit_account_id, credit_account_id, amount, method, "
    f"methodology, idempotency_key, reverses_id, note) VALUES (:at, :kind, {_account_sql('debit')}, "
    f"{_account_sql('credit')}, :amount, :method, :methodology, :key, :reverses_id, :note) "
    "ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, debit_account_id, credit_account_id"
).bindparams(sa.bindparam("at", type_=UTCDateTime()))
_ENTRY_OF_KEY = sa.select(_E.c.id).where(_E.c.idempotency_key == sa.bindparam("key"))
_SYSTEM_ACCOUNT = sa.select(_A.c.id).where(
    _A.c.partner == SYSTEM_PARTNER, _A.c.subject == sa.bindparam("subject")
)
_OF_ACCOUNT = (_A.c.id == sa.bindparam("account_id"), _A.c.kind == sa.bindparam("account_kind"))
_CREDIT = _A.update().where(*_OF_ACCOUNT).values(balance=_A.c.balance + sa.bindparam("points"))
_DEBIT = (
    _A.update()
    .where(*_OF_ACCOUNT, _A.c.balance >= sa.bindparam("points"))
    .values(balance=_A.c.balance - sa.bindparam("points"))
)


def _account_id(conn: sa.Connection, partner: str, subject: str, kind: str) -> int:
    insert = catalog._insert(conn.dialect.name)(_A)
    conn.execute(
        insert.values(
            partner=partner, subject=subject, kind=kind, balance=0, created_at=utcnow()
        ).on_conflict_do_nothing(index_elements=["partner", "subject"])
    )
    return conn.execute(
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
    with catalog.connection_scope(session, url) as conn:
        return _account_id(conn, partner, subject, "resident")


def _system_id(conn: sa.Connection, subject: str) -> int:
    """The id of the system account ``subject`` (made by the migrations)."""
    return conn.execute(_SYSTEM_ACCOUNT, {"subject": subject}).scalar_one()


def _refusal(conn: sa.Connection, leg: tuple[int, str], points: int) -> InputError:
    """Why a guarded balance move changed no row: no such account of that kind, or (a debit)
    fewer points than ``points`` on it."""
    account, kind = leg
    found = conn.execute(sa.select(_A.c.kind).where(_A.c.id == account)).scalar_one_or_none()
    if found != kind:
        return InputError(f"no {kind} credit account with this id", value=account)
    return InsufficientCreditsError(
        f"account {account} holds fewer than {points} points", field="amount", value=points
    )


def _move(
    conn: sa.Connection, debit: tuple[int, str], credit: tuple[int, str], points: int
) -> None:
    """Apply a posting to the stored balances of its guarded accounts, the resident's before the
    pool's (every posting locks them in this order); a debit that would go below 0 moves
    nothing and raises."""
    moves = ((debit, _DEBIT), (credit, _CREDIT))
    for leg, statement in sorted(moves, key=lambda m: m[0][1] != "resident"):
        account, kind = leg
        if kind == "system":
            continue
        done = conn.execute(
            statement, {"account_id": account, "account_kind": kind, "points": points}
        )
        if done.rowcount != 1:
            raise _refusal(conn, leg, points)


def _post(
    conn: sa.Connection,
    kind: str,
    debit: Leg,
    credit: Leg,
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
    points = int(amount)
    entry = conn.execute(
        _NEW_ENTRY,
        {
            **_leg_params("debit", debit),
            **_leg_params("credit", credit),
            "at": at or utcnow(),
            "kind": kind,
            "amount": points,
            "method": method,
            "methodology": methodology,
            "key": key,
            "reverses_id": reverses_id,
            "note": note,
        },
    ).one_or_none()
    if entry is None:
        return Posting(conn.execute(_ENTRY_OF_KEY, {"key": key}).scalar_one(), created=False)
    _move(conn, (entry.debit_account_id, debit[1]), (entry.credit_account_id, credit[1]), points)
    return Posting(entry.id, created=True)


def _legs(kind: str, account_id: int) -> tuple[Leg, Leg]:
    """The (debit, credit) legs of a posting of ``kind`` for the resident ``account_id``."""
    if kind not in LEGS:
        raise InputError(f"unknown posting kind {kind!r}", field="kind", value=kind)
    debit, credit = (
        (account_id, "resident") if leg is None else (leg, SYSTEM_ACCOUNTS[leg])
        for leg in LEGS[kind]
    )
    return debit, credit


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
    :class:`InsufficientCreditsError` and posts nothing.

    A redemption is three statements on one pooled connection: the entry (naming the system
    account by its subject), the conditional debit, the commit; no ORM session (its
    bookkeeping cost as much CPU as the statements)."""
    debit, credit = _legs(kind, account_id)
    with catalog.connection_scope(session, url) as conn:
        return _post(
            conn,
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
    with catalog.connection_scope(session, url) as conn:
        row = conn.execute(sa.select(_E).where(_E.c.id == entry_id)).one_or_none()
        if row is None or row.kind == "reversal":
            raise InputError("no reversible entry", field="entry_id", value=entry_id)
        accounts = (row.credit_account_id, row.debit_account_id)
        kinds = dict(conn.execute(sa.select(_A.c.id, _A.c.kind).where(_A.c.id.in_(accounts))).all())
        debit, credit = ((account, kinds[account]) for account in accounts)
        return _post(
            conn,
            "reversal",
            debit,
            credit,
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
        # executemany (SQLAlchemy's insertmanyvalues batches), not one multi-row VALUES: a
        # statement of thousands of rows costs more to compile than to run
        s.execute(
            insert(_A).on_conflict_do_nothing(index_elements=["partner", "subject"]),
            [
                {
                    "partner": partner,
                    "subject": x,
                    "kind": "resident",
                    "balance": 0,
                    "created_at": now,
                }
                for x in subjects
            ],
        )
        ids = dict(
            s.execute(
                sa.select(_A.c.subject, _A.c.id).where(
                    _A.c.partner == partner, _A.c.subject.in_(subjects)
                )
            ).all()
        )
        source = _system_id(s.connection(), "issuance")
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
            .on_conflict_do_nothing(index_elements=["idempotency_key"])
            .returning(_E.c.idempotency_key, _E.c.credit_account_id, _E.c.amount),
            entries.to_dict("records"),
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


def _fernet_key() -> str:
    """The key of partner secrets: ``CITYCARBON_PARTNER_SECRETS_KEY``, else a key kept in
    ``$CITYCARBON_HOME/partner_secrets_key`` (made on first use)."""
    settings = get_settings()
    return settings.partner_secrets_key or _stored_key(settings.home)


@lru_cache(maxsize=16)
def _stored_key(home: Path) -> str:
    """The key kept in ``home`` (read once per home: once made, it is never replaced)."""
    return stored_secret(home, "partner_secrets_key", lambda: Fernet.generate_key().decode())


@lru_cache(maxsize=16)
def _fernet(key: str) -> Fernet:
    """The cipher of partner secrets under ``key`` (made once per key)."""
    try:
        return Fernet(key.encode())
    except ValueError:
        raise InputError(
            "is not a Fernet key (32 url-safe base64-encoded bytes)",
            source="environment variable CITYCARBON_PARTNER_SECRETS_KEY",
        ) from None


def encrypt_secret(secret: str) -> str:
    """The Fernet token of a partner secret (what the catalog stores)."""
    return _fernet(_fernet_key()).encrypt(secret.encode()).decode()


def decrypt_secret(token: str) -> str:
    """A partner secret from its stored token (an InputError when the key cannot open it)."""
    return _opened(_fernet_key(), token)


@lru_cache(maxsize=256)
def _opened(key: str, token: str) -> str:
    """The secret in ``token`` under ``key``: opened once per key and token (every signed
    request of a partner looks its key up; the token of a key never changes)."""
    try:
        return _fernet(key).decrypt(token.encode()).decode()
    except InvalidToken:
        raise InputError(
            "a stored partner secret does not open with the configured key",
            source="environment variable CITYCARBON_PARTNER_SECRETS_KEY",
        ) from None


def _new_key(session: Session, partner: str) -> tuple[str, str]:
    key_id, secret = "pk_" + secrets.token_hex(8), secrets.token_urlsafe(32)
    session.execute(
        _K.insert().values(
            key_id=key_id, partner=partner, secret=encrypt_secret(secret), created_at=utcnow()
        )
    )
    return key_id, secret


def add_partner_key(partner: str, *, url: str | None = None) -> tuple[str, str]:
    """A new HMAC key of ``partner``: ``(key_id, secret)``; the secret is shown once and
    stored encrypted."""
    with catalog._joined(None, url) as s:
        return _new_key(s, partner)


def rotate_partner_key(partner: str, *, url: str | None = None) -> tuple[str, str]:
    """A new key of ``partner``; its newest live key stays live beside it (the partner switches
    meanwhile), older live keys are revoked: two live keys at most."""
    with catalog._joined(None, url) as s:
        live = s.execute(
            sa.select(_K.c.key_id)
            .where(_K.c.partner == partner, _K.c.revoked_at.is_(None))
            .order_by(_K.c.created_at.desc(), _K.c.key_id)
        ).scalars()
        older = list(live)[1:]
        if older:
            s.execute(_K.update().where(_K.c.key_id.in_(older)).values(revoked_at=utcnow()))
        return _new_key(s, partner)


def revoke_partner_key(key_id: str, *, url: str | None = None) -> None:
    """Stop accepting a key (rotation: after the partner has switched to its new key)."""
    with catalog._joined(None, url) as s:
        s.execute(_K.update().where(_K.c.key_id == key_id).values(revoked_at=utcnow()))


def partner_secret(
    partner: str, key_id: str, *, session: Session | None = None, url: str | None = None
) -> str | None:
    """The secret of a live key of ``partner`` (None when unknown, another's or revoked)."""
    with catalog._joined(session, url, write=False) as s:
        token = s.execute(_LIVE_SECRET, {"key_id": key_id, "partner": partner}).scalar_one_or_none()
    return None if token is None else decrypt_secret(token)


_LIVE_SECRET = sa.select(_K.c.secret).where(
    _K.c.key_id == sa.bindparam("key_id"),
    _K.c.partner == sa.bindparam("partner"),
    _K.c.revoked_at.is_(None),
)


def use_nonce(
    partner: str,
    nonce: str,
    *,
    prune_before: datetime,
    session: Session | None = None,
    url: str | None = None,
) -> bool:
    """Record a request's nonce; False when ``partner`` used it before (a replay). Nonces older
    than ``prune_before`` (outside the signature window, so refused by their timestamp) go;
    on PostgreSQL those another request is deleting are skipped (``SKIP LOCKED``), so a request
    whose transaction goes on (a debit) never makes the others wait."""
    with catalog._joined(session, url) as s:
        old = sa.select(_N.c.partner, _N.c.nonce).where(_N.c.at < prune_before)
        if s.bind.dialect.name == "postgresql":
            old = old.with_for_update(skip_locked=True)
        s.execute(_N.delete().where(sa.tuple_(_N.c.partner, _N.c.nonce).in_(old)))
        # RETURNING, not rowcount: psycopg reports -1 rows for an INSERT ... ON CONFLICT
        done = s.execute(
            catalog._insert(s.bind.dialect.name)(_N)
            .values(partner=partner, nonce=nonce, at=utcnow())
            .on_conflict_do_nothing(index_elements=["partner", "nonce"])
            .returning(_N.c.nonce)
        )
        return done.first() is not None


# --------------------------------------------------------------------------- residents (PIPL)
_C = CreditConsent.__table__
_V = CreditEvent.__table__
_VC = CreditEventCount.__table__
#: Columns of :data:`_V` a partner's event table fills (the rest are the outcome and receipt).
EVENT_LOG_COLUMNS = (
    "event_id",
    "subject",
    "resident",
    "method",
    "at",
    "ended_at",
    "quantity",
    "district_code",
    "status",
    "reason",
)
#: Opt-in fields a consent may carry, with their longest length.
CONTACT_FIELDS = {"contact_name": 100, "contact_phone": 32}


def record_consent(
    partner: str,
    subject: str,
    *,
    resident: str | None = None,
    contact: dict[str, str] | None = None,
    url: str | None = None,
) -> None:
    """Record (or renew) the consent of ``partner``'s resident ``subject``: a withdrawn consent
    becomes valid again; ``resident`` (city-wide pseudonymous id) and opt-in ``contact`` fields
    replace what was stored."""
    values = {
        "resident": resident or None,
        **{f: (contact or {}).get(f) or None for f in CONTACT_FIELDS},
        "granted_at": utcnow(),
        "withdrawn_at": None,
    }
    with catalog._joined(None, url) as s:
        insert = catalog._insert(s.bind.dialect.name)(_C).values(
            partner=partner, subject=subject, **values
        )
        s.execute(insert.on_conflict_do_update(index_elements=["partner", "subject"], set_=values))


def withdraw_consent(partner: str, subject: str, *, url: str | None = None) -> bool:
    """Withdraw a resident's consent to ``partner`` (new events of the account are refused);
    False when no valid consent was recorded."""
    with catalog._joined(None, url) as s:
        done = s.execute(
            _C.update()
            .where(_C.c.partner == partner, _C.c.subject == subject, _C.c.withdrawn_at.is_(None))
            .values(withdrawn_at=utcnow())
        )
        return done.rowcount == 1


def consents_of(partner: str, subjects: list[str], *, url: str | None = None) -> pd.DataFrame:
    """``subject``, ``resident``, ``withdrawn`` (bool) of the recorded consents of ``partner``'s
    accounts ``subjects``."""
    with catalog._joined(None, url, write=False) as s:
        rows = s.execute(
            sa.select(_C.c.subject, _C.c.resident, _C.c.withdrawn_at.is_not(None)).where(
                _C.c.partner == partner, _C.c.subject.in_(subjects)
            )
        ).all()
    return pd.DataFrame(rows, columns=["subject", "resident", "withdrawn"])


class UnknownAccountError(InputError):
    """No resident account of this partner with this subject; nothing was posted."""


class NoConsentError(InputError):
    """The resident's consent to the partner was never recorded or is withdrawn; nothing was
    posted."""


class KeyReusedError(InputError):
    """An idempotency key already used by a different posting; nothing was posted."""


@dataclass(frozen=True)
class Debit:
    """A resident debit (redemption, donation): its entry, whether this call posted it, and the
    account's balance [points] after it."""

    entry_id: int
    created: bool
    balance: int


#: A partner's resident account and whether the resident's consent to the partner is valid
#: (recorded, not withdrawn), in one statement.
_RESIDENT_OF_PARTNER = (
    sa.select(
        _A.c.id, sa.and_(_C.c.id.is_not(None), _C.c.withdrawn_at.is_(None)).label("consented")
    )
    .select_from(
        _A.outerjoin(_C, sa.and_(_C.c.partner == _A.c.partner, _C.c.subject == _A.c.subject))
    )
    .where(
        _A.c.partner == sa.bindparam("partner"),
        _A.c.subject == sa.bindparam("subject"),
        _A.c.kind == "resident",
    )
)
_BALANCE = sa.select(_A.c.balance).where(_A.c.id == sa.bindparam("account_id"))
_ENTRY = sa.select(_E.c.kind, _E.c.debit_account_id, _E.c.amount).where(
    _E.c.id == sa.bindparam("entry_id")
)


#: A signed debit on PostgreSQL in one statement (data-modifying CTEs; all parts see one
#: snapshot): prune old nonces (rows another request is deleting skipped), record the nonce,
#: count the partner's quota (:func:`quota_used`), find the account with its consent and the
#: entry already under the key; then, only when the nonce is new, the quota fits, the consent is
#: valid and the key unused, the conditional debit (its row lock makes concurrent debits of the
#: account queue and re-check the balance on the committed row), the entry from the debited row
#: (none without the debit), and the pool's credit (a donation) from the entry: run after the
#: main query (nothing reads it), so the rows are locked resident first, pool second, as
#: :func:`_move` does. A concurrent request under the
#: same key makes the entry conflict after the debit: ``debited`` without ``entry_id`` (roll
#: back). See PostgreSQL, "Data-Modifying Statements in WITH" (docs, queries.html#QUERIES-WITH).
_SIGNED_DEBIT_PG = sa.text(
    f"""
WITH pruned AS (
  DELETE FROM {_N.name} WHERE (partner, nonce) IN (
    SELECT partner, nonce FROM {_N.name} WHERE at < :prune_before FOR UPDATE SKIP LOCKED)
), fresh AS (
  INSERT INTO {_N.name} (partner, nonce, at) VALUES (:partner, :nonce, :now)
  ON CONFLICT (partner, nonce) DO NOTHING RETURNING nonce
), used AS (
  SELECT count(*) AS day, count(*) FILTER (WHERE u.at >= :minute_start) AS minute FROM (
    SELECT received_at AS at FROM {_V.name}
    WHERE partner = :partner AND received_at >= :day_start
    UNION ALL
    SELECT e.at FROM {_E.name} e JOIN {_A.name} a ON a.id = e.debit_account_id
    WHERE a.partner = :partner AND e.kind IN ('redemption', 'donation') AND e.at >= :day_start
  ) AS u
), resident AS (
  SELECT a.id, a.balance, c.id IS NOT NULL AND c.withdrawn_at IS NULL AS consented
  FROM {_A.name} a LEFT JOIN {_C.name} c ON c.partner = a.partner AND c.subject = a.subject
  WHERE a.partner = :partner AND a.subject = :subject AND a.kind = 'resident'
), first AS (
  SELECT id, kind, debit_account_id, amount FROM {_E.name} WHERE idempotency_key = :key
), debited AS (
  UPDATE {_A.name} SET balance = balance - :points
  WHERE id = (SELECT id FROM resident WHERE consented) AND balance >= :points
    AND EXISTS (SELECT FROM fresh) AND NOT EXISTS (SELECT FROM first)
    AND (SELECT day + 1 <= :per_day AND minute + 1 <= :per_minute FROM used)
  RETURNING id, balance
), entry AS (
  INSERT INTO {_E.name} (at, kind, debit_account_id, credit_account_id, amount,
                         idempotency_key, note)
  SELECT :now, :kind, d.id, t.id, :points, :key, :note FROM debited d
  JOIN {_A.name} t ON t.partner = '{SYSTEM_PARTNER}' AND t.subject = :credit_subject
  ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, credit_account_id
), pooled AS (
  UPDATE {_A.name} SET balance = balance + :points
  WHERE id = (SELECT credit_account_id FROM entry) AND kind = 'pool' RETURNING id
)
SELECT EXISTS (SELECT FROM fresh) AS fresh, used.day, used.minute,
  r.id, r.consented, f.id AS first_id, f.kind, f.debit_account_id, f.amount,
  (SELECT id FROM entry) AS entry_id, EXISTS (SELECT FROM debited) AS debited,
  COALESCE((SELECT balance FROM debited), r.balance) AS balance
FROM used LEFT JOIN resident r ON true LEFT JOIN first f ON true
"""
).bindparams(
    *(
        sa.bindparam(n, type_=UTCDateTime())
        for n in ("now", "prune_before", "day_start", "minute_start")
    )
)


def _signed_debit_pg(
    conn: sa.Connection,
    kind: str,
    partner: str,
    subject: str,
    points: int,
    key: str,
    note: str | None,
    nonce: str,
    prune_before: datetime,
    quota: QuotaWindow,
) -> SignedDebit:
    """:func:`signed_debit` on PostgreSQL: :data:`_SIGNED_DEBIT_PG`, read."""
    row = conn.execute(
        _SIGNED_DEBIT_PG,
        {
            "partner": partner,
            "nonce": nonce,
            "now": utcnow(),
            "prune_before": prune_before,
            "day_start": quota.day_start,
            "minute_start": quota.minute_start,
            "per_day": quota.events_per_day,
            "per_minute": quota.events_per_minute,
            "subject": subject,
            "key": key,
            "kind": kind,
            "points": points,
            "note": note,
            "credit_subject": LEGS[kind][1],
        },
    ).one()
    if not row.fresh:
        return SignedDebit(replayed=True)
    used = int(row.day), int(row.minute)
    if not quota.fits(*used):
        return SignedDebit(False, *used, over_quota=True)
    try:
        _check_resident(row, partner, subject)
        if row.first_id is not None:
            _check_same_debit(row, kind, row.id, points, key)
            return SignedDebit(False, *used, debit=Debit(row.first_id, False, int(row.balance)))
        if row.debited and row.entry_id is None:
            raise DebitRacedError(f"a concurrent request posted under the key {key!r}")
        if not row.debited:
            raise InsufficientCreditsError(
                f"account {row.id} holds fewer than {points} points", field="amount", value=points
            )
    except DEBIT_REFUSALS as err:
        return SignedDebit(False, *used, refusal=err)
    return SignedDebit(False, *used, debit=Debit(row.entry_id, True, int(row.balance)))


def debit_resident(
    kind: str,
    partner: str,
    subject: str,
    points: int,
    *,
    key: str,
    note: str | None = None,
    session: Session | None = None,
    url: str | None = None,
) -> Debit:
    """Debit ``points`` of ``kind`` (redemption, donation) from ``partner``'s resident
    ``subject`` in one transaction: the account and its consent (one statement), the posting
    (:func:`post`'s entry and conditional debit), the balance after.

    Raises :class:`UnknownAccountError`, :class:`NoConsentError`,
    :class:`InsufficientCreditsError`, or :class:`KeyReusedError` when ``key`` names an entry
    that is not this debit (another kind, account or amount); each posts nothing. A ``key``
    used before by this same debit answers its first entry (``created`` False)."""
    _check_debit_kind(kind)
    with catalog.connection_scope(session, url) as conn:
        found = conn.execute(
            _RESIDENT_OF_PARTNER, {"partner": partner, "subject": subject}
        ).one_or_none()
        _check_resident(found, partner, subject)
        debit, credit = _legs(kind, found.id)
        posting = _post(conn, kind, debit, credit, points, key=key, note=note)
        if not posting.created:
            first = conn.execute(_ENTRY, {"entry_id": posting.entry_id}).one()
            _check_same_debit(first, kind, found.id, points, key)
        balance = conn.execute(_BALANCE, {"account_id": found.id}).scalar_one()
    return Debit(posting.entry_id, posting.created, int(balance))


def _check_debit_kind(kind: str) -> None:
    if kind not in ("redemption", "donation"):
        raise InputError(f"{kind!r} is not a resident debit", field="kind", value=kind)


def _check_resident(found: Any, partner: str, subject: str) -> None:
    """Refuse a debit of ``partner``'s ``subject`` when ``found`` (its account id and whether
    its consent is valid, or None) names no account or no valid consent."""
    if found is None or found.id is None:
        raise UnknownAccountError(f"partner {partner!r} has no resident account {subject!r}")
    if not found.consented:
        raise NoConsentError(f"the resident {subject!r} has no valid consent to {partner!r}")


def _check_same_debit(first: Any, kind: str, account: int, points: int, key: str) -> None:
    """Refuse ``key`` when the ``first`` entry under it (kind, debit account, amount) is not
    this debit."""
    if (first.kind, first.debit_account_id, first.amount) != (kind, account, points):
        raise KeyReusedError(f"the key {key!r} was used by another posting", field="key", value=key)


@dataclass(frozen=True)
class QuotaWindow:
    """A partner's quota as a signed debit checks it: what it used since ``day_start`` and since
    ``minute_start`` (later), plus this debit, may not pass ``events_per_day`` and
    ``events_per_minute``."""

    day_start: datetime
    minute_start: datetime
    events_per_day: int
    events_per_minute: int

    def fits(self, used_day: int, used_minute: int) -> bool:
        """Whether one more event fits after ``used_day`` and ``used_minute``."""
        return used_day + 1 <= self.events_per_day and used_minute + 1 <= self.events_per_minute


@dataclass(frozen=True)
class SignedDebit:
    """What a signed debit found and did: ``replayed`` (its nonce was used before; nothing else
    happened), the quota the partner had used before it, ``over_quota`` (nothing posted), else
    the ``debit`` or the ledger's ``refusal`` (nothing posted)."""

    replayed: bool
    used_day: int = 0
    used_minute: int = 0
    over_quota: bool = False
    debit: Debit | None = None
    refusal: InputError | None = None


class DebitRacedError(InputError):
    """Another request posted under the same key while this one debited: this transaction must
    roll back, and the request, sent again, answers the first entry."""


#: The refusals of a resident debit by the ledger.
DEBIT_REFUSALS = (UnknownAccountError, NoConsentError, InsufficientCreditsError, KeyReusedError)


def signed_debit(
    kind: str,
    partner: str,
    subject: str,
    points: int,
    *,
    key: str,
    note: str | None,
    nonce: str,
    prune_before: datetime,
    quota: QuotaWindow,
    session: Session,
) -> SignedDebit:
    """A partner's signed debit (its signature checked by the caller) in the caller's
    transaction: record the nonce (a replay stops here), count the partner's quota, then
    :func:`debit_resident`. A refused debit posts nothing and keeps the nonce.

    On PostgreSQL this is one statement (:data:`_SIGNED_DEBIT_PG`); on SQLite the steps, each
    its own statement, with the posting in a savepoint. Raises :class:`DebitRacedError` when a
    concurrent request posted under ``key`` first (roll back and send again)."""
    _check_debit_kind(kind)
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        return _signed_debit_pg(
            conn, kind, partner, subject, points, key, note, nonce, prune_before, quota
        )
    if not use_nonce(partner, nonce, prune_before=prune_before, session=session):
        return SignedDebit(replayed=True)
    used = quota_used(partner, quota.day_start, quota.minute_start, session=session)
    if not quota.fits(*used):
        return SignedDebit(False, *used, over_quota=True)
    try:
        with session.begin_nested():
            debit = debit_resident(
                kind, partner, subject, points, key=key, note=note, session=session
            )
    except DEBIT_REFUSALS as err:
        return SignedDebit(False, *used, refusal=err)
    return SignedDebit(False, *used, debit=debit)


def claims_by_others(
    partner: str, residents: list[str], since: datetime, *, url: str | None = None
) -> pd.DataFrame:
    """``resident``, ``method``, ``at``, ``ended_at`` of the credited or held events of other
    partners for ``residents`` that end at or after ``since``."""
    end = sa.func.coalesce(_V.c.ended_at, _V.c.at)
    with catalog._joined(None, url, write=False) as s:
        rows = s.execute(
            sa.select(_V.c.resident, _V.c.method, _V.c.at, _V.c.ended_at).where(
                _V.c.partner != partner,
                _V.c.resident.in_(residents),
                _V.c.status.in_(["credited", "held"]),
                end >= since,
            )
        ).all()
    frame = pd.DataFrame(rows, columns=["resident", "method", "at", "ended_at"])
    return frame.assign(
        at=pd.to_datetime(frame["at"], utc=True),
        ended_at=pd.to_datetime(frame["ended_at"], utc=True),
    )


def log_events(partner: str, events: pd.DataFrame, *, url: str | None = None) -> None:
    """Keep a partner's events as received, with their outcome (:data:`EVENT_LOG_COLUMNS`)."""
    if events.empty:
        return
    frame = events.reindex(columns=list(EVENT_LOG_COLUMNS))
    for col, width in (("event_id", 128), ("subject", 128), ("method", 64), ("reason", 100)):
        text = frame[col].astype(str).str.slice(0, width)
        frame[col] = text.where(frame[col].notna(), None)
    frame["district_code"] = (
        frame["district_code"]
        .astype(str)
        .str.slice(0, 12)
        .where(frame["district_code"].notna(), None)
    )
    frame["reason"] = frame["reason"].fillna("")
    frame["quantity"] = pd.to_numeric(frame["quantity"], errors="coerce")
    for col in ("at", "ended_at"):
        frame[col] = pd.to_datetime(frame[col], utc=True, errors="coerce")
    records = frame.astype(object).where(frame.notna(), None).to_dict("records")
    now = utcnow()
    with catalog._joined(None, url) as s:
        s.execute(_V.insert(), [{**r, "partner": partner, "received_at": now} for r in records])


def quota_used(
    partner: str,
    day_start: datetime,
    minute_start: datetime,
    *,
    session: Session | None = None,
    url: str | None = None,
) -> tuple[int, int]:
    """What ``partner`` used of its quota since ``day_start`` and since ``minute_start``
    (later): the events it sent (any status) and the debits (redemptions, donations) of its
    accounts posted, in one statement."""
    debits = (
        sa.select(_E.c.at.label("at"))
        .select_from(_E.join(_A, _A.c.id == _E.c.debit_account_id))
        .where(
            _A.c.partner == partner, _E.c.kind.in_(("redemption", "donation")), _E.c.at >= day_start
        )
    )
    events = sa.select(_V.c.received_at.label("at")).where(
        _V.c.partner == partner, _V.c.received_at >= day_start
    )
    used = sa.union_all(events, debits).subquery()
    with catalog._joined(session, url, write=False) as s:
        day, minute = s.execute(
            sa.select(sa.func.count(), sa.func.count().filter(used.c.at >= minute_start))
        ).one()
    return int(day), int(minute)


def held_events(*, url: str | None = None) -> pd.DataFrame:
    """The review queue: ``id`` (the logged event's row), ``partner``, ``event_id``,
    ``method``, ``at``, ``reason``, ``received_at`` of held events (no resident id)."""
    cols = ["id", "partner", "event_id", "method", "at", "reason", "received_at"]
    with catalog._joined(None, url, write=False) as s:
        rows = s.execute(
            sa.select(*(_V.c[c] for c in cols)).where(_V.c.status == "held").order_by(_V.c.id)
        ).all()
    return pd.DataFrame(rows, columns=cols)


def held_event(row_id: int, *, url: str | None = None) -> dict[str, Any] | None:
    """The logged event ``row_id`` with every column of :data:`EVENT_LOG_COLUMNS` and
    ``partner``, when it is held (None otherwise)."""
    with catalog._joined(None, url, write=False) as s:
        row = s.execute(
            sa.select(_V.c.partner, *(_V.c[c] for c in EVENT_LOG_COLUMNS)).where(
                _V.c.id == row_id, _V.c.status == "held"
            )
        ).one_or_none()
    return None if row is None else row._asdict()


#: What a review makes of a held event.
REVIEW_OUTCOMES = ("credited", "refused")


def settle_held(
    row_id: int, status: str, reason: str, *, actor: str, session: Session
) -> dict[str, Any]:
    """Move the held event ``row_id`` to ``status`` (credited | refused) with ``reason``, in
    the caller's transaction, with an audit entry (who, the hold reason before, the outcome
    after). Only a held event moves (one conditional UPDATE: two reviewers racing settle it
    once); otherwise an InputError and nothing changes."""
    if status not in REVIEW_OUTCOMES:
        raise InputError("a review credits or refuses", field="status", value=status)
    before = session.execute(
        sa.select(_V.c.partner, _V.c.event_id, _V.c.method, _V.c.status, _V.c.reason).where(
            _V.c.id == row_id
        )
    ).one_or_none()
    done = session.execute(
        _V.update()
        .where(_V.c.id == row_id, _V.c.status == "held")
        .values(status=status, reason=reason[:100])
    ).rowcount
    if before is None or done != 1:
        raise InputError("no held event with this id", field="event", value=row_id)
    after = {**before._asdict(), "status": status, "reason": reason[:100]}
    catalog.record_audit(session, actor, "review", "credit_event", row_id, before._asdict(), after)
    return after


def _iso(value: Any) -> str | None:
    return None if value is None else pd.Timestamp(value).tz_localize(None).isoformat() + "Z"


def export_account(partner: str, subject: str, *, url: str | None = None) -> dict[str, Any] | None:
    """Everything kept about ``partner``'s resident ``subject`` (PIPL art. 45): the account,
    its ledger entries, its consent and its raw events, as JSON-ready values; None when
    nothing is kept."""
    with catalog._joined(None, url, write=False) as s:
        account = s.execute(
            sa.select(_A.c.id, _A.c.balance, _A.c.created_at).where(
                _A.c.partner == partner, _A.c.subject == subject, _A.c.kind == "resident"
            )
        ).one_or_none()
        consent = s.execute(
            sa.select(_C).where(_C.c.partner == partner, _C.c.subject == subject)
        ).one_or_none()
        entries = []
        if account is not None:
            entries = s.execute(
                sa.select(
                    _E.c.id,
                    _E.c.at,
                    _E.c.kind,
                    _E.c.amount,
                    _E.c.method,
                    _E.c.period,
                    _E.c.methodology,
                    _E.c.reverses_id,
                    sa.case((_E.c.credit_account_id == account.id, 1), else_=-1).label("sign"),
                )
                .where(
                    sa.or_(
                        _E.c.credit_account_id == account.id, _E.c.debit_account_id == account.id
                    )
                )
                .order_by(_E.c.id)
            ).all()
        events = s.execute(
            sa.select(
                *(
                    _V.c[c]
                    for c in (
                        "event_id",
                        "method",
                        "at",
                        "ended_at",
                        "quantity",
                        "district_code",
                        "status",
                        "reason",
                        "received_at",
                    )
                )
            )
            .where(_V.c.partner == partner, _V.c.subject == subject)
            .order_by(_V.c.id)
        ).all()
    if account is None and consent is None and not events:
        return None
    return {
        "partner": partner,
        "account": subject,
        "balance_points": None if account is None else int(account.balance),
        "opened_at": None if account is None else _iso(account.created_at),
        "consent": None
        if consent is None
        else {
            "resident": consent.resident,
            **{f: getattr(consent, f) for f in CONTACT_FIELDS},
            "granted_at": _iso(consent.granted_at),
            "withdrawn_at": _iso(consent.withdrawn_at),
        },
        "entries": [
            {
                "id": e.id,
                "at": _iso(e.at),
                "kind": e.kind,
                "points": int(e.sign * e.amount),
                "method": e.method,
                "period": e.period,
                "methodology": e.methodology,
                "reverses_id": e.reverses_id,
            }
            for e in entries
        ],
        "events": [
            {
                **e._asdict(),
                "at": _iso(e.at),
                "ended_at": _iso(e.ended_at),
                "received_at": _iso(e.received_at),
            }
            for e in events
        ],
    }


def erase_account(partner: str, subject: str, *, url: str | None = None) -> bool:
    """Erase ``partner``'s resident ``subject`` (PIPL art. 47): the consent with its resident
    mapping and opt-in contact fields and the raw events are deleted; the ledger account is
    anonymised in place (its subject becomes a random ``erased-`` id), so its entries stay as
    they are and balanced — no ledger row is edited or deleted. False when nothing was kept."""
    with catalog._joined(None, url) as s:
        found = s.execute(
            _A.update()
            .where(_A.c.partner == partner, _A.c.subject == subject, _A.c.kind == "resident")
            .values(subject="erased-" + secrets.token_hex(12))
        ).rowcount
        found += s.execute(
            _C.delete().where(_C.c.partner == partner, _C.c.subject == subject)
        ).rowcount
        found += s.execute(
            _V.delete().where(_V.c.partner == partner, _V.c.subject == subject)
        ).rowcount
    return found > 0


def purge_events(before: datetime, *, url: str | None = None) -> int:
    """Aggregate the raw events received before ``before`` into monthly counts (by partner,
    method and status) and delete them; how many went."""
    old = _V.c.received_at < before
    with catalog._joined(None, url) as s:
        rows = s.execute(
            sa.select(_V.c.received_at, _V.c.partner, _V.c.method, _V.c.status).where(old)
        ).all()
        if not rows:
            return 0
        f = pd.DataFrame(rows, columns=["received_at", "partner", "method", "status"])
        f["period"] = pd.to_datetime(f["received_at"], utc=True).dt.strftime("%Y-%m")
        f["method"] = f["method"].fillna("")
        counts = f.groupby(["period", "partner", "method", "status"], as_index=False).size()
        insert = catalog._insert(s.bind.dialect.name)(_VC).values(
            counts.rename(columns={"size": "events"}).to_dict("records")
        )
        s.execute(
            insert.on_conflict_do_update(
                index_elements=["period", "partner", "method", "status"],
                set_={"events": _VC.c.events + insert.excluded.events},
            )
        )
        s.execute(_V.delete().where(old))
    return len(f)
