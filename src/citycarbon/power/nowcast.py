"""Electricity-to-carbon nowcast (电碳模型 / 以电折碳): monthly statistics calibrate, meters drive.

Energy statistics (205-1 fuel returns, hence fuel-by-fuel CO2) arrive weeks after a month ends;
meter readings arrive the next day. Following the near-real-time approach of Carbon Monitor
(Liu et al. 2020), emissions of the latest days, weeks and months are estimated from an activity
indicator that is available at once (here: metered electricity) through relations calibrated on
the periods for which the full statistics exist, and re-calibrated every time statistics for a
further month arrive.

Models (all vectorised over entities; an *entity* is the city, a district, an industry or an
enterprise, and ``X`` is the metered electricity of the enterprises it contains):

``ratio`` (the scope-split carbon-per-kWh model with seasonal adjustment)
    Emissions are split into electricity CO2 (location-based scope 2) and the rest
    (combustion, process, heat: ``other``). Both are related to metered electricity by ratios:

        Ê_t = k · s^k_m · X_t           (electricity of the statistics, incl. unmetered firms)
        Ô_t = ρ · s^ρ_m · X_t           (other CO2)
        Ŷ_t = EF_grid(year(t)) · Ê_t + Ô_t

    ``k`` and ``ρ`` are the ratios over the last ``window_months`` calibration months (level),
    ``s_m`` month-of-year factors (median ratio of the month to its calendar-year ratio over the
    calibration years), shrunk towards 1 by ``n / (n + shrink)`` with ``n`` years observed. The
    grid factor of the nowcast year is applied exactly, so a new year's published factor does not
    bias the nowcast as a plain carbon-per-kWh ratio would.
``loglinear``
    ``log Y_t = a + b log X_t + γ_m`` per entity with month effects ``γ_m`` shared by the
    entities of a level (OLS, fitted by back-fitting: entity slopes in closed form, month effects
    as mean residuals), predicted with the log-normal smearing factor ``exp(σ²/2)``.
``naive`` (baseline)
    Same month last year x the entity's metered electricity growth, ``Y_{t-12} X_t / X_{t-12}``.

Entities without metered electricity fall back to ``naive`` with the city's metered growth
(model name ``naive_city_growth``). Which model serves which level is chosen by a rolling-origin
backtest (``model: auto`` in the city's ``power.nowcast`` section): on the demo data the
log-linear model wins at city level and the ratio model at district, industry and enterprise
level; the choice is re-made on every run.

Prediction intervals are log-normal: ``Ŷ exp(± z σ)`` with ``σ`` the entity's residual standard
deviation of ``log(Y/Ŷ)`` over the calibration months, pooled towards the level's median
(``(n s² + n0 s_level²)/(n + n0)``), inflated by ``sqrt(1 + 1/n)``. In-sample residuals
understate forecast errors (on the demo the nominal 90 % intervals covered 62-86 % of the
outcomes), so the normal quantile ``z`` is replaced per level by a split-conformal quantile of
the σ-normalised errors of a rolling-origin backtest (:func:`calibrate_intervals`, Lei et al.
2018); the coverage of the calibrated interval is checked out of sample on later origins and
reported beside the nominal level.

What limits accuracy (and what the demo data can and cannot show)
----------------------------------------------------------------
The synthetic demo city (``citycarbon.demo.generator``) makes each enterprise's fuel use
``electricity x a fixed per-enterprise intensity x an independent monthly log-normal wiggle
(σ = 6 %)`` and its meter readings sum to the 205-1 electricity within ±0.5 %. So in the demo
the carbon-per-kWh relation of an enterprise is stationary by construction, and the errors are
(i) the 6 % monthly fuel noise, which averages out over many enterprises and (ii) the
unmetered enterprises (by default only key enterprises have meters, ~60 % of covered CO2 in the
small demo), whose electricity grows and cycles differently from the metered ones. Real data add
what the demo has not: changes of fuel mix and process, production shifts that move electricity
and fuel differently, self-generation (PV, CHP), meters replaced or re-wired, and late
revisions of statistics. Backtest figures on the demo are therefore an upper bound on skill.

References
----------
[1] Liu Z., Ciais P., Deng Z. et al. (2020). Carbon Monitor, a near-real-time daily dataset of
    global CO2 emission from fossil fuel and cement production. Scientific Data 7: 392.
    doi:10.1038/s41597-020-00708-7 (activity-data proxies, daily disaggregation).
[2] Liu Z., Ciais P., Deng Z. et al. (2020). Near-real-time monitoring of global CO2 emissions
    reveals the effects of the COVID-19 pandemic. Nature Communications 11: 5172.
    doi:10.1038/s41467-020-18922-7.
[3] Hyndman R.J., Athanasopoulos G. (2021). Forecasting: principles and practice, 3rd ed.,
    OTexts: sec. 5.10 (time-series cross-validation, rolling origin), 5.2 (seasonal naive),
    5.5 (prediction intervals), 3.4 (ratio/X-11-style seasonal factors).
[4] Duan N. (1983). Smearing estimate: a nonparametric retransformation method. JASA 78:
    605-610 (the exp(σ²/2) back-transformation of log models).
[5] Lei J., G'Sell M., Rinaldo A., Tibshirani R.J., Wasserman L. (2018). Distribution-free
    predictive inference for regression. JASA 113(523): 1094-1111 (split conformal intervals).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

KEY = ["level", "entity"]
LEVELS = ("city", "district", "park", "industry", "enterprise")
MODELS = ("ratio", "loglinear", "naive")
PANEL_COLUMNS = [
    "level",
    "entity",
    "period",
    "metered_kwh",
    "electricity_kwh",
    "other_co2_t",
    "co2_t",
]


def mape_pct(actual, predicted) -> float:
    """Mean absolute percentage error, %.

    MAPE = 100 / n · Σ |A_t − F_t| / |A_t|   (Hyndman & Athanasopoulos 2021, sec. 5.8)

    Pairs with a missing value are left out; an actual of zero raises :class:`InputError`
    (the percentage is undefined) instead of giving ``inf``.

    Parameters
    ----------
    actual, predicted : array-like
        Outcomes and forecasts, same unit.

    References
    ----------
    [1] Hyndman R.J., Athanasopoulos G. (2021). Forecasting: principles and practice, 3rd ed.,
        sec. 5.8, "Percentage errors".
    """
    a = np.asarray(actual, dtype="float64")
    p = np.asarray(predicted, dtype="float64")
    ok = ~(np.isnan(a) | np.isnan(p))
    if (a[ok] == 0).any():
        raise InputError("MAPE is undefined for an actual value of 0", field="actual", value=0)
    if not ok.any():
        return float("nan")
    return float(100.0 * np.mean(np.abs(a[ok] - p[ok]) / np.abs(a[ok])))


def _check_panel(panel: pd.DataFrame) -> None:
    missing = [c for c in PANEL_COLUMNS if c not in panel.columns]
    if missing:
        raise InputError(
            f"nowcast panel needs columns {PANEL_COLUMNS}", field="columns", value=missing
        )


def _ef_of(periods: pd.Series, grid_ef_tco2_per_kwh: pd.Series) -> np.ndarray:
    """Grid factor of each period's year (series indexed by year)."""
    years = pd.DatetimeIndex(periods).year
    ef = grid_ef_tco2_per_kwh.reindex(years).to_numpy(dtype="float64")
    if np.isnan(ef).any():
        bad = sorted(set(years[np.isnan(ef)]))
        raise InputError("no grid emission factor for year(s)", field="grid_ef", value=bad)
    return ef


