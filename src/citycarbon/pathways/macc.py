"""Marginal abatement cost curve (MACC) of the measures of a scenario.

Each measure is evaluated alone against the baseline in an evaluation year (a "standalone"
curve; interactions between measures are not netted):

- abatement ``A_m = net_baseline(y) - net_with_m(y)`` [tCO2e/yr]
- annual cost ``K_m = CRF(r, n) x I_m + O_m + dEnergyCost_m - V_m`` [10^4 CNY/yr], with the
  investment ``I_m`` = unit investment x capacity in that year, ``CRF = r / (1 - (1 + r)^-n)``,
  operating cost ``O_m``, the change of the energy bill (carrier prices) and the value ``V_m`` of
  clean generation
- cost per tonne ``K_m / A_m`` [CNY/tCO2e]; bars sorted by it, widths = abatement.

References
----------
[1] Enkvist, P.-A., Nauclér, T., Rosander, J. (2007) A cost curve for greenhouse gas reduction.
    The McKinsey Quarterly 2007(1), 34-45 (Exhibit 1: cost per tCO2e vs abatement, sorted).
[2] McKinsey & Company (2009) China's green revolution: prioritizing technologies to achieve
    energy and environmental sustainability (China GHG abatement cost curve, 2030).
[3] Kesicki, F., Ekins, P. (2012) Marginal abatement cost curves: a call for caution.
    Climate Policy 12(2), 219-236 (limitations: interactions, baseline dependence).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.pathways.catalogue import (
    Measure,
    baseline_assumptions,
    cost_is_assumption,
    discount_rate,
    prices_are_assumption,
)
from citycarbon.pathways.scenario import ScenarioRun, simulate


def capital_recovery_factor(rate, lifetime_yr):
    """``CRF = r / (1 - (1 + r)^-n)``; ``1 / n`` when ``r = 0``.

    References
    ----------
    [1] Standard annuity factor, e.g. IPCC AR5 WG3 Annex II, eq. A.II.1 (levelised cost).
    """
    r = np.asarray(rate, dtype=float)
    n = np.asarray(lifetime_yr, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        crf = r / (1.0 - (1.0 + r) ** (-n))
    return np.where(r == 0, 1.0 / n, crf)


def energy_cost_10k_cny(run: ScenarioRun, year_index: int) -> np.ndarray:
    """Energy bill per draw in one year [10^4 CNY] at the carrier prices of the assumptions."""
    prices = baseline_assumptions()["carriers"]
    p = np.array([float(prices[c]["price"]["value"]) for c in run.carriers])  # CNY/tce
    return np.einsum("dsc,c->d", run.energy_tce[:, :, :, year_index], p) * 1e-4


def measure_cost_10k_cny(m: Measure, capacity: np.ndarray, rate: float) -> tuple:
    """Annualised investment, operating cost and total investment for a capacity [10^4 CNY]."""
    inv_unit = m.p("investment", 0.0).value
    opex_unit = m.p("opex", 0.0).value
    life = m.p("lifetime", 20.0).value
    investment = inv_unit * capacity
    return capital_recovery_factor(rate, life) * investment, opex_unit * capacity, investment


def macc(
    baseline: ScenarioRun,
    measures: list[Measure],
    *,
    base_energy: pd.DataFrame,
    base_year: int,
    grid_ef_tco2_per_mwh: float,
    gdp: float,
    population: float,
    year: int = 2035,
    rate: float | None = None,
) -> pd.DataFrame:
    """Marginal abatement cost curve in ``year`` (central values).

    Parameters
    ----------
    baseline : ScenarioRun   central run without measures (same inputs as below)
    measures : list of Measure
    base_energy, base_year, grid_ef_tco2_per_mwh, gdp, population
        The inputs of :func:`citycarbon.pathways.scenario.simulate`.
    year : int   evaluation year
    rate : float, optional   discount rate (default: catalogue ``discount_rate``)

    Returns
    -------
    DataFrame
        One row per measure sorted by cost: ``id, zh, en, abatement_tco2e, annual_cost_10k_cny,
        investment_10k_cny, cost_cny_per_tco2e, x0_tco2e, x1_tco2e`` (bar start and end) and
        ``assumption`` (the cost rests on an assumed value: a cost parameter or the discount
        rate, or a carrier price where the measure changes the energy bill).

    References
    ----------
    [1] Enkvist, Nauclér & Rosander (2007); [3] Kesicki & Ekins (2012).
    """
    rate = discount_rate() if rate is None else rate
    prices_assumed = prices_are_assumption()
    yi = int(year - baseline.years[0])
    base_net = float(baseline.net[0, yi])
    base_cost = float(energy_cost_10k_cny(baseline, yi)[0])
    rows = []
    for m in measures:  # one standalone run per measure (a dozen, each vectorised)
        run = simulate(
            base_energy,
            [m],
            base_year=base_year,
            grid_ef_tco2_per_mwh=grid_ef_tco2_per_mwh,
            gdp=gdp,
            population=population,
            end_year=int(baseline.years[-1]),
            name=m.id,
        )
        abatement = base_net - float(run.net[0, yi])
        cap = float(run.capacity.get(m.id, np.zeros((1, len(run.years))))[0, yi])
        if m.kind == "clean_power" and "capacity_mw" not in m.params:
            cap = float(run.clean_mwh[0, yi])
        annual_inv, opex, investment = measure_cost_10k_cny(m, np.asarray(cap), rate)
        d_energy = float(energy_cost_10k_cny(run, yi)[0]) - base_cost
        value = float(run.clean_value_10k_cny[0, yi]) if run.clean_value_10k_cny is not None else 0
        cost = float(annual_inv + opex) + d_energy - value
        rows.append(
            {
                "id": m.id,
                "zh": m.zh,
                "en": m.en,
                "kind": m.kind,
                "abatement_tco2e": abatement,
                "annual_cost_10k_cny": cost,
                "investment_10k_cny": float(investment),
                "energy_cost_change_10k_cny": d_energy,
                "cost_cny_per_tco2e": cost * 1e4 / abatement if abatement > 0 else np.nan,
                "assumption": cost_is_assumption(m) or (d_energy != 0 and prices_assumed),
            }
        )
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    out = out.sort_values(["cost_cny_per_tco2e", "id"], na_position="last").reset_index(drop=True)
    width = out["abatement_tco2e"].clip(lower=0).to_numpy()
    out["x1_tco2e"] = np.cumsum(width)
    out["x0_tco2e"] = out["x1_tco2e"] - width
    out["year"] = year
    return out


def macc_chart(curve: pd.DataFrame) -> list[dict]:
    """Bars of a MACC for a chart: ``id, label, x0, x1 [tCO2e], cost [CNY/tCO2e]`` (JSON-ready);
    measures without abatement are left out."""
    c = curve.dropna(subset=["cost_cny_per_tco2e"])
    return [
        {
            "id": r.id,
            "label": r.zh,
            "x0": round(float(r.x0_tco2e), 1),
            "x1": round(float(r.x1_tco2e), 1),
            "cost": round(float(r.cost_cny_per_tco2e), 2),
        }
        for r in c.itertuples()  # one bar per measure (a dozen)
    ]
