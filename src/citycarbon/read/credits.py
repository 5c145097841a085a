"""碳普惠 read model for city roles: credited reductions by methodology, district and month.

Aggregates of the ledger's standing issuances (no account, no partner). City-wide roles see the
whole city; other roles the districts their data lie in
(:func:`citycarbon.read.access.visible_district_codes`). The reductions are behaviour-driven and
already inside the city's measured emissions: pages show them beside the inventory, never
subtracted from it.
"""

from __future__ import annotations

import pandas as pd

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
