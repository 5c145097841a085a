"""Purchased electricity and heat (scope 2): location-based and market-based.

Location-based: the consumption times the average emission factor of the grid it is drawn from.
Market-based: consumption covered by contractual instruments the user records (green-electricity
contracts 绿电交易, renewable energy certificates 绿证) carries the instrument's factor; the rest
carries a residual-mix factor (where none is published, the grid average, as the Scope 2 Guidance
allows, which overstates nothing but double-counts the contracted renewables in the average).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.inputs import non_negative
from citycarbon.errors import InputError
from citycarbon.factors import FactorProfile, resolve_fuels


def electricity_co2_t(electricity_mwh, grid_ef_tco2_per_mwh):
    """Location-based CO2 of purchased electricity, tonnes.

    E = AD_electricity x EF_grid

    Parameters
    ----------
    electricity_mwh : array-like
        Net purchased electricity [MWh].
    grid_ef_tco2_per_mwh : array-like
        Grid average CO2 emission factor [tCO2/MWh].

    References
    ----------
    [1] GB/T 32150-2015 工业企业温室气体排放核算和报告通则, 6.7 (购入的电力、热力产生的排放).
    [2] GHG Protocol Scope 2 Guidance (WRI/WBCSD 2015), Ch. 6, location-based method.
    """
    return electricity_mwh * grid_ef_tco2_per_mwh


def heat_co2_t(heat_gj, heat_ef_tco2_per_gj):
    """CO2 of purchased heat (steam, hot water), tonnes.

    E = AD_heat x EF_heat

    Parameters
    ----------
    heat_gj : array-like
        Net purchased heat [GJ].
    heat_ef_tco2_per_gj : array-like
        Heat emission factor [tCO2/GJ] (the 核算指南 default is 0.11 tCO2/GJ).

    References
    ----------
    [1] GB/T 32150-2015, 6.7.
    """
    return heat_gj * heat_ef_tco2_per_gj


def market_based_electricity_co2_t(
    electricity_mwh,
    contractual_mwh,
    residual_ef_tco2_per_mwh,
    contractual_ef_tco2_per_mwh=0.0,
):
    """Market-based CO2 of purchased electricity, tonnes.

    E = min(C, AD) x EF_contract + max(AD - C, 0) x EF_residual

    Contractual instruments beyond consumption are not counted (no negative scope 2).

    Parameters
    ----------
    electricity_mwh : array-like
        Purchased electricity [MWh].
    contractual_mwh : array-like
        Electricity covered by contractual instruments (green power, certificates) [MWh].
    residual_ef_tco2_per_mwh : array-like
        Residual-mix factor for uncovered consumption [tCO2/MWh].
    contractual_ef_tco2_per_mwh : array-like, default 0
        Factor of the contracted electricity [tCO2/MWh] (0 for wind, solar, hydro).

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (WRI/WBCSD 2015), Ch. 6, market-based method and
        Table 6.3 (market-based scope 2 data hierarchy).
    """
    covered = np.minimum(contractual_mwh, electricity_mwh)
    return (
        covered * contractual_ef_tco2_per_mwh
        + (electricity_mwh - covered) * residual_ef_tco2_per_mwh
    )


SCOPE2_FUELS = ("electricity", "heat")


def purchased_energy_emissions(
    activity: pd.DataFrame, profile: FactorProfile, *, year: int, grid_region: str = "national"
) -> pd.DataFrame:
    """Location-based scope 2 of purchased electricity and heat rows, tonnes CO2.

    Parameters
    ----------
    activity : pandas.DataFrame
        Columns ``fuel`` (``electricity`` or ``heat``, any spelling :func:`resolve_fuels` knows),
        ``quantity`` and ``unit`` (any energy unit: 万千瓦时, MWh, GJ, 百万千焦 ...).
    profile : citycarbon.factors.FactorProfile
        Supplies ``grid_ef`` (key ``grid_region``) and ``heat_ef`` (key ``heat``) for ``year``.
    year : int
        Data year; time-series factors take the latest value published for a year <= it.
    grid_region : str
        Key of the grid factor series (``national``, a regional grid or a province).

    Returns
    -------
    pandas.DataFrame
        Same index: ``energy_mwh`` (electricity) / ``energy_gj`` (heat), ``co2_t``, ``ef`` and
        ``ef_unit``, ``method``.
    """
    fuel = resolve_fuels(activity["fuel"])
    other = ~fuel.isin(SCOPE2_FUELS)
    if other.any():
        row = activity.index[np.argmax(other.to_numpy())]
        raise InputError(
            f"{fuel[row]!r} is not purchased electricity or heat",
            row=row,
            field="fuel",
            value=activity.at[row, "fuel"],
        )
    quantity = non_negative(activity["quantity"])
    energy_gj = quantity * units.to_base_factors(activity["unit"], expect="energy")
    is_power = (fuel == "electricity").to_numpy()
    grid = profile.lookup("grid_ef", grid_region, "tCO2e/MWh", year=year) if is_power.any() else 0.0
    heat = profile.lookup("heat_ef", "heat", "tCO2e/GJ", year=year) if (~is_power).any() else 0.0
    mwh = units.convert(energy_gj, "GJ", "MWh")
    co2 = np.where(is_power, electricity_co2_t(mwh, grid), heat_co2_t(energy_gj, heat))
    return pd.DataFrame(
        {
            "fuel": fuel,
            "energy_gj": energy_gj,
            "energy_mwh": mwh,
            "co2_t": co2,
            "ef": np.where(is_power, grid, heat),
            "ef_unit": _labels(is_power, "tCO2/MWh", "tCO2/GJ"),
            "method": _labels(
                is_power, f"location-based, grid_ef[{grid_region}]", "purchased heat, heat_ef"
            ),
        },
        index=activity.index,
    )


def _labels(is_power: np.ndarray, power: str, heat: str) -> pd.Categorical:
    return pd.Categorical.from_codes(np.where(is_power, 0, 1), categories=[power, heat])
