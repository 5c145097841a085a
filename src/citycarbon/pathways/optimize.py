"""Least-cost pathway: measure deployment per year meeting a CO2 cap or intensity target.

A linear programme over the deployment ``x[m, y]`` (share of measure ``m``'s full potential in
year ``y``, 0-1):

    minimise    sum_y sum_m c_m a[m, y] x[m, y] / (1 + r)^(y - base)      [CNY, present value]
    subject to  b_y - sum_m a[m, y] x[m, y] <= cap_y        (cap years; emissions cap)
                x[m, y - 1] <= x[m, y]                      (no dismantling)
                x[m, y] - x[m, y - 1] <= s_m                (deployment speed, x[m, base] = 0)
                0 <= x[m, y] <= 1,  x[m, y] = 0 before the measure's earliest year

with ``a[m, y]`` the measure's netted abatement at full deployment [tCO2e/yr] (linearised: the
interactions of the merit-order package, :func:`citycarbon.pathways.macc.macc_netted`), ``c_m``
its cost [CNY/tCO2e], ``b_y`` the baseline emissions and ``r`` the discount rate. An intensity
target becomes a cap through :func:`intensity_cap_tco2e`.

Solved by HiGHS (``scipy.optimize.linprog(method="highs")``). The dual values of the cap rows
are the shadow prices: what one more tonne of cap would save, here in CNY of year ``y`` per
tCO2e (the marginal abatement cost the target implies); a constraint binds when its slack is
zero.

References
----------
[1] Huangfu, Q., Hall, J.A.J. (2018) Parallelizing the dual revised simplex method.
    Mathematical Programming Computation 10, 119-142 (HiGHS).
[2] Loulou, R., Goldstein, G., Noble, K. (2004) Documentation for the MARKAL Family of Models,
    ETSAP, Part I ch. 2 (least-cost deployment under emission constraints; duals as marginal
    abatement costs).
[3] Kesicki, F., Ekins, P. (2012) Climate Policy 12(2), 219-236 (interactions of measures).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

#: Slack under which a constraint counts as binding [tCO2e or deployment share].
BINDING_TOL = 1e-6
#: ``linprog`` status codes -> the result's ``status`` (``failed`` for any other).
STATUS = {0: "optimal", 2: "infeasible", 3: "unbounded"}


def intensity_cap_tco2e(emissions_base_tco2e, gdp_base, gdp, reduction):
    """Emissions cap of a CO2-intensity target: ``cap_y = (1 - R) x (C_base / GDP_base) x GDP_y``.

    Parameters
    ----------
    emissions_base_tco2e : float   emissions of the target's base year [tCO2e]
    gdp_base, gdp : float or array  GDP of the base year and of the target year(s), comparable
                                    prices, same unit
    reduction : float or array      required decline of CO2 per GDP (0-1)

    References
    ----------
    [1] 国务院《2030年前碳达峰行动方案》(国发〔2021〕23号): 单位GDP二氧化碳排放 (comparable prices).
    """
    return (1.0 - np.asarray(reduction, dtype=float)) * (
        emissions_base_tco2e / gdp_base * np.asarray(gdp, dtype=float)
    )


def unsolved(status: str, message: str, emissions: pd.DataFrame) -> dict:
    """The result of a pathway without a solution (``infeasible``, ``unbounded``, ``failed``,
    or ``no_measures`` / ``no_constraint`` when there is nothing to solve): the shape of
    :func:`least_cost_deployment`'s result with empty tables."""
    return {
        "status": status,
        "message": message,
        "feasible": False,
        "cost_pv_10k_cny": np.nan,
        "deployment": pd.DataFrame(columns=["measure", "year", "deployment", "abatement_tco2e"]),
        "constraints": pd.DataFrame(
            columns=[
                "constraint",
                "measure",
                "year",
                "last_year",
                "slack",
                "binding",
                "shadow_price_cny_per_tco2e",
            ]
        ),
        "emissions": emissions.assign(optimal_tco2e=np.nan),
    }


