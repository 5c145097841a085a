"""Activity-driven baseline (LEAP style): sector energy = activity x energy intensity.

``E_s(y) = A_s(y) x EI_s(y)`` for each model sector ``s`` with an activity driver ``A`` (floor
area, vehicle fleet, industrial value added, ...) and an energy intensity ``EI`` [tce per unit
of activity]. The intensity is calibrated on the inventory history:

- level: ``EI_s(base)`` of the base year, exactly (the pathway starts on the inventory);
- trend: ``r_s = exp(b_s) - 1`` with ``b_s`` the least-squares slope of ``ln EI_s(y)`` on ``y``
  over the history, bounded to ``[low, high]`` (a short history must not extrapolate a boom);
- backcast: ``E^_s(y) = A_s(y) x EI_s(base) x (1 + r_s)^(y - base)`` for the history years, whose
  emissions ``C^_s(y) = E^_s(y) x C_s(y) / E_s(y)`` (the year's own carbon content of energy) are
  compared with the inventory (mean absolute percentage error, the calibration's fit).

Projections: ``A_s(y)`` compounds assumed yearly growth from the base-year value; the sector
growth ``E_s(y) / E_s(y - 1) - 1`` is what :func:`citycarbon.pathways.scenario.simulate` takes
(``growth_override``), so the carbon content (carrier mix, grid factor, measures) stays the
scenario engine's.

References
----------
[1] Heaps, C.G. (2022) LEAP: the Low Emissions Analysis Platform. Stockholm Environment
    Institute. "Activity analysis": energy demand = activity level x energy intensity.
[2] IEA (2014) Energy Efficiency Indicators: Fundamentals on Statistics, ch. 1 (intensity =
    energy per unit of activity: floor area, vehicle, value added).
[3] IPCC (2006) Guidelines Vol. 1 Ch. 5 (time-series consistency; trend extrapolation, 5.3.3.4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError


def energy_intensity_tce_per_unit(energy_tce, activity):
    """Energy intensity ``EI = E / A`` [tce per unit of activity] (IEA 2014, ch. 1)."""
    return np.asarray(energy_tce, dtype=float) / np.asarray(activity, dtype=float)


def log_linear_trend_per_yr(years, values) -> np.ndarray:
    """Yearly rate ``exp(b) - 1`` of the least-squares line ``ln v = a + b y`` along the last
    axis (vectorised over leading axes, e.g. sectors).

    ``b = sum (y - ybar)(ln v - mean ln v) / sum (y - ybar)^2`` (ordinary least squares).
    """
    y = np.asarray(years, dtype=float)
    lv = np.log(np.asarray(values, dtype=float))
    yc = y - y.mean()
    denom = float(yc @ yc)
    if denom == 0:
        return np.zeros(lv.shape[:-1])
    b = ((lv - lv.mean(axis=-1, keepdims=True)) * yc).sum(axis=-1) / denom
    return np.expm1(b)


def calibrate_intensity(
    history: pd.DataFrame, *, base_year: int, trend_low: float, trend_high: float
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Calibrate each sector's energy intensity on the history and backcast it.

    Parameters
    ----------
    history : DataFrame
        ``year, sector, activity, energy_tce, emissions_tco2e`` (consecutive or not; at least
        one year per sector; all values positive).
    base_year : int
        The year whose intensity is the starting level (in the history).
    trend_low, trend_high : float
        Bounds of the yearly intensity change [1/yr].

    Returns
    -------
    (calibration, backcast)
        ``calibration``: one row per sector ``sector, intensity_base_tce_per_unit,
        intensity_trend_per_yr, trend_fitted_per_yr, n_years, mape``;
        ``backcast``: ``year, sector, emissions_tco2e, backcast_tco2e, error``.

    References
    ----------
    [1] Heaps (2022) LEAP activity analysis; [3] IPCC 2006 Vol. 1, 5.3.3.4 (trend).
    """
    need = {"year", "sector", "activity", "energy_tce", "emissions_tco2e"}
    missing = sorted(need - set(history.columns))
    if missing:
        raise InputError(f"activity history lacks {missing}", field="columns", value=missing)
    h = history.sort_values(["sector", "year"]).reset_index(drop=True)
    bad = h[(h[["activity", "energy_tce", "emissions_tco2e"]] <= 0).any(axis=1)]
    if len(bad):
        r = bad.iloc[0]
        raise InputError(
            f"sector {r['sector']}, {int(r['year'])}: activity, energy and emissions must be "
            "positive to calibrate an intensity",
            field="activity",
            value=float(r["activity"]),
        )
    h["intensity"] = energy_intensity_tce_per_unit(h["energy_tce"], h["activity"])
    wide = h.pivot(index="sector", columns="year", values="intensity")
    if base_year not in wide.columns or wide[base_year].isna().any():
        raise InputError(
            f"the activity history has no intensity for every sector in {base_year}",
            field="year",
            value=base_year,
        )
    filled = wide.notna().all(axis=0)
    years = wide.columns[filled].to_numpy()
    fitted = log_linear_trend_per_yr(years, wide.loc[:, filled].to_numpy())
    trend = np.clip(fitted, trend_low, trend_high)
    cal = pd.DataFrame(
        {
            "sector": wide.index,
            "intensity_base_tce_per_unit": wide[base_year].to_numpy(),
            "intensity_trend_per_yr": trend,
            "trend_fitted_per_yr": fitted,
            "n_years": len(years),
        }
    )
    c = h.merge(cal, on="sector")
    energy_hat = (
        c["activity"]
        * c["intensity_base_tce_per_unit"]
        * (1.0 + c["intensity_trend_per_yr"]) ** (c["year"] - base_year)
    )
    back = pd.DataFrame(
        {
            "year": c["year"].astype(int),
            "sector": c["sector"],
            "emissions_tco2e": c["emissions_tco2e"],
            "backcast_tco2e": energy_hat * c["emissions_tco2e"] / c["energy_tce"],
        }
    )
    back["error"] = back["backcast_tco2e"] / back["emissions_tco2e"] - 1.0
    mape = back.groupby("sector")["error"].apply(lambda e: float(e.abs().mean()))
    cal["mape"] = cal["sector"].map(mape)
    return cal, back


