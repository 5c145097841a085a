"""Sessions, CSRF and the signed-in principal of a request.

- The session is a cookie signed with itsdangerous (``cc_session``: user id, the user's session
  epoch, the CSRF token; HttpOnly, SameSite=Lax, Secure when ``CITYCARBON_SECURE_COOKIES=1``),
  valid for :data:`SESSION_MAX_AGE_S`. A password or role change increments the user's epoch in
  the catalog, which ends every older session.
- CSRF: every POST/PUT/PATCH/DELETE made with the session cookie must carry the session's token
  in the form field ``csrf_token`` or the ``X-CSRF-Token`` header (synchroniser token pattern,
  OWASP CSRF Prevention Cheat Sheet). Requests authenticated by an API token (``Authorization:
  Bearer cc_...``) carry no cookie authority and are exempt.
- The principal comes from the API token or the session and is checked against the catalog on
  every request (an inactive user or a revoked token stops at once).
"""

from __future__ import annotations

import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import HTTPException, Request
from itsdangerous import BadSignature, URLSafeTimedSerializer

from citycarbon.config.settings import get_settings
from citycarbon.read.access import Principal
from citycarbon.store import users

SESSION_COOKIE = "cc_session"
LANG_COOKIE = "cc_lang"
SESSION_MAX_AGE_S = 8 * 3600
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


@dataclass(frozen=True)
class WebSettings:
    """Settings of the web app (environment: CITYCARBON_SECRET_KEY, CITYCARBON_SECURE_COOKIES)."""

    secret_key: str
    secure_cookies: bool = False
    session_max_age_s: int = SESSION_MAX_AGE_S

    @classmethod
    def from_env(cls) -> WebSettings:
        settings = get_settings()
        key = settings.secret_key or _stored_secret(settings.home)
        return cls(secret_key=key, secure_cookies=settings.secure_cookies)


def _stored_secret(home: Path) -> str:
    """A random key kept in ``$CITYCARBON_HOME/secret_key`` (mode 600), created on first use."""
    path = home / "secret_key"
    if not path.exists():
        home.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


class LoginRequired(Exception):
    """Nobody is signed in (pages redirect to /login, the API answers 401)."""


class Sessions:
    """Signs and reads the session cookie."""

    def __init__(self, settings: WebSettings) -> None:
        self.settings = settings
        self.serializer = URLSafeTimedSerializer(settings.secret_key, salt="citycarbon-session")

    def load(self, cookie: str | None) -> dict[str, Any]:
        if not cookie:
            return {}
        try:
            data = self.serializer.loads(cookie, max_age=self.settings.session_max_age_s)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}

    def dump(self, data: dict[str, Any]) -> str:
        return self.serializer.dumps(data)

    def set_cookie(self, response: Any, data: dict[str, Any] | None) -> None:
        if data is None:
            response.delete_cookie(SESSION_COOKIE, path="/")
            return
        response.set_cookie(
            SESSION_COOKIE,
            self.dump(data),
            max_age=self.settings.session_max_age_s,
            path="/",
            httponly=True,
            samesite="lax",
            secure=self.settings.secure_cookies,
        )


def session(request: Request) -> dict[str, Any]:
    """The request's session data (mutable; call :func:`mark_dirty` after changing it)."""
    return request.state.session


def mark_dirty(request: Request) -> None:
    request.state.session_dirty = True


def csrf_token(request: Request) -> str:
    """The session's CSRF token, created when absent."""
    s = request.state.session
    if not s.get("c"):
        s["c"] = secrets.token_urlsafe(24)
        mark_dirty(request)
    return s["c"]


def sign_in(request: Request, user: users.UserInfo) -> None:
    """Start a new session for the user (new CSRF token: no fixation)."""
    request.state.session = {
        "u": user.id,
        "e": user.session_epoch,
        "c": secrets.token_urlsafe(24),
        "l": request.state.session.get("l"),
    }
    request.state.principal = None
    mark_dirty(request)


def sign_out(request: Request) -> None:
    request.state.session = {"c": secrets.token_urlsafe(24)}
    request.state.principal = None
    mark_dirty(request)


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def current_principal(request: Request) -> Principal | None:
    """The principal of the request (API token or session), or None."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    principal = None
    if token is not None:
        user = users.user_for_token(token)
        principal = Principal.of(user, via="token") if user is not None else None
    else:
        s = request.state.session
        uid = s.get("u")
        if isinstance(uid, int):
            user = users.get_user(uid, cached=True)
            if user is not None and user.active and user.session_epoch == s.get("e"):
                principal = Principal.of(user)
    request.state.principal = principal
    return principal


def require_principal(request: Request) -> Principal:
    """The signed-in principal; raises :class:`LoginRequired` when there is none."""
    principal = current_principal(request)
    if principal is None:
        raise LoginRequired()
    return principal


async def principal_dep(request: Request) -> Principal:
    """:func:`require_principal` as an async dependency (no thread hop; look-ups are cached)."""
    return require_principal(request)


async def csrf_protect(request: Request) -> None:
    """App-wide dependency: unsafe methods need the session's CSRF token (form or header)."""
    if request.method not in UNSAFE_METHODS or _bearer(request) is not None:
        return
    expected = request.state.session.get("c")
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise HTTPException(status_code=403, detail="csrf")


def client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"
