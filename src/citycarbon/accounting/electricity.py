"""Purchased electricity and heat (scope 2): location-based and market-based.

Location-based: the consumption times the average emission factor of the grid it is drawn from,
for the grid region the city declares (national, regional grid or province of the MEE/NBS
announcements), the latest factor published for a year up to the data year
(:func:`grid_factors` says which year's factor a data year uses).

Market-based: consumption covered by contractual instruments the user records (green-electricity
contracts 绿电交易, renewable energy certificates 绿证) carries the instrument's factor, each
certificate counted once and never more than the consumption (:func:`contractual_cover_mwh`);
the rest carries the residual factor :data:`RESIDUAL_FACTOR`: the MEE/NBS national factor that
excludes market-traded non-fossil electricity (全国电力平均二氧化碳排放因子（不包括市场化交易的
非化石能源电量）), not the grid average, so the green electricity others bought is not counted a
second time in the uncovered consumption's factor.
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
        Factor of uncovered consumption [tCO2/MWh]: in China the MEE/NBS factor excluding
        market-traded non-fossil electricity (:data:`RESIDUAL_FACTOR`).
    contractual_ef_tco2_per_mwh : array-like, default 0
        Factor of the contracted electricity [tCO2/MWh] (0 for wind, solar, hydro).

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (WRI/WBCSD 2015), Ch. 6, market-based method and
        Table 6.3 (market-based scope 2 data hierarchy).
    """
    covered = contractual_cover_mwh(electricity_mwh, contractual_mwh)
    return (
        covered * contractual_ef_tco2_per_mwh
        + (electricity_mwh - covered) * residual_ef_tco2_per_mwh
    )


SCOPE2_FUELS = ("electricity", "heat")
#: (key, context) of ``grid_ef`` for electricity not covered by contractual instruments: the MEE/NBS
#: national factor excluding market-traded non-fossil electricity (cn-mee-grid, 2021 onwards).
RESIDUAL_FACTOR = ("national", "excluding_market_nonfossil")
GRID_FACTOR_COLUMNS = [
    "grid_region",
    "context",
    "year",
    "factor_year",
    "ef_tco2_per_mwh",
    "factor_source",
]


def grid_factors(
    profile: FactorProfile,
    regions,
    years,
    *,
    context: str = "",
    skip_unpublished: bool = False,
) -> pd.DataFrame:
    """The grid factor each data year uses, per grid region, and the year it was published for.

    A data year takes the latest value published for a year up to it (``grid_ef`` is a time
    series): data of 2024 with factors published up to 2023 use the 2023 factor, and
    ``factor_year`` says so.

    Parameters
    ----------
    profile : FactorProfile
        Supplies ``grid_ef`` (key = grid region, e.g. ``national``, ``east_china``, ``fujian``).
    regions : iterable of str
        Grid regions (keys of ``grid_ef``); repeated ones are listed once.
    years : iterable of int
        Data years.
    context : str
        Context of the series ('' = the average of all generation, location-based;
        ``excluding_market_nonfossil`` = the residual factor of :data:`RESIDUAL_FACTOR`).
    skip_unpublished : bool
        Leave out data years before the first published value instead of raising.

    Returns
    -------
    pandas.DataFrame
        grid_region, context, year, factor_year, ef_tco2_per_mwh, factor_source
        (``set@version: source, clause`` of the value used).

    Raises
    ------
    UnknownCodeError
        A region without a value published for a year up to a data year.

    References
    ----------
    [1] 生态环境部、国家统计局 关于发布2021年/2022年/2023年电力二氧化碳排放因子的公告 (national,
        regional and provincial average factors; the national factor excluding market-traded
        non-fossil electricity).
    [2] GHG Protocol Scope 2 Guidance (2015), Ch. 6 (location-based method: the most recent
        factor available, its year disclosed).
    """
    published = profile.rows("grid_ef", context)
    rows = []
    for region in dict.fromkeys(regions):  # a handful of regions x years: factor lookups
        first = published.loc[published["key"] == region, "year"].min()
        for year in sorted({int(y) for y in years}):
            if skip_unpublished and not year >= first:  # NaN first: nothing published
                continue
            p = profile.provenance("grid_ef", region, context=context, year=year)
            value = profile.lookup("grid_ef", region, "tCO2/MWh", context=context, year=year)
            rows.append(
                (
                    region,
                    context,
                    year,
                    int(p["year"]),
                    value,
                    f"{p['set_id']}@{p['set_version']}: {p['source']}, {p['clause']}",
                )
            )
    return pd.DataFrame(rows, columns=GRID_FACTOR_COLUMNS)


