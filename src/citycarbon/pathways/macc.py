"""Marginal abatement cost curve (MACC) of the measures of a scenario.

Two curves:

- standalone (:func:`macc`): each measure alone against the baseline in an evaluation year;
  the widths do not add up when measures interact;
- netted (:func:`macc_netted`): the measures applied one after another in the order of their
  standalone cost, each counted against the scenario with all cheaper measures already in place
  (sequential netting, Kesicki & Ekins 2012, section 4.2). A decarbonised power supply shrinks
  what electrification saves; two measures on the same activity cannot both remove it; the
  widths add up to the abatement of the whole package.

For each bar:

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
    Climate Policy 12(2), 219-236 (limitations: interactions, baseline dependence; section 4.2,
    decomposition of the combined effect in a fixed order).
[4] Kesicki, F. (2012) Intertemporal issues and marginal abatement costs in the UK transport
    sector. Transportation Research Part D 17(5), 418-426 (system-wide, interaction-aware MACC).
[5] WRI/WBCSD (2015) GHG Protocol Scope 2 Guidance, ch. 6: purchased green power abates on the
    market basis only (``basis="market"``).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError
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


BASES = ("location", "market")


def net_emissions(run: ScenarioRun, basis: str) -> np.ndarray:
    """Net emissions (d, y) on the location basis or the market basis (purchased green power
    counted, GHG Protocol Scope 2 Guidance ch. 6)."""
    if basis not in BASES:
        raise InputError(f"basis must be one of {BASES}", field="basis", value=basis)
    return run.net if basis == "location" else run.net_market


def _bar(
    m: Measure, before: ScenarioRun, after: ScenarioRun, yi: int, rate: float, basis: str
) -> dict:
    """One bar: ``m`` added to the measures of ``before`` gives ``after``; abatement and annual
    cost in year index ``yi`` (``K = CRF I + O + dEnergyCost - V``)."""
    abatement = float(net_emissions(before, basis)[0, yi] - net_emissions(after, basis)[0, yi])
    # capacity in the package: MW or MWh/yr (clean power), tce/yr (energy), tCO2/yr (CCUS)
    cap = float(after.capacity.get(m.id, np.zeros((1, len(after.years))))[0, yi])
    annual_inv, opex, investment = measure_cost_10k_cny(m, np.asarray(cap), rate)
    d_energy = float(energy_cost_10k_cny(after, yi)[0] - energy_cost_10k_cny(before, yi)[0])
    value = float(after.clean_value_10k_cny[0, yi] - before.clean_value_10k_cny[0, yi])
    cost = float(annual_inv + opex) + d_energy - value
    return {
        "id": m.id,
        "zh": m.zh,
        "en": m.en,
        "kind": m.kind,
        "abatement_tco2e": abatement,
        "annual_cost_10k_cny": cost,
        "investment_10k_cny": float(investment),
        "energy_cost_change_10k_cny": d_energy,
        "cost_cny_per_tco2e": cost * 1e4 / abatement if abatement > 0 else np.nan,
        "assumption": cost_is_assumption(m) or (d_energy != 0 and prices_are_assumption()),
    }


def _finish(rows: list[dict], year: int, *, sort: bool) -> pd.DataFrame:
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    if sort:
        out = out.sort_values(["cost_cny_per_tco2e", "id"], na_position="last")
    out = out.reset_index(drop=True)
    width = out["abatement_tco2e"].clip(lower=0).to_numpy()
    out["x1_tco2e"] = np.cumsum(width)
    out["x0_tco2e"] = out["x1_tco2e"] - width
    out["year"] = year
    return out


def macc(
    baseline: ScenarioRun,
    measures: list[Measure],
    *,
    year: int = 2035,
    rate: float | None = None,
    basis: str = "location",
    **inputs,
) -> pd.DataFrame:
    """Standalone marginal abatement cost curve in ``year`` (central values).

    Parameters
    ----------
    baseline : ScenarioRun   central run without measures (same inputs as below)
    measures : list of Measure
    year : int   evaluation year
    rate : float, optional   discount rate (default: catalogue ``discount_rate``)
    basis : {"location", "market"}   the emissions the abatement is counted on
    **inputs
        The inputs of :func:`citycarbon.pathways.scenario.simulate` the baseline was run with
        (``base_energy, base_year, grid_ef_tco2_per_mwh, gdp, population`` and optionally
        ``growth_override, grid_ef_points``).

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
    yi = int(year - baseline.years[0])
    inputs = {**inputs, "end_year": int(baseline.years[-1])}
    rows = [  # one standalone run per measure (a dozen, each vectorised)
        _bar(
            m,
            baseline,
            simulate(measures=[m], name=m.id, **inputs),
            yi,
            rate,
            basis,
        )
        for m in measures
    ]
    return _finish(rows, year, sort=True)


def macc_netted(
    baseline: ScenarioRun,
    measures: list[Measure],
    *,
    year: int = 2035,
    rate: float | None = None,
    basis: str = "location",
    **inputs,
) -> pd.DataFrame:
    """Netted MACC: measures in merit order, each against the package of the cheaper ones.

    Order: the standalone cost per tonne (cheapest first; measures without standalone abatement
    last). Bar ``k``: ``A_k = net(M_1..M_{k-1}) - net(M_1..M_k)`` and
    ``K_k = CRF I_k + O_k + (bill(M_1..M_k) - bill(M_1..M_{k-1})) - V_k`` in ``year``, with the
    capacity ``I_k`` the measure reaches in the package (electrification switches less gas
    after efficiency has saved some). ``sum_k A_k = net(baseline) - net(M_1..M_n)``: the widths
    add up to the package's abatement (the invariant a standalone curve breaks).

    Returns
    -------
    DataFrame
        The columns of :func:`macc` in application order, plus ``standalone_tco2e`` (the
        standalone abatement) and ``interaction_tco2e`` (netted minus standalone: negative
        where cheaper measures took part of this one's potential).

    References
    ----------
    [3] Kesicki & Ekins (2012), section 4.2; [4] Kesicki (2012).
    """
    rate = discount_rate() if rate is None else rate
    alone = macc(baseline, measures, year=year, rate=rate, basis=basis, **inputs)
    if alone.empty:
        return alone
    by_id = {m.id: m for m in measures}
    ordered = [by_id[i] for i in alone["id"]]
    yi = int(year - baseline.years[0])
    inputs = {**inputs, "end_year": int(baseline.years[-1])}
    rows, before = [], baseline
    for k, m in enumerate(ordered):  # one cumulative run per measure (a dozen, vectorised)
        after = simulate(measures=ordered[: k + 1], name=m.id, **inputs)
        rows.append(_bar(m, before, after, yi, rate, basis))
        before = after
    out = _finish(rows, year, sort=False)
    out["standalone_tco2e"] = alone["abatement_tco2e"].to_numpy()
    diff = out["abatement_tco2e"] - out["standalone_tco2e"]
    out["interaction_tco2e"] = diff.where(diff.abs() > 1e-6, 0.0)  # no round-off "-0"
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
