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
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from citycarbon.credits import policy
from citycarbon.errors import CitycarbonError
from citycarbon.store import catalog
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
    session: Session | None = None,
    url: str | None = None,
    now: datetime | None = None,
) -> str:
    """The partner of a signed request (raises :class:`PartnerAuthError` otherwise); in the
    caller's ``session`` (its transaction) when given."""
    partner, nonce, now = _signed_by(headers, method, path, body, session=session, url=url, now=now)
    if not ledger.use_nonce(
        partner, nonce, prune_before=now - 2 * WINDOW, session=session, url=url
    ):
        raise PartnerAuthError(REPLAY)
    return partner


#: Why a request whose nonce was used before is refused.
REPLAY = "nonce already used (replay)"


def _signed_by(
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    session: Session | None,
    url: str | None,
    now: datetime | None,
) -> tuple[str, str, datetime]:
    """The partner, nonce and server time of a request whose timestamp, key and signature are
    valid (its nonce not yet recorded); :class:`PartnerAuthError` otherwise."""
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
    secret = ledger.partner_secret(partner, key_id, session=session, url=url)
    if secret is None:
        raise PartnerAuthError("unknown or revoked key")
    expected = signature(secret, method, path, stamp, nonce, body)
    if not hmac.compare_digest(expected, sent.lower()):
        raise PartnerAuthError("bad signature")
    return partner, nonce, now


class QuotaExceededError(CitycarbonError):
    """A request that would take a partner past its quota; ``retry_after_s`` says when to
    send again."""

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after_s = retry_after_s


def check_quota(
    partner: str,
    batch: int,
    *,
    session: Session | None = None,
    url: str | None = None,
    now: datetime | None = None,
) -> None:
    """Raise :class:`QuotaExceededError` when ``batch`` more events would take ``partner`` past
    its per-minute or per-day quota (``credits/data/partner_quotas.yaml``); a redemption or a
    donation counts as one event."""
    quota, stamp, window = _quota_window(partner, now)
    used_day, used_minute = ledger.quota_used(
        partner, window.day_start, window.minute_start, session=session, url=url
    )
    over = _over_quota(quota, stamp, batch, used_day, used_minute)
    if over is not None:
        raise over


def _quota_window(
    partner: str, now: datetime | None
) -> tuple[policy.PartnerQuota, pd.Timestamp, ledger.QuotaWindow]:
    """``partner``'s quota, the time ``now`` and the window its use is counted in: since the
    local day began and over the last minute."""
    quota = policy.partner_quota(partner)
    stamp = pd.Timestamp(now or datetime.now(UTC))
    day_start = stamp.tz_convert(quota.timezone).normalize().tz_convert("UTC")
    window = ledger.QuotaWindow(
        day_start.to_pydatetime(),
        (stamp - pd.Timedelta(minutes=1)).to_pydatetime(),
        quota.events_per_day,
        quota.events_per_minute,
    )
    return quota, stamp, window


def _over_quota(
    quota: policy.PartnerQuota, stamp: pd.Timestamp, batch: int, used_day: int, used_minute: int
) -> QuotaExceededError | None:
    """The refusal of ``batch`` more events after ``used_day`` and ``used_minute``, None when
    they fit."""
    wait = policy.quota_retry_after_s(batch, used_minute, used_day, quota, stamp)
    if wait is None:
        return None
    return QuotaExceededError(
        f"quota of partner {quota.partner!r} reached: {quota.events_per_minute} events per "
        f"minute, {quota.events_per_day} per day ({used_minute} in the last minute, "
        f"{used_day} today, {batch} in this request); retry after {wait} s",
        wait,
    )


def rotate_key(partner: str, *, url: str | None = None) -> tuple[str, str]:
    """A new key of ``partner`` (the previous one stays live until revoked): ``(key_id,
    secret)``; the secret is shown once."""
    return ledger.rotate_partner_key(partner, url=url)


def revoke_key(key_id: str, *, url: str | None = None) -> None:
    """Stop accepting a partner key."""
    ledger.revoke_partner_key(key_id, url=url)


def record_consents(
    partner: str, items: list[dict[str, Any]], *, url: str | None = None
) -> list[str]:
    """Apply a partner's consent changes (``account``, ``action`` grant | withdraw, optional
    ``resident`` and opt-in ``contact_name``, ``contact_phone``); the outcome of each:
    ``granted``, ``withdrawn``, ``not found`` (a withdrawal without a valid consent) or the
    reason it was refused."""
    out = []
    for item in items:  # a handful per request: residents change their consent one by one
        account, action = str(item.get("account") or ""), item.get("action")
        fields = {f: item.get(f) for f in ledger.CONTACT_FIELDS}
        too_long = [f for f, n in ledger.CONTACT_FIELDS.items() if len(str(fields[f] or "")) > n]
        if not account or len(account) > 128:
            out.append("refused: account missing or longer than 128 characters")
        elif action == "grant" and too_long:
            out.append(f"refused: {', '.join(too_long)} too long")
        elif action == "grant":
            resident = item.get("resident")
            ledger.record_consent(
                partner,
                account,
                resident=None if resident is None else str(resident)[:128],
                contact={f: str(v) for f, v in fields.items() if v},
                url=url,
            )
            out.append("granted")
        elif action == "withdraw":
            out.append(
                "withdrawn" if ledger.withdraw_consent(partner, account, url=url) else "not found"
            )
        else:
            out.append("refused: action must be grant or withdraw")
    return out


