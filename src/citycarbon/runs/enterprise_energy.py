"""An enterprise's energy use by fuel, computed on request for the 企业 page and its API:
quantities of the 205-1 returns (``energy_monthly``) in each fuel's statistical unit and in
standard coal [tce] by the GB/T 2589-2020 coefficients of the city's factor profile.

The face checks that the enterprise is visible (:func:`citycarbon.read.access.enterprise`)
before calling :func:`fuel_mix`.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np
import pandas as pd

from citycarbon.accounting.energy import energy_tce
from citycarbon.config import load_city
from citycarbon.store import lake, query

FUEL_MIX_COLUMNS = ["fuel", "name_zh", "unit", "quantity", "energy_tce"]
_lock = threading.Lock()
_ff_cache: dict[str, pd.DataFrame] = {}


def _fuel_factors() -> pd.DataFrame:
    """Fuel factors of the city's profile by fuel (cached per city)."""
    cfg = load_city()
    with _lock:
        if cfg.id not in _ff_cache:
            ff = query.fuel_factors_frame(
                cfg.factor_profile("enterprise"), tier1=cfg.factors.mode.enterprise == "inventory"
            )
            _ff_cache[cfg.id] = ff.set_index("fuel")
        return _ff_cache[cfg.id]


def fuel_mix(credit_code: str, year: int | None = None) -> pd.DataFrame:
    """Energy use of one enterprise by fuel in a year (default: its latest year): quantity in
    the fuel's statistical unit and standard coal [tce] (NaN where the return's unit is not the
    fuel's statistical unit), largest first."""
    filters: dict[str, Any] = {"enterprise_code": credit_code}
    if year:
        filters["year"] = int(year)
    rows = lake.read_current(
        "energy_monthly",
        filters,
        columns=["enterprise_code", "year", "fuel", "unit", "consumed_total"],
    )
    if rows.empty:
        return pd.DataFrame(columns=FUEL_MIX_COLUMNS)
    if not year:
        rows = rows[rows["year"] == rows["year"].max()]
    qty = rows.groupby(["fuel", "unit"], as_index=False)["consumed_total"].sum()
    ff = _fuel_factors()
    tce = ff["tce_per_stat_unit"].reindex(qty["fuel"]).to_numpy()
    same_unit = ff["stat_unit"].reindex(qty["fuel"]).to_numpy() == qty["unit"].to_numpy()
    out = pd.DataFrame(
        {
            "fuel": qty["fuel"],
            "name_zh": ff["name_zh"].reindex(qty["fuel"]).to_numpy(),
            "unit": qty["unit"],
            "quantity": qty["consumed_total"],
            "energy_tce": np.where(
                same_unit, energy_tce(qty["consumed_total"].to_numpy(), tce), np.nan
            ),
        }
    )
    return out.sort_values("energy_tce", ascending=False, na_position="last").reset_index(drop=True)
