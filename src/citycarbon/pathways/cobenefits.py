"""Pollution–carbon co-benefits (减污降碳协同): air pollutants of a scenario and a co-benefit index.

Pollutants ``P[p, y] = sum_{s,c} E[s, c, y] x EF[s, c, p]`` for fossil carriers (factor file
``pollutant_factors.csv``, source and status per value) plus electricity:
``MWh x EF_el[p] x EF_grid(y) / EF_grid(base)`` (thermal share proxy).

Co-benefit index: the air-pollutant equivalent (毛显强 et al.)
``APeq = sum_p m_p x (w_SO2 / w_p)`` [kg SO2-eq], weights = pollution equivalent values
(污染当量值) of the environmental protection tax law; the co-control coordinate system plots
``(dCO2 / CO2, dAPeq / APeq)`` of a scenario against its baseline, and the cross elasticity
``Els = (dAPeq / APeq) / (dCO2 / CO2)`` (> 1: pollutants fall faster than CO2).

References
----------
[1] 毛显强, 曾桉, 胡涛, 邢有凯, 刘胜强 (2011) 技术减排措施对温室气体与大气污染物的协同控制效应.
    中国环境科学 31(12), 2108-2114 (APeq, 协同控制效应坐标系, 交叉弹性).
[2] 毛显强, 邢有凯, 胡涛, 曾桉, 刘胜强, 高玉冰 (2012) 中国电力行业硫、氮、碳协同减排的环境经济路径
    分析. 中国环境科学 32(4), 748-756.
[3] 《中华人民共和国环境保护税法》(2016) 附表二 应税大气污染物污染当量值.
[4] GB 13271-2014 锅炉大气污染物排放标准; EMEP/EEA air pollutant emission inventory guidebook
    2023 (EEA emission factor database): source, table and status per row in the data file.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.errors import InputError
from citycarbon.pathways.catalogue import ASSUMPTION, pollutant_factors, pollution_equivalents
from citycarbon.pathways.scenario import ScenarioRun, tce_per_mwh

POLLUTANTS = ("SO2", "NOx", "PM2.5", "VOCs")


def factor_array(run: ScenarioRun, factors: pd.DataFrame | None = None) -> tuple:
    """Fossil factors ``(s, c, p)`` [t/tce] and electricity factors ``(p,)`` [t/MWh]."""
    f = pollutant_factors() if factors is None else factors
    fossil = np.zeros((len(run.sectors), len(run.carriers), len(POLLUTANTS)))
    el = np.zeros(len(POLLUTANTS))
    p_idx = {p: i for i, p in enumerate(POLLUTANTS)}
    for r in f.itertuples():  # a small data file (tens of rows), not bulk data
        if r.pollutant not in p_idx:
            raise InputError("unknown pollutant", field="pollutant", value=r.pollutant)
        if r.carrier == "electricity":
            el[p_idx[r.pollutant]] = (
                r.value
                * units.factor(r.unit.split("/")[0], "t")
                / (units.factor(r.unit.split("/")[1], "MWh"))
            )
            continue
        if r.sector not in run.sectors or r.carrier not in run.carriers:
            continue
        per_gj = (
            r.value
            * units.factor(r.unit.split("/")[0], "t")
            / units.factor(r.unit.split("/")[1], "GJ")
        )
        fossil[run.sectors.index(r.sector), run.carriers.index(r.carrier), p_idx[r.pollutant]] = (
            per_gj * units.factor("tce", "GJ")
        )
    return fossil, el


def pollutant_emissions(run: ScenarioRun, factors: pd.DataFrame | None = None) -> np.ndarray:
    """Pollutant emissions per draw, pollutant and year ``(d, p, y)`` [t]."""
    fossil, el = factor_array(run, factors)
    out = np.einsum("dscy,scp->dpy", run.energy_tce, fossil)
    e_idx = run.carriers.index("electricity")
    mwh = run.energy_tce[:, :, e_idx, :].sum(axis=1) / tce_per_mwh()  # (d, y)
    thermal = run.grid_ef_tco2_per_mwh / run.grid_ef_tco2_per_mwh[:, :1]
    out += el[None, :, None] * (mwh * thermal)[:, None, :]
    return out


def apeq_weights() -> pd.Series:
    """``w_SO2 / w_p`` per pollutant (SO2 = 1) from the pollution equivalent values."""
    pe = pollution_equivalents().set_index("pollutant")["pollution_equivalent_kg"]
    return (pe["SO2"] / pe).reindex(list(POLLUTANTS))


def apeq_t(pollutants_t: np.ndarray) -> np.ndarray:
    """APeq [t SO2-eq] from pollutant masses along axis -2 (order :data:`POLLUTANTS`).

    References
    ----------
    [1] 毛显强 et al. (2011), eq. (1): ``APeq = α SO2 + β NOx + γ PM + ...`` with weights from
        the pollution equivalent values; [3] 环境保护税法 附表二.
    """
    w = apeq_weights().to_numpy()
    return np.einsum("...py,p->...y", pollutants_t, w)


def cobenefits(
    scenario: ScenarioRun,
    baseline: ScenarioRun,
    *,
    year: int = 2030,
    factors: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Changes of CO2 and air pollutants of a scenario against its baseline in ``year``
    (``factors``: the pollutant factor table, default ``pollutant_factors.csv``).

    Returns
    -------
    DataFrame
        One row per pollutant plus ``APeq`` and ``CO2``: ``baseline_t, scenario_t, change_t,
        change_pct``; for APeq the cross elasticity ``els`` and the coordinate quadrant
        (``synergy`` when both fall); ``assumption``: the pollutant has a factor with the
        status ``assumption`` (APeq: any pollutant has).
    """
    yi = int(year - scenario.years[0])
    f = pollutant_factors() if factors is None else factors
    pb = np.median(pollutant_emissions(baseline, f), axis=0)[:, yi]
    ps = np.median(pollutant_emissions(scenario, f), axis=0)[:, yi]
    ab, as_ = apeq_t(pb[:, None])[0], apeq_t(ps[:, None])[0]
    cb, cs = float(np.median(baseline.gross[:, yi])), float(np.median(scenario.gross[:, yi]))
    rows = [
        {"item": p, "unit": "t", "baseline_t": b, "scenario_t": s}
        for p, b, s in zip(POLLUTANTS, pb, ps, strict=True)
    ]
    rows.append({"item": "APeq", "unit": "t SO2-eq", "baseline_t": ab, "scenario_t": as_})
    rows.append({"item": "CO2", "unit": "tCO2e", "baseline_t": cb, "scenario_t": cs})
    out = pd.DataFrame(rows)
    out["change_t"] = out["scenario_t"] - out["baseline_t"]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["change_pct"] = out["change_t"] / out["baseline_t"]
    d_co2 = (cs - cb) / cb
    d_ap = (as_ - ab) / ab if ab else np.nan
    els = d_ap / d_co2 if d_co2 else np.nan
    quadrant = (
        "synergy (both fall)"
        if d_co2 < 0 and d_ap < 0
        else "CO2 only"
        if d_co2 < 0
        else "pollutants only"
        if d_ap < 0
        else "neither"
    )
    out["els"] = np.where(out["item"] == "APeq", els, np.nan)
    out["quadrant"] = np.where(out["item"] == "APeq", quadrant, "")
    assumed = set(f.loc[f["status"] == ASSUMPTION, "pollutant"])
    out["assumption"] = out["item"].isin(assumed) | ((out["item"] == "APeq") & bool(assumed))
    out.insert(0, "year", year)
    out.insert(0, "scenario", scenario.name)
    return out
