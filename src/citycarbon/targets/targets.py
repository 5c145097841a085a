"""Carbon dual control (碳排放双控): schedule-proportional targets, progress and trend forecast.

Pure functions over tables; no I/O. Two kinds of target:

``intensity``
    A cumulative decline of an intensity (tCO2e per 10^4 CNY of GDP at comparable prices) from a
    base year to the end year of a period, in percent (the 五年规划 约束性指标 form, e.g. the
    national 14th FYP: CO2 per unit of GDP -18 % in 2025 vs 2020).
``total``
    A cap on the yearly total in the end year, either absolute (``target_unit`` tCO2e) or as a
    change in percent of the base year (``target_unit`` %); the annual caps in between follow the
    decomposition path and add up to the period budget (碳排放预算).

The schedule-proportional target of a year is the value on the decomposition path from the base
year to the end year:

- ``geometric``: equal yearly rate, ``path(t) = (1 + c) ** ((t - b) / n)``;
- ``linear``: equal yearly steps, ``path(t) = 1 + c * (t - b) / n``;

with ``c`` the relative change by the end year (``-0.18`` for an 18 % decline), ``b`` the base
year and ``n`` the years from base to end. Where the base year has no actual value (the demo data
start in 2022 for a 2020 base), progress is measured from the first year with data ``b'`` against
``path(t) / path(b')``: the part of the path that lies between the two years (``base_source``
``rebased``).

References
----------
[1] 中华人民共和国国民经济和社会发展第十四个五年规划和2035年远景目标纲要 (2021), 专栏1:
    单位GDP二氧化碳排放降低18%, 约束性.
[2] 国务院《2030年前碳达峰行动方案》(国发〔2021〕23号), 四: 碳排放强度 and 总量 controls.
[3] 中共中央办公厅 国务院办公厅《关于加快构建碳排放双控制度体系的意见》(2024): 碳排放总量和强度
    双控, annual evaluation with a five-year assessment.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

KINDS = ("intensity", "total")
DECOMPOSITIONS = ("geometric", "linear")
TARGET_COLUMNS = (
    "target_id",
    "kind",
    "base_year",
    "end_year",
    "target_value",
    "target_unit",
    "base_value",
    "decomposition",
)


def path_factor(change, base_year, end_year, year, decomposition="geometric"):
    """Value on the decomposition path relative to the base year, ``path(year)``.

    Parameters
    ----------
    change : array-like
        Relative change by the end year, ``-0.18`` for an 18 % decline [1].
    base_year, end_year : array-like
        Base year and end year of the period (end > base).
    year : array-like
        Year (may be fractional, e.g. 2024.5 for mid-year); clipped to [base, end].
    decomposition : str or array-like of str
        ``geometric`` (equal yearly rate) or ``linear`` (equal yearly steps).

    Returns
    -------
    numpy.ndarray
        ``path(year)``; 1 at the base year, ``1 + change`` at the end year.

    References
    ----------
    [1] Module docstring, equations of ``geometric`` and ``linear``.
    """
    change = np.asarray(change, dtype="float64")
    base_year = np.asarray(base_year, dtype="float64")
    end_year = np.asarray(end_year, dtype="float64")
    n = end_year - base_year
    if np.any(n <= 0):
        raise InputError("a target's end year must be after its base year", field="end_year")
    if np.any(change <= -1):
        raise InputError("a decline of 100 % or more cannot be scheduled", field="target_value")
    frac = np.clip((np.asarray(year, dtype="float64") - base_year) / n, 0.0, 1.0)
    geometric = np.asarray(decomposition) == "geometric"
    return np.where(geometric, (1.0 + change) ** frac, 1.0 + change * frac)


def scheduled_decline_pct(decline_pct, base_year, end_year, year, decomposition="geometric"):
    """Cumulative decline [%] the schedule requires by ``year`` (schedule-proportional target).

    ``100 * (1 - path(year))`` with ``change = -decline_pct / 100``; for the national 14th FYP
    (-18 % over 2020-2025, geometric) this is 3.89 % after one year and 18 % in 2025.

    References
    ----------
    [1] 十四五规划纲要 (2021), 专栏1 (18 % over five years).
    """
    change = -np.asarray(decline_pct, dtype="float64") / 100.0
    return 100.0 * (1.0 - path_factor(change, base_year, end_year, year, decomposition))


def _relative_change(targets: pd.DataFrame, base_value: pd.Series) -> np.ndarray:
    """``c`` of each target: from a decline in % (intensity), a % change or an absolute cap."""
    value = targets["target_value"].to_numpy(dtype="float64")
    unit = targets["target_unit"].astype(str).to_numpy()
    kind = targets["kind"].astype(str).to_numpy()
    bad = ~np.isin(kind, KINDS)
    if bad.any():
        raise InputError(
            f"unknown target kind; known: {list(KINDS)}",
            field="kind",
            value=kind[bad][0],
        )
    absolute = (kind == "total") & (unit != "%")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            kind == "intensity",
            -value / 100.0,
            np.where(absolute, value / base_value.to_numpy(dtype="float64") - 1.0, value / 100.0),
        )


def _check_targets(targets: pd.DataFrame) -> None:
    missing = [c for c in TARGET_COLUMNS if c not in targets.columns]
    if missing:
        raise InputError(f"targets table lacks column(s) {missing}", source="targets")
    bad = ~targets["decomposition"].isin(DECOMPOSITIONS)
    if bad.any():
        raise InputError(
            f"unknown decomposition; known: {list(DECOMPOSITIONS)}",
            source="targets",
            field="decomposition",
            value=targets.loc[bad, "decomposition"].iloc[0],
        )


def resolve_base(targets: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Each target's effective base: the configured base value, else the actual of the base year,
    else the first year with an actual value in the period (``rebased``).

    Parameters
    ----------
    targets : DataFrame
        ``TARGET_COLUMNS`` (``base_value`` NaN when not configured).
    actual : DataFrame
        ``target_id, year, value``: complete-year actuals of each target's indicator.

    Returns
    -------
    DataFrame
        ``targets`` plus ``base_year_eff``, ``base_value_eff``, ``base_source`` (``configured``,
        ``actual``, ``rebased`` or ``none``) and ``change`` (relative change by the end year).
    """
    _check_targets(targets)
    t = targets.copy()
    a = actual.merge(t[["target_id", "base_year", "end_year"]], on="target_id")
    a = a[(a["year"] >= a["base_year"]) & (a["year"] <= a["end_year"]) & a["value"].notna()]
    first = a.sort_values("year").groupby("target_id").first()[["year", "value"]]
    at_base = a[a["year"] == a["base_year"]].set_index("target_id")["value"]
    configured = t["base_value"].notna().to_numpy()
    has_base = t["target_id"].isin(at_base.index).to_numpy()
    has_any = t["target_id"].isin(first.index).to_numpy()
    t["base_source"] = np.select(
        [configured, has_base, has_any], ["configured", "actual", "rebased"], "none"
    )
    t["base_year_eff"] = np.where(
        configured | has_base,
        t["base_year"].to_numpy(dtype="float64"),
        t["target_id"].map(first["year"]).to_numpy(dtype="float64"),
    )
    t["base_value_eff"] = np.where(
        configured,
        t["base_value"].to_numpy(dtype="float64"),
        np.where(
            has_base,
            t["target_id"].map(at_base).to_numpy(dtype="float64"),
            t["target_id"].map(first["value"]).to_numpy(dtype="float64"),
        ),
    )
    # an absolute cap is relative to the base-year value (the path's start), not a rebased one
    base_for_cap = pd.Series(
        np.where(t["base_source"] == "rebased", np.nan, t["base_value_eff"]), index=t.index
    )
    t["change"] = _relative_change(t, base_for_cap)
    return t