def instruments_counted_once(instruments: pd.DataFrame) -> pd.DataFrame:
    """Contractual instruments with every certificate counted once.

    A green-power contract (绿电交易) carries the certificates of its electricity (证电合一), and
    the same certificate may be recorded twice (with the contract and alone, or in two files):
    rows sharing a ``certificate_id`` are one instrument, of which the contract row is kept
    (else the first). Rows without a certificate id are distinct instruments.

    Parameters
    ----------
    instruments : pandas.DataFrame
        ``enterprise_code``, ``mwh`` and optionally ``instrument`` (``green_power_contract`` |
        ``green_certificate``) and ``certificate_id``; other columns are kept.

    Returns
    -------
    pandas.DataFrame
        The rows counted, in their original order.

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (2015), Ch. 7, Scope 2 Quality Criteria (an instrument
        conveys its attributes once and is claimed by one consumer only).
    [2] 国家发展改革委、财政部、国家能源局《关于做好可再生能源绿色电力证书全覆盖工作 促进可再生能源电力
        消费的通知》(发改能源〔2023〕1044号): 绿证 is the sole proof of green-electricity
        consumption; green-power trading transfers the certificate with the electricity.
    """
    if "certificate_id" not in instruments or not len(instruments):
        return instruments
    cert = instruments["certificate_id"].astype("string").str.strip()
    has = cert.notna() & (cert != "")
    rank = (
        (instruments["instrument"] != "green_power_contract").astype(int)
        if "instrument" in instruments
        else pd.Series(0, index=instruments.index)
    )
    order = pd.DataFrame({"cert": cert, "rank": rank, "pos": np.arange(len(instruments))})
    first = order[has].sort_values(["rank", "pos"]).drop_duplicates("cert")["pos"]
    keep = ~has.to_numpy()
    keep[first.to_numpy()] = True
    return instruments[keep]


def contractual_cover_mwh(consumption_mwh, instrument_mwh):
    """Consumption covered by contractual instruments, per consumer [MWh].

    C = min(I, AD): instruments beyond a consumer's own consumption cover nothing (no negative
    scope 2, no transfer of the excess to other consumers); the residual AD - C carries the
    residual factor. A consumer without instruments (NaN) has C = 0.

    Parameters
    ----------
    consumption_mwh : array-like
        Electricity consumed per consumer [MWh] (NaN: not known, then nothing is covered).
    instrument_mwh : array-like
        Instruments per consumer, each counted once (:func:`instruments_counted_once`) [MWh].

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (2015), Ch. 6 and Table 6.3 (market-based method).
    """
    consumed = np.nan_to_num(np.asarray(consumption_mwh, dtype="float64"), nan=0.0)
    bought = np.nan_to_num(np.asarray(instrument_mwh, dtype="float64"), nan=0.0)
    return np.minimum(np.clip(bought, 0.0, None), np.clip(consumed, 0.0, None))


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


