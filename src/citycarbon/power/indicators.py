"""电-碳-能 indicators: electricity, energy and carbon of enterprises and industries side by side.

Plain, vectorised functions over columns; the caller (``citycarbon.runs.power``) looks up
the standard-coal coefficients of electricity in the city's factor profile and passes them in.

- electricity share of final energy on the 当量值 (calorific, 0.1229 kgce/kWh) or 等价值
  (primary-energy, the year's coal rate of thermal power) basis of GB/T 2589-2020;
- carbon per kWh (kgCO2/kWh), energy and carbon per 10^4 CNY of output value;
- year-on-year changes, rank within the industry;
- load-shape anomalies: robust z-score of daily electricity against the trailing median.

References
----------
[1] GB/T 2589-2020 综合能耗计算通则, terms 3.4/3.5 (当量值, 等价值) and Annex A.
[2] GB/T 2589-2020, 4.4 单位产值综合能耗 (energy per output value).
[3] Rousseeuw P.J., Croux C. (1993). Alternatives to the median absolute deviation.
    JASA 88: 1273-1283 (MAD x 1.4826 as a consistent σ estimate under normality).
[4] Iglewicz B., Hoaglin D. (1993). How to detect and handle outliers. ASQC (modified z-score,
    |z| > 3.5 as the usual outlier rule).
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

#: Consistency constant of the MAD for a normal distribution, 1 / Φ^-1(3/4).
MAD_TO_SIGMA = 1.482602218505602


def electricity_share_of_energy(
    electricity_kwh, energy_tce, tce_per_kwh_calorific, tce_per_kwh_basis
):
    """Share of electricity in total energy use, on a chosen standard-coal basis [0-1].

    share = E · c_b / (Q_tce − E · c_cal + E · c_b)

    where ``Q_tce`` is total energy with electricity on the calorific basis (as the 205-1 results
    hold it), ``c_cal`` the calorific coefficient (0.1229 kgce/kWh) and ``c_b`` the coefficient
    of the wanted basis (``c_cal`` for 当量值, the year's coal rate for 等价值).

    Parameters
    ----------
    electricity_kwh : array-like    electricity consumed [kWh]
    energy_tce : array-like         total energy, electricity at the calorific value [tce]
    tce_per_kwh_calorific : float or array-like   当量值 coefficient [tce/kWh]
    tce_per_kwh_basis : float or array-like       coefficient of the basis wanted [tce/kWh]

    References
    ----------
    [1] GB/T 2589-2020, 3.4, 3.5 and Annex A, Table A.1.
    """
    e = np.asarray(electricity_kwh, dtype="float64")
    total = np.asarray(energy_tce, dtype="float64") - e * tce_per_kwh_calorific
    elec = e * tce_per_kwh_basis
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total + elec > 0, elec / (total + elec), np.nan)


def carbon_per_kwh_kg(co2_t, electricity_kwh):
    """Carbon per kWh of electricity used, kgCO2/kWh (all CO2 of the entity / its electricity).

    Parameters
    ----------
    co2_t : array-like    CO2 [t]
    electricity_kwh : array-like    electricity [kWh]; 0 gives NaN
    """
    e = np.asarray(electricity_kwh, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e > 0, np.asarray(co2_t, dtype="float64") * 1e3 / e, np.nan)


def per_output_value(quantity, output_value_10k_cny):
    """A quantity per 10^4 CNY (万元) of output value; NaN where no output value is known.

    GB/T 2589-2020, 4.4: 单位产值综合能耗 = 综合能耗 / 同期产值.

    Parameters
    ----------
    quantity : array-like    energy [tce] or CO2 [t]
    output_value_10k_cny : array-like    output value [10^4 CNY]
    """
    v = np.asarray(output_value_10k_cny, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(v > 0, np.asarray(quantity, dtype="float64") / v, np.nan)


def yoy_change_pct(frame: pd.DataFrame, keys: list[str], year: str, columns: list[str]):
    """Year-on-year change of ``columns`` per ``keys``, % (NaN without a previous year).

    Returns a DataFrame aligned with ``frame`` with columns ``<column>_yoy_pct``.
    """
    prev = frame[[*keys, year, *columns]].copy()
    prev[year] = prev[year] + 1
    merged = frame[[*keys, year]].merge(prev, on=[*keys, year], how="left", suffixes=("", "_p"))
    out = pd.DataFrame(index=frame.index)
    for c in columns:
        p = merged[c].to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            out[f"{c}_yoy_pct"] = np.where(p != 0, 100 * (frame[c].to_numpy() / p - 1), np.nan)
    return out


def rank_within(values: pd.Series, groups: pd.Series, *, ascending: bool = True) -> pd.Series:
    """Rank (1 = best; lowest value with ``ascending``) within each group; NaN stays unranked."""
    return values.groupby(groups.to_numpy()).rank(method="min", ascending=ascending)


def robust_zscore(
    frame: pd.DataFrame,
    *,
    key: str,
    time: str,
    value: str,
    window: int = 28,
    min_periods: int = 14,
) -> pd.Series:
    """Robust z-score of each value against the trailing window of its own series.

    z_t = (x_t − median(x_{t−w..t−1})) / (1.4826 · MAD(x_{t−w..t−1}))

    The window excludes the day itself. A zero MAD (a flat series) gives NaN rather than inf.

    Parameters
    ----------
    frame : pandas.DataFrame
        Long table of series (e.g. ``enterprise_code, day, kwh``); one row per key and time.
    key, time, value : str
        Column names.
    window : int
        Trailing observations.
    min_periods : int
        Fewer trailing observations give NaN.

    Returns
    -------
    pandas.Series aligned with ``frame``.

    References
    ----------
    [1] Rousseeuw & Croux (1993), JASA 88: 1273-1283 (MAD · 1.4826).
    [2] Iglewicz & Hoaglin (1993) (modified z-score).
    """
    med, mad, count = trailing_median_mad(
        frame, key=key, time=time, value=value, window=window, min_periods=min_periods
    )
    x = frame[value].to_numpy(dtype="float64")
    with np.errstate(all="ignore"):
        z = np.where((count >= min_periods) & (mad > 0), (x - med) / mad, np.nan)
    return pd.Series(z, index=frame.index)


def trailing_median_mad(
    frame: pd.DataFrame, *, key: str, time: str, value: str, window: int, min_periods: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Trailing median, scaled MAD (x 1.4826) and count of each row's previous ``window`` values
    in its own series, aligned with ``frame`` (vectorised: one (rows, window) block)."""
    if window < 2 or min_periods < 2 or min_periods > window:
        raise InputError(
            "need 2 <= min_periods <= window", field="window", value=(window, min_periods)
        )
    order = np.lexsort((frame[time].to_numpy(), frame[key].to_numpy()))
    x = frame[value].to_numpy(dtype="float64")[order]
    k = frame[key].to_numpy()[order]
    n = len(x)
    pos = np.arange(n)
    new = np.r_[True, k[1:] != k[:-1]] if n else np.zeros(0, dtype=bool)
    start = np.maximum.accumulate(np.where(new, pos, 0)) if n else pos
    pad = np.concatenate([np.full(window, np.nan), x])
    win = pad[pos[:, None] + np.arange(window)[None, :]]  # rows t-window .. t-1
    own = (pos[:, None] - window + np.arange(window)[None, :]) >= start[:, None]
    win = np.where(own, win, np.nan)
    count = (~np.isnan(win)).sum(axis=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN windows give NaN
        med = np.nanmedian(win, axis=1)
        mad = np.nanmedian(np.abs(win - med[:, None]), axis=1) * MAD_TO_SIGMA
    inv = np.empty(n, dtype=np.int64)
    inv[order] = pos
    return med[inv], mad[inv], count[inv]


def load_anomalies(
    daily: pd.DataFrame,
    *,
    key: str = "enterprise_code",
    threshold: float = 3.5,
    window: int = 8,
    min_periods: int = 4,
    min_change: float = 0.2,
    same_weekday: bool = True,
) -> pd.DataFrame:
    """Days whose electricity jumps or drops against the trailing median (sudden production
    changes, outages, meter faults).

    A day is flagged when its robust z-score exceeds ``threshold`` *and* it differs from the
    trailing median by at least ``min_change`` (relative), so that tiny but very regular
    series do not flag every wiggle. With ``same_weekday`` a Monday is compared with the
    previous ``window`` Mondays (weekly production rhythms are not anomalies).

    Parameters
    ----------
    daily : pandas.DataFrame
        ``<key>, day, kwh``.
    threshold : float
        |z| above which a day is flagged (Iglewicz & Hoaglin: 3.5).
    window, min_periods : int
        Trailing observations (weeks with ``same_weekday``, else days) and the minimum.
    min_change : float
        Minimum |kwh / trailing median − 1|.

    Returns
    -------
    pandas.DataFrame
        ``<key>, day, kwh, trailing_median_kwh, z, change, direction`` (``up``/``down``),
        flagged days only.
    """
    d = daily[[key, "day", "kwh"]].copy()
    series = d[key].astype(str)
    if same_weekday:
        series = series + "|" + pd.DatetimeIndex(d["day"]).dayofweek.astype(str)
    d["_series"] = series.to_numpy()
    med, mad, count = trailing_median_mad(
        d, key="_series", time="day", value="kwh", window=window, min_periods=min_periods
    )
    x = d["kwh"].to_numpy(dtype="float64")
    with np.errstate(all="ignore"):
        d["z"] = np.where((count >= min_periods) & (mad > 0), (x - med) / mad, np.nan)
    d["trailing_median_kwh"] = np.where(count >= min_periods, med, np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        d["change"] = d["kwh"] / d["trailing_median_kwh"] - 1
    flagged = d[(np.abs(d["z"]) > threshold) & (np.abs(d["change"]) >= min_change)].copy()
    flagged["direction"] = np.where(flagged["z"] > 0, "up", "down")
    cols = [key, "day", "kwh", "trailing_median_kwh", "z", "change", "direction"]
    return flagged.sort_values([key, "day"])[cols].reset_index(drop=True)
