"""Baseline forecasts of drivers and emissions with statsmodels, and rolling-origin backtests.

Two methods:

- ``holt_damped``: exponential smoothing with additive damped trend (ETS(A,Ad,N), Holt's
  method with damping, statsmodels ``ExponentialSmoothing``), optionally on logs
  (multiplicative growth); prediction intervals from the analytic ETS(A,Ad,N) variance
  (Hyndman et al. 2008, Table 6.1).
- ``arima``: ARIMA(1,1,0) with drift on logs (Box & Jenkins; statsmodels state-space ARIMA).

Forecast skill is measured by a rolling-origin backtest (Tashman 2000): refit on each
history prefix, forecast ``horizon`` steps, compare with what happened (MAPE, bias).

References
----------
[1] Gardner, E.S., McKenzie, E. (1985) Forecasting trends in time series. Management Science
    31(10), 1237-1246 (damped trend).
[2] Hyndman, R.J., Koehler, A.B., Ord, J.K., Snyder, R.D. (2008) Forecasting with Exponential
    Smoothing: The State Space Approach. Springer. Table 2.1 (ETS(A,Ad,N)), ch. 6.
[3] Box, G.E.P., Jenkins, G.M., Reinsel, G.C. (2008) Time Series Analysis, 4th ed.
[4] Tashman, L.J. (2000) Out-of-sample tests of forecasting accuracy: an analysis and review.
    International Journal of Forecasting 16(4), 437-450.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

METHODS = ("holt_damped", "arima")
MIN_POINTS = {"holt_damped": 6, "arima": 6}


def _series(values: pd.Series) -> pd.Series:
    s = pd.Series(values, dtype=float).sort_index()
    if s.isna().any() or not np.isfinite(s).all():
        raise InputError("series has missing or infinite values", value=s[~np.isfinite(s)].index)
    if not s.index.is_unique:
        raise InputError("series has duplicate years", field="year")
    years = np.asarray(s.index, dtype=int)
    if len(years) > 1 and (np.diff(years) != 1).any():
        raise InputError("years must be consecutive", field="year", value=years.tolist())
    return s


def forecast_series(
    values: pd.Series,
    horizon: int,
    *,
    method: str = "holt_damped",
    log: bool = True,
    level: float = 0.9,
) -> pd.DataFrame:
    """Forecast a yearly series ``horizon`` years ahead.

    Parameters
    ----------
    values : Series
        Yearly values indexed by consecutive integer years (e.g. emissions [tCO2e], GDP).
    horizon : int
        Years to forecast after the last observed year.
    method : {"holt_damped", "arima"}
    log : bool
        Model the logarithm (growth rates); requires positive values.
    level : float
        Prediction-interval coverage.

    Returns
    -------
    DataFrame
        ``year, mean, lower, upper, method``.

    References
    ----------
    [1] Gardner & McKenzie (1985); [2] Hyndman et al. (2008) ETS(A,Ad,N); [3] Box & Jenkins.
    """
    if method not in METHODS:
        raise InputError(f"unknown forecast method {method!r}", value=method, suggestions=METHODS)
    s = _series(values)
    if len(s) < MIN_POINTS[method]:
        raise InputError(
            f"{method} needs at least {MIN_POINTS[method]} yearly points, got {len(s)}",
            value=len(s),
        )
    if log and (s <= 0).any():
        raise InputError("log forecast needs positive values", value=float(s.min()))
    y = np.log(s.to_numpy()) if log else s.to_numpy()
    alpha = 1 - level
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if method == "holt_damped":
            from statsmodels.tsa.holtwinters import ExponentialSmoothing

            res = ExponentialSmoothing(
                y, trend="add", damped_trend=True, initialization_method="estimated"
            ).fit()
            mean = np.asarray(res.forecast(horizon), dtype=float)
            half = _ets_aadn_halfwidth(
                res.params["smoothing_level"],
                res.params["smoothing_trend"],
                res.params["damping_trend"],
                float(res.sse) / len(y),
                horizon,
                level,
            )
            lo, hi = mean - half, mean + half
            label = "ETS(A,Ad,N) damped trend (Gardner & McKenzie 1985)"
        else:
            from statsmodels.tsa.arima.model import ARIMA

            res = ARIMA(y, order=(1, 1, 0), trend="t").fit()
            fc = res.get_forecast(horizon)
            mean = fc.predicted_mean
            ci = fc.conf_int(alpha=alpha)
            lo, hi = ci[:, 0], ci[:, 1]
            label = "ARIMA(1,1,0) with drift (Box & Jenkins)"
    if log:
        mean, lo, hi = np.exp(mean), np.exp(lo), np.exp(hi)
        label += " on logs"
    last = int(s.index[-1])
    return pd.DataFrame(
        {
            "year": np.arange(last + 1, last + 1 + horizon),
            "mean": mean,
            "lower": lo,
            "upper": hi,
            "method": label,
        }
    )


def _ets_aadn_halfwidth(alpha, beta_star, phi, sigma2, horizon, level) -> np.ndarray:
    """Half-width of ETS(A,Ad,N) prediction intervals.

    ``v_h = sigma^2 [1 + sum_{j=1}^{h-1} (alpha + beta phi_j)^2]``, ``phi_j = phi + ... + phi^j``,
    ``beta = alpha beta*`` (error-correction form of Holt's ``beta*``).

    References
    ----------
    [2] Hyndman et al. (2008), Table 6.1 (class 1 variance expressions) and eq. (6.1).
    """
    from scipy.stats import norm

    h = np.arange(1, horizon + 1)
    phi_j = np.cumsum(phi ** np.arange(1, horizon + 1))  # phi_1 .. phi_H
    c = alpha + alpha * beta_star * phi_j
    csum = np.concatenate([[0.0], np.cumsum(c**2)])[h - 1]  # sum_{j=1}^{h-1}
    return norm.ppf(0.5 + level / 2) * np.sqrt(sigma2 * (1.0 + csum))


def backtest(
    values: pd.Series,
    *,
    horizon: int = 3,
    min_train: int | None = None,
    method: str = "holt_damped",
    log: bool = True,
) -> tuple[pd.DataFrame, pd.Series]:
    """Rolling-origin backtest: refit on each prefix and forecast ``horizon`` years.

    Returns
    -------
    (DataFrame, Series)
        Per forecast: ``origin, year, step, actual, forecast, error, ape``; and a summary
        ``mape`` (mean absolute percentage error), ``bias`` (mean error / mean actual),
        ``n_forecasts``.

    References
    ----------
    [4] Tashman (2000), section 3 (rolling-origin evaluation).
    """
    s = _series(values)
    min_train = min_train or MIN_POINTS[method]
    if len(s) < min_train + 1:
        raise InputError(f"backtest needs more than {min_train} points, got {len(s)}", value=len(s))
    rows = []
    for end in range(min_train, len(s)):  # one refit per origin (a handful), not per data row
        train = s.iloc[:end]
        h = min(horizon, len(s) - end)
        fc = forecast_series(train, h, method=method, log=log)
        actual = s.iloc[end : end + h].to_numpy()
        rows.append(
            pd.DataFrame(
                {
                    "origin": int(train.index[-1]),
                    "year": fc["year"].to_numpy(),
                    "step": np.arange(1, h + 1),
                    "actual": actual,
                    "forecast": fc["mean"].to_numpy(),
                }
            )
        )
    out = pd.concat(rows, ignore_index=True)
    out["error"] = out["forecast"] - out["actual"]
    out["ape"] = (out["error"] / out["actual"]).abs()
    summary = pd.Series(
        {
            "mape": float(out["ape"].mean()),
            "bias": float(out["error"].mean() / out["actual"].mean()),
            "n_forecasts": len(out),
        }
    )
    return out, summary


def growth_from_forecast(
    history: pd.DataFrame,
    *,
    value: str = "energy_tce",
    horizon: int = 6,
    method: str = "holt_damped",
) -> pd.DataFrame:
    """Yearly growth rates per sector from a statistical forecast of a sector series.

    Parameters
    ----------
    history : DataFrame
        ``year, sector, <value>`` (e.g. sector final energy [tce]); consecutive years.
    value : str
        The column forecast.
    horizon : int
        Years after the last observed year.

    Returns
    -------
    DataFrame
        ``year, sector, growth`` for the ``horizon`` forecast years (growth against the year
        before; the first against the last observation), ready for ``simulate(growth_override=)``.
    """
    rows = []
    for sector, g in history.groupby("sector"):  # a handful of sectors
        s = g.set_index("year")[value].sort_index()
        fc = forecast_series(s, horizon, method=method)
        path = np.concatenate([[s.iloc[-1]], fc["mean"].to_numpy()])
        rows.append(
            pd.DataFrame(
                {
                    "year": fc["year"].to_numpy(),
                    "sector": sector,
                    "growth": path[1:] / path[:-1] - 1,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)
