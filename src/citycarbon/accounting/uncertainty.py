"""Inventory uncertainty: IPCC Approach 1 (error propagation) and Approach 2 (Monte Carlo).

Uncertainties are half-widths of the 95 % confidence interval in percent of the value
(IPCC 2006 Vol. 1, 3.1.3). Ranges are data (``accounting/data/uncertainty_ranges.csv``, each
with its source), kept with the activity data and factors they apply to.

References
----------
[1] IPCC 2006 Guidelines, Vol. 1, Ch. 3 Uncertainties: 3.2.3.1 Approach 1, eq. 3.1 (product)
    and eq. 3.2 (sum); 3.2.3.2 Approach 2 (Monte Carlo simulation).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from citycarbon.accounting.balance import DATA_DIR
from citycarbon.errors import InputError

Z95 = 1.959963984540054  # standard normal quantile of 97.5 %


@cache
def uncertainty_ranges() -> pd.DataFrame:
    """Uncertainty ranges with source, indexed by (parameter, key)."""
    t = pd.read_csv(DATA_DIR / "uncertainty_ranges.csv", dtype=str, keep_default_na=False)
    t["uncertainty_pct"] = t["uncertainty_pct"].astype("float64")
    return t.set_index(["parameter", "key"])


def product_uncertainty_pct(*uncertainty_pct):
    """Uncertainty of a product of quantities, percent (IPCC 2006 Vol. 1 eq. 3.1).

    U_total = sqrt(U_1^2 + U_2^2 + ... + U_n^2)

    Parameters
    ----------
    *uncertainty_pct : array-like
        Percentage uncertainties (95 % half-widths) of the factors of the product.

    References
    ----------
    IPCC 2006 Guidelines, Vol. 1, Ch. 3, eq. 3.1.
    """
    return np.sqrt(sum(np.square(np.asarray(u, dtype="float64")) for u in uncertainty_pct))


def sum_uncertainty_pct(values, uncertainty_pct) -> float:
    """Uncertainty of a sum of independent quantities, percent (IPCC 2006 Vol. 1 eq. 3.2).

    U_total = sqrt((U_1 x_1)^2 + ... + (U_n x_n)^2) / |x_1 + ... + x_n|

    Parameters
    ----------
    values : array-like
        The quantities x_i (emissions of each category), may be negative.
    uncertainty_pct : array-like
        Their percentage uncertainties U_i.

    References
    ----------
    IPCC 2006 Guidelines, Vol. 1, Ch. 3, eq. 3.2.
    """
    x = np.asarray(values, dtype="float64")
    u = np.asarray(uncertainty_pct, dtype="float64")
    total = x.sum()
    if total == 0:
        raise InputError("the uncertainty of a total of zero is undefined (eq. 3.2 divides by it)")
    return float(np.sqrt(np.sum((u * x) ** 2)) / abs(total))


def approach1(emissions_tco2e, activity_pct, factor_pct) -> dict[str, float]:
    """Approach 1 on a total: eq. 3.1 per category, eq. 3.2 over categories.

    Parameters
    ----------
    emissions_tco2e : array-like   emissions of each category [tCO2e]
    activity_pct, factor_pct : array-like   95 % half-widths of activity data and factor [%]

    Returns
    -------
    dict
        total_tco2e, uncertainty_pct, lower_95, upper_95 (total x (1 -/+ U/100)).

    References
    ----------
    IPCC 2006 Guidelines, Vol. 1, Ch. 3, 3.2.3.1 and Table 3.2 (columns E-H).
    """
    x = np.asarray(emissions_tco2e, dtype="float64")
    combined = product_uncertainty_pct(activity_pct, factor_pct)
    u = sum_uncertainty_pct(x, combined)
    total = float(x.sum())
    return {
        "total_tco2e": total,
        "uncertainty_pct": u,
        "lower_95": total * (1 - u / 100),
        "upper_95": total * (1 + u / 100),
    }


def approach2(
    emissions_tco2e,
    activity_pct,
    factor_pct,
    *,
    factor_group=None,
    lognormal=None,
    iterations: int = 20_000,
    seed: int = 0,
) -> dict[str, float]:
    """Approach 2 (Monte Carlo) on a total: emissions_i x a_i x f_g(i), summed, 2.5/97.5 %.

    Activity multipliers a_i are drawn independently per category; factor multipliers f are
    drawn once per ``factor_group`` and shared by every category of the group (one emission
    factor used in several sectors is one uncertain quantity: full correlation). Normal
    multipliers have mean 1 and sd U/100/1.96, truncated at 0; lognormal ones (for large
    uncertainties) have median 1 and the 97.5 % point at 1 + U/100.

    Parameters
    ----------
    emissions_tco2e, activity_pct, factor_pct : array-like, one entry per category
    factor_group : array-like of labels, optional (default: each category its own factor)
    lognormal : array-like of bool, optional (default: factor uncertainty > 50 %)
    iterations, seed : Monte Carlo draws and random seed (deterministic)

    Returns
    -------
    dict
        total_tco2e (mean of the draws), lower_95, upper_95 (2.5 and 97.5 percentiles),
        uncertainty_pct ((upper - lower) / 2 / |mean| x 100, IPCC 2006 Vol. 1 eq. 3.3 style
        half-width).

    References
    ----------
    IPCC 2006 Guidelines, Vol. 1, Ch. 3, 3.2.3.2 (Approach 2) and Figure 3.7.
    """
    x = np.asarray(emissions_tco2e, dtype="float64")
    ua = np.asarray(activity_pct, dtype="float64") / 100.0
    uf = np.asarray(factor_pct, dtype="float64") / 100.0
    k = len(x)
    groups = np.arange(k) if factor_group is None else pd.factorize(pd.Series(factor_group))[0]
    logn = uf > 0.5 if lognormal is None else np.asarray(lognormal, dtype=bool)
    rng = np.random.default_rng(seed)
    a = np.clip(rng.normal(1.0, ua / Z95, size=(iterations, k)), 0.0, None)
    n_groups = int(groups.max()) + 1 if k else 0
    g_u = np.zeros(n_groups)
    g_log = np.zeros(n_groups, dtype=bool)
    g_u[groups] = uf
    g_log[groups] = logn
    z = rng.standard_normal(size=(iterations, n_groups))
    f_norm = np.clip(1.0 + z * (g_u / Z95), 0.0, None)
    f_log = np.exp(z * (np.log1p(g_u) / Z95))
    f = np.where(g_log, f_log, f_norm)[:, groups]
    totals = (x * a * f).sum(axis=1)
    lo, hi = np.percentile(totals, [2.5, 97.5])
    mean = float(totals.mean())
    return {
        "total_tco2e": mean,
        "lower_95": float(lo),
        "upper_95": float(hi),
        "uncertainty_pct": float((hi - lo) / 2 / abs(mean) * 100) if mean else float("nan"),
    }
