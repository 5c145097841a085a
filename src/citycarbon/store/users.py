"""Platform users, API tokens and sign-in (catalog tables of migrations 0002_access and
0007_sessions; web sessions are in :mod:`citycarbon.store.sessions`).

- Passwords are stored only as argon2id hashes (argon2-cffi, RFC 9106 parameters).
- API tokens are random 32-byte strings shown once; the catalog keeps their SHA-256. A token
  expires (``CITYCARBON_TOKEN_DAYS`` by default, at most ``CITYCARBON_TOKEN_MAX_DAYS``), may be
  narrowed to reading (scope ``read``), and is revoked with its user's password change or
  deactivation. Its ``last_used_at`` is written at most once a minute.
- Sign-in is throttled before the password is checked (:mod:`citycarbon.store.throttle`): per
  address (``CITYCARBON_LOGIN_ADDRESS_LIMIT``) and per user name at an address
  (``CITYCARBON_LOGIN_USER_LIMIT``), then exponential back-off; never a lock-out.
- Every change is written to the audit log (:func:`citycarbon.store.catalog.record_audit`) in
  the same transaction as the change itself: who, when, what, before and after (never a hash).

Who may call what is checked by the caller through :mod:`citycarbon.read.access`
(``require(principal, "admin")``); these functions take the acting user's name for the audit.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import re
import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from citycarbon.config.settings import get_settings
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.store import catalog, throttle
from citycarbon.store.models import (
    TOKEN_SCOPES,
    USER_ROLES,
    ApiToken,
    AuditLog,
    User,
    UserSession,
    utcnow,
)

log = logging.getLogger("citycarbon.store.users")
TOKEN_PREFIX = "cc_"
USERNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{2,64}$")
MIN_PASSWORD_LENGTH = 8
#: Roles whose scope is a code (district code, park code, credit code).
SCOPED_ROLES = {
    "district_manager": "regions",
    "park_manager": "parks",
    "enterprise_user": "enterprises",
}
#: Roles whose scope is a code of a data file rather than of a registry table (the action
#: plan's 责任单位 codes): kept as given, required.
FREE_SCOPED_ROLES = frozenset({"unit_user"})

#: How long a looked-up user (by id or API token) is trusted before the catalog is asked
#: again. Changes made in this process take effect at once; in other worker processes within
#: this many seconds (a deactivated user, a revoked token, a changed password).
USER_CACHE_TTL_S = 2.0
_cache: dict[tuple, tuple[float, Any]] = {}
#: ``last_used_at`` of a token and ``last_seen_at`` of a session are written at most this often
#: per row and process, by one background thread: a request never waits for that write.
TOUCH_INTERVAL_S = 60.0
_touched: dict[tuple, float] = {}
_touch_lock = threading.Lock()

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
    created_at: Any
    last_login_at: Any

    @classmethod
    def of(cls, user: User) -> UserInfo:
        return cls(**{f: getattr(user, f) for f in cls.__dataclass_fields__})

    def public(self) -> dict[str, Any]:
        """What the audit log and the API show (no hash)."""
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
    if role in FREE_SCOPED_ROLES:
        if not scope_code:
            raise InputError(f"a {role} needs a scope code", source="users", field="scope_code")
        return scope_code
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


def revoke_credentials(s: Any, user_id: int, *, tokens: bool) -> dict[str, int]:
    """Revoke every open session of a user, and with ``tokens`` every API token, in the
    caller's transaction: how many of each were revoked."""
    now = utcnow()
    models: list[tuple[str, Any]] = [("sessions", UserSession)]
    if tokens:
        models.append(("tokens", ApiToken))
    counts = {}
    for name, model in models:
        counts[name] = s.execute(
            sa.update(model)
            .where(model.user_id == user_id, model.revoked_at.is_(None))
            .values(revoked_at=now)
        ).rowcount
    return counts


