"""Carbon-efficiency grades (碳效码) of every reporting enterprise, monthly and annual.

Steps: the enterprise accounts' CO2 (``enterprise_month_fuel_emissions``, never recomputed) and
the enterprises' value added (``enterprise_value_added``) per month -> green electricity bought
(``green_electricity``, every certificate counted once) at the city's declared location-based
grid factor -> monthly and annual sums -> net CO2, L, level, K and grade
(:mod:`citycarbon.rating.efficiency`) -> movement since the month (year) before -> distributions
by city, district, park and industry class. A *reporting enterprise* has both CO2 and value
added in the period; the annual grade sums the months it has both.

Energy-efficiency benchmarking (:func:`energy_benchmarks`): the enterprises' comprehensive energy
of the year (the same accounts) over their output (``industrial_output``) against the product
levels of :mod:`citycarbon.rating.benchmarks`.

The rule set is :data:`~citycarbon.rating.efficiency.DEFAULT_RULES` (the city config has no
``rating`` section yet; a city adopting another province's method adds a set to the rules file).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd

from citycarbon.accounting import electricity as elec
from citycarbon.contract.results import (
    CARBON_EFFICIENCY,
    CARBON_EFFICIENCY_DISTRIBUTION,
    ENERGY_BENCHMARK,
    ENERGY_BENCHMARK_SUMMARY,
    ENTERPRISE_MONTH_FUEL,
)
from citycarbon.errors import InputError
from citycarbon.rating import benchmarks as bm
from citycarbon.rating import efficiency as ef
from citycarbon.store import catalog, lake, results

_KEY = ["enterprise_code", "year", "month"]
_SUMS = ["co2_t", "electricity_co2_t", "green_mwh", "value_added_10k_cny"]
#: Dimension of a distribution -> column of the graded rows that gives the group.
DIMENSIONS: dict[str, str | None] = {
    "city": None,
    "district": "district_code",
    "park": "park_code",
    "industry": "industry_class",
}


def monthly_inputs(years: Sequence[int] | None, *, city: Any, settings: Any) -> pd.DataFrame:
    """One row per enterprise-month with CO2 and value added: ``co2_t``, ``electricity_co2_t``,
    ``green_mwh``, ``grid_ef_tco2_per_mwh`` (the city's declared grid region; NaN before its
    first published factor) and ``value_added_10k_cny``."""
    filters = {"year": [int(y) for y in years]} if years is not None else None
    co2 = results.current(
        ENTERPRISE_MONTH_FUEL,
        partitions=years,
        columns=[*_KEY, "co2_t", "electricity_co2_t"],
        lake=settings.lake,
    )
    va = lake.read_current(
        "enterprise_value_added",
        filters,
        columns=["enterprise_code", "value_added_10k_cny", "year", "month"],
        lake=settings.lake,
        url=settings.database_url,
    )
    green = elec.instruments_counted_once(
        lake.read_current(
            "green_electricity",
            filters,
            columns=["enterprise_code", "mwh", "instrument", "certificate_id", "year", "month"],
            lake=settings.lake,
            url=settings.database_url,
        )
    )
    green = green.groupby(_KEY, as_index=False)["mwh"].sum().rename(columns={"mwh": "green_mwh"})
    for frame in (co2, va, green):
        frame[["year", "month"]] = frame[["year", "month"]].astype("int64")
    out = co2.merge(va, on=_KEY, how="inner").merge(green, on=_KEY, how="left")
    out["green_mwh"] = out["green_mwh"].fillna(0.0)
    factors = elec.grid_factors(
        city.factor_profile("enterprise"),
        [city.factors.grid_region],
        sorted(out["year"].unique()),
        skip_unpublished=True,
    )[["year", "ef_tco2_per_mwh"]].rename(columns={"ef_tco2_per_mwh": "grid_ef_tco2_per_mwh"})
    return out.merge(factors, on="year", how="left")


def _grade(frame: pd.DataFrame, rules: ef.EfficiencyRules, period: list[str]) -> pd.DataFrame:
    # no published grid factor for the year: green electricity is not valued, nothing netted
    frame = frame.assign(
        net_co2_t=ef.net_co2_t(
            frame["co2_t"],
            frame["electricity_co2_t"],
            frame["green_mwh"],
            frame["grid_ef_tco2_per_mwh"].fillna(0.0),
        )
    )
    graded = ef.grade_enterprises(frame, rules, period=period)
    return ef.grade_movement(graded, entity="enterprise_code", order=period)


def grade(
    monthly: pd.DataFrame, registry: pd.DataFrame, rules: ef.EfficiencyRules
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly and annual grades and their distributions (rows of the two declared results,
    without provenance) from :func:`monthly_inputs` and the enterprise registry."""
    reg = registry.rename(columns={"credit_code": "enterprise_code"})[
        ["enterprise_code", "industry_code", "district_code", "park_code"]
    ]
    month = monthly.merge(reg, on="enterprise_code", how="left").assign(months=1)
    annual = month.groupby(
        ["enterprise_code", "year", "industry_code", "district_code", "park_code"],
        as_index=False,
        dropna=False,
    ).agg(
        **{c: (c, "sum") for c in [*_SUMS, "months"]},
        grid_ef_tco2_per_mwh=("grid_ef_tco2_per_mwh", "first"),  # one factor per data year
    )
    parts = [
        _grade(month, rules, ["year", "month"]).assign(period_type="month"),
        _grade(annual, rules, ["year"]).assign(period_type="year", month=0),
    ]
    graded = pd.concat(parts, ignore_index=True)
    graded["industry_class"] = ef.industry_of(graded["industry_code"], rules)
    graded["rules"] = rules.label
    for col in ("industry_code", "district_code", "park_code"):
        graded[col] = graded[col].fillna("").astype(str)
    dist = ef.grade_distribution(graded, period=["period_type", "year", "month"], by=DIMENSIONS)
    return graded, dist


