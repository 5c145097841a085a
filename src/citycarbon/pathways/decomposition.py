"""Index decomposition analysis: LMDI-I (additive and multiplicative), Kaya and sector structure.

An aggregate ``V = sum_i V_i`` with ``V_i = x_1,i * x_2,i * ... * x_n,i`` changes from period 0 to
period T. LMDI-I attributes the change to the factors with no residual (perfect decomposition):

- additive:        ``dV_tot = V^T - V^0 = sum_k dV_k``,
  ``dV_k = sum_i L(V_i^T, V_i^0) ln(x_k,i^T / x_k,i^0)``  (Ang 2005, Table 1, eq. 5)
- multiplicative:  ``D_tot = V^T / V^0 = prod_k D_k``,
  ``D_k = exp( sum_i L(V_i^T, V_i^0) / L(V^T, V^0) * ln(x_k,i^T / x_k,i^0) )``  (eq. 4)

with the logarithmic mean ``L(a, b) = (a - b) / (ln a - ln b)``, ``L(a, a) = a``.
Zero values: a sub-category present in one period only contributes its whole value through
the factor(s) that are zero (Ang, Zhang & Choi 1998, Table 2; Wood & Lenzen 2006), which keeps
the decomposition perfect (Ang & Liu 2007 show the small-value substitute converges to it).

Additive and multiplicative results are linked: ``dV_k / ln D_k = L(V^T, V^0)`` for every k
(Ang 2005, section 2; Ang 2015, section 3).

References
----------
[1] Ang, B.W. (2005) The LMDI approach to decomposition analysis: a practical guide.
    Energy Policy 33, 867-871. Table 1 (formulae), eqs. (4)-(5).
[2] Ang, B.W. (2015) LMDI decomposition approach: a guide for implementation.
    Energy Policy 86, 233-238. Table 2 (LMDI-I additive/multiplicative models).
[3] Kaya, Y. (1990) Impact of carbon dioxide emission control on GNP growth: interpretation of
    proposed scenarios. IPCC Energy and Industry Subgroup, Response Strategies Working Group.
[4] Ang, B.W., Liu, N. (2007) Handling zero values in the logarithmic mean Divisia index
    decomposition approach. Energy Policy 35, 238-246.
[5] Ang, B.W., Zhang, F.Q., Choi, K.-H. (1998) Factorizing changes in energy and environmental
    indicators through decomposition. Energy 23(6), 489-495.
[6] Wood, R., Lenzen, M. (2006) Zero-value problems of the logarithmic mean Divisia index
    decomposition method. Energy Policy 34, 1326-1331.
[7] Xu, X.Y., Ang, B.W. (2014) Multilevel index decomposition analysis: approaches and
    application. Energy Economics 44, 375-382. Section 5.1, Tables 1-2: the worked example
    (multiplicative LMDI-I, activity/structure/intensity) reproduced in the tests.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from citycarbon.errors import InputError

KAYA_FACTORS = ("population", "gdp_per_capita", "energy_intensity", "carbon_intensity")
SECTOR_FACTORS = (
    "population",
    "gdp_per_capita",
    "structure",
    "energy_intensity",
    "carbon_intensity",
)


def log_mean(a, b) -> np.ndarray:
    """Logarithmic mean ``L(a, b) = (a - b) / (ln a - ln b)``, ``L(a, a) = a``, ``L(a, 0) = 0``.

    References
    ----------
    [1] Ang (2005), eq. (4)-(5) and footnote 2; Ang (2004) Energy Policy 32, 1131-1139.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = (a - b) / (np.log(a) - np.log(b))
    out = np.where(np.isclose(a, b, rtol=1e-12, atol=0.0), a, out)
    return np.where((a <= 0) | (b <= 0), 0.0, out)