def least_cost_deployment(
    potential_tco2e: pd.DataFrame,
    cost_cny_per_tco2e: pd.Series,
    baseline_tco2e: pd.Series,
    cap_tco2e: pd.Series,
    *,
    base_year: int,
    rate: float,
    max_step: pd.Series | None = None,
    earliest_year: pd.Series | None = None,
) -> dict:
    """Solve the least-cost deployment LP (see the module docstring).

    Parameters
    ----------
    potential_tco2e : DataFrame
        measures x years: abatement at full deployment ``a[m, y]`` [tCO2e/yr] (years after
        ``base_year``, consecutive).
    cost_cny_per_tco2e : Series      measure -> ``c_m`` [CNY/tCO2e] (negative = saves money)
    baseline_tco2e : Series          year -> ``b_y`` [tCO2e]
    cap_tco2e : Series               year -> cap [tCO2e] for the constrained years only
    base_year : int                  deployment is 0 in this year; costs discounted to it
    rate : float                     discount rate [1/yr]
    max_step : Series, optional      measure -> ``s_m`` (largest yearly increase, default 1)
    earliest_year : Series, optional measure -> first year with deployment (default any)

    Returns
    -------
    dict
        ``status`` (``optimal``, ``infeasible``, ``unbounded`` or ``failed``), ``message``
        (the solver's), ``feasible`` (bool),
        ``cost_pv_10k_cny`` (objective), ``deployment`` (``measure, year, deployment,
        abatement_tco2e``), ``constraints`` (``constraint, measure, year, slack, binding,
        shadow_price_cny_per_tco2e``: the cap rows, and the speed rows and the full-deployment
        bounds that bind), ``emissions`` (``year, baseline_tco2e, optimal_tco2e, cap_tco2e``).

    References
    ----------
    [1] Huangfu & Hall (2018); [2] Loulou et al. (2004), Part I ch. 2.
    """
    from scipy.optimize import linprog
    from scipy.sparse import coo_matrix, vstack

    a = potential_tco2e.astype(float).clip(lower=0.0)
    measures = list(a.index)
    years = np.asarray(a.columns, dtype=int)
    if len(years) == 0 or not len(measures):
        raise InputError("the least-cost pathway needs measures and years", field="measures")
    if (np.diff(years) != 1).any() or years[0] <= base_year:
        raise InputError(
            "potential years must be consecutive and after the base year",
            field="year",
            value=years.tolist(),
        )
    unknown = sorted(set(cap_tco2e.index) - set(years))
    if unknown:
        raise InputError("cap year outside the pathway's years", field="year", value=unknown[0])
    nm, ny = len(measures), len(years)
    c = cost_cny_per_tco2e.reindex(measures).to_numpy(dtype=float)
    if np.isnan(c).any():
        raise InputError(
            "a measure without a cost", field="measure", value=measures[int(np.isnan(c).argmax())]
        )
    av = a.to_numpy()  # (m, y)
    disc = (1.0 + rate) ** -(years - base_year).astype(float)
    objective = (c[:, None] * av * disc[None, :] * 1e-4).ravel()  # 10^4 CNY, index m * ny + y
    idx = np.arange(nm * ny).reshape(nm, ny)

    # cap rows: -sum_m a[m, y] x[m, y] <= cap_y - b_y
    cap_years = np.asarray(cap_tco2e.index, dtype=int)
    yi = np.searchsorted(years, cap_years)
    rows = np.repeat(np.arange(len(cap_years)), nm)
    cols = idx[:, yi].T.ravel()
    vals = -av[:, yi].T.ravel()
    a_cap = coo_matrix((vals, (rows, cols)), shape=(len(cap_years), nm * ny))
    b_cap = cap_tco2e.to_numpy(dtype=float) - baseline_tco2e.reindex(cap_years).to_numpy(float)
    # monotone rows x[m, y-1] - x[m, y] <= 0 and speed rows x[m, y] - x[m, y-1] <= s_m
    prev, cur = idx[:, :-1].ravel(), idx[:, 1:].ravel()
    k = len(cur)
    mono = coo_matrix(
        (np.r_[np.ones(k), -np.ones(k)], (np.r_[np.arange(k), np.arange(k)], np.r_[prev, cur])),
        shape=(k, nm * ny),
    )
    step = (max_step if max_step is not None else pd.Series(1.0, index=measures)).reindex(
        measures, fill_value=1.0
    )
    s = step.to_numpy(dtype=float)
    speed = coo_matrix(
        (
            np.r_[np.ones(k), -np.ones(k), np.ones(nm)],
            (np.r_[np.arange(k), np.arange(k), k + np.arange(nm)], np.r_[cur, prev, idx[:, 0]]),
        ),
        shape=(k + nm, nm * ny),
    )
    b_speed = np.r_[np.repeat(s, ny - 1), s]
    a_ub = vstack([a_cap, mono, speed]).tocsr()
    b_ub = np.r_[b_cap, np.zeros(k), b_speed]
    upper = np.ones((nm, ny))
    if earliest_year is not None:
        first = earliest_year.reindex(measures).fillna(years[0]).to_numpy(dtype=float)
        upper[years[None, :] < first[:, None]] = 0.0
    res = linprog(
        objective,
        A_ub=a_ub,
        b_ub=b_ub,
        bounds=np.c_[np.zeros(nm * ny), upper.ravel()],
        method="highs",
    )
    emissions = pd.DataFrame(
        {
            "year": years,
            "baseline_tco2e": baseline_tco2e.reindex(years).to_numpy(dtype=float),
            "cap_tco2e": cap_tco2e.reindex(years).to_numpy(dtype=float),
        }
    )
    if res.status != 0:
        return unsolved(STATUS.get(res.status, "failed"), str(res.message), emissions)
    x = res.x.reshape(nm, ny)
    deployment = pd.DataFrame(
        {
            "measure": np.repeat(measures, ny),
            "year": np.tile(years, nm),
            "deployment": x.ravel(),
            "abatement_tco2e": (x * av).ravel(),
        }
    )
    emissions["optimal_tco2e"] = emissions["baseline_tco2e"] - (x * av).sum(axis=0)
    slack = res.ineqlin.residual
    dual = res.ineqlin.marginals  # d(objective in 10^4 CNY PV) / d(b_ub) <= 0
    nc = len(cap_years)
    cap_rows = pd.DataFrame(
        {
            "constraint": "cap",
            "measure": "",
            "year": cap_years,
            "last_year": cap_years,
            "slack": slack[:nc],
            # one more tonne of cap saves -dual (10^4 CNY, present value) -> CNY of year y
            "shadow_price_cny_per_tco2e": -dual[:nc]
            * 1e4
            * (1.0 + rate) ** (cap_years - base_year),
        }
    )
    speed_slack = slack[nc + k : nc + k + k]
    speed_rows = _spans(
        "speed",
        np.repeat(measures, ny - 1),
        np.tile(years[1:], nm),
        speed_slack <= BINDING_TOL,
    )
    full_rows = _spans(
        "full_deployment",
        np.repeat(measures, ny),
        np.tile(years, nm),
        ((x >= 1.0 - BINDING_TOL) & (upper > 0)).ravel(),
    )
    scale = max(1.0, float(np.nanmax(np.abs(emissions["baseline_tco2e"]))))
    cap_rows["binding"] = cap_rows["slack"].abs() <= BINDING_TOL * scale
    speed_rows["binding"] = True
    full_rows["binding"] = True
    constraints = pd.concat([cap_rows, speed_rows, full_rows], ignore_index=True)
    return {
        "status": "optimal",
        "message": str(res.message),
        "feasible": True,
        "cost_pv_10k_cny": float(res.fun),
        "deployment": deployment,
        "constraints": constraints,
        "emissions": emissions,
    }


def _spans(kind: str, measure: np.ndarray, year: np.ndarray, binding: np.ndarray) -> pd.DataFrame:
    """Binding rows of one kind summarised per measure: first and last binding year."""
    f = pd.DataFrame({"measure": measure[binding], "year": year[binding]})
    g = f.groupby("measure", sort=False)["year"].agg(["min", "max"]).reset_index()
    return pd.DataFrame(
        {
            "constraint": kind,
            "measure": g["measure"],
            "year": g["min"].astype(int),
            "last_year": g["max"].astype(int),
            "slack": 0.0,
            "shadow_price_cny_per_tco2e": np.nan,
        }
    )