# ------------------------------------------------------------------------------- ratio model
def fit_ratio(
    panel: pd.DataFrame,
    through: pd.Timestamp,
    *,
    window_months: int = 12,
    shrink: float = 2.0,
    sigma_prior_n: float = 6.0,
    grid_ef_tco2_per_kwh: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibrate the scope-split ratio model on the statistics months up to ``through``.

    Parameters
    ----------
    panel : pandas.DataFrame
        ``level, entity, period`` (month start), ``metered_kwh`` [kWh], ``electricity_kwh``
        [kWh] and ``other_co2_t``, ``co2_t`` [tCO2] from the statistics (NaN where not yet in).
    through : Timestamp
        Last month whose statistics may be used.
    window_months : int
        Months of the level ratios ``k`` and ``ρ`` (the most recent ones).
    shrink : float
        Years of prior weight pulling month factors towards 1.
    sigma_prior_n : float
        Months of prior weight pulling an entity's σ towards its level's median.
    grid_ef_tco2_per_kwh : pandas.Series, optional
        Grid factor by year; needed for the in-sample residuals behind the intervals.

    Returns
    -------
    (params, seasonal) : (pandas.DataFrame, pandas.DataFrame)
        ``params``: ``level, entity, k, rho, sigma, n``; ``seasonal``: ``level, entity, month,
        s_k, s_rho``.

    References
    ----------
    [1] Liu et al. (2020), Scientific Data 7: 392 (activity proxies calibrated on statistics).
    [2] Hyndman & Athanasopoulos (2021), sec. 3.4 (ratio-to-level seasonal factors).
    """
    _check_panel(panel)
    through = pd.Timestamp(through)
    cal = panel[
        (panel["period"] <= through) & panel["co2_t"].notna() & (panel["metered_kwh"] > 0)
    ].copy()
    if cal.empty:
        empty = pd.DataFrame(
            {
                c: pd.Series(dtype=object if c in KEY else "float64")
                for c in [*KEY, "k", "rho", "sigma", "n"]
            }
        )
        return empty, pd.DataFrame(
            {
                c: pd.Series(dtype=object if c in KEY else "float64")
                for c in [*KEY, "month", "s_k", "s_rho"]
            }
        )
    start = through - pd.DateOffset(months=window_months - 1)
    recent = cal[cal["period"] >= start]
    g = recent.groupby(KEY, sort=True)[["electricity_kwh", "other_co2_t", "metered_kwh"]].sum()
    params = pd.DataFrame(
        {"k": g["electricity_kwh"] / g["metered_kwh"], "rho": g["other_co2_t"] / g["metered_kwh"]}
    )
    # month factors: ratio of the month / ratio of its calendar year, complete years only
    cal["year"] = cal["period"].dt.year
    cal["month"] = cal["period"].dt.month
    months_in_year = cal.groupby([*KEY, "year"])["period"].transform("size")
    full = cal[months_in_year == 12]
    yearly = full.groupby([*KEY, "year"])[["electricity_kwh", "other_co2_t", "metered_kwh"]].sum()
    yk = (yearly["electricity_kwh"] / yearly["metered_kwh"]).rename("yk")
    yr = (yearly["other_co2_t"] / yearly["metered_kwh"]).rename("yr")
    full = full.join(yk, on=[*KEY, "year"]).join(yr, on=[*KEY, "year"])
    full["rk"] = full["electricity_kwh"] / full["metered_kwh"] / full["yk"]
    with np.errstate(divide="ignore", invalid="ignore"):
        full["rr"] = np.where(
            full["yr"] > 0, full["other_co2_t"] / full["metered_kwh"] / full["yr"], 1.0
        )
    sm = full.groupby([*KEY, "month"])[["rk", "rr"]].agg(["median", "size"])
    n = sm[("rk", "size")].to_numpy()
    w = n / (n + shrink)
    seasonal = pd.DataFrame(
        {
            "s_k": 1.0 + w * (sm[("rk", "median")].to_numpy() - 1.0),
            "s_rho": 1.0 + w * (sm[("rr", "median")].to_numpy() - 1.0),
        },
        index=sm.index,
    ).reset_index()
    # in-sample log residuals for the intervals
    if grid_ef_tco2_per_kwh is not None:
        fitted = _predict_ratio_frame(params.reset_index(), seasonal, cal, grid_ef_tco2_per_kwh)
        with np.errstate(divide="ignore", invalid="ignore"):
            resid = np.log(cal["co2_t"].to_numpy() / fitted)
        cal["resid"] = np.where(np.isfinite(resid), resid, np.nan)
        params = params.join(_pooled_sigma(cal, sigma_prior_n))
    else:
        params["sigma"], params["n"] = np.nan, 0
    return params.reset_index(), seasonal


def _pooled_sigma(
    cal: pd.DataFrame, prior_n: float, params: pd.Series | float = 1.0
) -> pd.DataFrame:
    """Entity σ of log residuals pooled towards the level median, inflated by sqrt(1 + 1/n).

    ``params`` is the number of fitted parameters per entity (a Series on the entity index or a
    number): the residual variance is RSS / (n − params), the unbiased estimate.
    """
    g = cal.groupby(KEY)["resid"]
    n = g.count()
    dof = (n - params).clip(lower=1)
    s2 = (g.var(ddof=0) * n / dof).where(n > 1)
    level_med = s2.groupby(level="level").transform("median")
    pooled = (n * s2.fillna(0) + prior_n * level_med.fillna(s2.fillna(0))) / (n + prior_n)
    sigma = np.sqrt(pooled) * np.sqrt(1.0 + 1.0 / n.clip(lower=1))
    return pd.DataFrame({"sigma": sigma, "n": n})


def _predict_ratio_frame(
    params: pd.DataFrame, seasonal: pd.DataFrame, rows: pd.DataFrame, grid_ef: pd.Series
) -> np.ndarray:
    r = rows[KEY].copy()
    r["month"] = pd.DatetimeIndex(rows["period"]).month
    r = r.merge(params[[*KEY, "k", "rho"]], on=KEY, how="left").merge(
        seasonal, on=[*KEY, "month"], how="left"
    )
    s_k = r["s_k"].fillna(1.0).to_numpy()
    s_r = r["s_rho"].fillna(1.0).to_numpy()
    x = rows["metered_kwh"].to_numpy(dtype="float64")
    ef = _ef_of(rows["period"], grid_ef)
    return ef * r["k"].to_numpy() * s_k * x + r["rho"].to_numpy() * s_r * x


def predict_ratio(
    params: pd.DataFrame,
    seasonal: pd.DataFrame,
    rows: pd.DataFrame,
    grid_ef_tco2_per_kwh: pd.Series,
) -> np.ndarray:
    """Ratio-model emissions of ``rows`` (``level, entity, period, metered_kwh``), tCO2.

    Ŷ = EF_grid(year) · k · s^k_m · X + ρ · s^ρ_m · X; NaN for entities without parameters.
    """
    return _predict_ratio_frame(params, seasonal, rows, grid_ef_tco2_per_kwh)


# --------------------------------------------------------------------------- log-linear model
def fit_loglinear(
    panel: pd.DataFrame, through: pd.Timestamp, *, iterations: int = 8, sigma_prior_n: float = 6.0
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-entity log-linear regression with month effects shared within a level.

    log Y = a_e + b_e log X + γ_{level, m} + ε, fitted by back-fitting (closed-form OLS slopes
    per entity on log Y − γ, then γ as the mean residual per level and month, centred).
    Entities with fewer than 6 months or no variation in log X get b = 1 (a ratio).

    Returns
    -------
    (params, month_effects)
        ``level, entity, a, b, sigma, n`` and ``level, month, gamma``.

    References
    ----------
    [1] Hastie T., Tibshirani R. (1990). Generalized additive models, ch. 4 (back-fitting).
    [2] Duan (1983), JASA 78: 605-610 (smearing).
    """
    _check_panel(panel)
    cal = panel[
        (panel["period"] <= pd.Timestamp(through))
        & (panel["co2_t"] > 0)
        & (panel["metered_kwh"] > 0)
    ]
    ent_codes, ents = pd.MultiIndex.from_frame(cal[KEY]).factorize()
    lvl_codes, lvls = pd.factorize(cal["level"])
    month = pd.DatetimeIndex(cal["period"]).month.to_numpy() - 1
    cell = lvl_codes * 12 + month
    ly = np.log(cal["co2_t"].to_numpy(dtype="float64"))
    lx = np.log(cal["metered_kwh"].to_numpy(dtype="float64"))
    ne, nc = len(ents), len(lvls) * 12
    n = np.bincount(ent_codes, minlength=ne).astype("float64")
    cell_n = np.bincount(cell, minlength=nc).astype("float64")
    mx = np.bincount(ent_codes, lx, ne) / n
    dx = lx - mx[ent_codes]
    sxx = np.bincount(ent_codes, dx * dx, ne)
    gamma = np.zeros(nc)
    for _ in range(iterations):  # a few back-fitting sweeps, each vectorised over entities
        z = ly - gamma[cell]
        mz = np.bincount(ent_codes, z, ne) / n
        sxz = np.bincount(ent_codes, dx * (z - mz[ent_codes]), ne)
        b = np.where((n >= 6) & (sxx > 1e-10), sxz / np.where(sxx > 0, sxx, 1.0), 1.0)
        a = mz - b * mx
        resid = ly - a[ent_codes] - b[ent_codes] * lx
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.where(cell_n > 0, np.bincount(cell, resid, nc) / cell_n, 0.0)
        g = g.reshape(len(lvls), 12)
        seen = cell_n.reshape(len(lvls), 12) > 0
        centre = (g * seen).sum(axis=1) / np.maximum(seen.sum(axis=1), 1)
        gamma = np.where(seen, g - centre[:, None], 0.0).ravel()
    resid = ly - a[ent_codes] - b[ent_codes] * lx - gamma[cell]
    frame = cal[KEY].assign(resid=resid)
    ents = ents.set_names(KEY)
    # parameters per entity: a, b and its share of the level's month effects (11 free)
    months_seen = (cell_n.reshape(len(lvls), 12) > 0).sum(axis=1)
    ents_in_level = np.bincount(pd.factorize(ents.get_level_values(0))[0])
    lvl_of_ent = pd.Index(lvls).get_indexer(ents.get_level_values(0))
    p_ent = (
        2.0
        + np.maximum(months_seen - 1, 0)[lvl_of_ent]
        / ents_in_level[pd.factorize(ents.get_level_values(0))[0]]
    )
    sig = _pooled_sigma(frame, sigma_prior_n, pd.Series(p_ent, index=ents.set_names(KEY)))
    params = pd.DataFrame({"a": a, "b": b}, index=ents).join(sig)
    effects = pd.DataFrame(
        {
            "level": np.repeat(np.asarray(lvls, dtype=object), 12),
            "month": np.tile(np.arange(1, 13), len(lvls)),
            "gamma": gamma,
        }
    )
    return params.reset_index(), effects


def predict_loglinear(
    params: pd.DataFrame, effects: pd.DataFrame, rows: pd.DataFrame
) -> np.ndarray:
    """Log-linear emissions of ``rows`` with the smearing factor exp(σ²/2), tCO2."""
    r = rows[KEY].copy()
    r["month"] = pd.DatetimeIndex(rows["period"]).month
    r = r.merge(params, on=KEY, how="left").merge(effects, on=["level", "month"], how="left")
    x = rows["metered_kwh"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore"):
        lx = np.log(np.where(x > 0, x, np.nan))
    sig = r["sigma"].fillna(0).to_numpy()
    return np.exp(r["a"] + r["b"] * lx + r["gamma"].fillna(0) + sig**2 / 2).to_numpy()


# ------------------------------------------------------------------------------------- naive
def naive_tco2(panel: pd.DataFrame, rows: pd.DataFrame, *, growth_of: str = "entity") -> np.ndarray:
    """Seasonal naive with electricity growth: Y_{t-12} · X_t / X_{t-12}, tCO2.

    Parameters
    ----------
    panel : pandas.DataFrame
        History (statistics of t−12 must be in it).
    rows : pandas.DataFrame
        ``level, entity, period, metered_kwh`` to forecast.
    growth_of : {"entity", "city"}
        Whose metered electricity growth scales last year's value.

    References
    ----------
    [1] Hyndman & Athanasopoulos (2021), sec. 5.2 (seasonal naive), scaled by the driver.
    """
    last = panel[[*KEY, "period", "co2_t", "metered_kwh"]].copy()
    last["period"] = last["period"] + pd.DateOffset(years=1)
    last = last.rename(columns={"co2_t": "y0", "metered_kwh": "x0"})
    r = rows[[*KEY, "period", "metered_kwh"]].merge(last, on=[*KEY, "period"], how="left")
    if growth_of == "city":
        city = panel[panel["level"] == "city"].set_index("period")["metered_kwh"]
        per = pd.DatetimeIndex(rows["period"])
        x1 = city.reindex(per).to_numpy()
        x0 = city.reindex(per - pd.DateOffset(years=1)).to_numpy()
    else:
        x1, x0 = r["metered_kwh"].to_numpy(), r["x0"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(x0 > 0, x1 / x0, np.nan)
    return r["y0"].to_numpy() * growth


# ------------------------------------------------------------------------------- estimation
def estimate(
    panel: pd.DataFrame,
    rows: pd.DataFrame,
    through: pd.Timestamp,
    grid_ef_tco2_per_kwh: pd.Series,
    *,
    model: str | dict[str, str] = "ratio",
    confidence: float = 0.9,
    window_months: int = 12,
    shrink: float = 2.0,
    multiplier: dict[str, float] | None = None,
) -> pd.DataFrame:
    """Monthly emissions of ``rows`` from their metered electricity, with prediction intervals.

    Parameters
    ----------
    panel : pandas.DataFrame
        History (see :func:`fit_ratio`); statistics after ``through`` are ignored.
    rows : pandas.DataFrame
        ``level, entity, period, metered_kwh`` to estimate.
    through : Timestamp
        Last statistics month used for calibration.
    grid_ef_tco2_per_kwh : pandas.Series
        Grid factor by year [tCO2/kWh].
    model : str or dict
        One of ``ratio``, ``loglinear``, ``naive`` or a dict level -> model.
    confidence : float
        Two-sided coverage of the interval.
    multiplier : dict, optional
        ``(level, model)`` -> half-width of the interval in units of σ: the calibrated quantile
        of :func:`calibrate_intervals`, which replaces the normal quantile ``z`` of
        ``confidence`` (in-sample residuals understate forecast errors). Rows without one keep
        ``z``.

    Returns
    -------
    pandas.DataFrame
        ``rows`` + ``estimate_tco2, lower_tco2, upper_tco2, sigma_log, model,
        calibrated_through``.
    """
    through = pd.Timestamp(through)
    masked = panel.assign(co2_t=panel["co2_t"].where(panel["period"] <= through))
    hist = masked[masked["period"] <= through]
    models = model if isinstance(model, dict) else dict.fromkeys(LEVELS, model)
    unknown = sorted(set(models.values()) - set(MODELS))
    if unknown:
        raise InputError(
            f"unknown nowcast model; use one of {MODELS}", field="model", value=unknown
        )
    out = rows[[*KEY, "period", "metered_kwh"]].reset_index(drop=True).copy()
    est = np.full(len(out), np.nan)
    sigma = np.full(len(out), np.nan)
    name = np.full(len(out), "", dtype=object)
    wanted = set(out["level"].map(lambda lv: models.get(lv, "ratio")))
    fitted = {}
    if "ratio" in wanted:
        fitted["ratio"] = fit_ratio(
            hist,
            through,
            window_months=window_months,
            shrink=shrink,
            grid_ef_tco2_per_kwh=grid_ef_tco2_per_kwh,
        )
    if "loglinear" in wanted:
        fitted["loglinear"] = fit_loglinear(hist, through)
    for m in wanted:  # loop over at most three models
        sel = (out["level"].map(lambda lv, m=m: models.get(lv, "ratio")) == m).to_numpy()
        sub = out[sel]
        if m == "ratio":
            p, s = fitted["ratio"]
            est[sel] = predict_ratio(p, s, sub, grid_ef_tco2_per_kwh)
            sigma[sel] = sub[KEY].merge(p, on=KEY, how="left")["sigma"].to_numpy()
        elif m == "loglinear":
            p, e = fitted["loglinear"]
            est[sel] = predict_loglinear(p, e, sub)
            sigma[sel] = sub[KEY].merge(p, on=KEY, how="left")["sigma"].to_numpy()
        else:
            est[sel] = naive_tco2(masked, sub)
            sigma[sel] = _naive_sigma(masked, sub, through, "entity")
        name[sel] = m
    # naive-style fallbacks: no meters / no parameters
    fallback = np.isnan(est) | (out["metered_kwh"].fillna(0).to_numpy() <= 0)
    if fallback.any():
        est[fallback] = naive_tco2(masked, out[fallback], growth_of="city")
        name[fallback] = "naive_city_growth"
        sigma[fallback] = _naive_sigma(masked, out[fallback], through, "city")
    # entities without an own σ: their level's median
    level_sigma = pd.Series(sigma).groupby(out["level"].to_numpy()).transform("median").to_numpy()
    sigma = np.where(np.isnan(sigma), level_sigma, sigma)
    sigma = np.where(np.isnan(sigma), 0.1, sigma)  # no history at all: a wide, declared default
    from scipy import stats  # heavy (1 s): only where a band is computed

    z = stats.norm.ppf(0.5 + confidence / 2)
    if multiplier:
        keys = pd.MultiIndex.from_arrays([out["level"], name])
        z = pd.Series(multiplier).reindex(keys).fillna(z).to_numpy(dtype="float64")
    out["estimate_tco2"] = est
    out["lower_tco2"] = est * np.exp(-z * sigma)
    out["upper_tco2"] = est * np.exp(z * sigma)
    out["sigma_log"] = sigma
    out["model"] = name
    out["calibrated_through"] = through
    return out


def _naive_sigma(masked: pd.DataFrame, rows: pd.DataFrame, through, growth_of: str) -> np.ndarray:
    """σ of log errors of the naive forecast over each entity's calibration months (RMS,
    inflated by sqrt(1 + 1/n)); NaN where no month has last year's value."""
    ents = rows[KEY].drop_duplicates()
    hist = masked[(masked["period"] <= through) & masked["co2_t"].notna()].merge(ents, on=KEY)
    if hist.empty:
        return np.full(len(rows), np.nan)
    pred = naive_tco2(masked, hist, growth_of=growth_of)
    with np.errstate(divide="ignore", invalid="ignore"):
        le = np.log(hist["co2_t"].to_numpy() / pred)
    f = hist[KEY].assign(le2=np.where(np.isfinite(le), le**2, np.nan))
    g = f.groupby(KEY)["le2"].agg(["mean", "count"])
    sig = np.sqrt(g["mean"]) * np.sqrt(1 + 1 / g["count"].clip(lower=1))
    return rows[KEY].merge(sig.rename("s").reset_index(), on=KEY, how="left")["s"].to_numpy()


# -------------------------------------------------------------------------------- backtest
def backtest(
    panel: pd.DataFrame,
    grid_ef_tco2_per_kwh: pd.Series,
    *,
    origins: list[pd.Timestamp] | None = None,
    horizon: int = 1,
    min_history: int = 12,
    models: tuple[str, ...] = MODELS,
    confidence: float = 0.9,
    **options,
) -> pd.DataFrame:
    """Rolling-origin evaluation: calibrate on statistics up to T − horizon, nowcast month T.

    Parameters
    ----------
    panel : pandas.DataFrame
        Full history with statistics.
    origins : list of Timestamp, optional
        Months T to nowcast (default: every month with at least ``min_history`` calibration
        months and 12 months of history for the naive baseline).
    horizon : int
        Statistics lag in months (1: last month's statistics are not in yet).
    **options
        Passed to :func:`estimate` (``window_months``, ``shrink``).

    Returns
    -------
    pandas.DataFrame
        ``period, level, entity, model, evaluated_model, actual_tco2, estimate_tco2,
        lower_tco2, upper_tco2, sigma_log, ape_pct, covered`` (the uncalibrated interval) and
        ``confidence``.

    References
    ----------
    [1] Hyndman & Athanasopoulos (2021), sec. 5.10 (time-series cross-validation).
    """
    _check_panel(panel)
    with_stats = sorted(panel.loc[panel["co2_t"].notna(), "period"].unique())
    if origins is None:
        first = pd.Timestamp(with_stats[0]) + pd.DateOffset(
            months=max(min_history, 12) + horizon - 1
        )
        origins = [pd.Timestamp(p) for p in with_stats if pd.Timestamp(p) >= first]
    frames = []
    for t in origins:  # loop over origins (a few dozen months), vectorised over entities
        t = pd.Timestamp(t)
        through = t - pd.DateOffset(months=horizon)
        rows = panel[(panel["period"] == t) & panel["co2_t"].notna()]
        for m in models:
            e = estimate(
                panel.assign(co2_t=panel["co2_t"].where(panel["period"] <= through)),
                rows,
                through,
                grid_ef_tco2_per_kwh,
                model=m,
                confidence=confidence,
                **options,
            )
            e["actual_tco2"] = rows["co2_t"].to_numpy()
            e["model"] = np.where(e["model"] == "naive_city_growth", e["model"], m)
            e["evaluated_model"] = m
            frames.append(e)
    if not frames:
        raise InputError(
            f"no backtest origin: the statistics need at least {max(min_history, 12) + horizon} "
            "months (a year of calibration before each origin, for the naive baseline)",
            field="period",
        )
    out = pd.concat(frames, ignore_index=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ape_pct"] = (
            100 * np.abs(out["estimate_tco2"] - out["actual_tco2"]) / out["actual_tco2"].abs()
        )
    out["covered"] = (out["actual_tco2"] >= out["lower_tco2"]) & (
        out["actual_tco2"] <= out["upper_tco2"]
    )
    out["confidence"] = confidence
    return out


def backtest_summary(errors: pd.DataFrame) -> pd.DataFrame:
    """MAPE per level and model, the gain over the naive baseline and interval coverage.

    Returns
    -------
    pandas.DataFrame
        Index ``level``; columns ``mape_<model>`` [%], ``gain_vs_naive_pct`` (100 · (1 −
        MAPE_best / MAPE_naive)), ``best_model``, ``coverage_best`` (share of outcomes inside
        the uncalibrated interval), ``coverage_nominal`` (the interval's nominal level),
        ``coverage_calibrated`` and ``coverage_calibrated_n`` (out-of-sample coverage of the
        calibrated interval and the outcomes it was checked on, :func:`calibrate_intervals`),
        ``entities``, ``months``. Only entity-months on which every model gave an estimate from
        meters (no city-growth fallback) are compared; fallback rows are summarised as
        ``mape_fallback``.
    """
    ok = errors[np.isfinite(errors["ape_pct"])]
    fb = ok["model"] == "naive_city_growth"
    key = ["period", "level", "entity"]
    bad_keys = ok.loc[fb, key].drop_duplicates()
    clean = ok.merge(bad_keys.assign(_fb=True), on=key, how="left")
    clean = clean[clean["_fb"].isna()]
    mape = clean.pivot_table(
        index="level", columns="evaluated_model", values="ape_pct", aggfunc="mean"
    )
    cover = clean.pivot_table(
        index="level", columns="evaluated_model", values="covered", aggfunc="mean"
    )
    out = mape.add_prefix("mape_")
    cand = [m for m in mape.columns if m != "naive"] or ["naive"]
    best = mape[cand].idxmin(axis=1)
    out["best_model"] = best
    if "naive" in mape:
        out["gain_vs_naive_pct"] = 100 * (1 - mape[cand].min(axis=1) / mape["naive"])
    out["coverage_best"] = [cover.at[lv, m] for lv, m in best.items()]
    confidence = float(errors["confidence"].iat[0])
    calibrated = level_coverage(calibrate_intervals(errors, best.to_dict(), confidence))
    out["coverage_nominal"] = confidence
    out["coverage_calibrated"] = calibrated["coverage"].reindex(out.index)
    out["coverage_calibrated_n"] = calibrated["coverage_n"].reindex(out.index)
    out["entities"] = clean.groupby("level")["entity"].nunique()
    out["months"] = clean.groupby("level")["period"].nunique()
    fbm = ok[fb].groupby("level")["ape_pct"].mean()
    out["mape_fallback"] = fbm.reindex(out.index)
    out["fallback_entities"] = ok[fb].groupby("level")["entity"].nunique().reindex(out.index)
    order = [lv for lv in LEVELS if lv in out.index]
    return out.loc[order]


# ------------------------------------------------------------------- interval calibration
def interval_scores(errors: pd.DataFrame) -> np.ndarray:
    """Normalised nonconformity score of backtest rows: ``|log(A / Ŷ)| / σ``.

    The interval ``Ŷ exp(± q σ)`` covers the outcome ``A`` exactly when the score is at most
    ``q``. NaN where the outcome or estimate is not positive or σ is missing.

    References
    ----------
    [1] Lei J., G'Sell M., Rinaldo A., Tibshirani R.J., Wasserman L. (2018). Distribution-free
        predictive inference for regression. JASA 113(523): 1094-1111, sec. 5.2 (locally
        weighted, i.e. σ-normalised, residuals).
    """
    a = errors["actual_tco2"].to_numpy(dtype="float64")
    e = errors["estimate_tco2"].to_numpy(dtype="float64")
    sigma = errors["sigma_log"].to_numpy(dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        score = np.abs(np.log(a / e)) / sigma
    return np.where(np.isfinite(score), score, np.nan)


def conformal_quantile(scores, confidence: float) -> float:
    """Split-conformal quantile: the ⌈(n + 1) c⌉-th smallest of ``n`` scores.

    An interval of this half-width covers a new exchangeable outcome with probability at least
    ``c``; with fewer than ``c / (1 − c)`` scores no finite quantile does, and the result is
    ``inf``. NaN scores are left out.

    Parameters
    ----------
    scores : array-like
        Nonconformity scores of the calibration outcomes (:func:`interval_scores`).
    confidence : float
        Two-sided coverage ``c`` in (0, 1).

    References
    ----------
    [1] Lei et al. (2018), JASA 113: 1094-1111, sec. 2.2 (split conformal, Theorem 2.2).
    [2] Vovk V., Gammerman A., Shafer G. (2005). Algorithmic learning in a random world.
        Springer, ch. 2.
    """
    s = np.sort(np.asarray(scores, dtype="float64"))
    s = s[np.isfinite(s)]
    k = int(np.ceil((len(s) + 1) * confidence))
    return float(s[k - 1]) if 1 <= k <= len(s) else float("inf")


def calibrate_intervals(
    errors: pd.DataFrame, models: dict[str, str], confidence: float
) -> pd.DataFrame:
    """Conformal calibration of the intervals per level and model from rolling-origin backtest
    rows.

    The half-width multiplier ``q`` replaces the normal quantile: the conformal quantile
    (:func:`conformal_quantile`) of the σ-normalised scores (:func:`interval_scores`) at every
    origin of the level's model, separately for the rows it served and its city-growth
    fallback rows (``model`` column; their errors differ in kind). Its coverage is checked out
    of sample, as it would have been used: the outcomes of origin ``T`` against the quantile of
    the scores of the origins before ``T`` (origins whose predecessors give no finite quantile
    are not checked).

    Parameters
    ----------
    errors : pandas.DataFrame
        Rows of :func:`backtest` (``level, period, model, evaluated_model, actual_tco2,
        estimate_tco2, sigma_log``).
    models : dict
        Level -> the model whose rows calibrate it.
    confidence : float
        Nominal two-sided coverage.

    Returns
    -------
    pandas.DataFrame
        Index ``level, model``; ``multiplier`` (q; inf when there are too few scores),
        ``calibration_n`` (scores), ``coverage`` (out-of-sample share covered, NaN when nothing
        could be checked) and ``coverage_n`` (outcomes checked).

    References
    ----------
    [1] Lei et al. (2018), JASA 113: 1094-1111 (split conformal prediction).
    [2] Stankeviciute K., Alaa A.M., van der Schaar M. (2021). Conformal time-series
        forecasting. NeurIPS 34 (conformal intervals from the errors of earlier forecast
        origins).
    [3] Hyndman & Athanasopoulos (2021), sec. 5.10 (rolling-origin evaluation).
    """
    pick = errors["evaluated_model"].to_numpy() == errors["level"].map(models).to_numpy()
    e = errors[pick].assign(score=interval_scores(errors[pick]))
    e = e[np.isfinite(e["score"])]
    rows = {}
    for key, g in e.groupby(["level", "model"], sort=False):  # five levels, two kinds of rows
        score = g["score"].to_numpy()
        period = g["period"].to_numpy()
        covered, checked = 0, 0
        for p in np.unique(period):  # a few dozen origins, each vectorised over its entities
            q = conformal_quantile(score[period < p], confidence)
            if np.isfinite(q):
                now = score[period == p]
                covered += int((now <= q).sum())
                checked += len(now)
        rows[key] = {
            "multiplier": conformal_quantile(score, confidence),
            "calibration_n": len(score),
            "coverage": covered / checked if checked else np.nan,
            "coverage_n": checked,
        }
    columns = ["multiplier", "calibration_n", "coverage", "coverage_n"]
    index = pd.MultiIndex.from_tuples(list(rows), names=["level", "model"])
    return pd.DataFrame(list(rows.values()), index=index, columns=columns)


def level_coverage(calibration: pd.DataFrame) -> pd.DataFrame:
    """Out-of-sample coverage per level over its kinds of rows (``coverage``, ``coverage_n``)
    from :func:`calibrate_intervals`."""
    c = calibration.assign(covered=calibration["coverage"].fillna(0) * calibration["coverage_n"])
    g = c.groupby(level="level")[["covered", "coverage_n"]].sum()
    return pd.DataFrame(
        {
            "coverage": (g["covered"] / g["coverage_n"]).where(g["coverage_n"] > 0),
            "coverage_n": g["coverage_n"],
        }
    )


# ---------------------------------------------------------------------- city-wide nowcast
def _year_month(periods: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    p = pd.DatetimeIndex(periods)
    return p.year.to_numpy(), p.month.to_numpy()


def _month_growth(
    monthly: pd.Series | None, t: pd.DataFrame, less: pd.Series | None = None
) -> np.ndarray:
    """``X_t / X_{t,B}``: a monthly proxy of each month over the same calendar month of its base
    year (NaN where either month is missing); with ``less`` (also by month start),
    ``(X_t − L_t) / (X_{t,B} − L_{t,B})``, NaN where the base-month difference is not positive."""
    if monthly is None or monthly.empty:
        return np.full(len(t), np.nan)
    m = pd.Series(monthly.to_numpy(dtype=float), index=pd.DatetimeIndex(monthly.index))
    now = pd.DatetimeIndex(t["period"])
    base = pd.DatetimeIndex(pd.to_datetime(dict(year=t["base_year"], month=t["month"], day=1)))
    x_now, x_base = m.reindex(now).to_numpy(), m.reindex(base).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        if less is None:
            return x_now / x_base
        rest_base = x_base - less.reindex(base).to_numpy()
        return np.where(rest_base > 0, (x_now - less.reindex(now).to_numpy()) / rest_base, np.nan)


def city_wide_tco2(
    reporters: pd.DataFrame,
    inventory: pd.DataFrame,
    *,
    electricity_kwh: pd.Series | None = None,
    grid_ef_tco2_per_kwh: pd.Series | None = None,
    electricity_kwh_monthly: pd.Series | None = None,
    fuel_sales_tco2_monthly: pd.Series | None = None,
) -> pd.DataFrame:
    """City-wide monthly CO2: the 205-1 reporters' months plus the rest of the city inventory,
    scaled with the reporters' growth and city-wide proxies.

    For a month ``t`` of year ``Y`` and the latest base year ``B < Y`` (a city inventory year
    with all twelve reporters' months)::

        Ŷ_t = R_t + d_t / D_Y · (S_B · g_S + V_B · g_V + O_B · g_R)
        S_B = S^inv_B − S^rep_B,   V_B = V^inv_B − V^rep_B,   O_B = T_B − R_B − S_B − V_B
        g_R = R_t / R_{t,B}
        g_S = ((E_t − K_t) / (E_{t,B} − K_{t,B})) · (EF_Y / EF_B)   city and reporters'
                                                  electricity of both months known,
            = (E_t / E_{t,B}) · (EF_Y / EF_B)   city electricity of both months known,
            = (E_Y / E_B) · (EF_Y / EF_B)       else city electricity of both years, else g_R
        g_V = F_t / F_{t,B}                     fuel sales of both months known, else g_R

    ``R_t`` the reporters' CO2 of the month (statistics, or their nowcast), ``R_{t,B}`` the same
    calendar month of ``B`` and ``R_B`` its year; ``T_B`` the inventory's CO2, ``S^inv_B`` its
    electricity (scope 2) part and ``V^inv_B`` its transport (1.A.3) part; ``S^rep_B`` and
    ``V^rep_B`` the same parts of the reporters; ``E`` the city's electricity consumption
    (全社会用电量, by month where the monthly statistics are ingested — the total or the sum of
    its sectors —, else by year), ``K`` the reporters' own electricity, ``EF`` the
    grid factor, ``F`` the CO2 of the month's road-fuel sales (成品油销售量); ``d_t / D_Y`` the
    month's share of the days of its year (the inventory's rule for the months of what no
    reporter covers). Without proxies every unreported part grows like the reporters, i.e. the
    city is the reporters scaled by their share of the base-year inventory: an activity-proxy
    extrapolation of a base-year inventory in the manner of Carbon Monitor (Liu et al. 2020),
    whose in-year proxies are monthly power consumption and fuel sales.

    Parameters
    ----------
    reporters : pandas.DataFrame
        ``period`` (month start), ``reporters_tco2`` [tCO2] (statistics, or their nowcast for
        recent months), ``reporters_electricity_tco2`` [tCO2] (statistics; base years only) and
        optionally ``reporters_transport_tco2`` [tCO2] (the reporters' 1.A.3 CO2; 0 if absent)
        and ``reporters_kwh`` [kWh] (their electricity: statistics, or metered for recent
        months; the unreported electricity is then the city's less theirs).
    inventory : pandas.DataFrame
        ``year``, ``total_tco2``, ``electricity_tco2`` and optionally ``transport_tco2`` [tCO2]:
        the city inventory's CO2 on the basis including net imported electricity, its scope-2
        part and its transport part (0 if absent: transport then grows with the reporters).
    electricity_kwh : pandas.Series, optional
        City electricity consumption by year [kWh].
    grid_ef_tco2_per_kwh : pandas.Series, optional
        Grid factor by year [tCO2/kWh] (needed with either electricity series).
    electricity_kwh_monthly : pandas.Series, optional
        City electricity consumption by month (index: month start) [kWh].
    fuel_sales_tco2_monthly : pandas.Series, optional
        CO2 of the city's gasoline and diesel sales by month (index: month start) [tCO2].

    Returns
    -------
    pandas.DataFrame
        ``period, estimate_tco2, reporters_tco2, base_year, inventory_share`` (``R_B / T_B``, the
        share measured by the reporters) and ``proxy``: what scaled the unreported parts,
        ``+``-joined from ``city_electricity_monthly``, ``city_electricity`` (annual) and
        ``fuel_sales``, or ``reporters`` when no proxy applied, for the months with a base year.

    References
    ----------
    [1] Liu et al. (2020), Scientific Data 7: 392 (sector emissions of a base year scaled by
        activity proxies of the current year: monthly power consumption, fuel sales).
    """
    r = reporters.copy()
    if "reporters_transport_tco2" not in r:
        r["reporters_transport_tco2"] = 0.0
    if "reporters_kwh" not in r:
        r["reporters_kwh"] = np.nan
    cols = ["reporters_tco2", "reporters_electricity_tco2", "reporters_transport_tco2"]
    r = r[["period", *cols, "reporters_kwh"]]
    r["year"], r["month"] = _year_month(r["period"])
    months = r.groupby("year")["reporters_tco2"].count()
    annual = (
        r[r["year"].isin(months.index[months == 12])]
        .groupby("year")[cols]
        .sum()
        .add_prefix("base_")
    )
    inv = inventory.copy()
    if "transport_tco2" not in inv:
        inv["transport_tco2"] = 0.0
    parts = ["total_tco2", "electricity_tco2", "transport_tco2"]
    base = inv.set_index("year")[parts].join(annual, how="inner")
    years = np.sort(base.index.to_numpy())
    t = r[r["reporters_tco2"].notna()].reset_index(drop=True)
    i = np.searchsorted(years, t["year"].to_numpy(), side="left") - 1
    t = t[i >= 0].reset_index(drop=True)
    t["base_year"] = years[i[i >= 0]]
    b = base.reindex(t["base_year"])
    same = r.set_index(["year", "month"])["reporters_tco2"]
    same_month = same.reindex(pd.MultiIndex.from_arrays([t["base_year"], t["month"]])).to_numpy()
    rest_el = b["electricity_tco2"].to_numpy() - b["base_reporters_electricity_tco2"].to_numpy()
    rest_tr = b["transport_tco2"].to_numpy() - b["base_reporters_transport_tco2"].to_numpy()
    rest = b["total_tco2"].to_numpy() - b["base_reporters_tco2"].to_numpy() - rest_el - rest_tr
    g_rep = t["reporters_tco2"].to_numpy() / same_month
    ef_ratio = np.full(len(t), np.nan)
    if grid_ef_tco2_per_kwh is not None:
        ef = grid_ef_tco2_per_kwh
        ef_ratio = ef.reindex(t["year"]).to_numpy() / ef.reindex(t["base_year"]).to_numpy()
    # the unreported electricity: the city's less the reporters' own, month on month (else the
    # city's alone, where the reporters' electricity of either month is unknown)
    own_kwh = r.set_index(pd.DatetimeIndex(r["period"]))["reporters_kwh"]
    net = _month_growth(electricity_kwh_monthly, t, less=own_kwh)
    g_month = np.where(np.isfinite(net), net, _month_growth(electricity_kwh_monthly, t))
    g_month = g_month * ef_ratio
    g_year = np.full(len(t), np.nan)
    if electricity_kwh is not None:
        e = electricity_kwh
        g_year = e.reindex(t["year"]).to_numpy() / e.reindex(t["base_year"]).to_numpy() * ef_ratio
    g_fuel = _month_growth(fuel_sales_tco2_monthly, t)
    el_proxy = np.where(
        np.isfinite(g_month),
        "city_electricity_monthly",
        np.where(np.isfinite(g_year), "city_electricity", ""),
    )
    g_el = np.where(np.isfinite(g_month), g_month, np.where(np.isfinite(g_year), g_year, g_rep))
    fuel_proxy = np.where(np.isfinite(g_fuel), "fuel_sales", "")
    g_tr = np.where(np.isfinite(g_fuel), g_fuel, g_rep)
    proxy = pd.Series(el_proxy).str.cat(pd.Series(fuel_proxy), sep="+").str.strip("+")
    proxy = proxy.where(proxy != "", "reporters")
    p = pd.DatetimeIndex(t["period"])
    share_of_year = p.days_in_month.to_numpy() / np.where(p.is_leap_year, 366.0, 365.0)
    return pd.DataFrame(
        {
            "period": t["period"],
            "estimate_tco2": t["reporters_tco2"].to_numpy()
            + share_of_year * (rest_el * g_el + rest_tr * g_tr + rest * g_rep),
            "reporters_tco2": t["reporters_tco2"],
            "base_year": t["base_year"],
            "inventory_share": (b["base_reporters_tco2"] / b["total_tco2"]).to_numpy(),
            "proxy": proxy.to_numpy(),
        }
    )


def city_wide_backtest(
    reporters: pd.DataFrame,
    inventory: pd.DataFrame,
    *,
    electricity_kwh: pd.Series | None = None,
    grid_ef_tco2_per_kwh: pd.Series | None = None,
    electricity_kwh_monthly: pd.Series | None = None,
    fuel_sales_tco2_monthly: pd.Series | None = None,
) -> pd.DataFrame:
    """The city-wide nowcast of every inventory year with a base year before it, summed over
    its twelve months from the reporters' statistics, against the inventory.

    Three approaches: ``city_wide`` (:func:`city_wide_tco2` with the proxies given),
    ``reporters_share`` (every unreported part scaled with the reporters' growth) and the
    ``persistence`` baseline (the base year's inventory).

    Parameters
    ----------
    reporters, inventory, electricity_kwh, grid_ef_tco2_per_kwh, electricity_kwh_monthly,
    fuel_sales_tco2_monthly
        As for :func:`city_wide_tco2` (``reporters``: statistics only).

    Returns
    -------
    pandas.DataFrame
        ``year, approach, base_year, inventory_tco2, estimate_tco2, error_pct`` (100 · (Ŷ / T −
        1)), ``inventory_share`` and ``proxy`` (the proxies of the year's months, ``;``-joined
        where they differ).

    References
    ----------
    [1] Hyndman & Athanasopoulos (2021), sec. 5.10 (evaluation on held-out outcomes).
    """
    actual = inventory.set_index("year")["total_tco2"]
    frames = []
    for approach, kw in (
        (
            "city_wide",
            {
                "electricity_kwh": electricity_kwh,
                "grid_ef_tco2_per_kwh": grid_ef_tco2_per_kwh,
                "electricity_kwh_monthly": electricity_kwh_monthly,
                "fuel_sales_tco2_monthly": fuel_sales_tco2_monthly,
            },
        ),
        ("reporters_share", {}),
    ):  # two variants of one vectorised computation
        m = city_wide_tco2(reporters, inventory, **kw)
        m["year"] = pd.DatetimeIndex(m["period"]).year
        g = m.groupby("year").agg(
            estimate_tco2=("estimate_tco2", "sum"),
            months=("period", "size"),
            base_year=("base_year", "first"),
            inventory_share=("inventory_share", "first"),
            proxy=("proxy", lambda x: ";".join(sorted(set(x)))),  # a handful of years
        )
        frames.append(g[(g["months"] == 12) & g.index.isin(actual.index)].assign(approach=approach))
    out = pd.concat(frames).drop(columns="months")
    persistence = out[out["approach"] == "city_wide"].assign(
        approach="persistence",
        proxy="",
        estimate_tco2=lambda f: actual.reindex(f["base_year"]).to_numpy(),
    )
    out = pd.concat([out, persistence]).rename_axis("year").reset_index()
    out["inventory_tco2"] = actual.reindex(out["year"]).to_numpy()
    out["error_pct"] = 100 * (out["estimate_tco2"] / out["inventory_tco2"] - 1)
    cols = ["year", "approach", "base_year", "inventory_tco2", "estimate_tco2", "error_pct"]
    return (
        out[[*cols, "inventory_share", "proxy"]]
        .sort_values(["year", "approach"])
        .reset_index(drop=True)
    )


# -------------------------------------------------------------------- daily / weekly nowcast
def disaggregate(
    monthly: pd.DataFrame, daily: pd.DataFrame, reference: pd.DataFrame | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Daily and weekly emissions in proportion to metered electricity (Carbon Monitor style).

    Y_d = Ŷ_month · X_d / X_month, with the same relative interval as the month's (errors of the
    days of a month are taken as fully correlated, which keeps weekly sums conservative).

    Parameters
    ----------
    monthly : pandas.DataFrame
        Output of :func:`estimate` (``level, entity, period, metered_kwh, estimate_tco2,
        lower_tco2, upper_tco2, model``).
    daily : pandas.DataFrame
        ``level, entity, day`` (local date), ``metered_kwh``.
    reference : pandas.DataFrame, optional
        ``day, metered_kwh`` of a reference (the city): entities without metered days (no
        meters) are spread over the days in its proportions, with ``metered_kwh`` 0.

    Returns
    -------
    (days, weeks) : (pandas.DataFrame, pandas.DataFrame)
        ``level, entity, period, metered_kwh, estimate_tco2, lower_tco2, upper_tco2, model``;
        weeks start on Monday (ISO 8601) and are sums of their days (a week crossing a month
        boundary takes each day from its own month).

    References
    ----------
    [1] Liu et al. (2020), Scientific Data 7: 392, "daily emissions from daily activity".
    """
    d = daily[[*KEY, "day", "metered_kwh"]].copy()
    d["shape_kwh"] = d["metered_kwh"]
    if reference is not None and len(reference):
        have = d[KEY].drop_duplicates().assign(_has=True)
        lack = monthly[KEY].drop_duplicates().merge(have, on=KEY, how="left")
        lack = lack[lack["_has"].isna()][KEY]
        if len(lack):
            ref = reference[["day", "metered_kwh"]].rename(columns={"metered_kwh": "shape_kwh"})
            extra = lack.merge(ref, how="cross").assign(metered_kwh=0.0)
            d = pd.concat([d, extra[[*KEY, "day", "metered_kwh", "shape_kwh"]]], ignore_index=True)
    d["period"] = pd.DatetimeIndex(d["day"]).to_period("M").to_timestamp()
    d["shape_month"] = d.groupby([*KEY, "period"])["shape_kwh"].transform("sum")
    m = monthly[[*KEY, "period", "estimate_tco2", "lower_tco2", "upper_tco2", "model"]]
    d = d.merge(m, on=[*KEY, "period"], how="inner")
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(d["shape_month"] > 0, d["shape_kwh"] / d["shape_month"], np.nan)
    for c in ("estimate_tco2", "lower_tco2", "upper_tco2"):
        d[c] = d[c] * share
    days = d[[*KEY, "day", "metered_kwh", "estimate_tco2", "lower_tco2", "upper_tco2", "model"]]
    days = days.rename(columns={"day": "period"})
    wk = days.assign(period=days["period"] - pd.to_timedelta(days["period"].dt.dayofweek, "D"))
    weeks = (
        wk.groupby([*KEY, "period"], sort=True)
        .agg(
            metered_kwh=("metered_kwh", "sum"),
            estimate_tco2=("estimate_tco2", "sum"),
            lower_tco2=("lower_tco2", "sum"),
            upper_tco2=("upper_tco2", "sum"),
            model=("model", "first"),
            days=("metered_kwh", "size"),
        )
        .reset_index()
    )
    return days.reset_index(drop=True), weeks