def _check(factors_0: pd.DataFrame, factors_t: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    if list(factors_0.columns) != list(factors_t.columns):
        raise InputError(
            "period 0 and period T must have the same factors in the same order",
            field="columns",
            value=(list(factors_0.columns), list(factors_t.columns)),
        )
    if not factors_0.index.equals(factors_t.index):
        raise InputError(
            "period 0 and period T must have the same sub-categories (index)",
            field="index",
            value=(list(factors_0.index), list(factors_t.index)),
        )
    x0 = factors_0.to_numpy(dtype=float)
    xt = factors_t.to_numpy(dtype=float)
    for name, x in (("period 0", x0), ("period T", xt)):
        if not np.isfinite(x).all() or (x < 0).any():
            bad = np.argwhere(~np.isfinite(x) | (x < 0))[0]
            raise InputError(
                f"{name}: factors must be finite and >= 0 (LMDI of positive data)",
                row=str(factors_0.index[bad[0]]),
                field=str(factors_0.columns[bad[1]]),
                value=float(x[tuple(bad)]),
            )
    return x0, xt


def _effects(x0: np.ndarray, xt: np.ndarray) -> np.ndarray:
    """Per sub-category and factor contributions ``Z_ik`` (additive LMDI-I), zero cases included.

    ``Z_ik = L(V_i^T, V_i^0) ln(x_ik^T / x_ik^0)`` when both ``V_i`` are positive. A sub-category
    that appears (``V_i^0 = 0``) contributes ``V_i^T`` through the factor(s) that were zero and
    one that disappears contributes ``-V_i^0`` through the factor(s) that became zero, shared
    equally when several are (Ang, Zhang & Choi 1998, Table 2; Wood & Lenzen 2006), so the
    decomposition stays perfect.
    """
    v0 = x0.prod(axis=1)
    vt = xt.prod(axis=1)
    both = (v0 > 0) & (vt > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(both[:, None], np.log(xt) - np.log(x0), 0.0)
    z = log_mean(vt, v0)[:, None] * ratio
    born = (v0 == 0) & (vt > 0)
    if born.any():
        zero = x0[born] == 0
        z[born] = zero * (vt[born] / zero.sum(axis=1))[:, None]
    died = (v0 > 0) & (vt == 0)
    if died.any():
        zero = xt[died] == 0
        z[died] = -(zero * (v0[died] / zero.sum(axis=1))[:, None])
    return z


def lmdi_additive(factors_0: pd.DataFrame, factors_t: pd.DataFrame) -> pd.Series:
    """LMDI-I additive decomposition of ``V = sum_i prod_k x_k,i`` between two periods.

    Parameters
    ----------
    factors_0, factors_t : DataFrame
        One row per sub-category ``i`` (same index), one column per factor ``k`` (same order),
        in period 0 and period T; ``V_i`` is the product of a row.

    Returns
    -------
    Series
        Effect ``dV_k`` per factor (units of V), plus ``total`` = ``V^T - V^0``; the effects
        sum to the total exactly (perfect decomposition), zero values included.

    References
    ----------
    [1] Ang (2005), Table 1, additive LMDI-I: ``dV_xk = sum_i L(V_i^T, V_i^0) ln(x_k,i^T/x_k,i^0)``.
    [2] Ang (2015), Table 2, model 1.
    [5] Ang, B.W., Zhang, F.Q., Choi, K.-H. (1998) Factorizing changes in energy and
        environmental indicators through decomposition. Energy 23(6), 489-495, Table 2 (zeros).
    """
    x0, xt = _check(factors_0, factors_t)
    effects = _effects(x0, xt).sum(axis=0)
    out = pd.Series(effects, index=list(factors_0.columns), dtype=float)
    out["total"] = xt.prod(axis=1).sum() - x0.prod(axis=1).sum()
    return out


def lmdi_multiplicative(factors_0: pd.DataFrame, factors_t: pd.DataFrame) -> pd.Series:
    """LMDI-I multiplicative decomposition: ``V^T / V^0 = prod_k D_k``.

    Returns
    -------
    Series
        Index ``D_k`` per factor (dimensionless), plus ``total`` = ``V^T / V^0``.

    References
    ----------
    [1] Ang (2005), Table 1, multiplicative LMDI-I:
        ``D_xk = exp( sum_i [L(V_i^T, V_i^0) / L(V^T, V^0)] ln(x_k,i^T / x_k,i^0) )``,
        i.e. ``D_k = exp(dV_k / L(V^T, V^0))`` with the additive effects (zero cases included).
    [2] Ang (2015), Table 2, model 2.
    """
    x0, xt = _check(factors_0, factors_t)
    v0, vt = x0.prod(axis=1).sum(), xt.prod(axis=1).sum()
    if v0 <= 0 or vt <= 0:
        raise InputError(
            "multiplicative decomposition needs a positive aggregate in both periods",
            value=(float(v0), float(vt)),
        )
    d = np.exp(_effects(x0, xt).sum(axis=0) / log_mean(vt, v0))
    out = pd.Series(d, index=list(factors_0.columns), dtype=float)
    out["total"] = vt / v0
    return out


def kaya_factors(
    population, gdp, energy_tce, emissions_tco2e, *, index: Sequence | None = None
) -> pd.DataFrame:
    """Kaya identity factors: ``C = P x (G/P) x (E/G) x (C/E)``.

    Parameters
    ----------
    population : array-like   population (any consistent unit, e.g. 10^4 persons)
    gdp : array-like          GDP at comparable prices (e.g. 10^8 CNY, one price basis)
    energy_tce : array-like   energy consumption [tce]
    emissions_tco2e : array-like   emissions [tCO2e]

    Returns
    -------
    DataFrame
        Columns ``population, gdp_per_capita, energy_intensity [tce per GDP unit],
        carbon_intensity [tCO2e/tce]``; row products reproduce ``emissions_tco2e``.

    References
    ----------
    [1] Kaya (1990); [2] Ang (2015), section 3 (IDA identities for emissions).
    """
    p = np.asarray(population, dtype=float)
    g = np.asarray(gdp, dtype=float)
    e = np.asarray(energy_tce, dtype=float)
    c = np.asarray(emissions_tco2e, dtype=float)
    for name, x in (("population", p), ("gdp", g), ("energy_tce", e)):
        if (x <= 0).any() or not np.isfinite(x).all():
            raise InputError(f"{name} must be > 0 for Kaya ratios", field=name, value=x.tolist())
    return pd.DataFrame(
        {
            "population": p,
            "gdp_per_capita": g / p,
            "energy_intensity": e / g,
            "carbon_intensity": c / e,
        },
        index=index,
    )


def sector_factors(frame: pd.DataFrame) -> pd.DataFrame:
    """Extended Kaya factors with sectoral structure for one period.

    ``C = sum_i P x (G/P) x (Y_i/G) x (E_i/Y_i) x (C_i/E_i)``

    Parameters
    ----------
    frame : DataFrame
        One row per sector with columns ``sector, population, gdp, value_added, energy_tce,
        emissions_tco2e`` (``population`` and ``gdp`` repeat the city values; ``value_added`` in
        the same money unit and price basis as ``gdp``).

    Returns
    -------
    DataFrame
        Index ``sector``; columns :data:`SECTOR_FACTORS`.

    References
    ----------
    [1] Ang (2005), section 3 (activity, structure, intensity effects);
        Ang (2015), eq. (1) with an emission-factor term.
    """
    need = {"sector", "population", "gdp", "value_added", "energy_tce", "emissions_tco2e"}
    missing = sorted(need - set(frame.columns))
    if missing:
        raise InputError(f"missing columns {missing}", field="columns", value=missing)
    f = frame.set_index("sector")
    va = f["value_added"].astype(float)
    e = f["energy_tce"].astype(float)
    if (va <= 0).any() or (e <= 0).any():
        raise InputError("value_added and energy_tce must be > 0 per sector", field="value_added")
    return pd.DataFrame(
        {
            "population": f["population"].astype(float),
            "gdp_per_capita": f["gdp"] / f["population"],
            "structure": va / f["gdp"],
            "energy_intensity": e / va,
            "carbon_intensity": f["emissions_tco2e"] / e,
        }
    )


def decompose_panel(
    factors: pd.DataFrame, *, period: str = "year", method: str = "additive", chained: bool = True
) -> pd.DataFrame:
    """LMDI-I over a panel of periods: year-on-year (chained) or each year against the first.

    Parameters
    ----------
    factors : DataFrame
        Columns ``period`` (e.g. ``year``), optional ``sector`` and one column per factor.
    method : {"additive", "multiplicative"}
    chained : bool
        True: period t-1 -> t for each t (Ang 2015 section 4.3, chaining); False: first -> t.

    Returns
    -------
    DataFrame
        One row per step: ``from, to``, one column per factor effect and ``total``. For the
        chained additive form, effects add up over the steps; multiplicative ones multiply.
    """
    if method not in ("additive", "multiplicative"):
        raise InputError("method must be 'additive' or 'multiplicative'", value=method)
    fn = lmdi_additive if method == "additive" else lmdi_multiplicative
    cols = [c for c in factors.columns if c not in (period, "sector")]
    periods = sorted(factors[period].unique())
    if len(periods) < 2:
        raise InputError("need at least two periods", field=period, value=periods)
    keyed = (
        factors.set_index([period, "sector"]) if "sector" in factors else factors.set_index(period)
    )
    rows = []
    for k in range(1, len(periods)):  # a loop over a handful of periods, not over data rows
        a, b = (periods[k - 1] if chained else periods[0]), periods[k]
        f0 = keyed.loc[a, cols]
        ft = keyed.loc[b, cols]
        if isinstance(f0, pd.Series):
            f0, ft = f0.to_frame().T, ft.to_frame().T
            f0.index = ft.index = [0]
        rows.append({"from": a, "to": b, **fn(f0, ft).to_dict()})
    return pd.DataFrame(rows)