def end_sessions(username: str, *, actor: str = "system", url: str | None = None) -> int:
    """End every open session of a user (an admin's action); how many. Audited."""
    with catalog.session_scope(url) as s:
        user = _get(s, username)
        count = revoke_credentials(s, user.id, tokens=False)["sessions"]
        catalog.record_audit(
            s, actor, "end_sessions", "user", username, None, {"sessions_ended": count}
        )
    forget_cached_users()
    return count


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
    """Change a user's role/scope, name or active flag (audited). A role or scope change ends
    the user's sessions; deactivation ends the sessions and revokes the API tokens."""
    with catalog.session_scope(url) as s:
        user = _get(s, username)
        before = UserInfo.of(user).public()
        new_role = role or user.role
        if role is not None or scope_code is not None:
            user.scope_code = _check_scope(
                s, new_role, scope_code if scope_code is not None else user.scope_code
            )
            if new_role != user.role or user.scope_code != before["scope_code"]:
                revoke_credentials(s, user.id, tokens=False)
            user.role = new_role
        if display_name is not None:
            user.display_name = display_name
        if active is not None:
            if not active:
                revoke_credentials(s, user.id, tokens=True)
            user.active = active
        s.flush()
        info = UserInfo.of(user)
        catalog.record_audit(s, actor, "update", "user", username, before, info.public())
    forget_cached_users()
    return info


def set_password(
    username: str, password: str, *, actor: str = "system", url: str | None = None
) -> None:
    """Set a new password (argon2 hash); the user's sessions end and API tokens are revoked
    (whoever knew the old password may have made them). Audited without hashes."""
    _check_password(password)
    with catalog.session_scope(url) as s:
        user = _get(s, username)
        user.password_hash = hash_password(password)
        revoked = revoke_credentials(s, user.id, tokens=True)
        catalog.record_audit(
            s,
            actor,
            "set_password",
            "user",
            username,
            {"password": "***"},
            {"password": "***", "revoked": revoked},
        )
    forget_cached_users()


def list_users(*, url: str | None = None) -> pd.DataFrame:
    """Every user (no hashes), by user name, with the number of open sessions."""
    now = utcnow()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    open_sessions = (
        sa.select(sa.func.count())
        .where(
            UserSession.user_id == User.id,
            UserSession.revoked_at.is_(None),
            UserSession.expires_at > now,
            UserSession.last_seen_at > now - idle,
        )
        .scalar_subquery()
    )
    with catalog._reading(url) as s:
        found = s.execute(sa.select(User, open_sessions).order_by(User.username)).all()
        rows = [{**UserInfo.of(u).__dict__, "sessions": n} for u, n in found]
    return pd.DataFrame(rows, columns=[*UserInfo.__dataclass_fields__, "sessions"])


def forget_cached_users() -> None:
    """Drop cached user, token and session look-ups (called by every change of them)."""
    _cache.clear()


def cached(key: tuple, load: Any) -> Any:
    """``load()``, or its value of at most USER_CACHE_TTL_S ago under ``key``."""
    now = time.monotonic()
    hit = _cache.get(key)
    if hit is not None and now - hit[0] < USER_CACHE_TTL_S:
        return hit[1]
    value = load()
    if len(_cache) > 10_000:
        _cache.clear()
    _cache[key] = (now, value)
    return value


def get_user_by_name(username: str, *, url: str | None = None) -> UserInfo | None:
    with catalog._reading(url) as s:
        user = s.scalars(sa.select(User).where(User.username == username)).first()
        return None if user is None else UserInfo.of(user)


# --------------------------------------------------------------------------- background writes
@functools.cache
def _touch_pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(1, thread_name_prefix="citycarbon-touch")


