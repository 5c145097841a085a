"""The enterprise carbon account (企业碳排放核算), in the structure of the 核算指南.

E_GHG = E_combustion + E_process + E_purchased_electricity + E_purchased_heat

with scope 1 = combustion + process (direct), scope 2 = purchased electricity and heat (indirect),
reported by gas and in CO2e with the profile's GWP set, in total, per output value (万元) and per
unit of product. Every line carries its method and the factor set/version it used.

References
----------
[1] GB/T 32150-2015 工业企业温室气体排放核算和报告通则, 6 (核算步骤与方法), 7 (报告).
[2] 国家发展改革委 《工业其他行业企业温室气体排放核算方法与报告指南（试行）》 (2015), 4 (核算方法):
    E_GHG = E_CO2_燃烧 + E_CO2_碳酸盐 − R_CO2_回收 + E_CO2_净电 + E_CO2_净热.
[3] GHG Protocol Corporate Standard (2004), Ch. 4 (scopes).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.combustion import fuel_combustion_emissions
from citycarbon.accounting.electricity import (
    RESIDUAL_FACTOR,
    SCOPE2_FUELS,
    electricity_co2_t,
    grid_factors,
    instruments_counted_once,
    market_based_electricity_co2_t,
    purchased_energy_emissions,
)
from citycarbon.accounting.gwp import to_co2e
from citycarbon.accounting.inputs import distinct_rows, non_negative, scale_per_unit
from citycarbon.accounting.process import process_emissions, process_gas_masses
from citycarbon.errors import InputError
from citycarbon.factors import FactorProfile, resolve_fuels

GASES = ("CO2", "CH4", "N2O")


def activity_emissions(
    activity: pd.DataFrame,
    profile: FactorProfile,
    *,
    year: int,
    grid_region: str = "national",
    ch4_n2o_context: str = "manufacturing",
) -> pd.DataFrame:
    """Scope 1 combustion and scope 2 purchased-energy emissions of fuel-by-fuel activity rows.

    Parameters
    ----------
    activity : pandas.DataFrame
        Columns ``fuel``, ``quantity``, ``unit`` (plus any others, kept). Fuel rows of electricity
        and heat are purchased energy (scope 2); all others are burnt fuel (scope 1).
    profile : FactorProfile
        Factor values; its :attr:`FactorProfile.version` is written into ``factor_profile``.
    year : int
        Data year (for time-series factors such as the grid factor).

    Returns
    -------
    pandas.DataFrame
        Same index as ``activity``: ``fuel`` (resolved code), ``scope`` (1 or 2), ``energy_gj``,
        ``co2_t``, ``ch4_t``, ``n2o_t``, ``co2e_t``, ``method``, ``factors`` (set@version and
        source of each factor used), ``factor_profile``.
    """
    quantity = non_negative(activity["quantity"])
    keys = [c for c in ("fuel", "unit", "ch4_n2o_context") if c in activity.columns]
    code, distinct = distinct_rows(activity, keys)
    out = scale_per_unit(
        _per_unit(distinct, profile, year, grid_region, ch4_n2o_context),
        code,
        quantity,
        PER_UNIT,
        activity.index,
    )
    out["scope"] = out["scope"].astype("int8")
    out["factor_profile"] = pd.Categorical.from_codes(
        np.zeros(len(out), dtype="int8"), categories=[profile.version]
    )
    return out


PER_UNIT = ("energy_gj", "co2_t", "ch4_t", "n2o_t", "co2e_t")
LINE_COLUMNS = [
    "enterprise_code",
    "category",
    "scope",
    "item",
    "gas",
    "activity",
    "activity_unit",
    "mass_t",
    "co2e_t",
    "method",
    "factors",
    "factor_profile",
]


def _per_unit(
    distinct: pd.DataFrame,
    profile: FactorProfile,
    year: int,
    grid_region: str,
    ch4_n2o_context: str,
) -> pd.DataFrame:
    """Emissions of one unit of quantity for each distinct (fuel, unit, context) row."""
    fuel = resolve_fuels(distinct["fuel"])
    purchased = fuel.isin(SCOPE2_FUELS).to_numpy()
    one = distinct.assign(fuel=fuel.astype(str), quantity=1.0)
    parts = []
    if (~purchased).any():
        comb = fuel_combustion_emissions(one[~purchased], profile, ch4_n2o_context=ch4_n2o_context)
        parts.append(
            comb.assign(
                factors="CO2: "
                + comb["co2_factors"].astype(str)
                + "; CH4/N2O: "
                + comb["ch4_n2o_factors"].astype(str)
                + "; GWP: "
                + comb["gwp_set"].astype(str)
            )
        )
    if purchased.any():
        s2 = purchased_energy_emissions(one[purchased], profile, year=year, grid_region=grid_region)
        cite = {
            f: _cite(profile.provenance(*key, year=year))
            for f, key in (("electricity", ("grid_ef", grid_region)), ("heat", ("heat_ef", "heat")))
            if (s2["fuel"] == f).any()
        }
        parts.append(
            s2.assign(
                co2e_t=s2["co2_t"], ch4_t=0.0, n2o_t=0.0, factors=s2["fuel"].astype(str).map(cite)
            )
        )
    per_unit = pd.concat(
        [
            p[["fuel", *PER_UNIT]].assign(
                method=p["method"].astype(str), factors=p["factors"].astype(str)
            )
            for p in parts
        ]
    ).reindex(distinct.index)
    per_unit["fuel"] = per_unit["fuel"].astype(str)
    per_unit.insert(1, "scope", np.where(purchased, 2, 1))
    return per_unit


def _cite(prov: dict) -> str:
    return (
        f"{prov['set_id']}@{prov['set_version']}: {prov['parameter']}[{prov['key']}] "
        f"{prov['year']} = {prov['value']:g} {prov['unit']} ({prov['source']}, {prov['clause']})"
    )


#: Columns of the 205-1 return (lake table ``energy_monthly``) and the account's names for them.
FORM_205_1 = {"consumed_total": "quantity", "consumed_as_feedstock": "feedstock_quantity"}


def energy_205_1(energy: pd.DataFrame) -> pd.DataFrame:
    """``energy`` with the 205-1 columns (消费量合计 ``consumed_total``, 用作原料、材料
    ``consumed_as_feedstock``) named as the account reads them, where it has no ``quantity``."""
    if "quantity" in energy.columns or "consumed_total" not in energy.columns:
        return energy
    return energy.rename(columns={k: v for k, v in FORM_205_1.items() if k in energy.columns})


def account_lines(
    energy: pd.DataFrame,
    profile: FactorProfile,
    *,
    year: int,
    grid_region: str = "national",
    ch4_n2o_context: str = "manufacturing",
    source: str | None = None,
) -> pd.DataFrame:
    """Account lines of fuel-by-fuel energy use: one line per enterprise, item and gas.

    Parameters
    ----------
    energy : pandas.DataFrame
        Columns ``enterprise_code``, ``fuel``, ``quantity`` (consumed), ``unit`` and optionally
        ``feedstock_quantity`` (用作原料、材料, same unit; not burnt, so not combustion). Rows of
        the 205-1 layout (``consumed_total``, ``consumed_as_feedstock``, as ingested in the
        ``energy_monthly`` lake table) are read as ``quantity`` and ``feedstock_quantity``
        (:func:`energy_205_1`).
    profile, year, grid_region, ch4_n2o_context :
        As for :func:`activity_emissions`.

    Returns
    -------
    pandas.DataFrame
        Columns ``enterprise_code``, ``category`` (fuel_combustion | purchased_electricity |
        purchased_heat), ``scope``, ``item`` (fuel code), ``gas``, ``activity``,
        ``activity_unit``, ``mass_t``, ``co2e_t``, ``method``, ``factor_profile``.
    """
    energy = energy_205_1(energy)
    burnt = energy.copy()
    if "feedstock_quantity" in energy.columns:
        feed = pd.to_numeric(energy["feedstock_quantity"], errors="coerce").fillna(0.0)
        qty = pd.to_numeric(energy["quantity"], errors="coerce")
        over = feed > qty
        if over.any():
            row = energy.index[np.argmax(over.to_numpy())]
            raise InputError(
                "feedstock_quantity exceeds quantity consumed",
                source=source,
                row=row,
                field="feedstock_quantity",
                value=feed[row],
            )
        burnt["quantity"] = qty - feed
    em = activity_emissions(
        burnt, profile, year=year, grid_region=grid_region, ch4_n2o_context=ch4_n2o_context
    )
    gwp = {g: profile.lookup("gwp100", g, "1") for g in ("CH4_non_fossil", "N2O")}
    category = np.where(
        em["scope"] == 1,
        "fuel_combustion",
        np.where(em["fuel"] == "electricity", "purchased_electricity", "purchased_heat"),
    )
    base = pd.DataFrame(
        {
            "enterprise_code": energy["enterprise_code"].to_numpy(),
            "category": category,
            "scope": em["scope"].to_numpy(),
            "item": em["fuel"].astype(str).to_numpy(),
            "activity": burnt["quantity"].to_numpy(dtype="float64"),
            "activity_unit": energy["unit"].astype(str).to_numpy(),
            "method": em["method"].astype(str).to_numpy(),
            "factors": em["factors"].astype(str).to_numpy(),
        }
    )
    parts = [
        base.assign(gas="CO2", mass_t=em["co2_t"].to_numpy(), co2e_t=em["co2_t"].to_numpy()),
        base.assign(
            gas="CH4",
            mass_t=em["ch4_t"].to_numpy(),
            co2e_t=em["ch4_t"].to_numpy() * gwp["CH4_non_fossil"],
        ),
        base.assign(
            gas="N2O", mass_t=em["n2o_t"].to_numpy(), co2e_t=em["n2o_t"].to_numpy() * gwp["N2O"]
        ),
    ]
    lines = pd.concat(parts, ignore_index=True)
    lines = lines[(lines["gas"] == "CO2") | (lines["mass_t"] > 0)]
    lines["factor_profile"] = profile.version
    return lines.reset_index(drop=True)[LINE_COLUMNS]


def process_lines(
    process: pd.DataFrame, profile: FactorProfile, *, source: str | None = None
) -> pd.DataFrame:
    """Account lines of industrial processes (工业生产过程排放), in the :func:`account_lines` layout.

    ``process`` has ``enterprise_code`` and the columns of
    :func:`citycarbon.accounting.process.process_emissions` (process, material, quantity, unit,
    product, optional parameters). Each gas (CO2, F-gases and their by-products) is one line,
    converted to CO2e with the profile's GWP100 set.
    """
    result = process_emissions(process, profile, source=source)
    gases = to_co2e(process_gas_masses(result), profile, source=source)
    src = process.loc[gases["row"].to_numpy()]  # the input row of each gas line
    lines = pd.DataFrame(
        {
            "enterprise_code": src["enterprise_code"].to_numpy(),
            "category": "industrial_process",
            "scope": 1,
            "item": gases["material"].to_numpy(),
            "gas": gases["gas"].astype(str).to_numpy(),
            "activity": pd.to_numeric(src["quantity"]).to_numpy(),
            "activity_unit": src["unit"].astype(str).to_numpy(),
            "mass_t": gases["mass_t"].to_numpy(),
            "co2e_t": gases["co2e_t"].to_numpy(),
            "method": gases["method"].astype(str).to_numpy(),
            "factors": result.loc[gases["row"].to_numpy(), "factors"].astype(str).to_numpy(),
            "factor_profile": profile.version,
        }
    )
    return lines[LINE_COLUMNS]


def account_summary(
    lines: pd.DataFrame,
    profile: FactorProfile,
    *,
    year: int,
    grid_region: str = "national",
    green: pd.DataFrame | None = None,
    output: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Per-enterprise totals: scope 1, scope 2 (location- and market-based), by gas, intensities.

    Parameters
    ----------
    lines : pandas.DataFrame
        From :func:`account_lines` (and process lines in the same layout).
    green : pandas.DataFrame, optional
        Green-electricity records: ``enterprise_code``, ``mwh`` (green power contracts or
        certificates, zero-emission), optionally ``instrument`` and ``certificate_id`` (each
        certificate counted once). Uncovered electricity carries the MEE/NBS factor excluding
        market-traded non-fossil electricity (``RESIDUAL_FACTOR``); market-based scope 2 is NaN
        for a year before the first published value (2021).
    output : pandas.DataFrame, optional
        ``enterprise_code``, ``output_value_10k_cny`` and optionally ``product_quantity`` for
        intensities (per 万元 and per unit of product).

    Returns
    -------
    pandas.DataFrame indexed by ``enterprise_code``: ``scope1_tco2e``, ``scope2_location_tco2e``,
    ``scope2_market_tco2e``, ``total_tco2e`` (scope 1 + location-based scope 2), ``co2_t``,
    ``ch4_t``, ``n2o_t``, ``energy_co2_t`` (CO2 of fuel burnt and of purchased electricity and
    heat, location-based: the platform's enterprise CO2, ``co2_t`` of the result
    ``enterprise_month_fuel_emissions``), ``electricity_mwh``, ``green_mwh``, intensities where
    output is given, ``factor_profile``.
    """
    scope = lines.pivot_table(
        index="enterprise_code", columns="scope", values="co2e_t", aggfunc="sum", fill_value=0.0
    )
    s = pd.DataFrame(index=scope.index)
    s["scope1_tco2e"] = scope[1] if 1 in scope else 0.0
    s["scope2_location_tco2e"] = scope[2] if 2 in scope else 0.0
    gas = lines.pivot_table(
        index="enterprise_code", columns="gas", values="mass_t", aggfunc="sum", fill_value=0.0
    ).reindex(s.index, fill_value=0.0)
    for g in GASES:
        s[f"{g.lower()}_t"] = gas[g] if g in gas else 0.0
    energy_co2 = lines[(lines["category"] != "industrial_process") & (lines["gas"] == "CO2")]
    s["energy_co2_t"] = (
        energy_co2.groupby("enterprise_code")["mass_t"].sum().reindex(s.index, fill_value=0.0)
    )
    power = lines[(lines["category"] == "purchased_electricity") & (lines["gas"] == "CO2")]
    gj = power["activity"] * units.to_base_factors(power["activity_unit"], expect="energy")
    mwh = units.convert(gj.groupby(power["enterprise_code"]).sum(), "GJ", "MWh")
    s["electricity_mwh"] = mwh.reindex(s.index, fill_value=0.0)
    s["green_mwh"] = 0.0
    if green is not None and len(green):
        counted = instruments_counted_once(green)
        s["green_mwh"] = (
            counted.groupby("enterprise_code")["mwh"].sum().reindex(s.index, fill_value=0.0)
        )
    grid = profile.lookup("grid_ef", grid_region, "tCO2e/MWh", year=year)
    key, context = RESIDUAL_FACTOR
    rf = grid_factors(profile, [key], [year], context=context, skip_unpublished=True)
    residual = rf["ef_tco2_per_mwh"].iloc[0] if len(rf) else np.nan
    heat = s["scope2_location_tco2e"] - electricity_co2_t(s["electricity_mwh"], grid)
    s["scope2_market_tco2e"] = heat + market_based_electricity_co2_t(
        s["electricity_mwh"], s["green_mwh"], residual
    )
    s["total_tco2e"] = s["scope1_tco2e"] + s["scope2_location_tco2e"]
    if output is not None and len(output):
        o = output.groupby("enterprise_code").sum(numeric_only=True).reindex(s.index)
        s["output_value_10k_cny"] = o["output_value_10k_cny"]
        s["tco2e_per_10k_cny"] = s["total_tco2e"] / s["output_value_10k_cny"]
        if "product_quantity" in o:
            s["product_quantity"] = o["product_quantity"]
            s["tco2e_per_product_unit"] = s["total_tco2e"] / s["product_quantity"]
    s["factor_profile"] = profile.version
    return s
