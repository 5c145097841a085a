"""绿色低碳项目库 (green project reserve): the expected annual CO2 reduction of every project and
its eligibility under the two national green catalogues.

Steps: the current rows of the lake table ``green_projects`` -> the grid factor of the city's
declared basis (``factors.grid_region``, enterprise context, location-based) for each project's
start year (the latest value published up to it) -> the reduction per project type
(:mod:`citycarbon.finance.reduction`) -> the eligibility per catalogue
(:mod:`citycarbon.finance.eligibility`) -> :data:`GREEN_PROJECT_REDUCTION` and
:data:`GREEN_PROJECT_ELIGIBILITY`, written whole (a vintage per run).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from citycarbon.accounting import electricity as elec
from citycarbon.contract.inputs import GREEN_PROJECTS
from citycarbon.contract.results import GREEN_PROJECT_ELIGIBILITY, GREEN_PROJECT_REDUCTION
from citycarbon.errors import InputError
from citycarbon.finance import eligibility as el
from citycarbon.finance import reduction as rd
from citycarbon.store import lake, results
from citycarbon.techmap import catalogue as tc


def read_projects(*, settings: Any) -> pd.DataFrame:
    """The current rows of ``green_projects`` (every committed batch, latest per project); a
    project of a file written before ``demonstration_level`` was declared has its default
    (``none``: not a demonstration project)."""
    level = GREEN_PROJECTS.column("demonstration_level")
    return (
        lake.read_current(GREEN_PROJECTS.table, lake=settings.lake, url=settings.database_url)
        .drop(columns="batch_id")
        .fillna({level.name: level.default})
    )


def with_grid_factor(projects: pd.DataFrame, *, city: Any) -> pd.DataFrame:
    """``projects`` with ``grid_region``, ``grid_factor_year`` and ``grid_ef_tco2_per_mwh`` of
    their start year (NaN before the series' first published year)."""
    region = city.factors.grid_region
    factors = elec.grid_factors(
        city.factor_profile("enterprise"),
        [region],
        sorted(projects["start_year"].unique()),
        skip_unpublished=True,
    )[["year", "factor_year", "ef_tco2_per_mwh"]].rename(
        columns={
            "year": "start_year",
            "factor_year": "grid_factor_year",
            "ef_tco2_per_mwh": "grid_ef_tco2_per_mwh",
        }
    )
    out = projects.merge(factors, on="start_year", how="left").assign(grid_region=region)
    out["grid_factor_year"] = out["grid_factor_year"].astype("float64")
    return out


def assess(projects: pd.DataFrame, *, city: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows of the two declared results (without provenance) for ``projects``."""
    rules = rd.reduction_rules()
    reduced = rd.project_reductions(with_grid_factor(projects, city=city), rules)
    invest = reduced["investment_10k_cny"].to_numpy(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = np.where(invest > 0, reduced["reduction_tco2_per_yr"] / invest, np.nan)
    reduced["reduction_per_investment_t_per_10k_cny"] = per
    catalogues = el.catalogue_rules()
    eligible = el.check_eligibility(reduced, catalogues).assign(
        rules=f"green_catalogues@{catalogues['version']}"
    )
    return reduced, eligible


def green_projects(*, city: Any, settings: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Assess every project of the reserve and write both results; InputError when the
    reserve is empty."""
    projects = read_projects(settings=settings)
    if not len(projects):
        raise InputError(
            "the green project reserve is empty (ingest green_projects)",
            source="lake table green_projects",
        )
    reduced, eligible = assess(projects, city=city)
    results.write(GREEN_PROJECT_REDUCTION, reduced, lake=settings.lake)  # its declared method
    results.write(GREEN_PROJECT_ELIGIBILITY, eligible, lake=settings.lake)
    return reduced, eligible


def technology_names() -> pd.DataFrame:
    """id, name_zh, name_en of the techmap catalogue (labels of the project pages)."""
    return tc.technologies()[["id", "name_zh", "name_en"]]


def labels() -> dict[str, dict[str, dict[str, str]]]:
    """Labels of the project pages: project types, evidence and catalogues, code -> {zh, en}."""
    rules = el.catalogue_rules()
    return {
        "project_types": {k: {"zh": v["zh"], "en": v["en"]} for k, v in rd.project_types().items()},
        "evidence": dict(rules["evidence"]),
        "catalogues": {
            k: {"zh": v["title_zh"], "en": v["title_en"]} for k, v in rules["catalogues"].items()
        },
    }
