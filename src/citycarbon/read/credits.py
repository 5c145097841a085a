"""碳普惠 read model for city roles: credited reductions by methodology, district and month.

Aggregates of the ledger's standing issuances (no account, no partner). City-wide roles see the
whole city; other roles the districts their data lie in
(:func:`citycarbon.read.access.visible_district_codes`). The reductions are behaviour-driven and
already inside the city's measured emissions: pages show them beside the inventory, never
subtracted from it.
"""

from __future__ import annotations

import pandas as pd

from citycarbon.config import load_city
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.store import credits as ledger

#: kgCO2e per point (the methodology set's ``points_per_kg: 1000``: 1 point = 1 gCO2e).
KG_PER_POINT = 1e-3
UNATTRIBUTED = ""


def credited(principal: Principal) -> pd.DataFrame:
    """``period``, ``method``, ``region_code`` ('' = no district reported), ``events``,
    ``credited_kgco2e`` of the principal's visible districts."""
    access.require(principal, "read")
    f = ledger.issuance_summary()
    f = f.assign(
        region_code=f["region_code"].fillna(UNATTRIBUTED),
        credited_kgco2e=f["points"] * KG_PER_POINT,
    ).drop(columns="points")
    districts = access.visible_district_codes(principal)
    if districts is not None:
        f = f[f["region_code"].isin(districts)]
    return f.sort_values(["period", "method", "region_code"]).reset_index(drop=True)


def credited_by(principal: Principal) -> dict[str, pd.DataFrame]:
    """The credited reductions by ``method``, ``region_code`` and ``period`` (one table each)."""
    f = credited(principal)
    return {
        key: f.groupby(key, as_index=False)[["events", "credited_kgco2e"]].sum()
        for key in ("method", "region_code", "period")
    }


#: Columns of :func:`daily_reconciliation` [points, except ``day`` and ``balanced``].
RECONCILIATION_COLUMNS = ("day", "issued", "redeemed", "expired", "donated", "outstanding")


def daily_reconciliation(
    principal: Principal, days: int = 7, *, today: pd.Timestamp | None = None
) -> pd.DataFrame:
    """The ledger's reconciliation at the end of each of the last ``days`` days in the city's
    timezone, newest first: :data:`RECONCILIATION_COLUMNS` and ``balanced``
    (issued - redeemed - expired = outstanding). City-wide roles only (the ledger is the
    city's: no district share of it exists)."""
    access.require(principal, "read_city")
    tz = load_city().timezone
    local_today = (today or pd.Timestamp.now(tz=tz)).tz_convert(tz).normalize()
    rows = []
    for back in range(days):  # one ledger aggregate per day shown
        day = local_today - pd.Timedelta(days=back)
        end = (day + pd.Timedelta(days=1)).tz_convert("UTC").to_pydatetime()
        rec = ledger.reconciliation(as_of=end - pd.Timedelta(microseconds=1))
        rows.append({"day": day.date().isoformat(), **rec})
    return pd.DataFrame(rows, columns=[*RECONCILIATION_COLUMNS, "balanced"])


def held_for_review(principal: Principal) -> pd.DataFrame:
    """The review queue of held partner events (``partner``, ``event_id``, ``method``, ``at``,
    ``reason``, ``received_at``; no resident id). City-wide roles only."""
    access.require(principal, "read_city")
    return ledger.held_events()
