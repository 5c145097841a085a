"""Expected annual CO2 reduction of green projects, per project type, as banks disclose it for
loans under the PBoC carbon-emission-reduction facility (碳减排支持工具).

Methods (``finance/data/project_reduction.yaml``, one per project type):

- ``renewable_generation``: R = G x EF_grid — annual generation [MWh] displacing grid power at
  the city's declared grid factor [tCO2/MWh];
- ``energy_saving``: R = S x EF_tce — energy saved [tce] at a CO2 factor per tce [tCO2/tce];
- ``fuel_switch_to_electricity``: R = F x EF_tce - E x EF_grid — fossil fuel replaced [tce]
  less the electricity added [MWh] at the grid factor;
- ``none``: no reduction credited (e.g. storage, which shifts load).

References
----------
[1] 中国人民银行《关于推出碳减排支持工具有关事宜的通知》（银发〔2021〕278号） (facility and disclosure
    duty; the per-type formulas follow common practice, the notice was not consulted for them).
[2] MEE/NBS electricity CO2 factor announcements (the grid factor series ``grid_ef``).
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.errors import InputError

RULES_FILE = Path(__file__).parent / "data" / "project_reduction.yaml"
METHODS = ("renewable_generation", "energy_saving", "fuel_switch_to_electricity", "none")
ACTIVITY_COLUMNS = (
    "annual_generation_mwh",
    "energy_saved_tce",
    "fuel_replaced_tce",
    "added_electricity_mwh",
)


@cache
def reduction_rules(path: Path = RULES_FILE) -> Mapping[str, Any]:
    """The reduction rules file, checked: every project type names a known method and activity
    columns, the CO2 factor per tce has a unit and a source or ``assumption`` label."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    factor = data["co2_per_tce"]
    if factor.get("unit") != "tCO2/tce" or not (
        factor.get("source") or factor.get("source_status") == "assumption"
    ):
        raise InputError("co2_per_tce needs unit tCO2/tce and a source", source=path.name)
    for code, spec in data["project_types"].items():
        if spec["method"] not in METHODS or not set(spec["activity"]) <= set(ACTIVITY_COLUMNS):
            raise InputError(f"project type {code}: unknown method or activity", source=path.name)
    return data


def project_types(path: Path = RULES_FILE) -> dict[str, dict[str, Any]]:
    """Project type code -> {zh, en, method, activity}."""
    return dict(reduction_rules(path)["project_types"])


def renewable_generation_reduction_tco2(generation_mwh, grid_ef_tco2_per_mwh):
    """CO2 avoided by renewable generation displacing grid power, tCO2 per year.

    R = G x EF_grid

    Parameters
    ----------
    generation_mwh : array-like   annual generation delivered [MWh]
    grid_ef_tco2_per_mwh : array-like   grid emission factor of the declared basis [tCO2/MWh]

    References
    ----------
    [1] 中国人民银行 碳减排支持工具 (银发〔2021〕278号), disclosure of the reduction per project.
    """
    return generation_mwh * grid_ef_tco2_per_mwh


def energy_saving_reduction_tco2(saved_tce, co2_tco2_per_tce):
    """CO2 avoided by an energy saving, tCO2 per year.

    R = S x EF_tce

    Parameters
    ----------
    saved_tce : array-like   annual energy saved [tce]
    co2_tco2_per_tce : array-like   CO2 per tonne of standard coal equivalent [tCO2/tce]

    References
    ----------
    [1] 中国人民银行 碳减排支持工具 (银发〔2021〕278号), disclosure of the reduction per project.
    """
    return saved_tce * co2_tco2_per_tce


def fuel_switch_reduction_tco2(
    fuel_replaced_tce, co2_tco2_per_tce, added_electricity_mwh, grid_ef_tco2_per_mwh
):
    """Net CO2 avoided by replacing fossil fuel with electricity, tCO2 per year.

    R = F x EF_tce - E x EF_grid

    Parameters
    ----------
    fuel_replaced_tce : array-like   fossil fuel no longer burnt [tce/yr]
    co2_tco2_per_tce : array-like   CO2 per tce of the replaced fuel [tCO2/tce]
    added_electricity_mwh : array-like   electricity used instead [MWh/yr]
    grid_ef_tco2_per_mwh : array-like   grid emission factor [tCO2/MWh]

    References
    ----------
    [1] 中国人民银行 碳减排支持工具 (银发〔2021〕278号), disclosure of the reduction per project.
    """
    return fuel_replaced_tce * co2_tco2_per_tce - added_electricity_mwh * grid_ef_tco2_per_mwh


def project_reductions(projects: pd.DataFrame, rules: Mapping[str, Any]) -> pd.DataFrame:
    """Expected annual reduction of every project.

    ``projects`` has ``project_type``, the activity columns (:data:`ACTIVITY_COLUMNS`, NaN where
    not given) and ``grid_ef_tco2_per_mwh`` (NaN where no factor is published for the year).
    Returns ``projects`` with ``reduction_method``, ``co2_per_tce_tco2_per_tce`` and
    ``reduction_tco2_per_yr`` (NaN where an activity the method needs, or the grid factor, is
    missing; 0 for the method ``none``).
    """
    types = rules["project_types"]
    method = projects["project_type"].map({k: v["method"] for k, v in types.items()})
    ef_tce = float(rules["co2_per_tce"]["value"])
    grid = projects["grid_ef_tco2_per_mwh"].to_numpy(float)

    def col(name: str) -> np.ndarray:
        return projects[name].to_numpy(float)

    value = np.select(
        [
            method == "renewable_generation",
            method == "energy_saving",
            method == "fuel_switch_to_electricity",
            method == "none",
        ],
        [
            renewable_generation_reduction_tco2(col("annual_generation_mwh"), grid),
            energy_saving_reduction_tco2(col("energy_saved_tce"), ef_tce),
            fuel_switch_reduction_tco2(
                col("fuel_replaced_tce"), ef_tce, col("added_electricity_mwh"), grid
            ),
            0.0,
        ],
        default=np.nan,
    )
    return projects.assign(
        reduction_method=method.fillna("").to_numpy(),
        co2_per_tce_tco2_per_tce=ef_tce,
        reduction_tco2_per_yr=value,
    )