def annual_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """Annual decomposition: the target value of every year from base to end.

    Parameters
    ----------
    targets : DataFrame
        Output of :func:`resolve_base` (needs ``base_year_eff``, ``base_value_eff``, ``change``).

    Returns
    -------
    DataFrame
        ``target_id, year, path, target_value`` (``target_value`` = base value x path relative to
        the effective base year; NaN where no base value is known).
    """
    n = (targets["end_year"] - targets["base_year"]).to_numpy(dtype="int64") + 1
    idx = np.repeat(np.arange(len(targets)), n)
    t = targets.iloc[idx].reset_index(drop=True)
    offset = np.arange(len(t)) - np.repeat(np.cumsum(n) - n, n)
    year = t["base_year"].to_numpy(dtype="int64") + offset
    path = path_factor(t["change"], t["base_year"], t["end_year"], year, t["decomposition"])
    path_base = path_factor(
        t["change"], t["base_year"], t["end_year"], t["base_year_eff"], t["decomposition"]
    )
    return pd.DataFrame(
        {
            "target_id": t["target_id"].to_numpy(),
            "year": year,
            "path": path,
            "target_value": t["base_value_eff"].to_numpy(dtype="float64") * path / path_base,
        }
    )


def trend_forecast(actual: pd.DataFrame, to_year) -> pd.Series:
    """Log-linear trend (constant yearly rate) of each target's actuals, evaluated at ``to_year``.

    ``ln v = a + g t`` fitted by least squares per target (closed form, vectorised); one point
    gives a flat forecast.

    Parameters
    ----------
    actual : DataFrame
        ``target_id, year, value`` (value > 0).
    to_year : mapping or Series
        Target id -> year to forecast (the period's end year).

    Returns
    -------
    Series
        Forecast value by target id.

    References
    ----------
    [1] Montgomery, Peck & Vining, Introduction to Linear Regression Analysis, 5th ed., eq. 2.11
        (least-squares slope), applied to ln v (constant growth rate).
    """
    a = actual[actual["value"] > 0]
    y = np.log(a["value"].to_numpy(dtype="float64"))
    x = a["year"].to_numpy(dtype="float64")
    g = pd.DataFrame({"id": a["target_id"].to_numpy(), "x": x, "y": y, "xx": x * x, "xy": x * y})
    s = g.groupby("id").agg(n=("x", "size"), x=("x", "sum"), y=("y", "sum"), xx=("xx", "sum"))
    s["xy"] = g.groupby("id")["xy"].sum()
    var = s["xx"] - s["x"] ** 2 / s["n"]
    slope = np.where(var > 0, (s["xy"] - s["x"] * s["y"] / s["n"]) / var.where(var > 0, 1), 0.0)
    mean_x, mean_y = s["x"] / s["n"], s["y"] / s["n"]
    end = pd.Series(to_year).reindex(s.index).astype("float64")
    return pd.Series(np.exp(mean_y + slope * (end - mean_x)), index=s.index, name="forecast")


