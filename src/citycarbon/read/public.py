"""The public citizen view (公众视图, no sign-in): city-level aggregates only.

What is public: the city's inventory totals by year and basis (top-down, ``level == city``
rows of ``city_inventory``), its sectors in the latest year, the city's dual-control
indicators (``dual_control_indicators`` at ``level == city``) and the 碳普惠 totals by month,
method and district (ledger aggregates). Nothing below the city — no enterprise, park,
district emissions, no account — is read here, so nothing scoped or personal can be reached
from a public route. Answers are cached for :data:`CACHE_S` seconds per process.

The open-data downloads carry their licence and 口径 (:data:`DATASETS`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from citycarbon.contract.results import result as declared
from citycarbon.read.credits import KG_PER_POINT
from citycarbon.store import credits as ledger
from citycarbon.store import results

#: Seconds a public answer is reused (and the ``max-age`` the web layer sends).
CACHE_S = 300
#: Licence of the open data. The city decides it; CC BY 4.0 is this platform's default
#: (assumption: true) until the city's open-data office confirms one.
LICENCE = {
    "id": "CC-BY-4.0",
    "url": "https://creativecommons.org/licenses/by/4.0/",
    "assumption": True,
}
_cache: dict[str, tuple[float, Any]] = {}
_lock = threading.Lock()


def _cached(key: str, make: Callable[[], Any]) -> Any:
    now = time.monotonic()
    with _lock:
        hit = _cache.get(key)
    if hit is not None and now - hit[0] < CACHE_S:
        return hit[1]
    value = make()
    with _lock:
        _cache[key] = (now, value)
    return value


def invalidate() -> None:
    """Forget the cached answers (tests, after a recompute)."""
    with _lock:
        _cache.clear()


def _current(name: str) -> pd.DataFrame | None:
    decl = declared(name)
    return results.current(decl) if results.has(decl) else None


def _city_inventory() -> pd.DataFrame:
    inv = _current("city_inventory")
    cols = ["year", "basis", "sector", "sector_name_zh", "emissions_tco2e"]
    if inv is None:
        return pd.DataFrame(columns=cols)
    return inv.loc[(inv["level"] == "city") & inv["month"].isna(), cols]


def emissions_trend() -> pd.DataFrame:
    """City emissions [tCO2e] by year and basis (years without an estimate left out)."""

    def make() -> pd.DataFrame:
        rows = _city_inventory()
        out = rows.groupby(["year", "basis"], as_index=False)["emissions_tco2e"].sum(min_count=1)
        return out.dropna(subset=["emissions_tco2e"]).sort_values(["basis", "year"])

    return _cached("emissions_trend", make).reset_index(drop=True)


def emissions_by_sector() -> pd.DataFrame:
    """City emissions [tCO2e] by sector in the latest year, per basis."""

    def make() -> pd.DataFrame:
        rows = _city_inventory()
        if rows.empty:
            return rows
        rows = rows[rows["year"] == rows["year"].max()]
        keys = ["year", "basis", "sector", "sector_name_zh"]
        return rows.groupby(keys, as_index=False)["emissions_tco2e"].sum(min_count=1)

    return _cached("emissions_by_sector", make).reset_index(drop=True)


def dual_control() -> pd.DataFrame:
    """The city's dual-control indicators with their basis, status and note (口径)."""

    def make() -> pd.DataFrame:
        f = _current("dual_control_indicators")
        cols = ["year", "indicator", "value", "unit", "role", "basis", "status", "note"]
        if f is None:
            return pd.DataFrame(columns=cols)
        return f.loc[f["level"] == "city", cols].sort_values(["indicator", "year"])

    return _cached("dual_control", make).reset_index(drop=True)


def credits_summary() -> pd.DataFrame:
    """碳普惠 credited reductions by month, method and district: ``points``, ``events`` and
    ``credited_kgco2e`` (1 point = 1 gCO2e). Already inside the measured emissions above."""

    def make() -> pd.DataFrame:
        f = ledger.issuance_summary()
        return f.assign(
            region_code=f["region_code"].fillna(""), credited_kgco2e=f["points"] * KG_PER_POINT
        ).sort_values(["period", "method", "region_code"])

    return _cached("credits_summary", make).reset_index(drop=True)


@dataclass(frozen=True)
class Dataset:
    """An open-data download: its rows and its 口径 (i18n key of the description)."""

    name: str
    rows: Callable[[], pd.DataFrame]
    basis_key: str


DATASETS = {
    d.name: d
    for d in (
        Dataset("emissions", emissions_trend, "public.basis_emissions"),
        Dataset("emissions_by_sector", emissions_by_sector, "public.basis_emissions"),
        Dataset("dual_control", dual_control, "public.basis_dual_control"),
        Dataset("credits", credits_summary, "public.basis_credits"),
    )
}
