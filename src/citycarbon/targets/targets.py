"""Carbon dual control (碳排放双控): schedule-proportional targets, progress and trend forecast.

Pure functions over tables; no I/O. Two kinds of target:

``intensity``
    A cumulative decline of an intensity (tCO2 or tce per 10^4 CNY of GDP at comparable prices)
    from a base year to the end year of a period, in percent (the 五年规划 约束性指标 form, e.g.
    the national 14th FYP: CO2 per unit of GDP -18 % in 2025 vs 2020).
``total``
    A cap on the yearly total in the end year, either absolute (``target_unit`` t, tce) or as a
    change in percent of the base year (``target_unit`` %); the annual caps in between follow the
    decomposition path and add up to the period budget (碳排放预算).

The schedule-proportional target of a year is the value on the decomposition path from the base
year to the end year:

- ``geometric``: equal yearly rate, ``path(t) = (1 + c) ** ((t - b) / n)``;
- ``linear``: equal yearly steps, ``path(t) = 1 + c * (t - b) / n``;

with ``c`` the relative change by the end year (``-0.18`` for an 18 % decline), ``b`` the base
year and ``n`` the years from base to end.

A five-year target is measured from its base year (2020 for 2021-2025), and from nothing else:
the base-year value is data (entered with its source, or computed from the base year's data,
:func:`resolve_base`); where it is missing, progress is missing too (``base_source`` ``missing``)
rather than measured from some later year.

References
----------
[1] 中华人民共和国国民经济和社会发展第十四个五年规划和2035年远景目标纲要 (2021), 专栏1:
    单位GDP二氧化碳排放降低18%, 约束性.
[2] 国务院《2030年前碳达峰行动方案》(国发〔2021〕23号), 四: 碳排放强度 and 总量 controls.
[3] 中共中央办公厅 国务院办公厅《关于加快构建碳排放双控制度体系的意见》(2024): 碳排放总量和强度
    双控, annual evaluation with a five-year assessment.
[4] 国家统计局: monthly industrial statistics are released for January and February together
    (1-2月), since the Spring Festival moves between the two months.
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
    "decomposition",
)
#: Where a target's base-year value comes from (``missing``: no progress is computed).
BASE_SOURCES = ("entered", "computed", "statistics", "missing")


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


def _relative_change(targets: pd.DataFrame) -> np.ndarray:
    """``c`` of each target: from a decline in % (intensity), a % change or an absolute cap
    (relative to the base-year value; NaN where it is missing)."""
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
    base = targets["base_value"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(
            kind == "intensity",
            -value / 100.0,
            np.where(absolute, value / base - 1.0, value / 100.0),
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


def resolve_base(targets: pd.DataFrame, bases: pd.DataFrame) -> pd.DataFrame:
    """Each target with its base-year value and the relative change it asks for.

    Parameters
    ----------
    targets : DataFrame
        ``TARGET_COLUMNS``.
    bases : DataFrame
        ``target_id, base_value, base_source``: the value of each target's indicator in its base
        year (entered in the targets file with a source, computed from the base year's data, or
        read from statistics); targets without a row have none. Other columns are carried.

    Returns
    -------
    DataFrame
        ``targets`` plus ``base_value`` (NaN where missing), ``base_source`` (one of
        ``BASE_SOURCES``) and ``change`` (relative change by the end year; NaN for an absolute
        cap without a base value).
    """
    _check_targets(targets)
    b = bases.sort_values("base_value").drop_duplicates("target_id")  # a value before none
    t = targets.merge(b, on="target_id", how="left")
    t["base_source"] = t["base_source"].where(t["base_value"].notna(), "missing")
    t["change"] = _relative_change(t)
    return t


def annual_targets(targets: pd.DataFrame) -> pd.DataFrame:
    """Annual decomposition: the target value of every year from base to end.

    Parameters
    ----------
    targets : DataFrame
        Output of :func:`resolve_base`.

    Returns
    -------
    DataFrame
        ``target_id, year, path, target_value`` (``target_value`` = base value x path; NaN where
        the base value is missing).
    """
    n = (targets["end_year"] - targets["base_year"]).to_numpy(dtype="int64") + 1
    idx = np.repeat(np.arange(len(targets)), n)
    t = targets.iloc[idx].reset_index(drop=True)
    offset = np.arange(len(t)) - np.repeat(np.cumsum(n) - n, n)
    year = t["base_year"].to_numpy(dtype="int64") + offset
    path = path_factor(
        t["change"].fillna(0.0), t["base_year"], t["end_year"], year, t["decomposition"]
    )
    path = np.where(t["change"].notna(), path, np.nan)
    return pd.DataFrame(
        {
            "target_id": t["target_id"].to_numpy(),
            "year": year,
            "path": path,
            "target_value": t["base_value"].to_numpy(dtype="float64") * path,
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


def _in_period(actual: pd.DataFrame, targets: pd.DataFrame) -> pd.DataFrame:
    """Actual rows of each target's period (base year to end year), with the target columns."""
    m = actual.merge(targets, on="target_id")
    return m[(m["year"] >= m["base_year"]) & (m["year"] <= m["end_year"])].copy()


