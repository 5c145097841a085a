"""Web sessions kept in the catalog (table ``user_sessions``, migration 0007_sessions).

A session id is 256 random bits (``secrets.token_urlsafe(32)``) that only the browser's
cookie holds; the catalog keeps its SHA-256, so a copy of the catalog opens no session. A
session ends when it is revoked (sign-out here; the user's password change, deactivation or
role change and an admin's "end all sessions" in :mod:`citycarbon.store.users`),
``CITYCARBON_SESSION_MAX_HOURS`` after sign-in, or ``CITYCARBON_SESSION_IDLE_MINUTES`` after its
last request (``last_seen_at`` is written at most once a minute, in the background:
:func:`citycarbon.store.users.touch`).

A request's look-up is one primary-key query joined to the user, cached for
:data:`citycarbon.store.users.USER_CACHE_TTL_S`: a session ended in this process stops at once,
in other worker processes within that many seconds.

References
----------
OWASP Session Management Cheat Sheet: session ids of at least 64 bits of entropy, a new id at
sign-in, server-side invalidation at sign-out, idle and absolute timeouts.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa

from citycarbon.config.settings import get_settings
from citycarbon.store import catalog, users
from citycarbon.store.models import User, UserSession, utcnow
from citycarbon.store.users import UserInfo

#: What a session id looks like (43 URL-safe base64 characters = 256 bits).
ID_RE = re.compile(r"^[A-Za-z0-9_-]{43}$")


def new_id() -> str:
    """A random 256-bit id (of a session, or of a visitor not signed in)."""
    return secrets.token_urlsafe(32)


def _hash(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(
    user_id: int, *, address: str | None, user_agent: str | None, url: str | None = None
) -> str:
    """Open a session for a user; returns its id (shown only here). Sessions that expired
    more than a day ago are deleted on the way."""
    now = utcnow()
    session_id = new_id()
    expires = now + timedelta(hours=get_settings().session_max_hours)
    with catalog.session_scope(url) as s:
        s.execute(sa.delete(UserSession).where(UserSession.expires_at < now - timedelta(days=1)))
        s.add(
            UserSession(
                id_hash=_hash(session_id),
                user_id=user_id,
                created_at=now,
                last_seen_at=now,
                expires_at=expires,
                address=(address or "")[:64] or None,
                user_agent=(user_agent or "")[:300] or None,
            )
        )
    return session_id


def user_of(session_id: str | None, *, url: str | None = None) -> UserInfo | None:
    """The active user of an open session (not revoked, not past either timeout), else None;
    marks the session seen."""
    if not session_id or not ID_RE.match(session_id):
        return None
    digest = _hash(session_id)
    url = catalog.database_url(url)  # once: it reads the settings

    def load() -> tuple[UserInfo, datetime] | None:
        with catalog._reading(url) as s:
            row = s.execute(
                sa.select(User, UserSession.last_seen_at, UserSession.expires_at)
                .join(User, User.id == UserSession.user_id)
                .where(UserSession.id_hash == digest, UserSession.revoked_at.is_(None))
            ).first()
        if row is None or not row[0].active:
            return None
        idle = timedelta(minutes=get_settings().session_idle_minutes)
        return UserInfo.of(row[0]), min(row[2], row[1] + idle)  # the user, open until

    found = users.cached(("session", url, digest), load)
    if found is None or utcnow() >= found[1]:
        return None
    users.touch(UserSession.last_seen_at, UserSession.id_hash, digest, url=url)
    return found[0]


def end(session_id: str | None, *, url: str | None = None) -> None:
    """Revoke one session (sign-out); nothing happens for an unknown id."""
    if not session_id or not ID_RE.match(session_id):
        return
    with catalog.session_scope(url) as s:
        s.execute(
            sa.update(UserSession)
            .where(UserSession.id_hash == _hash(session_id), UserSession.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    users.forget_cached_users()
