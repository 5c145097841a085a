"""Carbon efficiency (碳效) of industrial enterprises: intensity level and grade against the industry.

The method (rule set ``zhejiang-2021`` of ``rating/data/carbon_efficiency.yaml``, after the
Zhejiang 碳效码 practice) in three clauses:

1. L = net CO2 of a period / value added of the same period [tCO2/10^4 CNY], for an enterprise
   and for an industry alike; net CO2 is the CO2 of the energy consumed less zero-carbon
   electricity and sinks.
2. Level of L: 低碳 L <= 0.6, 中碳 0.6 < L <= 2.0, 高碳 L > 2.0.
3. K = L / the industry's L of the same period; grade 1 K <= 0.6, 2 <= 0.8, 3 <= 1.2, 4 <= 2.0,
   5 above.

Reading of "the industry's average L" (clause 3): clause 1 defines L of an industry as the
industry's CO2 over its value added, so the average is the ratio of sums (a value-added-weighted
mean of the enterprises' L) over the graded enterprises of the same GB/T 4754 class and period,
the enterprise itself included. An industry of one enterprise has K = 1 (grade 3).

The thresholds, the industry level and the rounding are rule data; the functions take them from
:class:`EfficiencyRules`, so a city can adopt its own province's method.

References
----------
[1] 《规上工业企业碳效等级评价方法》 (Zhejiang 碳效码 practice), clauses 1-3 — source unverified,
    see the rule set's ``source_status``.
[2] DB33/T 1347-2023 工业企业碳效综合评估与分级赋码规范 (not consulted).
[3] GB/T 4754-2017 国民经济行业分类.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError

RULES_FILE = Path(__file__).parent / "data" / "carbon_efficiency.yaml"
DEFAULT_RULES = "zhejiang-2021"
#: Value of ``grade`` for an enterprise that cannot be graded (no value added, no industry L).
UNGRADED = 0
#: Columns :func:`grade_enterprises` adds.
GRADE_COLUMNS = (
    "intensity_t_per_10k_cny",
    "level",
    "industry_intensity_t_per_10k_cny",
    "industry_enterprises",
    "k",
    "grade",
)


@dataclass(frozen=True)
class EfficiencyRules:
    """One versioned rule set of ``carbon_efficiency.yaml``."""

    set_id: str
    version: str
    source: str
    source_status: str
    level_codes: tuple[str, ...]
    level_bounds: tuple[float, ...]  # upper bounds (inclusive) of all levels but the last
    grade_bounds: tuple[float, ...]  # upper bounds (inclusive) of grades 1..n-1
    industry_digits: int  # GB/T 4754 digits that make the industry (4: class)
    decimals: int
    raw: Mapping[str, Any]

    @property
    def label(self) -> str:
        """``set@version``, written with every result row."""
        return f"{self.set_id}@{self.version}"


_INDUSTRY_DIGITS = {"section": 0, "division": 2, "group": 3, "class": 4}


def _bounds(entries: Sequence[Mapping[str, Any]], what: str) -> tuple[float, ...]:
    bounds = [e["upper"] for e in entries]
    if bounds[-1] is not None or any(b is None for b in bounds[:-1]):
        raise InputError(f"{what}: every entry but the last needs an upper bound", source=what)
    values = tuple(float(b) for b in bounds[:-1])
    if list(values) != sorted(set(values)):
        raise InputError(f"{what}: upper bounds must increase", source=what, value=values)
    return values


@cache
def efficiency_rules(set_id: str = DEFAULT_RULES, path: Path = RULES_FILE) -> EfficiencyRules:
    """The rule set ``set_id`` of the carbon-efficiency rules file, validated."""
    with open(path, encoding="utf-8") as f:
        sets = yaml.safe_load(f)["sets"]
    if set_id not in sets:
        raise UnknownCodeError("carbon-efficiency rule set", set_id, sets, field="rating.rules")
    raw = sets[set_id]
    grades = raw["grades"]
    if [g["grade"] for g in grades] != list(range(1, len(grades) + 1)):
        raise InputError("grades must be numbered 1..n in order", source=str(path), field=set_id)
    if raw["industry_average"] != "ratio_of_sums":
        raise InputError(
            "industry_average: only 'ratio_of_sums' (industry CO2 / industry value added) is "
            "implemented",
            source=str(path),
            field=f"{set_id}.industry_average",
            value=raw["industry_average"],
        )
    return EfficiencyRules(
        set_id=set_id,
        version=str(raw["version"]),
        source=str(raw["source"]).strip(),
        source_status=str(raw.get("source_status", "published")),
        level_codes=tuple(lv["code"] for lv in raw["levels"]),
        level_bounds=_bounds(raw["levels"], f"{path}:{set_id}.levels"),
        grade_bounds=_bounds(grades, f"{path}:{set_id}.grades"),
        industry_digits=_INDUSTRY_DIGITS[raw["industry_level"]],
        decimals=int(raw["decimals"]),
        raw=raw,
    )


# ----------------------------------------------------------------------------------- clauses
def net_co2_t(co2_t, electricity_co2_t, green_mwh, grid_ef_tco2_per_mwh):
    """CO2 of the energy consumed net of zero-carbon electricity, tonnes (clause 1).

    E_net = E - min(G x EF_grid, E_elec)

    Green electricity G is valued at the location-based grid factor the enterprise's electricity
    CO2 was computed with, and never nets off more than that electricity CO2.

    Parameters
    ----------
    co2_t : array-like   CO2 of the energy consumed (scope 1 + 2) [t]
    electricity_co2_t : array-like   its purchased-electricity part [t]
    green_mwh : array-like   zero-carbon electricity bought or generated [MWh]
    grid_ef_tco2_per_mwh : array-like   grid factor [tCO2/MWh]

    References
    ----------
    [1] 《规上工业企业碳效等级评价方法》 clause 1 (核减零碳电力发电折算减少的二氧化碳).
    """
    return co2_t - np.minimum(green_mwh * grid_ef_tco2_per_mwh, electricity_co2_t)


def intensity_t_per_10k_cny(net_co2_t, value_added_10k_cny):
    """L, CO2 per 10^4 CNY of value added [tCO2/10^4 CNY]; NaN where value added <= 0.

    L = E_net / VA  (clause 1; VA by the income approach)

    References
    ----------
    [1] 《规上工业企业碳效等级评价方法》 clause 1.
    """
    va = np.asarray(value_added_10k_cny, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(va > 0, np.asarray(net_co2_t, dtype="float64") / va, np.nan)


def _class_of(values, bounds: Sequence[float], decimals: int) -> np.ndarray:
    """0-based index of the first bound a value does not exceed (len(bounds) above all); -1
    for NaN."""
    v = np.round(np.asarray(values, dtype="float64"), decimals)
    out = np.searchsorted(np.asarray(bounds), v, side="left")
    return np.where(np.isnan(v), -1, out)


def intensity_level(intensity, rules: EfficiencyRules) -> np.ndarray:
    """Level code of L (clause 2): ``low`` L <= 0.6, ``medium`` <= 2.0, ``high`` above (bounds of
    ``rules``); '' where L is NaN.

    References
    ----------
    [1] 《规上工业企业碳效等级评价方法》 clause 2.
    """
    idx = _class_of(intensity, rules.level_bounds, rules.decimals)
    codes = np.array([*rules.level_codes, ""], dtype=object)
    return codes[idx]  # -1 picks the trailing ''


def efficiency_ratio(intensity, industry_intensity):
    """K = L / industry L (clause 3); NaN where the industry L is not positive.

    An industry L of 0 (every enterprise of the industry net zero) leaves K undefined.

    References
    ----------
    [1] 《规上工业企业碳效等级评价方法》 clause 3.
    """
    ind = np.asarray(industry_intensity, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ind > 0, np.asarray(intensity, dtype="float64") / ind, np.nan)


def efficiency_grade(k, rules: EfficiencyRules) -> np.ndarray:
    """Grade 1-5 of K (clause 3): 1 K <= 0.6, 2 <= 0.8, 3 <= 1.2, 4 <= 2.0, 5 above (bounds of
    ``rules``); :data:`UNGRADED` (0) where K is NaN.

    References
    ----------
    [1] 《规上工业企业碳效等级评价方法》 clause 3.
    """
    idx = _class_of(k, rules.grade_bounds, rules.decimals)
    return np.where(idx < 0, UNGRADED, idx + 1).astype("int64")


def industry_of(industry_code: pd.Series, rules: EfficiencyRules) -> pd.Series:
    """The industry an enterprise is compared within: its GB/T 4754 code cut to the rule set's
    level (class: ``C3974`` -> ``C3974``; division: -> ``C39``); '' where unknown."""
    code = industry_code.fillna("").astype(str)
    return code.str[: 1 + rules.industry_digits]


def grade_enterprises(
    frame: pd.DataFrame, rules: EfficiencyRules, *, period: Sequence[str]
) -> pd.DataFrame:
    """L, level, industry L, K and grade of every enterprise-period of ``frame``.

    Parameters
    ----------
    frame : DataFrame
        One row per enterprise and period: the ``period`` columns, ``industry_code``
        (GB/T 4754), ``net_co2_t`` [t] and ``value_added_10k_cny`` [10^4 CNY].
    rules : EfficiencyRules
    period : columns that make the period (``year, month`` or ``year``)

    Returns
    -------
    DataFrame
        ``frame`` with :data:`GRADE_COLUMNS`. The industry sums count the enterprises with a
        positive value added (those with an L); ``industry_enterprises`` is their number.
    """
    out = frame.copy()
    L = intensity_t_per_10k_cny(out["net_co2_t"], out["value_added_10k_cny"])
    graded = ~np.isnan(L)
    industry = industry_of(out["industry_code"], rules)
    keys = [*(out[c] for c in period), industry]
    sums = (
        pd.DataFrame(
            {
                "co2": np.where(graded, out["net_co2_t"], 0.0),
                "va": np.where(graded, out["value_added_10k_cny"], 0.0),
                "n": graded.astype("int64"),
            },
            index=out.index,
        )
        .groupby(keys, sort=False)
        .transform("sum")
    )
    ind_l = np.where(
        (industry != "").to_numpy(), intensity_t_per_10k_cny(sums["co2"], sums["va"]), np.nan
    )
    k = efficiency_ratio(L, ind_l)
    out["intensity_t_per_10k_cny"] = L
    out["level"] = intensity_level(L, rules)
    out["industry_intensity_t_per_10k_cny"] = ind_l
    out["industry_enterprises"] = sums["n"].to_numpy()
    out["k"] = k
    out["grade"] = efficiency_grade(k, rules)
    return out


def grade_movement(graded: pd.DataFrame, *, entity: str, order: Sequence[str]) -> pd.DataFrame:
    """The grade of each enterprise's previous period and the movement since.

    ``previous_grade`` is the grade of the period just before (month before, or year before,
    per ``order``, consecutive periods only) or :data:`UNGRADED`; ``movement`` is ``up``
    (a better grade: a lower number), ``down``, ``same`` or ``new`` (no grade before).

    Parameters
    ----------
    graded : DataFrame   rows of :func:`grade_enterprises`
    entity : column of the enterprise
    order : period columns, coarsest first (``["year", "month"]`` or ``["year"]``)
    """
    ordinal = graded[order[0]].astype("int64")
    if len(order) > 1:
        ordinal = ordinal * 12 + graded[order[1]].astype("int64") - 1
    prev = pd.DataFrame(
        {entity: graded[entity], "_o": ordinal + 1, "previous_grade": graded["grade"]}
    )
    here = pd.DataFrame({entity: graded[entity], "_o": ordinal})
    got = here.merge(prev, on=[entity, "_o"], how="left")["previous_grade"]
    previous = got.fillna(UNGRADED).astype("int64").to_numpy()
    grade = graded["grade"].to_numpy()
    movement = np.select(
        [
            (previous == UNGRADED) | (grade == UNGRADED),
            grade < previous,
            grade > previous,
        ],
        ["new", "up", "down"],
        default="same",
    )
    return graded.assign(previous_grade=previous, movement=movement)


def grade_distribution(
    graded: pd.DataFrame, *, period: Sequence[str], by: Mapping[str, str | None]
) -> pd.DataFrame:
    """How many enterprises hold each grade, per period and group.

    Parameters
    ----------
    graded : DataFrame   rows of :func:`grade_enterprises` (graded enterprises only count)
    period : period columns
    by : dimension name -> column of ``graded`` that gives the group (None: one group ``all``,
        e.g. ``{"city": None, "district": "district_code", "park": "park_code"}``)

    Returns
    -------
    DataFrame
        period columns, dimension, group_code, grade, enterprises, share (of the group's graded
        enterprises), value_added_10k_cny, net_co2_t. Rows with an empty group are left out.
    """
    rated = graded[graded["grade"] != UNGRADED]
    frames = []
    for dimension, column in by.items():  # a handful of dimensions
        group = (
            pd.Series("all", index=rated.index)
            if column is None
            else rated[column].fillna("").astype(str)
        )
        part = (
            rated.assign(dimension=dimension, group_code=group)
            .loc[group != ""]
            .groupby([*period, "dimension", "group_code", "grade"], as_index=False)
            .agg(
                enterprises=("grade", "size"),
                value_added_10k_cny=("value_added_10k_cny", "sum"),
                net_co2_t=("net_co2_t", "sum"),
            )
        )
        frames.append(part)
    out = pd.concat(frames, ignore_index=True)
    total = out.groupby([*period, "dimension", "group_code"])["enterprises"].transform("sum")
    out["share"] = out["enterprises"] / total
    return out
