"""Sessions, CSRF, the client's address and the signed-in principal of a request.

- Session: the cookie ``cc_session`` carries only a random 256-bit id (HttpOnly,
  SameSite=Lax, Secure when ``CITYCARBON_SECURE_COOKIES=1``); the session itself is kept in
  the catalog (:mod:`citycarbon.store.sessions`: idle and absolute timeouts, revocation). A
  visitor who is not signed in gets an id too (never stored), to which the sign-in form's CSRF
  token is bound. Signing in replaces it by a new session id (no fixation); signing out
  revokes the session in the catalog, so a copied cookie stops working.
- CSRF: every POST/PUT/PATCH/DELETE made with the cookie must carry the token of its id in the
  form field ``csrf_token`` or the ``X-CSRF-Token`` header. The token is HMAC-SHA256 of the id
  under the secret key (OWASP CSRF Prevention Cheat Sheet, synchronizer token bound to the
  session, HMAC form): nothing to store. Requests authenticated by an API token
  (``Authorization: Bearer cc_...``) carry no cookie authority and are exempt.
- Client address: the peer's, or, only when the peer is a trusted proxy
  (``CITYCARBON_TRUSTED_PROXIES``), the nearest address in ``X-Forwarded-For`` that is not one.
- The principal comes from the API token or the session and is checked against the catalog
  (cached for :data:`citycarbon.store.users.USER_CACHE_TTL_S`).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from dataclasses import dataclass
from pathlib import Path

from fastapi import HTTPException, Request

from citycarbon.config.home import stored_secret
from citycarbon.config.settings import IPNetwork, get_settings
from citycarbon.read.access import Principal
from citycarbon.store import sessions, users

SESSION_COOKIE = "cc_session"
LANG_COOKIE = "cc_lang"
UNSAFE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: The partner API: requests are HMAC-signed, never cookie-authenticated (exempt from CSRF).
PARTNER_API = "/api/partner/"


@dataclass(frozen=True)
class WebSettings:
    """Settings of the web app (environment: CITYCARBON_SECRET_KEY, CITYCARBON_SECURE_COOKIES,
    CITYCARBON_TRUSTED_PROXIES)."""

    secret_key: str
    secure_cookies: bool = False
    trusted_proxies: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_env(cls) -> WebSettings:
        settings = get_settings()
        key = settings.secret_key or _stored_secret(settings.home)
        return cls(key, settings.secure_cookies, settings.trusted_proxies)


def _stored_secret(home: Path) -> str:
    """A random key kept in ``$CITYCARBON_HOME/secret_key`` (mode 600), created on first use."""
    return stored_secret(home, "secret_key", lambda: secrets.token_urlsafe(48))


class LoginRequired(Exception):
    """Nobody is signed in (pages redirect to /login, the API answers 401)."""


def _settings(request: Request) -> WebSettings:
    return request.app.state.settings


def valid_cookie_id(value: str | None) -> str | None:
    """The cookie's value if it looks like an id we issue, else None (a new one is made)."""
    return value if value and sessions.ID_RE.match(value) else None


def cookie_id(request: Request) -> str:
    """The id the cookie carries (the session's, or a visitor's), made when absent."""
    state = request.state
    if state.cookie_id is None:
        _set_cookie_id(request, sessions.new_id(), max_age=None)
    return state.cookie_id


def _set_cookie_id(request: Request, value: str, *, max_age: int | None) -> None:
    request.state.cookie_id = value
    request.state.cookie_out = (value, max_age)  # written by the middleware


def csrf_token(request: Request) -> str:
    """The CSRF token of the request's cookie id."""
    return _csrf_of(_settings(request).secret_key, cookie_id(request))


def _csrf_of(secret_key: str, value: str) -> str:
    return hmac.new(secret_key.encode(), b"csrf:" + value.encode(), hashlib.sha256).hexdigest()


def write_pending_last_seen() -> None:
    """Wait for the sessions' and tokens' last-seen times still being written (at shutdown)."""
    users.flush_touches()


def sign_in(request: Request, user: users.UserInfo) -> None:
    """Start a new session for the user: a new id in the cookie (and so a new CSRF token)."""
    session_id = sessions.start(
        user.id, address=client_ip(request), user_agent=request.headers.get("user-agent")
    )
    _set_cookie_id(request, session_id, max_age=get_settings().session_max_hours * 3600)
    request.state.principal = None


def sign_out(request: Request) -> None:
    """End the session in the catalog; the browser gets a fresh visitor id."""
    sessions.end(request.state.cookie_id)
    _set_cookie_id(request, sessions.new_id(), max_age=None)
    request.state.principal = None


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
        owner = users.token_owner(token)
        if owner is not None:
            principal = Principal.of(owner[0], via="token", token_scope=owner[1])
    else:
        user = sessions.user_of(request.state.cookie_id)
        principal = Principal.of(user) if user is not None else None
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
    if request.url.path.startswith(PARTNER_API):
        return  # HMAC-signed by the partner (citycarbon.runs.partners), no cookie authority
    held = request.state.cookie_id
    expected = _csrf_of(_settings(request).secret_key, held) if held else None
    sent = request.headers.get("x-csrf-token")
    if not sent:
        ctype = request.headers.get("content-type", "")
        if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            value = form.get("csrf_token")
            sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(str(expected), str(sent)):
        raise HTTPException(status_code=403, detail="csrf")


def client_address(
    peer: str | None, forwarded_for: str | None, trusted: tuple[IPNetwork, ...]
) -> str:
    """The client's address: the peer's, unless the peer is a trusted proxy; then the
    ``X-Forwarded-For`` entries are read from the right (the nearest hop) and the first that
    is not a trusted proxy is the client (MDN, X-Forwarded-For, "Selecting an IP address":
    the rightmost untrusted entry; entries to its left are whatever the client sent).

    Parameters
    ----------
    peer : str or None
        Address of the TCP peer (``request.client.host``).
    forwarded_for : str or None
        The ``X-Forwarded-For`` header (comma-separated; several headers joined by commas).
    trusted : tuple of ip_network
        The trusted proxies (``CITYCARBON_TRUSTED_PROXIES``).
    """
    address = (peer or "unknown")[:64]
    hops = [h.strip() for h in (forwarded_for or "").split(",")][::-1] if trusted else []
    for hop in hops:
        if not _is_trusted(address, trusted) or not hop:
            break
        address = hop[:64]
    return address


def _is_trusted(address: str, trusted: tuple[IPNetwork, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in trusted)


def client_ip(request: Request) -> str:
    """The request's client address (:func:`client_address` with the app's trusted proxies)."""
    return client_address(
        request.client.host if request.client else None,
        ",".join(request.headers.getlist("x-forwarded-for")),
        _settings(request).trusted_proxies,
    )