def touch(column: Any, key_column: Any, key: Any, *, url: str | None = None) -> None:
    """Write the current time into ``column`` of the row whose ``key_column`` is ``key``:
    at most once per TOUCH_INTERVAL_S per row in this process, by a background thread (the
    caller never waits; a failed write is logged and skipped)."""
    url = catalog.database_url(url)
    mark = (column.key, url, key)
    now = time.monotonic()
    with _touch_lock:
        last = _touched.get(mark)
        if last is not None and now - last < TOUCH_INTERVAL_S:
            return
        if len(_touched) > 10_000:
            _touched.clear()
        _touched[mark] = now

    def write() -> None:
        try:
            with catalog.session_scope(url) as s:
                s.execute(
                    sa.update(column.table).where(key_column == key).values({column: utcnow()})
                )
        except Exception:
            log.exception("could not write %s of %s", column.key, key_column.table.name)

    _touch_pool().submit(write)


def flush_touches() -> None:
    """Wait until every ``touch`` submitted so far is written (its one thread runs them in
    order): at shutdown, and before anything reads or rewrites those columns directly."""
    _touch_pool().submit(lambda: None).result()


# --------------------------------------------------------------------------- sign-in
class RateLimited(InputError):
    """Too many sign-in attempts from this address, or for this user name from it:
    ``retry_after_s`` says when the next one is looked at."""

    def __init__(self, retry_after_s: float) -> None:
        self.retry_after_s = retry_after_s
        super().__init__(
            f"too many sign-in attempts; try again in {retry_after_s:.0f} s", source="login"
        )


def authenticate(username: str, password: str, ip: str, *, url: str | None = None) -> UserInfo:
    """The active user with this name and password.

    The attempt is counted first, atomically, for the address and for the user name at the
    address (:func:`citycarbon.store.throttle.reserve`); only a counted attempt costs an
    argon2 verification, so neither concurrent guesses nor a spray of user names from one
    address get more checks than the limits. A success ends the user's streak at the address
    and gives the address its attempt back.

    Raises
    ------
    RateLimited
        The address or the user name at this address must wait (not checked, not counted).
    InputError
        Wrong user name or password, or an inactive user (one message for all three).
    """
    username = (username or "")[:64]
    ip = (ip or "")[:64]
    settings = get_settings()
    bucket = throttle.address_bucket(ip)
    address_key, user_key = f"address:{bucket}", f"user:{bucket} {username}"
    wait = throttle.reserve(
        [
            (address_key, throttle.Policy(settings.login_address_limit)),
            (user_key, throttle.Policy(settings.login_user_limit)),
        ],
        url=url,
    )
    if wait is not None:
        raise RateLimited(wait)
    with catalog._reading(url) as s:
        user = s.scalars(sa.select(User).where(User.username == username)).first()
        stored = user.password_hash if user is not None else _dummy_hash()
    ok = False
    try:
        ok = _hasher.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    if not ok or user is None or not user.active:
        raise InputError("wrong user name or password", source="login")
    throttle.succeeded(user_key, address_key, url=url)
    with catalog.session_scope(url) as s:
        row = s.get(User, user.id)
        row.last_login_at = utcnow()
        if _hasher.check_needs_rehash(row.password_hash):
            row.password_hash = hash_password(password)
        return UserInfo.of(row)


