"""Platform users, API tokens and sign-in rate limiting (catalog tables of migration 0002_access).

- Passwords are stored only as argon2id hashes (argon2-cffi, RFC 9106 parameters).
- API tokens are random 32-byte strings shown once; the catalog keeps their SHA-256.
- Failed sign-ins are recorded per user name and address; :data:`MAX_FAILURES` failures within
  :data:`FAILURE_WINDOW` lock further attempts from that pair until the window has passed.
- Every change is written to the audit log (:func:`citycarbon.store.catalog.record_audit`) in
  the same transaction as the change itself: who, when, what, before and after (never a hash).

Who may call what is checked by the caller through :mod:`citycarbon.read.access`
(``require(principal, "admin")``); these functions take the acting user's name for the audit.
"""

from __future__ import annotations

import functools
import hashlib
import re
import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.store import catalog
from citycarbon.store.models import USER_ROLES, ApiToken, AuditLog, LoginFailure, User, utcnow

MAX_FAILURES = 5
FAILURE_WINDOW = timedelta(minutes=15)
TOKEN_PREFIX = "cc_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD_LENGTH = 8
#: Roles whose scope is a code (district code, park code, credit code).
SCOPED_ROLES = {
    "district_manager": "regions",
    "park_manager": "parks",
    "enterprise_user": "enterprises",
}

#: How long a looked-up user (by id or API token) is trusted before the catalog is asked
#: again. Changes made in this process take effect at once; in other worker processes within
#: this many seconds (a deactivated user, a revoked token, a changed password).
USER_CACHE_TTL_S = 2.0
_cache: dict[tuple, tuple[float, Any]] = {}

_hasher = PasswordHasher()  # argon2id, RFC 9106 low-memory profile defaults


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the user does not exist, so both paths cost one argon2
    verification; made on first use, not at import (hashing takes ~0.3 s)."""
    return _hasher.hash(secrets.token_hex(16))


@dataclass(frozen=True)
class UserInfo:
    """A user row without its password hash."""

    id: int
    username: str
    display_name: str | None
    role: str
    scope_code: str | None
    active: bool
    session_epoch: int
    created_at: Any
    last_login_at: Any

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(**{f: getattr(user, f) for f in cls.__dataclass_fields__})

    def public(self) -> dict[str, Any]:
        """What the audit log and the API show (no hash, no epoch)."""
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "role": self.role,
            "scope_code": self.scope_code,
            "active": self.active,
        }


def hash_password(password: str) -> str:
    """An argon2id hash of a password (salted; the parameters are part of the string)."""
    return _hasher.hash(password)


def password_is(username: str, password: str, *, url: str | None = None) -> bool:
    """Whether ``username`` is an active user whose password is ``password`` (the operator's
    start-up check for documented demo passwords; no sign-in, no rate limit, no audit)."""
    with catalog._reading(url) as s:
        user = s.scalars(sa.select(User).where(User.username == username)).first()
        stored = user.password_hash if user is not None and user.active else None
    if stored is None:
        return False
    try:
        return _hasher.verify(stored, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise InputError(
            f"the password is too short: at least {MIN_PASSWORD_LENGTH} characters",
            source="users",
            field="password",
        )


def _check_scope(session: Any, role: str, scope_code: str | None) -> str | None:
    if role not in USER_ROLES:
        raise UnknownCodeError("role", role, USER_ROLES, source="users", field="role")
    table = SCOPED_ROLES.get(role)
    if table is None:
        return None
    if not scope_code:
        raise InputError(
            f"a {role} needs a scope code ({table} code)", source="users", field="scope_code"
        )
    t = catalog.TABLES[table]
    key = t.c[catalog.REGISTRY_KEYS[table]]
    query = sa.select(key).where(key == scope_code)
    if table == "regions":
        query = query.where(t.c.level == "district")
    if session.execute(query).first() is None:
        raise InputError(
            f"{scope_code!r} is not a known {table[:-1] if table != 'regions' else 'district'}",
            source="users",
            field="scope_code",
            value=scope_code,
        )
    return scope_code


def create_user(
    username: str,
    password: str,
    role: str,
    *,
    scope_code: str | None = None,
    display_name: str | None = None,
    actor: str = "system",
    url: str | None = None,
) -> UserInfo:
    """Add a user (argon2 hash of the password) and audit it.

    Raises
    ------
    InputError
        Bad user name, short password, unknown role, missing/unknown scope code, or a user of
        that name already exists.
    """
    if not USERNAME_RE.match(username or ""):
        raise InputError(
            "a user name has 2-64 letters, digits, '.', '_' or '-'",
            source="users",
            field="username",
            value=username,
        )
    _check_password(password)
    with catalog.session_scope(url) as s:
        scope_code = _check_scope(s, role, scope_code)
        if s.scalars(sa.select(User.id).where(User.username == username)).first() is not None:
            raise InputError(f"user {username!r} already exists", source="users", field="username")
        user = User(
            username=username,
            display_name=display_name,
            password_hash=hash_password(password),
            role=role,
            scope_code=scope_code,
            active=True,
            session_epoch=0,
        )
        s.add(user)
        s.flush()
        info = UserInfo.of(user)
        catalog.record_audit(s, actor, "create", "user", username, None, info.public())
    forget_cached_users()
    return info


def _get(s: Any, username: str) -> User:
    user = s.scalars(sa.select(User).where(User.username == username)).first()
    if user is None:
        raise InputError(f"there is no user {username!r}", source="users", value=username)
    return user


def update_user(
    username: str,
    *,
    role: str | None = None,
    scope_code: str | None = None,
    display_name: str | None = None,
    active: bool | None = None,
    actor: str = "system",
    url: str | None = None,
) -> UserInfo:
    """Change a user's role/scope, name or active flag (audited; sessions end on a role change)."""
    with catalog.session_scope(url) as s:
        user = _get(s, username)
        before = UserInfo.of(user).public()
        new_role = role or user.role
        if role is not None or scope_code is not None:
            user.scope_code = _check_scope(
                s, new_role, scope_code if scope_code is not None else user.scope_code
            )
            if new_role != user.role or user.scope_code != before["scope_code"]:
                user.session_epoch += 1
            user.role = new_role
        if display_name is not None:
            user.display_name = display_name
        if active is not None:
            if not active:
                user.session_epoch += 1
            user.active = active
        s.flush()
        info = UserInfo.of(user)
        catalog.record_audit(s, actor, "update", "user", username, before, info.public())
    forget_cached_users()
    return info


