"""Consents (授权): an enterprise lets one bank user read its data, for a purpose, until an
expiry date, revocable at any time. Grants, revocations and every read a bank makes under a
consent are written to the audit log (``audit_log``). Who may grant is the access layer's rule
(:mod:`citycarbon.read.access`); this module only stores.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

import pandas as pd
import sqlalchemy as sa

from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.store import catalog
from citycarbon.store.models import CONSENT_SCOPES, Consent, Enterprise, User, utcnow

#: Longest consent an enterprise may give at once (days).
MAX_DAYS = 3 * 366
COLUMNS = [
    "id",
    "enterprise_code",
    "grantee",
    "grantee_name",
    "scope",
    "purpose",
    "granted_by",
    "granted_at",
    "expires_at",
    "revoked_at",
    "revoked_by",
    "valid",
]


def _public(c: Consent) -> dict[str, object]:
    return {
        "enterprise_code": c.enterprise_code,
        "grantee_user_id": c.grantee_user_id,
        "scope": c.scope,
        "purpose": c.purpose,
        "expires_at": c.expires_at,
        "revoked_at": c.revoked_at,
    }


def grant(
    enterprise_code: str,
    grantee: str | None,
    *,
    scope: str,
    purpose: str,
    days: int,
    actor: str,
    url: str | None = None,
) -> int:
    """Record a consent of ``enterprise_code`` for the bank user ``grantee`` (ignored for a
    ``publication`` consent, which is given to the city); its id.

    Raises InputError for an unknown enterprise, a grantee that is not an active bank user, an
    unknown scope, an empty purpose or a lifetime outside 1..:data:`MAX_DAYS` days.
    """
    if scope not in CONSENT_SCOPES:
        raise UnknownCodeError("consent scope", scope, CONSENT_SCOPES, source="consents")
    purpose = (purpose or "").strip()
    if not purpose:
        raise InputError("a consent needs a purpose", source="consents", field="purpose")
    if not 1 <= int(days) <= MAX_DAYS:
        raise InputError(
            f"a consent lasts 1 to {MAX_DAYS} days", source="consents", field="days", value=days
        )
    with catalog.session_scope(url) as s:
        if s.get(Enterprise, enterprise_code) is None:
            raise InputError(f"enterprise {enterprise_code} not found", source="consents")
        user = s.scalars(
            sa.select(User).where(User.username == grantee, User.role == "bank", User.active)
        ).first()
        if scope == "publication":  # to the city, not to a bank
            user = None
        elif user is None:
            raise InputError(
                f"{grantee!r} is not an active bank user",
                source="consents",
                field="grantee",
                value=grantee,
            )
        now = utcnow()
        row = Consent(
            enterprise_code=enterprise_code,
            grantee_user_id=None if user is None else user.id,
            scope=scope,
            purpose=purpose[:200],
            granted_by=actor,
            granted_at=now,
            expires_at=now + timedelta(days=int(days)),
        )
        s.add(row)
        s.flush()
        catalog.record_audit(s, actor, "grant", "consent", row.id, None, _public(row))
        return int(row.id)


def revoke(consent_id: int, *, enterprise_code: str, actor: str, url: str | None = None) -> None:
    """Revoke a consent of ``enterprise_code`` (it stops counting at once). Audited; a consent
    of another enterprise answers as if it did not exist."""
    with catalog.session_scope(url) as s:
        row = s.get(Consent, int(consent_id))
        if row is None or row.enterprise_code != enterprise_code:
            raise InputError(f"there is no consent {consent_id}", source="consents")
        before = _public(row)
        row.revoked_at = row.revoked_at or utcnow()
        row.revoked_by = row.revoked_by or actor
        catalog.record_audit(s, actor, "revoke", "consent", row.id, before, _public(row))


def of_enterprise(enterprise_code: str, *, url: str | None = None) -> pd.DataFrame:
    """Every consent of one enterprise (valid or not), newest first, with ``valid``."""
    query = (
        sa.select(
            Consent.id,
            Consent.enterprise_code,
            User.username.label("grantee"),
            User.display_name.label("grantee_name"),
            Consent.scope,
            Consent.purpose,
            Consent.granted_by,
            Consent.granted_at,
            Consent.expires_at,
            Consent.revoked_at,
            Consent.revoked_by,
        )
        .outerjoin(User, User.id == Consent.grantee_user_id)
        .where(Consent.enterprise_code == enterprise_code)
        .order_by(Consent.id.desc())
    )
    with catalog._reading(url) as s:
        rows = s.execute(query).all()
    frame = pd.DataFrame(rows, columns=COLUMNS[:-1])
    now = utcnow()
    granted = pd.to_datetime(frame["granted_at"], utc=True)
    expires = pd.to_datetime(frame["expires_at"], utc=True)
    frame["valid"] = (frame["revoked_at"].isna() & (granted <= now) & (expires > now)).to_numpy()
    return frame


def valid_for(
    user_id: int | None, *, at: datetime | None = None, url: str | None = None
) -> dict[str, str]:
    """Enterprise code -> the widest scope of the consents valid for a bank user now (or
    ``at``): ``full`` over ``rating``."""
    if user_id is None:
        return {}
    at = at or utcnow()
    query = sa.select(Consent.enterprise_code, Consent.scope).where(
        Consent.grantee_user_id == int(user_id),
        Consent.revoked_at.is_(None),
        Consent.granted_at <= at,
        Consent.expires_at > at,
    )
    with catalog._reading(url) as s:
        rows = s.execute(query).all()
    out: dict[str, str] = {}
    for code, scope in rows:  # a handful of consents per bank user
        out[code] = "full" if "full" in (scope, out.get(code)) else scope
    return out


def publishing(*, at: datetime | None = None, url: str | None = None) -> frozenset[str]:
    """Enterprises whose consent to the publication of their carbon class is valid now."""
    at = at or utcnow()
    query = sa.select(Consent.enterprise_code).where(
        Consent.scope == "publication",
        Consent.revoked_at.is_(None),
        Consent.granted_at <= at,
        Consent.expires_at > at,
    )
    with catalog._reading(url) as s:
        return frozenset(s.execute(query).scalars())


def record_access(actor: str, what: str, codes: Iterable[str], *, url: str | None = None) -> None:
    """Audit a bank's read of enterprises' data under their consents (one entry per request)."""
    codes = sorted(codes)
    with catalog.session_scope(url) as s:
        catalog.record_audit(
            s, actor, "read", "consented_enterprises", what[:100], None, {"enterprises": codes}
        )
