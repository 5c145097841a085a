"""Partner API requests (碳普惠): HMAC-SHA256 signature with a timestamp and a nonce.

The partner signs ``METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))`` with the
secret of one of its live keys and sends ``X-Partner-Id``, ``X-Key-Id``, ``X-Timestamp`` (Unix
seconds), ``X-Nonce`` and ``X-Signature`` (hex). A request is refused when its timestamp is
more than :data:`WINDOW` from the server's clock, its key is unknown, revoked or another
partner's, its signature does not match, or its nonce was used before (a replay). The nonce is
recorded only after the signature is checked, so nobody can burn a partner's nonces.

References
----------
[1] RFC 2104, HMAC; [2] AWS Signature Version 4 (canonical request with a hashed payload, signed
    timestamp) — the same shape, simplified.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime, timedelta

from citycarbon.errors import CitycarbonError
from citycarbon.store import credits as ledger

#: How far a request's timestamp may be from the server's clock.
WINDOW = timedelta(minutes=5)
HEADERS = ("x-partner-id", "x-key-id", "x-timestamp", "x-nonce", "x-signature")


class PartnerAuthError(CitycarbonError):
    """A partner request that is not accepted; ``reason`` says why (no secret in it)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The hex HMAC-SHA256 of a request under ``secret`` (what the partner sends)."""
    text = "\n".join((method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()))
    return hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()


def verify(
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    url: str | None = None,
    now: datetime | None = None,
) -> str:
    """The partner of a signed request (raises :class:`PartnerAuthError` otherwise)."""
    missing = [h for h in HEADERS if not headers.get(h)]
    if missing:
        raise PartnerAuthError(f"missing headers: {', '.join(missing)}")
    partner, key_id, stamp, nonce, sent = (headers[h] for h in HEADERS)
    now = now or datetime.now(UTC)
    try:
        at = datetime.fromtimestamp(int(stamp), UTC)
    except (ValueError, OverflowError, OSError):
        raise PartnerAuthError("x-timestamp is not Unix seconds") from None
    if abs(at - now) > WINDOW:
        raise PartnerAuthError("x-timestamp is outside the accepted window")
    if len(nonce) > 64:
        raise PartnerAuthError("x-nonce is longer than 64 characters")
    secret = ledger.partner_secret(partner, key_id, url=url)
    if secret is None:
        raise PartnerAuthError("unknown or revoked key")
    expected = signature(secret, method, path, stamp, nonce, body)
    if not hmac.compare_digest(expected, sent.lower()):
        raise PartnerAuthError("bad signature")
    if not ledger.use_nonce(partner, nonce, prune_before=now - 2 * WINDOW, url=url):
        raise PartnerAuthError("nonce already used (replay)")
    return partner
