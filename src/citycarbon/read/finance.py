"""Scoped reads of the 绿色金融 (green finance) page and ``/api/v1/finance/...``, and of the
consent section of an enterprise's page.

- A bank user reads the enterprises whose consent to them is valid now (any scope): their
  carbon-efficiency grades, the trend of the annual grades, and the data quality (months of the
  year with both CO2 and value added). Every such read is written to the audit log.
- City-wide roles read the same for every graded enterprise (no audit: they see them anyway).
- An enterprise user reads and manages the consents of their own enterprise.

Selections of computed results and catalog rows only (rules of :mod:`citycarbon.read.access`).
"""

from __future__ import annotations

import pandas as pd

from citycarbon.read import access
from citycarbon.read import rating as rq
from citycarbon.read.access import NotVisible, Principal
from citycarbon.store import consents, users

#: Longest consent an enterprise may give at once (days; the store's rule).
MAX_CONSENT_DAYS = consents.MAX_DAYS
OVERVIEW_COLUMNS = [
    "enterprise_code",
    "name",
    "industry_code",
    "year",
    "grade",
    "level",
    "k",
    "intensity_t_per_10k_cny",
    "net_co2_t",
    "previous_grade",
    "movement",
    "months",
    "data_months_share",
    "consent_scope",
]


def finance_codes(principal: Principal) -> frozenset[str] | None:
    """Enterprises the principal reads on the finance views; None = all (city-wide)."""
    access.require(principal, "read_finance")
    return None if principal.city_wide else access.consented_codes(principal)


def _annual(codes: frozenset[str] | None) -> pd.DataFrame:
    """Every annual grade row (of ``codes``)."""
    g = rq.all_grades()
    annual = g[g["period_type"].to_numpy() == "year"]
    if codes is not None:
        annual = annual[annual["enterprise_code"].isin(codes).to_numpy()]
    return annual


def overview(principal: Principal) -> pd.DataFrame:
    """One row per readable enterprise: its newest annual grade, level, K, L, movement since
    the year before, months of data (and their share of 12) and, for a bank, the consent
    scope. Audited for banks."""
    codes = finance_codes(principal)
    annual = _annual(codes)
    latest = annual.sort_values("year").drop_duplicates("enterprise_code", keep="last")
    out = latest.copy()
    out["data_months_share"] = out["months"].astype(float) / 12.0
    valid = {} if codes is None else consents.valid_for(principal.user_id)
    out["consent_scope"] = out["enterprise_code"].map(valid).fillna("")
    names = access.registry().enterprises["name"]
    out["name"] = names.reindex(out["enterprise_code"]).to_numpy()
    out = out[OVERVIEW_COLUMNS].sort_values(["grade", "enterprise_code"]).reset_index(drop=True)
    if codes is not None:
        missing = sorted(codes - set(out["enterprise_code"]))  # consented, not graded
        extra = pd.DataFrame({"enterprise_code": missing})
        extra["name"] = names.reindex(extra["enterprise_code"]).to_numpy()
        extra["consent_scope"] = extra["enterprise_code"].map(valid)
        out = pd.concat([out, extra.reindex(columns=OVERVIEW_COLUMNS)], ignore_index=True)
        access.audit_bank_read(principal, "finance overview", codes)
    return out


def trend(principal: Principal, credit_code: str) -> pd.DataFrame:
    """Every graded period (annual and monthly) of one readable enterprise, newest first;
    NotVisible outside the principal's consents. Audited for banks."""
    codes = finance_codes(principal)
    reg = access.registry().enterprises
    if credit_code not in reg.index or (codes is not None and credit_code not in codes):
        raise NotVisible(f"enterprise {credit_code} not found")
    access.audit_bank_read(principal, f"finance trend {credit_code}", [credit_code])
    g = rq.all_grades()
    g = g[g["enterprise_code"].to_numpy() == credit_code]
    return (
        g[rq.GRADE_COLUMNS]
        .sort_values(["period_type", "year", "month"], ascending=False)
        .reset_index(drop=True)
    )


# --------------------------------------------------------------------------- consents
def _own(principal: Principal, credit_code: str) -> None:
    access.require(principal, "grant_consent")
    if principal.scope_code != credit_code:
        raise NotVisible(f"enterprise {credit_code} not found")


def enterprise_consents(principal: Principal, credit_code: str) -> pd.DataFrame:
    """The consents of the principal's own enterprise (enterprise users only)."""
    _own(principal, credit_code)
    return consents.of_enterprise(credit_code)


def bank_users(principal: Principal, credit_code: str) -> pd.DataFrame:
    """The active bank users an enterprise user may grant a consent to: username, name."""
    _own(principal, credit_code)
    frame = users.list_users()
    frame = frame[(frame["role"] == "bank") & frame["active"].astype(bool)]
    return frame[["username", "display_name"]].reset_index(drop=True)


def publishing_codes(principal: Principal) -> frozenset[str]:
    """Enterprises that consent to the publication of their carbon class (city-wide roles)."""
    access.require(principal, "read_city")
    return consents.publishing()


def grant(
    principal: Principal,
    credit_code: str,
    *,
    grantee: str | None,
    scope: str,
    purpose: str,
    days: int,
) -> int:
    """Record a consent of the principal's own enterprise; its id."""
    _own(principal, credit_code)
    return consents.grant(
        credit_code, grantee, scope=scope, purpose=purpose, days=days, actor=principal.username
    )


def revoke(principal: Principal, credit_code: str, consent_id: int) -> None:
    """Revoke a consent of the principal's own enterprise."""
    _own(principal, credit_code)
    consents.revoke(consent_id, enterprise_code=credit_code, actor=principal.username)