def set_password(
    username: str, password: str, *, actor: str = "system", url: str | None = None
) -> None:
    """Set a new password (argon2 hash); the user's open sessions end. Audited without hashes."""
    _check_password(password)
    with catalog.session_scope(url) as s:
        user = _get(s, username)
        user.password_hash = hash_password(password)
        user.session_epoch += 1
        catalog.record_audit(
            s, actor, "set_password", "user", username, {"password": "***"}, {"password": "***"}
        )
    forget_cached_users()


def list_users(*, url: str | None = None) -> pd.DataFrame:
    """Every user (no hashes), by user name."""
    with catalog.session_scope(url) as s:
        users = s.scalars(sa.select(User).order_by(User.username)).all()
        rows = [UserInfo.of(u).__dict__ for u in users]
    columns = list(UserInfo.__dataclass_fields__)
    return pd.DataFrame(rows, columns=columns).drop(columns=["session_epoch"])


def forget_cached_users() -> None:
    """Drop cached user and token look-ups (called by every change here)."""
    _cache.clear()


def _cached(key: tuple, load: Any) -> Any:
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < USER_CACHE_TTL_S:
        return hit[1]
    value = load()
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (now, value)
    return value


def get_user(user_id: int, *, url: str | None = None, cached: bool = False) -> UserInfo | None:
    """The user with this id, or None (``cached``: a look-up at most USER_CACHE_TTL_S old)."""

    def load() -> UserInfo | None:
        with catalog._reading(url) as s:
            user = s.get(User, user_id)
            return None if user is None else UserInfo.of(user)

    if cached:
        return _cached(("id", catalog.database_url(url), user_id), load)
    return load()


def get_user_by_name(username: str, *, url: str | None = None) -> UserInfo | None:
    with catalog._reading(url) as s:
        user = s.scalars(sa.select(User).where(User.username == username)).first()
        return None if user is None else UserInfo.of(user)


# --------------------------------------------------------------------------- sign-in
class RateLimited(InputError):
    """Too many failed sign-ins for this user name from this address."""


def failures(username: str, ip: str, *, url: str | None = None, now: datetime | None = None) -> int:
    """Failed sign-ins of this user name from this address within the window."""
    since = (now or utcnow()) - FAILURE_WINDOW
    with catalog._reading(url) as s:
        return s.execute(
            sa.select(sa.func.count())
            .select_from(LoginFailure)
            .where(
                LoginFailure.username == username, LoginFailure.ip == ip, LoginFailure.at >= since
            )
        ).scalar_one()


