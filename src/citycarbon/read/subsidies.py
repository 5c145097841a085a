"""Scoped reads of the 补贴测算 page and ``/api/v1/finance/subsidies``: the subsidy
applications with their computed entitlements, one application's subsidy by year, and the
programmes' budgets.

Applications are seen by the principal's visible enterprises
(:func:`citycarbon.read.access.visible_enterprise_codes`: city-wide roles all, a district or
park manager theirs, an enterprise user its own, a bank those with a valid ``full`` consent,
audited); an application outside them is *not found*. Budgets are city-wide figures (city-wide
roles only).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from citycarbon.contract.results import SUBSIDY_APPLICATION, SUBSIDY_BUDGET, SUBSIDY_SCHEDULE
from citycarbon.read import access
from citycarbon.read.access import NotVisible, Principal
from citycarbon.store import results

APPLICATION_COLUMNS = [c for c in SUBSIDY_APPLICATION.all_columns if c != "method"]


def _current(result: Any) -> pd.DataFrame:
    return (
        results.current(result)
        if results.has(result)
        else pd.DataFrame(columns=list(result.all_columns))
    )


def applications(principal: Principal) -> pd.DataFrame:
    """The applications of the principal's visible enterprises, newest year first (audited for
    banks)."""
    codes = access.visible_enterprise_codes(principal)
    frame = _current(SUBSIDY_APPLICATION)
    if codes is not None:
        frame = frame[frame["enterprise_code"].isin(codes).to_numpy()]
        access.audit_bank_read(principal, "subsidy applications", codes)
    names = access.registry().enterprises["name"]
    out = frame[APPLICATION_COLUMNS].assign(name=names.reindex(frame["enterprise_code"]).to_numpy())
    return out.sort_values(["year", "application_id"], ascending=[False, True]).reset_index(
        drop=True
    )


def application(principal: Principal, application_id: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """One visible application and its loan subsidy by year (NotVisible otherwise)."""
    frame = _current(SUBSIDY_APPLICATION)
    row = frame[frame["application_id"].to_numpy() == application_id]
    codes = access.visible_enterprise_codes(principal)
    if row.empty or (codes is not None and row["enterprise_code"].iloc[0] not in codes):
        raise NotVisible(f"subsidy application {application_id} not found")
    access.audit_bank_read(
        principal, f"subsidy application {application_id}", row["enterprise_code"].tolist()
    )
    schedule = _current(SUBSIDY_SCHEDULE)
    schedule = schedule[schedule["application_id"].to_numpy() == application_id]
    names = access.registry().enterprises["name"]
    found = row.iloc[0].to_dict()
    found["name"] = names.get(found["enterprise_code"])
    return found, schedule.sort_values("subsidy_year").reset_index(drop=True)


def budgets(principal: Principal) -> pd.DataFrame:
    """Each programme's allocation, committed and paid amounts (city-wide roles)."""
    access.require(principal, "read_city")
    return _current(SUBSIDY_BUDGET).reset_index(drop=True)