def project_activity(base: pd.Series, growth: pd.DataFrame, years: np.ndarray) -> pd.DataFrame:
    """Activity by sector and year from the base-year values and yearly growth.

    ``A_s(y) = A_s(base) x prod_{base < t <= y} (1 + g_s(t))``.

    Parameters
    ----------
    base : Series          sector -> activity of the base year (``years[0]``)
    growth : DataFrame     sectors x years, yearly growth (the base year's column is ignored)
    years : array          base year first

    Returns
    -------
    DataFrame  ``year, sector, activity``
    """
    g = growth.reindex(index=base.index, columns=years).to_numpy(dtype=float)
    g[:, 0] = 0.0
    values = base.to_numpy(dtype=float)[:, None] * np.cumprod(1.0 + g, axis=1)
    out = pd.DataFrame(values, index=base.index, columns=years)
    return out.rename_axis(index="sector", columns="year").stack().rename("activity").reset_index()


def baseline_energy_growth(
    activity: pd.DataFrame, calibration: pd.DataFrame, *, base_year: int
) -> pd.DataFrame:
    """Yearly sector energy growth of the activity baseline (``simulate(growth_override=)``).

    ``E_s(y) = A_s(y) x EI_s(base) x (1 + r_s)^(y - base)``; growth ``E_s(y) / E_s(y-1) - 1``.

    Returns
    -------
    DataFrame  ``year, sector, activity, intensity_tce_per_unit, energy_tce, growth``
    """
    c = activity.merge(calibration, on="sector").sort_values(["sector", "year"])
    c["intensity_tce_per_unit"] = c["intensity_base_tce_per_unit"] * (
        1.0 + c["intensity_trend_per_yr"]
    ) ** (c["year"] - base_year)
    c["energy_tce"] = c["activity"] * c["intensity_tce_per_unit"]
    c["growth"] = c.groupby("sector")["energy_tce"].pct_change().fillna(0.0)
    cols = ["year", "sector", "activity", "intensity_tce_per_unit", "energy_tce", "growth"]
    return c[cols].reset_index(drop=True)


def city_backcast_tco2e(
    activity: pd.DataFrame, calibration: pd.DataFrame, carbon: pd.DataFrame, *, base_year: int
) -> pd.DataFrame:
    """The calibrated baseline's city emissions in past years, to compare with the history.

    ``C^(y) = sum_s A_s(y) x EI_s(base) x (1 + r_s)^(y - base) x k_s(y)`` with ``k_s`` the
    carbon content of the sector's energy [tCO2e/tce]: the inventory year's own where the
    inventory has the year, else that of the nearest inventory year (the carrier mix of years
    before the inventory is not known; an assumption, stated on the page).

    Parameters
    ----------
    activity : DataFrame     ``year, sector, activity`` (any years)
    calibration : DataFrame  :func:`calibrate_intensity` ``calibration``
    carbon : DataFrame       ``year, sector, emissions_tco2e, energy_tce`` of the inventory years

    Returns
    -------
    DataFrame  ``year, backcast_tco2e``: years where every calibrated sector has its activity.

    References
    ----------
    [1] Heaps (2022) LEAP activity analysis; [3] IPCC 2006 Vol. 1, 5.3 (time series).
    """
    k = (carbon["emissions_tco2e"] / carbon["energy_tce"]).to_numpy()
    content = pd.DataFrame({"year": carbon["year"], "sector": carbon["sector"], "k": k})
    wide = content.pivot(index="year", columns="sector", values="k")
    years = wide.index.union(pd.Index(activity["year"].unique()))
    nearest = wide.sort_index().reindex(years, method="nearest").rename_axis("year")
    c = activity.merge(calibration, on="sector").merge(
        nearest.stack().rename("k").reset_index(), on=["year", "sector"]
    )
    c["backcast_tco2e"] = (
        c["activity"]
        * c["intensity_base_tce_per_unit"]
        * (1.0 + c["intensity_trend_per_yr"]) ** (c["year"] - base_year)
        * c["k"]
    )
    complete = c.groupby("year")["sector"].nunique() == calibration["sector"].nunique()
    total = c.groupby("year")["backcast_tco2e"].sum()[complete]
    return total.rename("backcast_tco2e").reset_index()