def authenticate(username: str, password: str, ip: str, *, url: str | None = None) -> UserInfo:
    """The active user with this name and password.

    Raises
    ------
    RateLimited
        :data:`MAX_FAILURES` failures for this user name and address in :data:`FAILURE_WINDOW`
        (checked before the password, so guessing stops).
    InputError
        Wrong user name or password, or an inactive user (one message for all three).
    """
    username = (username or "")[:64]
    ip = (ip or "")[:64]
    if failures(username, ip, url=url) >= MAX_FAILURES:
        raise RateLimited(
            f"too many failed sign-ins; try again in {FAILURE_WINDOW.seconds // 60} minutes",
            source="login",
        )
    with catalog._reading(url) as s:
        user = s.scalars(sa.select(User).where(User.username == username)).first()
        stored = user.password_hash if user is not None else _dummy_hash()
    ok = False
    try:
        ok = _hasher.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.active:
        with catalog.session_scope(url) as s:
            s.add(LoginFailure(username=username, ip=ip))
            # keep the table small: old failures no longer count
            s.execute(
                sa.delete(LoginFailure).where(LoginFailure.at < utcnow() - 2 * FAILURE_WINDOW)
            )
        raise InputError("wrong user name or password", source="login")
    with catalog.session_scope(url) as s:
        row = s.get(User, user.id)
        row.last_login_at = utcnow()
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = hash_password(password)
        s.execute(
            sa.delete(LoginFailure).where(LoginFailure.username == username, LoginFailure.ip == ip)
        )
        return UserInfo.of(row)


# --------------------------------------------------------------------------- API tokens
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    username: str, name: str, *, actor: str = "system", url: str | None = None
) -> tuple[int, str]:
    """A new API token for a user: ``(id, token)``. The token is returned only here."""
    name = (name or "").strip()[:100] or "token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog.session_scope(url) as s:
        user = _get(s, username)
        row = ApiToken(user_id=user.id, name=name, token_hash=_token_hash(token), prefix=token[:10])
        s.add(row)
        s.flush()
        catalog.record_audit(
            s,
            actor,
            "create",
            "api_token",
            row.id,
            None,
            {"user": username, "name": name, "prefix": row.prefix},
        )
        return row.id, token


def revoke_token(token_id: int, *, actor: str = "system", url: str | None = None) -> None:
    """Revoke an API token (it stops working at once). Audited."""
    with catalog.session_scope(url) as s:
        row = s.get(ApiToken, token_id)
        if row is None:
            raise InputError(f"there is no API token {token_id}", source="api_tokens")
        before = {"revoked_at": row.revoked_at}
        row.revoked_at = row.revoked_at or utcnow()
        catalog.record_audit(
            s, actor, "revoke", "api_token", token_id, before, {"revoked_at": row.revoked_at}
        )
    forget_cached_users()


def user_for_token(token: str, *, url: str | None = None) -> UserInfo | None:
    """The active user an unrevoked API token belongs to, or None (cached for
    USER_CACHE_TTL_S, by the token's hash)."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _token_hash(token)

    def load() -> UserInfo | None:
        with catalog._reading(url) as s:
            row = s.execute(
                sa.select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
            ).first()
            if row is None or not row[1].active:
                return None
            return UserInfo.of(row[1])

    return _cached(("token", catalog.database_url(url), digest), load)


def list_tokens(*, url: str | None = None) -> pd.DataFrame:
    """Every API token (never the token itself): id, user, name, prefix, dates."""
    with catalog._reading(url) as s:
        rows = s.execute(
            sa.select(
                ApiToken.id,
                User.username,
                ApiToken.name,
                ApiToken.prefix,
                ApiToken.created_at,
                ApiToken.last_used_at,
                ApiToken.revoked_at,
            )
            .join(User, User.id == ApiToken.user_id)
            .order_by(ApiToken.id)
        ).all()
    return pd.DataFrame(
        rows,
        columns=["id", "username", "name", "prefix", "created_at", "last_used_at", "revoked_at"],
    )


def audit_frame(
    *, limit: int = 100, offset: int = 0, entity: str | None = None, url: str | None = None
) -> tuple[pd.DataFrame, int]:
    """Audit entries, newest first, and their total count."""

    query = sa.select(AuditLog)
    count = sa.select(sa.func.count()).select_from(AuditLog)
    if entity:
        query = query.where(AuditLog.entity == entity)
        count = count.where(AuditLog.entity == entity)
    with catalog._reading(url) as s:
        total = s.execute(count).scalar_one()
        rows = s.scalars(query.order_by(AuditLog.id.desc()).limit(limit).offset(offset)).all()
        data = [
            {
                "id": r.id,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "entity": r.entity,
                "entity_id": r.entity_id,
                "before": r.before,
                "after": r.after,
            }
            for r in rows
        ]
    cols = ["id", "at", "actor", "action", "entity", "entity_id", "before", "after"]
    return pd.DataFrame(data, columns=cols), total