def intensity_progress(targets: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Progress of intensity-decline targets, per target and year with data.

    Parameters
    ----------
    targets : DataFrame
        ``TARGET_COLUMNS`` rows of kind ``intensity`` (``target_value`` = decline in %).
    actual : DataFrame
        ``target_id, year, value``: intensity of complete years [tCO2e per 10^4 CNY].

    Returns
    -------
    DataFrame
        ``target_id, year, value, base_year_eff, base_value_eff, base_source,
        actual_decline_pct`` (from the effective base), ``scheduled_decline_pct`` (what the path
        requires between the effective base year and the year), ``decline_gap_pts`` (actual minus
        scheduled, negative = behind schedule), ``target_value`` (schedule-proportional
        intensity), ``forecast_end_value``, ``forecast_decline_pct`` and
        ``forecast_decline_gap_pts`` (trend at the end year vs the decline still required by
        then).
    """
    t = resolve_base(targets[targets["kind"] == "intensity"], actual)
    m = actual.merge(t, on="target_id")
    m = m[(m["year"] >= m["base_year_eff"]) & (m["year"] <= m["end_year"])].copy()
    path = path_factor(m["change"], m["base_year"], m["end_year"], m["year"], m["decomposition"])
    path_b = path_factor(
        m["change"], m["base_year"], m["end_year"], m["base_year_eff"], m["decomposition"]
    )
    m["actual_decline_pct"] = 100.0 * (1.0 - m["value"] / m["base_value_eff"])
    m["scheduled_decline_pct"] = 100.0 * (1.0 - path / path_b)
    m["decline_gap_pts"] = m["actual_decline_pct"] - m["scheduled_decline_pct"]
    m["target_value_year"] = m["base_value_eff"] * path / path_b
    inside = actual.merge(t[["target_id", "base_year_eff", "end_year"]], on="target_id")
    inside = inside[inside["year"] >= inside["base_year_eff"]]
    fc = trend_forecast(inside, t.set_index("target_id")["end_year"])
    end_path = 1.0 + m["change"]
    m["forecast_end_value"] = m["target_id"].map(fc)
    m["forecast_decline_pct"] = 100.0 * (1.0 - m["forecast_end_value"] / m["base_value_eff"])
    m["forecast_decline_gap_pts"] = m["forecast_decline_pct"] - 100.0 * (1.0 - end_path / path_b)
    cols = [
        "target_id",
        "year",
        "value",
        "base_year_eff",
        "base_value_eff",
        "base_source",
        "actual_decline_pct",
        "scheduled_decline_pct",
        "decline_gap_pts",
        "target_value_year",
        "forecast_end_value",
        "forecast_decline_pct",
        "forecast_decline_gap_pts",
    ]
    return m[cols].sort_values(["target_id", "year"]).reset_index(drop=True)


def total_progress(targets: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Progress of total (cap) targets against the pro-rata budget, per target and year.

    The pro-rata budget to a year with ``months`` months of data is the sum of the annual caps
    of the earlier years of the period (from the first year with data) plus ``months / 12`` of
    this year's cap; the cumulative actual is compared with it (``budget_use_ratio`` > 1: above
    the budget to date).

    Parameters
    ----------
    targets : DataFrame
        ``TARGET_COLUMNS`` rows of kind ``total``.
    actual : DataFrame
        ``target_id, year, value, months``: emissions [tCO2e] of each year and how many months
        of it they cover (12 for a complete year).

    Returns
    -------
    DataFrame
        ``target_id, year, months, value, cap_value`` (this year's cap), ``budget_to_date``,
        ``actual_to_date``, ``budget_use_ratio``, ``forecast_end_value`` (trend of complete
        years) and ``forecast_cap_ratio`` (forecast over the end-year cap).
    """
    complete = actual[actual["months"] >= 12]
    t = resolve_base(targets[targets["kind"] == "total"], complete[["target_id", "year", "value"]])
    caps = annual_targets(t)
    m = actual.merge(t[["target_id", "base_year", "end_year"]], on="target_id")
    m = m[(m["year"] > m["base_year"]) & (m["year"] <= m["end_year"])].sort_values(
        ["target_id", "year"]
    )
    m = m.merge(caps[["target_id", "year", "target_value"]], on=["target_id", "year"], how="left")
    m = m.rename(columns={"target_value": "cap_value"})
    share = np.minimum(m["months"].to_numpy(dtype="float64"), 12.0) / 12.0
    # the budget counts from the first year with data (years before it have no actual to compare)
    first = m.groupby("target_id")["year"].min().rename("first_year")
    caps = caps.merge(t[["target_id", "base_year"]], on="target_id").join(first, on="target_id")
    caps = caps[(caps["year"] > caps["base_year"]) & (caps["year"] >= caps["first_year"])]
    caps = caps.sort_values(["target_id", "year"])
    caps["cum_cap"] = caps.groupby("target_id")["target_value"].cumsum()
    cum = caps.set_index(["target_id", "year"])["cum_cap"]
    key = pd.MultiIndex.from_arrays([m["target_id"], m["year"]])
    # caps of the earlier years of the period, plus the covered share of this year's cap
    m["budget_to_date"] = cum.reindex(key).to_numpy() - (1.0 - share) * m["cap_value"]
    m["actual_to_date"] = m.groupby("target_id")["value"].cumsum()
    m["budget_use_ratio"] = m["actual_to_date"] / m["budget_to_date"]
    fc = trend_forecast(
        complete[["target_id", "year", "value"]], t.set_index("target_id")["end_year"]
    )
    end_cap = caps[caps["year"] == caps["target_id"].map(t.set_index("target_id")["end_year"])]
    m["forecast_end_value"] = m["target_id"].map(fc)
    m["forecast_cap_ratio"] = m["forecast_end_value"] / m["target_id"].map(
        end_cap.set_index("target_id")["target_value"]
    )
    cols = [
        "target_id",
        "year",
        "months",
        "value",
        "cap_value",
        "budget_to_date",
        "actual_to_date",
        "budget_use_ratio",
        "forecast_end_value",
        "forecast_cap_ratio",
    ]
    return m[cols].reset_index(drop=True)


def month_on_month(monthly: pd.DataFrame) -> pd.DataFrame:
    """Month-on-month change of each entity's monthly emissions.

    Parameters
    ----------
    monthly : DataFrame
        ``entity_code, year, month, value`` (tCO2e); one row per entity and month.

    Returns
    -------
    DataFrame
        The rows with ``previous`` (the calendar month before, NaN when absent) and
        ``mom_change_pct`` = 100 (value / previous - 1).
    """
    m = monthly.copy()
    m["_k"] = m["year"].astype("int64") * 12 + m["month"].astype("int64") - 1
    prev = m[["entity_code", "_k", "value"]].assign(_k=m["_k"] + 1)
    m = m.merge(prev.rename(columns={"value": "previous"}), on=["entity_code", "_k"], how="left")
    with np.errstate(divide="ignore", invalid="ignore"):
        m["mom_change_pct"] = np.where(
            m["previous"] > 0, 100.0 * (m["value"] / m["previous"] - 1.0), np.nan
        )
    return m.drop(columns="_k")