def export_resident(partner: str, account: str, *, url: str | None = None) -> dict[str, Any] | None:
    """Everything kept about a partner's resident (PIPL art. 45), None when nothing is."""
    return ledger.export_account(partner, account, url=url)


def erase_resident(partner: str, account: str, *, url: str | None = None) -> bool:
    """Erase a partner's resident (PIPL art. 47): mapping, contact fields and raw events go,
    the ledger account is anonymised; False when nothing was kept."""
    return ledger.erase_account(partner, account, url=url)


class DebitRefusedError(CitycarbonError):
    """A redemption or donation that posted nothing; ``refusal`` is ``bad body`` or one of
    :data:`DEBIT_REFUSALS`' values, ``reason`` says why."""

    def __init__(self, refusal: str, reason: str) -> None:
        super().__init__(reason)
        self.refusal = refusal
        self.reason = reason


#: The ledger's refusals of a resident debit (:data:`citycarbon.store.credits.DEBIT_REFUSALS`),
#: by what the partner is told.
DEBIT_REFUSALS: dict[type[Exception], str] = {
    ledger.UnknownAccountError: "unknown account",
    ledger.NoConsentError: "no consent",
    ledger.InsufficientCreditsError: "insufficient balance",
    ledger.KeyReusedError: "id reused",
}


#: A debit's request-id field, by kind.
DEBIT_ID_FIELDS = {"redemption": "redemption_id", "donation": "donation_id"}
#: Longest request id: with the partner and the kind it makes the ledger's idempotency key
#: (200 characters at most).
MAX_REQUEST_ID = 100
#: The most points one request moves.
MAX_POINTS = 1_000_000_000


def parse_debit(kind: str, body: bytes) -> tuple[str, int, str, str | None]:
    """``account``, ``points``, the request id and (a redemption) the ``merchant`` of a debit's
    JSON body; :class:`DebitRefusedError` (``bad body``) when it is not the documented one."""
    id_field = DEBIT_ID_FIELDS[kind]
    try:
        payload: Any = json.loads(body)
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        payload = {}
    account, points, request_id = (payload.get(f) for f in ("account", "points", id_field))
    merchant = payload.get("merchant") if kind == "redemption" else None
    if (
        not isinstance(account, str)
        or not 0 < len(account) <= 128
        or type(points) is not int
        or not 0 < points <= MAX_POINTS
        or not isinstance(request_id, str)
        or not 0 < len(request_id) <= MAX_REQUEST_ID
        or not (merchant is None or (isinstance(merchant, str) and len(merchant) <= 100))
    ):
        merchant_field = ', "merchant"?: "<name>"' if kind == "redemption" else ""
        raise DebitRefusedError(
            "bad body",
            f'body must be {{"account": "<your id of the resident>", "points": 1..{MAX_POINTS}, '
            f'"{id_field}": "<unique id, at most {MAX_REQUEST_ID} characters>"{merchant_field}}}',
        )
    return account, points, request_id, merchant


def signed_debit(
    kind: str,
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    url: str | None = None,
    now: datetime | None = None,
) -> ledger.Debit:
    """A partner's signed redemption (at ``merchant``, kept as the entry's note) or donation (to
    the pool) from its resident ``account`` (:func:`parse_debit`), counting 1 against the
    partner's quota. The ledger entry is the record. The request id (unique per partner and
    kind) is the idempotency key: sent again, it answers the first entry and debits nothing.

    One connection and one transaction: the key, then (the signature checked)
    :func:`citycarbon.store.credits.signed_debit` (nonce, quota, account and consent, posting;
    one statement on PostgreSQL); a refused request still uses up its nonce. Raises
    :class:`PartnerAuthError`, :class:`QuotaExceededError`, or :class:`DebitRefusedError` when
    the body is not a debit's, the account is not the partner's, its consent to the partner is
    not valid, it holds fewer points, or the request id was used by another debit."""
    try:
        return _signed_debit(kind, headers, method, path, body, url=url, now=now)
    except ledger.DebitRacedError:  # rolled back; its key's first entry is now committed
        return _signed_debit(kind, headers, method, path, body, url=url, now=now)


def _signed_debit(
    kind: str,
    headers: dict[str, str],
    method: str,
    path: str,
    body: bytes,
    *,
    url: str | None,
    now: datetime | None,
) -> ledger.Debit:
    refused: CitycarbonError | None = None
    with catalog.session_scope(url) as session:
        partner, nonce, now = _signed_by(
            headers, method, path, body, session=session, url=url, now=now
        )
        prune_before = now - 2 * WINDOW
        try:
            account, points, request_id, merchant = parse_debit(kind, body)
        except DebitRefusedError as err:  # the nonce is used up all the same
            if not ledger.use_nonce(partner, nonce, prune_before=prune_before, session=session):
                raise PartnerAuthError(REPLAY) from None
            refused = err
        else:
            quota, stamp, window = _quota_window(partner, now)
            done = ledger.signed_debit(
                kind,
                partner,
                account,
                points,
                key=f"{partner}:{kind}:{request_id}",
                note=merchant,
                nonce=nonce,
                prune_before=prune_before,
                quota=window,
                session=session,
            )
            if done.replayed:
                raise PartnerAuthError(REPLAY)
            if done.over_quota:
                refused = _over_quota(quota, stamp, 1, done.used_day, done.used_minute)
            elif done.refusal is not None:
                refused = DebitRefusedError(DEBIT_REFUSALS[type(done.refusal)], str(done.refusal))
    if refused is not None:
        raise refused
    assert done.debit is not None
    return done.debit