def intensity_progress(targets: pd.DataFrame, actual: pd.DataFrame) -> pd.DataFrame:
    """Progress of intensity-decline targets, per target and year with data.

    Parameters
    ----------
    targets : DataFrame
        Output of :func:`resolve_base`, rows of kind ``intensity`` (``target_value`` = decline
        in %).
    actual : DataFrame
        ``target_id, year, value``: the intensity of complete years.

    Returns
    -------
    DataFrame
        ``target_id, year, value, base_value, base_source, actual_decline_pct`` (from the base
        year), ``scheduled_decline_pct`` (what the path requires by the year),
        ``decline_gap_pts`` (actual minus scheduled, negative = behind schedule),
        ``target_value_year`` (schedule-proportional intensity), ``forecast_end_value``,
        ``forecast_decline_pct`` and ``forecast_decline_gap_pts`` (trend at the end year vs the
        decline the target asks for). Every progress column is NaN where the base is missing.
    """
    t = targets[targets["kind"] == "intensity"]
    m = _in_period(actual, t)
    path = path_factor(
        m["change"].fillna(0.0), m["base_year"], m["end_year"], m["year"], m["decomposition"]
    )
    base = m["base_value"]
    m["actual_decline_pct"] = 100.0 * (1.0 - m["value"] / base)
    m["scheduled_decline_pct"] = np.where(base.notna(), 100.0 * (1.0 - path), np.nan)
    m["decline_gap_pts"] = m["actual_decline_pct"] - m["scheduled_decline_pct"]
    m["target_value_year"] = base * path
    fc = trend_forecast(m[["target_id", "year", "value"]], t.set_index("target_id")["end_year"])
    m["forecast_end_value"] = m["target_id"].map(fc)
    m["forecast_decline_pct"] = 100.0 * (1.0 - m["forecast_end_value"] / base)
    m["forecast_decline_gap_pts"] = m["forecast_decline_pct"] + 100.0 * m["change"]
    cols = [
        "target_id",
        "year",
        "value",
        "base_value",
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
    of the earlier years of the period (from the first year with data: years before it have no
    actual to compare) plus ``share`` of this year's cap, ``share`` being the part of a year the
    months stand for: seasonally, the share those months had in the previous year
    (:func:`seasonal_shares`), else ``months / 12``. The cumulative actual is compared with it
    (``budget_use_ratio`` > 1: above the budget to date).

    Parameters
    ----------
    targets : DataFrame
        Output of :func:`resolve_base`, rows of kind ``total``.
    actual : DataFrame
        ``target_id, year, value, months`` and optionally ``share``: the total [t, tce] of each
        year after the base year and how many months of it they cover (12 for a complete year).

    Returns
    -------
    DataFrame
        ``target_id, year, months, value, base_value, base_source, cap_value`` (this year's cap),
        ``budget_to_date``, ``actual_to_date``, ``budget_use_ratio``, ``forecast_end_value``
        (trend of complete years) and ``forecast_cap_ratio`` (forecast over the end-year cap).
    """
    t = targets[targets["kind"] == "total"]
    caps = annual_targets(t)
    m = _in_period(actual, t)
    m = m[m["year"] > m["base_year"]].sort_values(["target_id", "year"])
    cap = caps[["target_id", "year", "target_value"]].rename(columns={"target_value": "cap_value"})
    m = m.merge(cap, on=["target_id", "year"], how="left")
    months = np.minimum(m["months"].to_numpy(dtype="float64"), 12.0)
    share = m["share"].to_numpy(dtype="float64") if "share" in m else np.full(len(m), np.nan)
    share = np.where(months >= 12, 1.0, np.where(np.isnan(share), months / 12.0, share))
    first = m.groupby("target_id")["year"].min().rename("first_year")
    caps = caps.merge(t[["target_id", "base_year"]], on="target_id").join(first, on="target_id")
    caps = caps[(caps["year"] > caps["base_year"]) & (caps["year"] >= caps["first_year"])]
    caps = caps.sort_values(["target_id", "year"])
    caps["cum_cap"] = caps.groupby("target_id")["target_value"].cumsum(skipna=False)
    cum = caps.set_index(["target_id", "year"])["cum_cap"]
    key = pd.MultiIndex.from_arrays([m["target_id"], m["year"]])
    # caps of the earlier years of the period, plus the covered share of this year's cap
    m["budget_to_date"] = cum.reindex(key).to_numpy() - (1.0 - share) * m["cap_value"]
    m["actual_to_date"] = m.groupby("target_id")["value"].cumsum()
    m["budget_use_ratio"] = m["actual_to_date"] / m["budget_to_date"]
    complete = m[m["months"] >= 12][["target_id", "year", "value"]]
    fc = trend_forecast(complete, t.set_index("target_id")["end_year"])
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
        "base_value",
        "base_source",
        "cap_value",
        "budget_to_date",
        "actual_to_date",
        "budget_use_ratio",
        "forecast_end_value",
        "forecast_cap_ratio",
    ]
    return m[cols].reset_index(drop=True)


def seasonal_shares(monthly: pd.DataFrame) -> pd.DataFrame:
    """The share of a year that its first ``months`` months stand for, from the previous year.

    ``share(y, m) = sum_{k <= m} v(y - 1, k) / sum_{k <= 12} v(y - 1, k)``: a year-to-date
    total is compared with this share of the annual path instead of ``m / 12``, so that a
    February with the Spring Festival holiday or a summer with air conditioning is not read as a
    change of trend. Where the previous year is not complete the share is ``m / 12``.

    Parameters
    ----------
    monthly : DataFrame
        ``target_id, year, month, value``: monthly values of each target's indicator.

    Returns
    -------
    DataFrame
        ``target_id, year, months, share`` for every year with data (``months`` = months of
        data of the year).
    """
    m = monthly[monthly["value"].notna()]
    have = m.groupby(["target_id", "year"], as_index=False).agg(months=("month", "nunique"))
    prev = m.assign(year=m["year"] + 1).sort_values(["target_id", "year", "month"])
    prev = prev.assign(cum=prev.groupby(["target_id", "year"])["value"].cumsum())
    whole = prev.groupby(["target_id", "year"]).agg(total=("value", "sum"), n=("month", "nunique"))
    got = have.merge(
        prev[["target_id", "year", "month", "cum"]],
        left_on=["target_id", "year", "months"],
        right_on=["target_id", "year", "month"],
        how="left",
    ).join(whole, on=["target_id", "year"])
    seasonal = (got["n"] == 12) & (got["total"] > 0)
    got["share"] = np.where(seasonal, got["cum"] / got["total"], got["months"] / 12.0)
    return got[["target_id", "year", "months", "share"]]


def year_on_year(monthly: pd.DataFrame, merge_months: tuple[int, ...] = (1, 2)) -> pd.DataFrame:
    """Same period last year (同比) and year to date of each entity's monthly values.

    Periods are calendar months, except ``merge_months``, which form one period ending in the
    last of them (1-2月: the Spring Festival moves between January and February, so neither
    month alone compares with the same month of another year, while the two together do — the
    NBS releases its monthly industrial statistics for 1-2月 together). A period is reported
    once all its months have data.

    - ``yoy_change_pct = 100 (v(y, p) / v(y - 1, p) - 1)``, ``previous = v(y - 1, p)``;
    - ``ytd_yoy_change_pct = 100 (YTD(y, p) / YTD(y - 1, p) - 1)``: the year to date against the
      prorated path of last year's total with last year's seasonal shares, which is last year's
      year to date; NaN where the two years do not have the same months.

    Parameters
    ----------
    monthly : DataFrame
        ``entity_code, year, month, value``: one row per entity and month.
    merge_months : tuple of int
        Consecutive months counted as one period (empty: none).

    Returns
    -------
    DataFrame
        ``entity_code, year, month`` (the period's last month), ``period`` (``2024-03`` or
        ``2024-01..02``), ``value``, ``previous``, ``yoy_change_pct``, ``ytd``,
        ``ytd_previous``, ``ytd_yoy_change_pct``.

    References
    ----------
    [1] 国家统计局: 1-2月 industrial statistics released together (module docstring).
    """
    m = monthly[monthly["value"].notna()].copy()
    months = m["month"].astype("int64")
    merged = np.isin(months, list(merge_months))
    m["month"] = np.where(merged, max(merge_months, default=0), months)
    m["_need"] = np.where(merged, len(merge_months), 1)
    keys = ["entity_code", "year", "month"]
    p = m.groupby(keys, as_index=False).agg(
        value=("value", "sum"), _n=("value", "size"), _need=("_need", "first")
    )
    p = p[p["_n"] >= p["_need"]].sort_values(keys).reset_index(drop=True)
    by = p.groupby(["entity_code", "year"])
    p["ytd"] = by["value"].cumsum()
    p["_ytd_n"] = by["_n"].cumsum()
    last = p[[*keys, "value", "ytd", "_ytd_n"]].assign(year=p["year"] + 1)
    p = p.merge(
        last.rename(columns={"value": "previous", "ytd": "ytd_previous", "_ytd_n": "_ytd_n_prev"}),
        on=keys,
        how="left",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        p["yoy_change_pct"] = np.where(
            p["previous"] > 0, 100.0 * (p["value"] / p["previous"] - 1.0), np.nan
        )
        same = (p["_ytd_n"] == p["_ytd_n_prev"]) & (p["ytd_previous"] > 0)
        p["ytd_yoy_change_pct"] = np.where(
            same, 100.0 * (p["ytd"] / p["ytd_previous"] - 1.0), np.nan
        )
    month = p["year"].astype(str) + "-" + p["month"].astype(str).str.zfill(2)
    span = month.str[:5] + f"{min(merge_months, default=0):02d}.." + month.str[5:]
    is_merged = (len(merge_months) > 1) & (p["month"].to_numpy() == max(merge_months, default=0))
    p["period"] = np.where(is_merged, span, month)
    cols = [*keys, "period", "value", "previous", "yoy_change_pct", "ytd", "ytd_previous"]
    return p[[*cols, "ytd_yoy_change_pct"]]
