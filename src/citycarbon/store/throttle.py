"""Sign-in throttling: attempt counters in the catalog with exponential back-off.

Each key (an address, or a user name at an address) has one row in ``login_throttle``: its
attempts in the current streak, the time of the last one and ``not_before``, the earliest time
the next attempt is looked at. :func:`reserve` counts an attempt *before* the password is
checked, in one ``INSERT ... ON CONFLICT DO UPDATE ... WHERE not_before <= now RETURNING``
statement (SQLite >= 3.35 and PostgreSQL): the row is locked while it is read and written, so
concurrent attempts are counted one by one and at most ``free`` of them get through before the
first wait. After the ``free``-th attempt of a streak each attempt waits ``base``, doubling, up
to ``cap``; a streak is forgotten after ``forget`` without attempts. Waiting, not locking:
another key (another address) is never slowed.

References
----------
OWASP Authentication Cheat Sheet, "Login Throttling"; OWASP Blocking Brute Force Attacks
(exponential delays rather than account lock-out, which lets anyone lock a user out).
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from citycarbon.store import catalog
from citycarbon.store.models import LoginThrottle, UTCDateTime, utcnow

_T = LoginThrottle.__table__


@dataclass(frozen=True)
class Policy:
    """How many attempts of a streak pass at once (``free``) and how the waits grow."""

    free: int
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(minutes=15)
    forget: timedelta = timedelta(hours=1)

    def __post_init__(self) -> None:
        if not (self.free >= 1 and timedelta(0) < self.base <= self.cap < self.forget):
            raise ValueError(f"inconsistent throttling policy {self}")

    def wait_after(self, n: int) -> timedelta:
        """The wait after the n-th attempt of a streak: none before the ``free``-th, then
        ``base`` doubling up to ``cap``."""
        if n < self.free:
            return timedelta(0)
        return min(self.base * 2 ** min(n - self.free, 64), self.cap)

    def steps(self) -> range:
        """The attempt numbers whose wait is neither none nor ``cap``."""
        last = self.free
        while self.wait_after(last) < self.cap:
            last += 1
        return range(self.free, last)


def address_bucket(address: str) -> str:
    """What counts as one address: an IPv4 address itself (also when written IPv4-mapped), an
    IPv6 address its /64 network (an end site is normally given a /64 or more, RFC 6177, so
    anyone can rotate through its addresses); anything else (no address) as it is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if ip.version == 6 and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(getattr(ip, "ipv4_mapped", None) or ip)


def _at(value: datetime) -> sa.BindParameter[datetime]:
    return sa.literal(value, UTCDateTime())


def _until(policy: Policy, n: int, now: datetime) -> datetime | None:
    """When the attempt after the n-th may come: None for at once."""
    return now + policy.wait_after(n) if n >= policy.free else None


def _count(s: Session, key: str, policy: Policy, now: datetime) -> bool:
    """Count one attempt of ``key`` unless it must wait (one atomic upsert). "At once" is
    NULL, not a time: a concurrent attempt stamped a moment earlier is not refused by it."""
    attempt = sa.case((_T.c.last_at >= _at(now - policy.forget), _T.c.attempts + 1), else_=1)
    not_before = sa.case(
        (attempt < policy.free, sa.null()),
        *((attempt == n, _at(_until(policy, n, now))) for n in policy.steps()),
        else_=_at(now + policy.cap),
    )
    insert = catalog._insert(s.bind.dialect.name)(_T).values(
        key=key, attempts=1, last_at=now, not_before=_until(policy, 1, now)
    )
    upsert = insert.on_conflict_do_update(
        index_elements=[_T.c.key],
        set_={"attempts": attempt, "last_at": _at(now), "not_before": not_before},
        where=sa.or_(_T.c.not_before.is_(None), _T.c.not_before <= _at(now)),
    )
    return s.execute(upsert.returning(_T.c.attempts)).first() is not None


def reserve(
    attempts: Sequence[tuple[str, Policy]], *, now: datetime | None = None, url: str | None = None
) -> float | None:
    """Count an attempt for each ``(key, policy)`` in order, in one transaction: None when
    all may go ahead, else the seconds to wait for the first that must (later keys are then
    not counted). Streaks forgotten by now are deleted on the way."""
    now = now or utcnow()
    with catalog.session_scope(url) as s:
        for key, policy in attempts:
            if not _count(s, key, policy, now):
                until = s.execute(sa.select(_T.c.not_before).where(_T.c.key == key)).scalar_one()
                return max(1.0, math.ceil((until - now).total_seconds()))
        forgotten = now - max(policy.forget for _, policy in attempts)
        s.execute(sa.delete(_T).where(_T.c.last_at < _at(forgotten)))
    return None


def succeeded(clear: str, refund: str, *, url: str | None = None) -> None:
    """A successful sign-in: the streak of ``clear`` (the user at this address) ends, and
    ``refund`` (the address, shared with others) gets its attempt back."""
    with catalog.session_scope(url) as s:
        s.execute(sa.delete(_T).where(_T.c.key == clear))
        s.execute(
            sa.update(_T)
            .where(_T.c.key == refund, _T.c.attempts > 0)
            .values(attempts=_T.c.attempts - 1)
        )
