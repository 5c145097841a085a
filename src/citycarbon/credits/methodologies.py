"""碳普惠 methodologies: the reduction of a resident's low-carbon behaviour against a baseline,
capped per account and method per day and per year.

Every method is one equation of the baseline-minus-project form (ER = BE - PE) per unit of
activity (km travelled, kWh charged or saved, kg recycled, items avoided)::

    ER = Q x [(b_kg + b_kwh x EF_grid) - (p_kg + p_kwh x EF_grid)]

with ``b_kg``/``p_kg`` the direct baseline/project emissions per unit [kgCO2e/unit],
``b_kwh``/``p_kwh`` the electricity per unit [kWh/unit] and ``EF_grid`` the city's declared grid
factor [kgCO2/kWh = tCO2/MWh]. The per-unit values, caps and evidence are rule data
(``credits/data/methodologies.yaml``); the grid factor is passed by the caller, looked up on the
city's declared basis, so that credited electricity carries the same factor as the inventory.

Credits are *already inside* the city's measured emissions (a metro trip instead of a car trip
shows up as less petrol sold): they are a view of behaviour-driven reductions, never a line to
subtract from the inventory.

References
----------
[1] DB11/T 3043-2024 碳普惠项目减排量核算技术规范 低碳出行, 6.2 (eq. 1, BE = sum EF_i x BD_i),
    6.3 (eq. 2, PE = sum EF_k x PD_k) — the structure; the values of the set are assumptions
    (``source_status: unverified``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError

METHODS_FILE = Path(__file__).parent / "data" / "methodologies.yaml"
DEFAULT_SET = "xiamen-2026"
#: Per-unit coefficients of a method (columns of :attr:`MethodologySet.table`), 0 when absent.
COEFFICIENTS = (
    "baseline_kg_per_unit",
    "baseline_kwh_per_unit",
    "project_kg_per_unit",
    "project_kwh_per_unit",
)
#: Columns every event table needs for :func:`credit_events`.
EVENT_COLUMNS = ("account", "method", "at", "quantity")


@dataclass(frozen=True)
class MethodologySet:
    """One versioned set of methodologies: a table by method and the set's settings."""

    set_id: str
    version: str
    timezone: str
    points_per_kg: int
    source_status: str
    table: pd.DataFrame  # index method; group, activity_unit, COEFFICIENTS, caps, factor_year, ...
    raw: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``set@version``, written with every credited event."""
        return f"{self.set_id}@{self.version}"


def _method_row(code: str, m: Mapping[str, Any], where: str) -> dict[str, Any]:
    for key in ("activity_unit", "daily_cap_kg", "annual_cap_kg", "factor_year", "evidence"):
        if key not in m:
            raise InputError(f"method {code}: '{key}' is missing", source=where, field=code)
    if not 0 < float(m["daily_cap_kg"]) <= float(m["annual_cap_kg"]):
        raise InputError(
            f"method {code}: caps must satisfy 0 < daily_cap_kg <= annual_cap_kg",
            source=where,
            field=code,
            value=(m["daily_cap_kg"], m["annual_cap_kg"]),
        )
    sides = {**m.get("baseline", {}), **m.get("project", {})}
    return {
        "method": code,
        "group": m["group"],
        "zh": m["zh"],
        "en": m["en"],
        "activity_unit": m["activity_unit"],
        **{c: float(sides.get(c, 0.0)) for c in COEFFICIENTS},
        "daily_cap_kg": float(m["daily_cap_kg"]),
        "annual_cap_kg": float(m["annual_cap_kg"]),
        "max_speed_kmh": float(m.get("max_speed_kmh", np.nan)),
        "factor_year": int(m["factor_year"]),
        "evidence": tuple(m["evidence"]),
        "assumption": bool(m.get("assumption", False)),
        "note": str(m.get("note", "")).strip(),
    }


@cache
def methodology_set(set_id: str = DEFAULT_SET, path: Path = METHODS_FILE) -> MethodologySet:
    """The methodology set ``set_id`` of the methodologies file, validated."""
    with open(path, encoding="utf-8") as f:
        sets = yaml.safe_load(f)["sets"]
    if set_id not in sets:
        raise UnknownCodeError("碳普惠 methodology set", set_id, sets, field="credits.set")
    raw = sets[set_id]
    where = f"{path}:{set_id}"
    rows = [_method_row(code, m, where) for code, m in raw["methods"].items()]
    return MethodologySet(
        set_id=set_id,
        version=str(raw["version"]),
        timezone=str(raw["timezone"]),
        points_per_kg=int(raw["points_per_kg"]),
        source_status=str(raw.get("source_status", "published")),
        table=pd.DataFrame(rows).set_index("method"),
        raw=raw,
    )


def reduction_kg_per_unit(
    baseline_kg: Any, baseline_kwh: Any, project_kg: Any, project_kwh: Any, grid_kg_per_kwh: Any
) -> Any:
    """Reduction per unit of activity [kgCO2e/unit]: (b_kg + b_kwh x EF) - (p_kg + p_kwh x EF).

    Parameters
    ----------
    baseline_kg, project_kg : array-like   direct emissions per unit [kgCO2e/unit]
    baseline_kwh, project_kwh : array-like   electricity per unit [kWh/unit]
    grid_kg_per_kwh : array-like   declared grid factor [kgCO2/kWh] (numerically tCO2/MWh)

    References
    ----------
    [1] DB11/T 3043-2024, 6.2-6.3 (ER = BE - PE per unit of activity).
    """
    return (baseline_kg + baseline_kwh * grid_kg_per_kwh) - (
        project_kg + project_kwh * grid_kg_per_kwh
    )


def capped_kg(amount: pd.Series, groups: list[pd.Series], cap: Any) -> pd.Series:
    """``amount`` limited so that its running total within each group never exceeds ``cap``.

    Rows count in their order: a row gets what is left of the cap after the rows before it in
    its group (never below 0, never above its own amount).
    """
    before = amount.groupby(groups, sort=False).cumsum() - amount
    return np.minimum(amount, np.maximum(cap - before, 0.0))


def credit_events(
    events: pd.DataFrame,
    mset: MethodologySet,
    grid_kg_per_kwh: Any,
    prior: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The events with their reduction, the credited part after the caps and the points.

    Parameters
    ----------
    events : DataFrame   ``account``, ``method``, ``at`` (timezone-aware), ``quantity`` [unit of
        the method], in the order they happened (earlier events use the caps first)
    mset : MethodologySet
    grid_kg_per_kwh : float or array-like aligned with ``events``   declared grid factor
    prior : DataFrame, optional   ``account``, ``method``, ``at``, ``credited_kg`` of events
        credited before (earlier batches): they use the caps first

    Returns
    -------
    ``events`` plus ``reduction_kg`` (uncapped), ``credited_kg`` (after the daily cap, then the
    annual cap, per account and method; day and year in the set's timezone), ``points``
    (``floor(credited_kg x points_per_kg)``) and ``methodology`` (``set@version``).
    """
    missing = [c for c in EVENT_COLUMNS if c not in events.columns]
    if missing:
        raise InputError(f"events lack columns {missing}", source="credit events", field=missing)
    unknown = sorted(set(events["method"]) - set(mset.table.index))
    if unknown:
        raise UnknownCodeError("碳普惠 method", unknown[0], mset.table.index, field="method")
    rules = mset.table.loc[events["method"].to_numpy()].set_axis(events.index)
    per_unit = reduction_kg_per_unit(
        *(rules[c] for c in COEFFICIENTS), np.asarray(grid_kg_per_kwh, dtype=float)
    )
    reduction = (events["quantity"].astype(float) * per_unit).clip(lower=0.0)
    parts = [events[["account", "method", "at"]].assign(amount=reduction, new=True)]
    if prior is not None and len(prior):
        earlier = prior[["account", "method", "at"]].assign(amount=prior["credited_kg"], new=False)
        parts.insert(0, earlier)
    both = pd.concat(parts, ignore_index=True)
    caps = mset.table.loc[both["method"].to_numpy()]
    local = pd.to_datetime(both["at"], utc=True).dt.tz_convert(mset.timezone)
    account, method = both["account"], both["method"]
    daily = capped_kg(
        both["amount"].astype(float),
        [account, method, local.dt.date],
        caps["daily_cap_kg"].to_numpy(),
    )
    annual = capped_kg(daily, [account, method, local.dt.year], caps["annual_cap_kg"].to_numpy())
    credited = pd.Series(annual[both["new"]].to_numpy(), index=events.index)
    points = np.floor(np.round(credited * mset.points_per_kg, 6)).astype("int64")
    return events.assign(
        reduction_kg=reduction, credited_kg=credited, points=points, methodology=mset.label
    )
