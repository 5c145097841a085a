"""Scoped reads of the green project reserve (绿色低碳项目库): the projects with their expected
reduction and their eligibility under the two green catalogues, as the pipeline computed them.

Who sees which project (rules of :mod:`citycarbon.read.access`):

- city-wide roles: every project;
- a district manager: the projects in the district;
- a park manager and an enterprise user: the projects owned by the enterprises they see;
- a bank: the projects owned by enterprises whose consent to it is valid now (any scope, as on
  the 绿色金融 views); every such read is audited;
- other roles: none.

A project outside the scope is *not found* (:class:`~citycarbon.read.access.NotVisible`).
Selections of computed results only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.config.settings import get_settings
from citycarbon.contract.inputs import DEMONSTRATION_LEVELS as DEMONSTRATION
from citycarbon.contract.inputs import NOT_DEMONSTRATION
from citycarbon.contract.results import GREEN_PROJECT_ELIGIBILITY, GREEN_PROJECT_REDUCTION
from citycarbon.read import access
from citycarbon.read.access import NotVisible, Principal
from citycarbon.store import results

STATUSES = ("candidate", "approved", "under_construction", "operating")
#: Recognition levels of a demonstration project (示范项目), lowest first.
DEMONSTRATION_LEVELS = tuple(level for level in DEMONSTRATION if level != NOT_DEMONSTRATION)
TOTAL_COLUMNS = ("investment_10k_cny", "reduction_tco2_per_yr")


def _current(decl) -> pd.DataFrame:
    lake = get_settings().lake
    if not results.has(decl, lake=lake):
        return pd.DataFrame(columns=list(decl.all_columns))
    return results.current(decl, lake=lake)


def _visible(principal: Principal, frame: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` (projects) the principal may read."""
    if principal.city_wide:
        return np.ones(len(frame), dtype=bool)
    if principal.role == "district_manager":
        return (frame["district_code"] == principal.scope_code).to_numpy()
    if principal.role == "bank":
        codes = access.consented_codes(principal)
    elif principal.role in ("park_manager", "enterprise_user"):
        codes = access.visible_enterprise_codes(principal) or frozenset()
    else:
        codes = frozenset()
    return frame["owner_code"].isin(codes).to_numpy()


def projects(
    principal: Principal,
    *,
    status: str | None = None,
    technology: str | None = None,
    district: str | None = None,
    demonstration: bool = False,
    owners: frozenset[str] | None = None,
) -> pd.DataFrame:
    """The readable projects matching every given filter (``demonstration``: demonstration
    projects only, at any level; ``owners``: owned by these enterprises), largest expected
    reduction first. Audited for banks."""
    access.require(principal, "read")
    frame = _current(GREEN_PROJECT_REDUCTION)
    keep = _visible(principal, frame)
    for col, value in (("status", status), ("technology", technology), ("district_code", district)):
        if value:
            keep &= (frame[col] == value).to_numpy()
    if demonstration:
        keep &= (frame["demonstration_level"] != NOT_DEMONSTRATION).to_numpy()
    if owners is not None:
        keep &= frame["owner_code"].isin(owners).to_numpy()
    out = frame[keep].sort_values("reduction_tco2_per_yr", ascending=False, na_position="last")
    if principal.role == "bank" and len(out):
        access.audit_bank_read(principal, "green projects", sorted(set(out["owner_code"])))
    return out.reset_index(drop=True)


def totals(frame: pd.DataFrame) -> dict[str, float | int]:
    """Number of projects, total investment and expected reduction of ``frame``."""
    sums = {c: float(frame[c].sum()) for c in TOTAL_COLUMNS}
    return {"projects": len(frame), **sums}


def eligibility(project_ids: pd.Series) -> pd.DataFrame:
    """The eligibility rows of ``project_ids`` (already scoped by :func:`projects`)."""
    frame = _current(GREEN_PROJECT_ELIGIBILITY)
    return frame[frame["project_id"].isin(project_ids).to_numpy()].reset_index(drop=True)


def project(principal: Principal, project_id: str) -> tuple[dict, pd.DataFrame]:
    """One readable project and its eligibility rows; NotVisible outside the scope."""
    found = projects(principal)
    row = found[found["project_id"] == project_id]
    if not len(row):
        raise NotVisible(f"project {project_id} not found")
    return row.iloc[0].to_dict(), eligibility(row["project_id"])


def filter_options(principal: Principal) -> dict[str, list[str]]:
    """Technologies and districts present among the readable projects (filter choices)."""
    frame = _current(GREEN_PROJECT_REDUCTION)
    frame = frame[_visible(principal, frame)]
    return {
        "technology": sorted(set(frame["technology"])),
        "district": sorted(set(frame["district_code"])),
        "status": list(STATUSES),
    }