def carbon_efficiency(
    years: Sequence[int] | None, *, city: Any, settings: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Grade every reporting enterprise for ``years`` (None: every year with value added) and
    write :data:`CARBON_EFFICIENCY` and :data:`CARBON_EFFICIENCY_DISTRIBUTION`.

    The year before the first of ``years`` is read too, for the movement of its January and of
    the year. Raises InputError when no enterprise has both CO2 and value added.
    """
    rules = ef.efficiency_rules(ef.DEFAULT_RULES)
    read = None if years is None else sorted({*map(int, years), min(map(int, years)) - 1})
    monthly = monthly_inputs(read, city=city, settings=settings)
    if not len(monthly):
        raise InputError(
            "no enterprise has both CO2 (205-1 accounts) and value added "
            "(ingest enterprise_value_added) in the years asked",
            source="lake table enterprise_value_added",
            field="year",
            value=years,
        )
    registry = catalog.registry_frame("enterprises", url=settings.database_url)
    graded, dist = grade(monthly, registry, rules)
    keep = sorted(set(monthly["year"])) if years is None else sorted(map(int, years))
    graded = graded[graded["year"].isin(keep)].drop(columns="industry_class")
    dist = dist[dist["year"].isin(keep)]
    results.write(CARBON_EFFICIENCY, graded, partitions=keep, lake=settings.lake)
    results.write(CARBON_EFFICIENCY_DISTRIBUTION, dist, partitions=keep, lake=settings.lake)
    return graded, dist


def energy_benchmarks(
    years: Sequence[int] | None, *, settings: Any
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assess the single-product enterprises of ``years`` (None: every year with output)
    against the product levels (:mod:`citycarbon.rating.benchmarks`) and write
    :data:`ENERGY_BENCHMARK` and :data:`ENERGY_BENCHMARK_SUMMARY`.

    Raises InputError when no enterprise makes a product with a level in the years asked.
    """
    levels = bm.load_benchmarks()
    filters = {"year": [int(y) for y in years]} if years is not None else None
    output = lake.read_current(
        "industrial_output",
        filters,
        columns=["enterprise_code", "product", "quantity", "unit", "year"],
        lake=settings.lake,
        url=settings.database_url,
    )
    energy = results.current(
        ENTERPRISE_MONTH_FUEL,
        partitions=years,
        columns=["enterprise_code", "year", "energy_tce"],
        lake=settings.lake,
    )
    energy = energy.groupby(["enterprise_code", "year"], as_index=False)["energy_tce"].sum()
    for frame in (output, energy):
        frame["year"] = frame["year"].astype("int64")
    assessed = bm.assess(output, energy, levels).assign(levels=levels.label)
    if assessed.empty:
        raise InputError(
            "no single-product enterprise makes a product with an energy-efficiency level "
            "(rating/data/energy_benchmarks.yaml) in the years asked",
            source="lake table industrial_output",
            field="product",
            value=years,
        )
    summary = bm.output_shares(assessed)
    keep = sorted(set(assessed["year"])) if years is None else sorted(map(int, years))
    results.write(ENERGY_BENCHMARK, assessed, partitions=keep, lake=settings.lake)
    results.write(ENERGY_BENCHMARK_SUMMARY, summary, partitions=keep, lake=settings.lake)
    return assessed, summary
