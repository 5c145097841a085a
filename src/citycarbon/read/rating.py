"""Scoped reads of the 碳效 (carbon-efficiency) page and its API: grades of the enterprises a
principal sees, grade distributions by city, district, park and industry class, and the movement
between periods — selections and counts of the computed results ``carbon_efficiency`` and
``carbon_efficiency_distribution`` only (the grades are made by
:func:`citycarbon.runs.rating.carbon_efficiency`).

Scope (rules of :mod:`citycarbon.read.access`): city-wide roles read every grade and every
distribution; a district manager the grades of their district's enterprises and the
distributions of their district and its parks; a park manager those of their park; enterprise
users and banks only the grades of the enterprises they see (no distribution, which would
describe enterprises they do not see).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from citycarbon.contract.codes import industry_names
from citycarbon.contract.results import (
    CARBON_EFFICIENCY,
    CARBON_EFFICIENCY_DISTRIBUTION,
    ENERGY_BENCHMARK,
    ENERGY_BENCHMARK_SUMMARY,
)
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.store import results

PERIOD_TYPES = ("year", "month")
DIMENSIONS = ("city", "district", "park", "industry")
MOVEMENTS = ("up", "same", "down", "new")
HINT = "citycarbon pipeline run (or citycarbon demo)"
DISTRIBUTION_COLUMNS = [
    "group_code",
    "group_name",
    "grade",
    "enterprises",
    "share",
    "value_added_10k_cny",
    "net_co2_t",
]
GRADE_COLUMNS = [
    "period_type",
    "year",
    "month",
    "enterprise_code",
    "industry_code",
    "district_code",
    "park_code",
    "months",
    "net_co2_t",
    "value_added_10k_cny",
    "intensity_t_per_10k_cny",
    "level",
    "industry_intensity_t_per_10k_cny",
    "k",
    "grade",
    "previous_grade",
    "movement",
    "rules",
]


def computed() -> bool:
    """Whether grades were computed."""
    return results.has(CARBON_EFFICIENCY)


def all_grades() -> pd.DataFrame:
    """Every computed grade row, unscoped (callers apply the scope)."""
    if not computed():
        return pd.DataFrame(columns=GRADE_COLUMNS)
    frame = results.current(CARBON_EFFICIENCY)
    return frame.astype({"year": "int64", "month": "int64", "grade": "int64"})


def periods(principal: Principal) -> pd.DataFrame:
    """Periods with grades (period_type, year, month; month 0 = the year), newest first."""
    access.require(principal, "read")
    g = all_grades()
    return (
        g[["period_type", "year", "month"]]
        .drop_duplicates()
        .sort_values(["period_type", "year", "month"], ascending=[True, False, False])
        .reset_index(drop=True)
    )


def latest_period(principal: Principal, period_type: str = "year") -> tuple[int, int] | None:
    """(year, month) of the newest graded period of a type; None when nothing was graded."""
    p = periods(principal)
    p = p[p["period_type"] == period_type]
    return None if p.empty else (int(p["year"].iat[0]), int(p["month"].iat[0]))


def grades(
    principal: Principal,
    *,
    period_type: str = "year",
    year: int | None = None,
    month: int = 0,
    enterprise: str | None = None,
) -> pd.DataFrame:
    """Grades of the visible enterprises in one period (``year`` None: the newest), with the
    enterprise's name, best grade first; or, with ``enterprise``, every period of one visible
    enterprise (NotVisible otherwise), newest first."""
    access.require(principal, "read")
    g = all_grades()
    if enterprise is not None:
        access.enterprise(principal, enterprise)
        g = g[g["enterprise_code"].to_numpy() == enterprise]
        return g.sort_values(["period_type", "year", "month"], ascending=[False, False, False])[
            GRADE_COLUMNS
        ].reset_index(drop=True)
    if year is None:
        latest = latest_period(principal, period_type)
        if latest is None:
            return g[GRADE_COLUMNS].head(0)
        year, month = latest
    month = 0 if period_type == "year" else int(month)
    g = g[
        (g["period_type"].to_numpy() == period_type)
        & (g["year"].to_numpy() == int(year))
        & (g["month"].to_numpy() == month)
    ]
    visible = access.visible_enterprise_codes(principal)
    if visible is not None:
        g = g[g["enterprise_code"].isin(visible).to_numpy()]
    out = g[GRADE_COLUMNS].copy()
    names = access.registry().enterprises["name"]
    out.insert(4, "name", names.reindex(out["enterprise_code"]).to_numpy())
    graded = out["grade"].to_numpy() > 0
    out = out.assign(_ungraded=~graded).sort_values(
        ["_ungraded", "grade", "k", "enterprise_code"], kind="stable"
    )
    return out.drop(columns="_ungraded").reset_index(drop=True)


def _visible_groups(principal: Principal) -> dict[str, frozenset[str] | None]:
    """Per dimension the group codes the principal may read (None: all)."""
    if principal.city_wide:
        return dict.fromkeys(DIMENSIONS)
    none: frozenset[str] = frozenset()
    if principal.role == "district_manager":
        parks = access.visible_park_codes(principal) or none
        return {
            "city": none,
            "district": frozenset([str(principal.scope_code)]),
            "park": parks,
            "industry": none,
        }
    if principal.role == "park_manager":
        return {"city": none, "district": none, "park": frozenset([str(principal.scope_code)])}
    return {}


def distribution(
    principal: Principal,
    *,
    dimension: str = "city",
    period_type: str = "year",
    year: int | None = None,
    month: int = 0,
    lang: str = "zh",
) -> pd.DataFrame:
    """Enterprises per grade by group of a dimension (city, district, park, industry class) in
    one period, over the groups the principal may read; empty for roles without any."""
    access.require(principal, "read")
    groups = _visible_groups(principal).get(dimension, frozenset())
    latest = latest_period(principal, period_type)
    if not results.has(CARBON_EFFICIENCY_DISTRIBUTION) or groups == frozenset() or not latest:
        return pd.DataFrame(columns=DISTRIBUTION_COLUMNS)
    if year is None:
        year, month = latest
    month = 0 if period_type == "year" else int(month)
    d = results.current(CARBON_EFFICIENCY_DISTRIBUTION)
    d = d[
        (d["period_type"].to_numpy() == period_type)
        & (d["year"].astype("int64").to_numpy() == int(year))
        & (d["month"].astype("int64").to_numpy() == month)
        & (d["dimension"].to_numpy() == dimension)
    ]
    if groups is not None:
        d = d[d["group_code"].isin(groups).to_numpy()]
    d = d.assign(group_name=_group_names(dimension, d["group_code"], lang))
    return d[DISTRIBUTION_COLUMNS].sort_values(["group_code", "grade"]).reset_index(drop=True)


def _group_names(dimension: str, codes: pd.Series, lang: str) -> np.ndarray:
    """Names of the groups of a dimension (the code where the registry has none)."""
    reg = access.registry()
    if dimension == "industry":
        names = industry_names(codes, lang)
    elif dimension in ("district", "city"):
        names = reg.regions["name_zh" if lang == "zh" else "name_en"].reindex(codes)
    else:
        names = reg.parks["name_zh"].reindex(codes)
    return pd.Series(names.to_numpy(), dtype=object).fillna(codes.reset_index(drop=True)).to_numpy()


def movement(graded: pd.DataFrame) -> dict[str, Any]:
    """Counts of the movements (up, same, down, new) among the rows of :func:`grades`."""
    counts = graded.loc[graded["grade"].to_numpy() > 0, "movement"].value_counts()
    return {m: int(counts.get(m, 0)) for m in MOVEMENTS}


def grade_counts(graded: pd.DataFrame) -> dict[int, int]:
    """Enterprises per grade (1-5, 0 = not graded) among the rows of :func:`grades`."""
    counts = graded["grade"].value_counts()
    return {g: int(counts.get(g, 0)) for g in range(0, 6)}


# ------------------------------------------------------------- energy-efficiency benchmarking
BENCHMARK_COLUMNS = [
    "enterprise_code",
    "name",
    "year",
    "product_id",
    "product_name_zh",
    "product_name_en",
    "unit_energy",
    "level_unit",
    "benchmark",
    "baseline",
    "position",
    "source_status",
    "levels",
]


def energy_benchmarks(principal: Principal, year: int | None = None) -> pd.DataFrame:
    """The benchmarked enterprise-years of the visible enterprises in ``year`` (None: the
    newest), worst position first (result ``energy_benchmark``)."""
    access.require(principal, "read")
    if not results.has(ENERGY_BENCHMARK):
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    a = results.current(ENERGY_BENCHMARK).astype({"year": "int64"})
    visible = access.visible_enterprise_codes(principal)
    if visible is not None:
        a = a[a["enterprise_code"].isin(visible).to_numpy()]
    if a.empty:
        return pd.DataFrame(columns=BENCHMARK_COLUMNS)
    a = a[a["year"] == (int(year) if year is not None else int(a["year"].max()))]
    names = access.registry().enterprises["name"]
    a = a.assign(
        name=names.reindex(a["enterprise_code"]).to_numpy(),
        _order=a["position"].map({"below_baseline": 0, "compliant": 1, "advanced": 2}),
    )
    return a.sort_values(["_order", "product_id", "unit_energy"], ascending=[True, True, False])[
        BENCHMARK_COLUMNS
    ].reset_index(drop=True)


def energy_benchmark_summary(principal: Principal, year: int) -> pd.DataFrame:
    """Output shares per product of ``year`` (result ``energy_benchmark_summary``): city-wide
    roles only (they describe enterprises others do not see); empty for the others."""
    access.require(principal, "read")
    if not principal.city_wide or not results.has(ENERGY_BENCHMARK_SUMMARY):
        return pd.DataFrame()
    s = results.current(ENERGY_BENCHMARK_SUMMARY).astype({"year": "int64"})
    return s[s["year"] == int(year)].sort_values("product_id").reset_index(drop=True)