# --------------------------------------------------------------------------- API tokens
def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    username: str,
    name: str,
    *,
    days: int | None = None,
    scope: str = "full",
    actor: str = "system",
    url: str | None = None,
) -> tuple[int, str]:
    """A new API token for a user: ``(id, token)``. The token is returned only here.

    Parameters
    ----------
    days : int, optional
        Lifetime in days (default ``CITYCARBON_TOKEN_DAYS``); more than
        ``CITYCARBON_TOKEN_MAX_DAYS`` is refused.
    scope : str
        ``full`` (everything the user may) or ``read`` (reading only).
    """
    settings = get_settings()
    days = settings.token_days if days is None else days
    if not 1 <= days <= settings.token_max_days:
        raise InputError(
            f"a token lives 1 to {settings.token_max_days} days (CITYCARBON_TOKEN_MAX_DAYS), "
            f"not {days}",
            source="api_tokens",
            field="days",
            value=days,
        )
    if scope not in TOKEN_SCOPES:
        raise UnknownCodeError("token scope", scope, TOKEN_SCOPES, source="api_tokens")
    name = (name or "").strip()[:100] or "token"
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with catalog.session_scope(url) as s:
        user = _get(s, username)
        row = ApiToken(
            user_id=user.id,
            name=name,
            token_hash=_token_hash(token),
            prefix=token[:10],
            scope=scope,
            expires_at=utcnow() + timedelta(days=days),
        )
        s.add(row)
        s.flush()
        catalog.record_audit(
            s,
            actor,
            "create",
            "api_token",
            row.id,
            None,
            {
                "user": username,
                "name": name,
                "prefix": row.prefix,
                "scope": scope,
                "expires_at": row.expires_at,
            },
        )
        return row.id, token


def revoke_token(
    token_id: int, *, owner: str | None = None, actor: str = "system", url: str | None = None
) -> None:
    """Revoke an API token (it stops working at once). Audited.

    ``owner``: only a token of this user (another's answers as if it did not exist)."""
    with catalog.session_scope(url) as s:
        row = s.get(ApiToken, token_id)
        if row is None or (owner is not None and row.user_id != _get(s, owner).id):
            raise InputError(f"there is no API token {token_id}", source="api_tokens")
        before = {"revoked_at": row.revoked_at}
        row.revoked_at = row.revoked_at or utcnow()
        catalog.record_audit(
            s, actor, "revoke", "api_token", token_id, before, {"revoked_at": row.revoked_at}
        )
    forget_cached_users()


def token_owner(token: str, *, url: str | None = None) -> tuple[UserInfo, str] | None:
    """The active user an unrevoked, unexpired API token belongs to, and the token's scope;
    None otherwise. Cached for USER_CACHE_TTL_S by the token's hash; marks the token used."""
    if not token or not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    digest = _token_hash(token)
    url = catalog.database_url(url)  # once: it reads the settings

    def load() -> tuple[UserInfo, str, int, datetime] | None:
        with catalog._reading(url) as s:
            row = s.execute(
                sa.select(ApiToken, User)
                .join(User, User.id == ApiToken.user_id)
                .where(ApiToken.token_hash == digest, ApiToken.revoked_at.is_(None))
            ).first()
            if row is None or not row[1].active:
                return None
            return UserInfo.of(row[1]), row[0].scope, row[0].id, row[0].expires_at

    found = cached(("token", url, digest), load)
    if found is None or found[3] <= utcnow():
        return None
    touch(ApiToken.last_used_at, ApiToken.id, found[2], url=url)
    return found[0], found[1]


def list_tokens(*, username: str | None = None, url: str | None = None) -> pd.DataFrame:
    """API tokens (never the token itself), of one user or of all: id, user, name, prefix,
    scope, dates and ``status`` (``active``, ``expired`` or ``revoked``)."""
    query = (
        sa.select(
            ApiToken.id,
            User.username,
            ApiToken.name,
            ApiToken.prefix,
            ApiToken.scope,
            ApiToken.created_at,
            ApiToken.expires_at,
            ApiToken.last_used_at,
            ApiToken.revoked_at,
        )
        .join(User, User.id == ApiToken.user_id)
        .order_by(ApiToken.id)
    )
    if username is not None:
        query = query.where(User.username == username)
    with catalog._reading(url) as s:
        rows = s.execute(query).all()
    columns = ["id", "username", "name", "prefix", "scope", "created_at", "expires_at"]
    frame = pd.DataFrame(rows, columns=[*columns, "last_used_at", "revoked_at"])
    status = np.select(
        [frame["revoked_at"].notna(), frame["expires_at"] <= pd.Timestamp(utcnow())],
        ["revoked", "expired"],
        "active",
    )
    return frame.assign(status=status)


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
