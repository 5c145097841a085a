"""Socio-economic impact of a scenario: investment, annual costs and savings, and GDP and
employment effects through input-output multipliers. All results are ESTIMATES.

- investment in year y: ``unit investment x max(capacity(y) - capacity(y - 1), 0)`` per measure
  (capacity built along the ramp; replacements not counted)
- operating cost: ``unit opex x capacity(y)``
- energy bill change: ``sum (E_scenario - E_baseline) x price`` (carrier prices, assumptions)
- value added and jobs induced by investment: ``investment x multiplier`` of the measure's
  input-output sector (Type I Leontief multipliers ``v (I - A)^-1`` and ``l (I - A)^-1``; the
  file's values are illustrative until replaced with the city's table).

References
----------
[1] Miller, R.E., Blair, P.D. (2009) Input-Output Analysis: Foundations and Extensions, 2nd ed.,
    ch. 6 (output, income and employment multipliers).
[2] 国家统计局 (2022) 《2020年中国投入产出表》.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.pathways.catalogue import (
    cost_is_assumption,
    io_multipliers,
    prices_are_assumption,
)
from citycarbon.pathways.macc import energy_cost_10k_cny
from citycarbon.pathways.scenario import ScenarioRun

VALUE_COLUMNS = (
    "investment_10k_cny",
    "opex_10k_cny",
    "energy_saving_10k_cny",
    "gdp_effect_10k_cny",
    "jobs_person_years",
)
NOTE = "estimate (估算): illustrative input-output multipliers and demo cost assumptions"


def economics(scenario: ScenarioRun, baseline: ScenarioRun) -> pd.DataFrame:
    """Yearly investment, operating cost, energy-bill change, value added and jobs (estimates).

    Returns
    -------
    DataFrame
        ``scenario, year, measure, investment_10k_cny, opex_10k_cny, gdp_effect_10k_cny,
        jobs_person_years`` per measure, plus rows ``measure = "energy_bill"`` with
        ``energy_saving_10k_cny`` (positive = saving), a ``note`` column and ``assumption``
        (the row rests on an assumed cost, price or value of clean generation).
    """
    io = io_multipliers().set_index("io_sector")
    rows = []
    zeros = np.zeros(len(scenario.years))
    for m in scenario.measures:  # a dozen measures
        cap = np.median(scenario.capacity.get(m.id, zeros[None, :]), axis=0)
        if m.kind == "clean_power" and "capacity_mw" not in m.params:
            cap = zeros.copy()  # purchased energy: no own investment
        built = np.clip(np.diff(cap, prepend=cap[0]), 0, None)
        inv = m.p("investment", 0.0).value * built
        opex = m.p("opex", 0.0).value * (
            np.median(scenario.clean_mwh, 0)
            if m.kind == "clean_power" and "capacity_mw" not in m.params
            else cap
        )
        mult = io.loc[m.io_sector] if m.io_sector in io.index else io.iloc[0]
        rows.append(
            pd.DataFrame(
                {
                    "year": scenario.years,
                    "measure": m.id,
                    "investment_10k_cny": inv,
                    "opex_10k_cny": opex,
                    "gdp_effect_10k_cny": inv * float(mult["va_multiplier"]),
                    "jobs_person_years": inv * float(mult["jobs_per_10k_cny"]),
                    "assumption": cost_is_assumption(m),
                }
            )
        )
    idx = np.arange(len(scenario.years))
    base_bill = np.array([np.median(energy_cost_10k_cny(baseline, i)) for i in idx])
    scen_bill = np.array([np.median(energy_cost_10k_cny(scenario, i)) for i in idx])
    value = (
        np.median(scenario.clean_value_10k_cny, axis=0)
        if scenario.clean_value_10k_cny is not None
        else 0.0
    )
    rows.append(
        pd.DataFrame(
            {
                "year": scenario.years,
                "measure": "energy_bill",
                "energy_saving_10k_cny": base_bill - scen_bill + value,
                "assumption": prices_are_assumption()
                or any(cost_is_assumption(m) for m in scenario.measures if m.kind == "clean_power"),
            }
        )
    )
    out = pd.concat(rows, ignore_index=True)
    flags = out["assumption"].astype(bool).to_numpy()
    columns = ["year", "measure", *VALUE_COLUMNS]
    out = out.reindex(columns=columns).fillna(0.0)  # a scenario without measures: zeros
    out["assumption"] = flags
    out.insert(0, "scenario", scenario.name)
    out["note"] = NOTE
    return out


def economics_summary(table: pd.DataFrame, *, until: int = 2060) -> pd.Series:
    """Totals to ``until``: investment, operating cost, energy savings, GDP effect, jobs; the
    ``note`` and ``assumption`` (whether any row rests on an assumed value)."""
    t = table[table["year"] <= until]
    return pd.Series(
        {
            **{c: t[c].sum() for c in VALUE_COLUMNS},
            "note": NOTE,
            "assumption": bool(t["assumption"].any()),
        }
    )