def location_sensitivity(
    factors: pd.DataFrame,
    net_imported_mwh: pd.Series,
    consumption_mwh: pd.Series,
    territorial_tco2e: pd.Series,
    declared: str,
) -> pd.DataFrame:
    """The city's scope 2 and total under each grid region's factor (location-based).

    E_net = net imported electricity x EF_r; total_r = territorial + E_net (the city total on
    the basis incl. net imported electricity); change_r = 100 x (total_r / total_declared - 1);
    E_consumed = electricity consumed x EF_r (GPC scope 2 of electricity).

    Parameters
    ----------
    factors : :func:`grid_factors` rows (grid_region, year, factor_year, ef_tco2_per_mwh, ...)
        of the declared region and the regions compared with it (any other columns are kept)
    net_imported_mwh, consumption_mwh, territorial_tco2e : by data year [MWh, MWh, tCO2e]
    declared : the city's declared grid region (its rows are the city's reported figures)

    Returns
    -------
    pandas.DataFrame
        ``factors`` with declared (bool), net_imported_mwh, net_imported_co2_t,
        city_total_tco2e, change_vs_declared_pct, consumption_mwh, consumption_co2_t.

    References
    ----------
    [1] 国家统计局、生态环境部 地区碳排放核算 (净调入电力 x 电力排放因子).
    [2] GHG Protocol Scope 2 Guidance (2015), Ch. 6 (location-based method).
    """
    year = factors["year"].to_numpy()
    out = factors.assign(
        declared=(factors["grid_region"] == declared).to_numpy(),
        net_imported_mwh=net_imported_mwh.reindex(year).to_numpy(),
        consumption_mwh=consumption_mwh.reindex(year).to_numpy(),
    )
    out["net_imported_co2_t"] = electricity_co2_t(out["net_imported_mwh"], out["ef_tco2_per_mwh"])
    out["city_total_tco2e"] = territorial_tco2e.reindex(year).to_numpy() + out["net_imported_co2_t"]
    out["consumption_co2_t"] = electricity_co2_t(out["consumption_mwh"], out["ef_tco2_per_mwh"])
    base = out[out["declared"]].set_index("year")["city_total_tco2e"]
    out["change_vs_declared_pct"] = 100.0 * (
        out["city_total_tco2e"] / base.reindex(year).to_numpy() - 1.0
    )
    return out


def market_based_city(
    city_mwh: pd.Series,
    consumers: pd.DataFrame,
    instruments: pd.DataFrame,
    residual_ef_tco2_per_mwh: pd.Series,
) -> pd.DataFrame:
    """Market-based scope 2 of the city's electricity consumption, per year.

    Per consumer c: C_c = min(I_c, AD_c) with each certificate counted once
    (:func:`instruments_counted_once`, :func:`contractual_cover_mwh`); the city:
    C = min(sum_c C_c, AD), residual R = AD - C, E = C x 0 + R x EF_residual.

    Parameters
    ----------
    city_mwh : electricity consumed in the city by year [MWh]
    consumers : enterprise_code, year, mwh: the consumption of the holders of instruments
        [MWh] (an instrument of a consumer without known consumption covers nothing)
    instruments : enterprise_code, year, mwh [, instrument, certificate_id]
    residual_ef_tco2_per_mwh : the residual factor by year (:data:`RESIDUAL_FACTOR`)

    Returns
    -------
    pandas.DataFrame
        year, consumption_mwh, covered_mwh, residual_mwh, consumption_co2_t.

    References
    ----------
    [1] GHG Protocol Scope 2 Guidance (2015), Ch. 6 and Table 6.3 (market-based method).
    """
    keys = ["enterprise_code", "year"]
    bought = instruments_counted_once(instruments).groupby(keys)["mwh"].sum()
    used = consumers.groupby(keys)["mwh"].sum().reindex(bought.index)
    covered = pd.Series(contractual_cover_mwh(used, bought), index=bought.index)
    by_year = covered.groupby(level="year").sum().reindex(city_mwh.index, fill_value=0.0)
    total = city_mwh.to_numpy(dtype="float64")
    c = contractual_cover_mwh(total, by_year.to_numpy())
    ef = residual_ef_tco2_per_mwh.reindex(city_mwh.index).to_numpy(dtype="float64")
    return pd.DataFrame(
        {
            "year": city_mwh.index.to_numpy(),
            "consumption_mwh": total,
            "covered_mwh": c,
            "residual_mwh": total - c,
            "consumption_co2_t": market_based_electricity_co2_t(total, c, ef),
        }
    )
