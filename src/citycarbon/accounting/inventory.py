"""City GHG inventory: IPCC sectors, GPC scopes and totals, accounting bases, roll-ups, indicators.

Top-down (city): fuel combustion by IPCC source category from the energy balance
(:mod:`citycarbon.accounting.balance`): fuels burnt in power and heat plants (加工转换投入 of
火力发电 and 供热) are 1.A.1; final consumption of industry (less 用作原料、材料) and construction
is 1.A.2, transport 1.A.3, trade, hotels and other services 1.A.4.a, households 1.A.4.b,
agriculture 1.A.4.c. Inputs of other transformation (refining, coking, gas works) are not burnt:
their carbon is counted where the products are burnt. Electricity and heat are not combusted.

Accounting bases (both complete inventories, labelled per row):

- ``territorial``: emissions inside the city boundary (scope 1; production-based, 省级温室气体
  清单编制指南 boundary).
- ``incl_net_imported_electricity``: territorial plus net imported electricity (调入 - 调出 of
  electricity in the balance) x grid factor, as a scope-2 row (sector ``S2.1``); negative for a
  net exporter. This is the basis of China's regional carbon accounting of energy CO2.

Sectors without data are reported with a GPC notation key, never as a silent zero: ``NE`` (not
estimated) with NaN emissions.

Bottom-up roll-ups (district, park, industry, enterprise) count each enterprise once, by its
own registry attributes; at every level the entities plus an ``unattributed`` entity (city
minus the sum of the entities) add up to the city, so coverage and the residual are explicit.

References
----------
[1] 国家发展改革委《省级温室气体清单编制指南（试行）》(2011), 第一章 能源活动.
[2] IPCC 2006 Guidelines, Vol. 1 Ch. 8 (reporting, notation keys), Vol. 2 Ch. 2 (stationary
    combustion, source categories 1.A.1-1.A.4).
[3] WRI, C40, ICLEI (2021) Global Protocol for Community-Scale GHG Emission Inventories (GPC)
    v1.1, notation keys; the GPC reporting framework is :mod:`citycarbon.accounting.gpc`.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.balance import DATA_DIR, balance_items, item_of_industry
from citycarbon.accounting.combustion import fuel_combustion_emissions
from citycarbon.accounting.electricity import electricity_co2_t
from citycarbon.accounting.gwp import gwp_values
from citycarbon.accounting.ippu import category_names
from citycarbon.factors import FactorProfile, fuels

GASES = ("CO2", "CH4", "N2O")
FGASES = ("HFCs", "PFCs", "SF6", "NF3")
BASES = ("territorial", "incl_net_imported_electricity")
NOT_COMBUSTED = ("electricity", "heat")
NET_IMPORT_SECTOR = "S2.1"
#: Sectors with no activity data in a city without IPPU, AFOLU and waste inputs.
NOT_ESTIMATED = ("1.B", "2", "3", "4")
LEVELS = ("city", "district", "park", "industry", "enterprise")
UNATTRIBUTED = "unattributed"
INVENTORY_COLUMNS = [
    "region_code",
    "level",
    "entity_code",
    "entity_name",
    "year",
    "month",
    "sector",
    "sector_name_zh",
    "sector_name_en",
    "gas",
    "scope",
    "basis",
    "emissions_t",
    "emissions_tco2e",
    "notation_key",
]


@cache
def inventory_sectors() -> pd.DataFrame:
    """IPCC source categories of the inventory rows with their names (zh, en) and scope."""
    t = pd.read_csv(DATA_DIR / "inventory_sectors.csv", dtype=str, keep_default_na=False)
    t["scope"] = t["scope"].astype("int64")
    return t.set_index("code")


@cache
def ipcc_categories() -> pd.DataFrame:
    """Names (zh, en) of IPCC categories below those of :func:`inventory_sectors`: IPPU
    sub-categories (IPCC 2006 Vol. 3 Table 1.1; 省级清单指南 工业生产过程) and the sink rows'
    land categories, by code."""
    return pd.read_csv(
        DATA_DIR / "ipcc_categories.csv", dtype=str, keep_default_na=False
    ).set_index("code")


def category_names_by_code() -> pd.DataFrame:
    """``zh`` and ``en`` names of every IPCC code the inventory and its tables use: those of
    :func:`inventory_sectors`, then :func:`ipcc_categories`."""
    names = pd.concat([inventory_sectors()[["zh", "en"]], ipcc_categories()[["zh", "en"]]])
    return names[~names.index.duplicated()]


def combustion_activity(balance: pd.DataFrame) -> pd.DataFrame:
    """Fuel burnt per region, year, fuel and IPCC source category, from a completed balance.

    burnt = final consumption of the item (industry less 其中：用作原料、材料), or the input
    (-q) of 火力发电 and 供热; fuels electricity and heat excluded.

    Parameters
    ----------
    balance : output of :func:`citycarbon.accounting.balance.complete_balance`

    Returns
    -------
    pandas.DataFrame
        region_code, year, fuel, item, sector, ch4_n2o_context, quantity (> 0, statistical unit).

    References
    ----------
    省级温室气体清单编制指南（试行）, 第一章 (化石燃料燃烧: 分部门、分品种的燃料燃烧量, 扣除
    用作原料、材料); IPCC 2006 Vol. 2, 1.3 (non-energy use excluded from combustion).
    """
    items = balance_items()
    b = balance[~balance["fuel"].isin(NOT_COMBUSTED)]
    top_final = items.index[(items["parent"] == "final") & (items["group"] == "final")]
    burnt_in = ["thermal_power", "heating"]
    keys = ["region_code", "year", "fuel"]
    wide = b.pivot_table(index=keys, columns="item", values="quantity", aggfunc="sum")
    wide = wide.reindex(columns=items.index, fill_value=0.0).fillna(0.0)
    q = wide[list(top_final) + burnt_in].copy()
    q["industry"] = (wide["industry"] - wide["industry_feedstock"]).clip(lower=0.0)
    q[burnt_in] = (-wide[burnt_in]).clip(lower=0.0)
    q.columns.name = "item"
    long = q.stack().rename("quantity").reset_index()
    long = long[long["quantity"] > 0]
    long["sector"] = items["ipcc_sector"].reindex(long["item"]).to_numpy()
    long["ch4_n2o_context"] = items["ch4_n2o_context"].reindex(long["item"]).to_numpy()
    return long.reset_index(drop=True)


def combustion_gases(
    activity: pd.DataFrame, profile: FactorProfile, stat_units: pd.Series
) -> pd.DataFrame:
    """CO2, CH4 and N2O of fuel burnt, long by gas, tonnes and tCO2e.

    CO2 by the guideline method (AD x NCV x CC x OF x 44/12) or IPCC Tier 1 as the profile
    allows (:func:`citycarbon.accounting.combustion.fuel_combustion_emissions`); CH4 and N2O by
    the stationary-combustion factors of the row's source category. Rows without a category
    (transport, 1.A.3: the profile has no mobile-source factors) or whose fuel has no CH4/N2O
    factor in the category get CH4 and N2O as ``NE`` (NaN), never zero.

    Parameters
    ----------
    activity : frame with fuel, quantity (statistical unit), ch4_n2o_context ('' = none)
        and any grouping columns (kept)
    profile : factor profile (NCV, carbon content, oxidation, CO2/CH4/N2O factors, GWP100)
    stat_units : fuels.csv ``stat_unit`` by fuel code

    Returns
    -------
    pandas.DataFrame
        The activity columns (without quantity) and gas, emissions_t, emissions_tco2e,
        notation_key, scope (1).

    References
    ----------
    GB/T 32150-2015, 6.4; IPCC 2006 Vol. 2 Ch. 2, eq. 2.1 and Tables 2.2-2.5.
    """
    if activity.empty:
        return pd.DataFrame(columns=[*activity.columns, "gas", "emissions_t", "emissions_tco2e"])
    ctx = activity["ch4_n2o_context"].fillna("").astype(str).reset_index(drop=True)
    fuel = activity["fuel"].astype(str).reset_index(drop=True)
    ipcc = fuels()["ipcc_fuel"].reindex(fuel).fillna("").to_numpy()
    t = profile.table
    both = set()
    for gas_parameter in ("ch4_ef", "n2o_ef"):  # which (key, category) pairs have factors
        rows = t[t["parameter"] == gas_parameter]
        pairs = set(zip(rows["key"], rows["context"], strict=True))
        both = pairs if not both else both & pairs
    pairs = [f"{k}|{c}" for k, c in both]  # factor rows, not data rows
    known = np.isin(pd.Series(ipcc).str.cat(ctx, sep="|").to_numpy(), pairs) | np.isin(
        fuel.str.cat(ctx, sep="|").to_numpy(), pairs
    )
    no_factor = ~known
    act = pd.DataFrame(
        {
            "fuel": fuel.to_numpy(),
            "quantity": activity["quantity"].to_numpy(),
            "unit": stat_units.reindex(fuel).to_numpy(),
            # placeholder category where the profile has none; its CH4/N2O are reported NE
            "ch4_n2o_context": ctx.where(known, "energy_industries").to_numpy(),
        }
    )
    em = fuel_combustion_emissions(act, profile, tier1=True, source="energy balance")
    gwp = dict(
        zip(
            ["CO2", "CH4", "N2O"],
            gwp_values(["CO2", "CH4_non_fossil", "N2O"], profile),
            strict=True,
        )
    )
    keep = activity.drop(columns=["quantity"]).reset_index(drop=True)
    parts = []
    for gas, col in zip(GASES, ("co2_t", "ch4_t", "n2o_t"), strict=True):  # three gases
        mass = em[col].to_numpy(dtype="float64")
        ne = no_factor if gas != "CO2" else np.zeros(len(mass), dtype=bool)
        mass = np.where(ne, np.nan, mass)
        parts.append(
            keep.assign(
                gas=gas,
                emissions_t=mass,
                emissions_tco2e=mass * gwp[gas],
                notation_key=np.where(ne, "NE", ""),
                scope=1,
            )
        )
    return pd.concat(parts, ignore_index=True)


def enterprise_sectors(industry_code) -> pd.DataFrame:
    """IPCC source category and CH4/N2O factor category of enterprises by their industry.

    The industry's IPCC sector (:func:`citycarbon.accounting.balance.item_of_industry`: 1.A.1
    power and heat plants, 1.A.2 industry and construction, 1.A.3 transport, 1.A.4.a/b/c) and
    the stationary-combustion category the balance items of that sector use for CH4 and N2O
    (balance_items.csv; '' for transport: no mobile-source factors, CH4 and N2O then NE), as
    the top-down inventory uses them.

    Returns
    -------
    pandas.DataFrame
        Same index: ``sector``, ``ch4_n2o_context``.
    """
    booked = item_of_industry(industry_code)
    items = balance_items()[["ipcc_sector", "ch4_n2o_context"]].fillna("")
    items = items[items["ipcc_sector"] != ""].drop_duplicates("ipcc_sector")  # one per sector
    context = items.set_index("ipcc_sector")["ch4_n2o_context"]
    return pd.DataFrame(
        {
            "sector": booked["ipcc_sector"].to_numpy(),
            "ch4_n2o_context": context.reindex(booked["ipcc_sector"]).fillna("").to_numpy(),
        },
        index=booked.index,
    )


def enterprise_sector_gases(
    accounts: pd.DataFrame,
    burnt: pd.DataFrame,
    sectors: pd.DataFrame,
    profile: FactorProfile,
    stat_units: pd.Series,
) -> pd.DataFrame:
    """Enterprise emissions per month, IPCC sector, gas and scope, from the enterprise accounts.

    The CO2 is the enterprise account's, never recomputed: scope 1 = ``combustion_co2_t`` (fossil
    fuel burnt less feedstock, GB/T 32150-2015 6.4) in the enterprise's sector, scope 2 =
    ``electricity_co2_t`` (location-based, 6.7) as net imported electricity (``S2.1``). CH4 and
    N2O of the same fuel burnt by the sector's stationary-combustion factors (:func:`combustion_gases`),
    NE (NaN) where the profile has none. Purchased heat has no row: the city inventory counts
    heat where it is produced (1.A.1).

    Parameters
    ----------
    accounts : enterprise_code, year, month, combustion_co2_t, electricity_co2_t [t]
        (the ``enterprise_month_fuel_emissions`` result)
    burnt : enterprise_code, year, month, fuel, quantity (burnt, statistical unit, > 0)
    sectors : by enterprise_code, ``sector`` and ``ch4_n2o_context`` (:func:`enterprise_sectors`)
    profile : factor profile (CH4/N2O factors, GWP100)
    stat_units : fuels.csv ``stat_unit`` by fuel code

    Returns
    -------
    pandas.DataFrame
        enterprise_code, year, month, sector, gas, scope, emissions_t, emissions_tco2e,
        notation_key ('NE' where not estimated).
    """
    keys = ["enterprise_code", "year", "month"]
    out_keys = [*keys, "sector", "gas", "scope"]
    code = burnt["enterprise_code"].astype(str)
    act = pd.DataFrame(
        {
            "enterprise_code": pd.Categorical(code.to_numpy()),
            "year": burnt["year"].to_numpy(dtype="int64"),
            "month": burnt["month"].to_numpy(dtype="int64"),
            "sector": sectors["sector"].reindex(code).to_numpy(),
            "fuel": burnt["fuel"].to_numpy(),
            "quantity": burnt["quantity"].to_numpy(dtype="float64"),
            "ch4_n2o_context": sectors["ch4_n2o_context"].reindex(code).fillna("").to_numpy(),
        }
    )
    gases = combustion_gases(act, profile, stat_units)
    gases = gases[gases["gas"] != "CO2"] if len(gases) else gases
    other = gases.groupby(out_keys, as_index=False, observed=True)[
        ["emissions_t", "emissions_tco2e"]
    ].sum(min_count=1)
    other["enterprise_code"] = other["enterprise_code"].astype(str)
    acc = accounts.assign(
        enterprise_code=accounts["enterprise_code"].astype(str),
        year=accounts["year"].astype("int64"),
        month=accounts["month"].astype("int64"),
    )
    # scope 1 CO2 where fuel was burnt (a biomass-only month keeps its fossil CO2 of 0)
    where_burnt = pd.MultiIndex.from_frame(other[keys].drop_duplicates())
    s1 = acc[pd.MultiIndex.from_frame(acc[keys]).isin(where_burnt)]
    s1 = s1[keys].assign(
        sector=sectors["sector"].reindex(s1["enterprise_code"]).to_numpy(),
        gas="CO2",
        scope=1,
        emissions_t=s1["combustion_co2_t"].to_numpy(dtype="float64"),
    )
    s2 = acc[acc["electricity_co2_t"].fillna(0.0) != 0.0]
    s2 = s2[keys].assign(
        sector=NET_IMPORT_SECTOR,
        gas="CO2",
        scope=2,
        emissions_t=s2["electricity_co2_t"].to_numpy(dtype="float64"),
    )
    co2 = pd.concat([s1, s2], ignore_index=True)
    co2["emissions_tco2e"] = co2["emissions_t"] * gwp_values(["CO2"], profile)[0]
    out = pd.concat([co2, other], ignore_index=True)
    out["scope"] = out["scope"].astype("int64")
    out["notation_key"] = np.where(out["emissions_t"].isna(), "NE", "")
    return out.sort_values(out_keys, ignore_index=True)


def net_imported_electricity_rows(
    balance: pd.DataFrame, grid_ef_tco2_per_mwh: pd.Series
) -> pd.DataFrame:
    """Scope-2 CO2 of net imported electricity per region and year.

    E = (inflow + import - outflow - export) [MWh] x EF_grid (year), signed: a net exporter
    gets a negative row (electricity generated here and used elsewhere).

    Parameters
    ----------
    balance : completed balance (electricity rows in 10^4 kWh)
    grid_ef_tco2_per_mwh : grid factor by year

    References
    ----------
    国家统计局、生态环境部 地区碳排放核算 (净调入电力隐含的二氧化碳排放 = 净调入电量 x 电力
    排放因子); GHG Protocol Scope 2 Guidance (2015), location-based method.
    """
    e = balance[(balance["fuel"] == "electricity")]
    e = e[e["item"].isin(["inflow", "import", "outflow", "export"])]
    net = e.groupby(["region_code", "year"], as_index=False)["quantity"].sum()
    mwh = units.convert(net["quantity"].to_numpy(), "10^4 kWh", "MWh")
    ef = grid_ef_tco2_per_mwh.reindex(net["year"]).to_numpy()
    co2 = electricity_co2_t(mwh, ef)
    return net.drop(columns="quantity").assign(
        sector=NET_IMPORT_SECTOR,
        gas="CO2",
        emissions_t=co2,
        emissions_tco2e=co2,
        notation_key="",
        scope=2,
        net_imported_mwh=mwh,
    )


def not_estimated_rows(region_code: str, years, sectors=NOT_ESTIMATED) -> pd.DataFrame:
    """Rows with notation key NE for sectors without activity data (NaN emissions, not zero).

    Every gas of the sector is listed: CO2, CH4, N2O, and for IPPU (2) also the fluorinated
    gas groups HFCs, PFCs, SF6 and NF3 (GPC: all seven Kyoto gases)."""
    years = list(years)
    pairs = [(s, g) for s in sectors for g in (GASES + FGASES if s == "2" else GASES)]
    grid = pd.DataFrame(
        [(y, s, g) for y in years for s, g in pairs], columns=["year", "sector", "gas"]
    )  # a handful of years x sectors x gases
    return grid.assign(
        region_code=region_code,
        emissions_t=np.nan,
        emissions_tco2e=np.nan,
        notation_key="NE",
        scope=1,
    )


def with_bases(scope1: pd.DataFrame, scope2: pd.DataFrame) -> pd.DataFrame:
    """Both accounting bases: territorial = scope 1; incl_net_imported_electricity = scope 1 +
    the scope-2 rows. Each basis is a complete inventory (filter on ``basis`` before summing)."""
    return pd.concat(
        [
            scope1.assign(basis="territorial"),
            scope1.assign(basis="incl_net_imported_electricity"),
            scope2.assign(basis="incl_net_imported_electricity"),
        ],
        ignore_index=True,
    )


def label_sectors(rows: pd.DataFrame) -> pd.DataFrame:
    """Add ``sector_name_zh`` (IPCC / 清单指南 name; an IPPU category by the product map's
    name) and ``sector_name_en`` (IPCC name; empty for a code no table names) from
    :func:`category_names_by_code`."""
    known = category_names_by_code()
    en = rows["sector"].map(known["en"]).fillna("")
    detail = {"1.A.4.a": "商业和公共机构", "1.A.4.b": "居民生活", "1.A.4.c": "农林牧渔业"}

    zh = rows["sector"].map(inventory_sectors()["zh"]).fillna(rows["sector"].map(detail))
    zh = zh.fillna(rows["sector"].map(category_names())).fillna(rows["sector"].map(known["zh"]))
    return rows.assign(sector_name_zh=zh.fillna(""), sector_name_en=en)


def roll_up(
    rows: pd.DataFrame,
    city: pd.DataFrame,
    entity_column: str,
    *,
    level: str,
    names: pd.Series | None = None,
    keys: tuple[str, ...] = ("year", "sector", "gas", "scope", "basis"),
) -> pd.DataFrame:
    """Sum enterprise rows by an entity column and close them on the city total.

    Each enterprise row carries one value of ``entity_column`` (its district, park, industry
    or own code; empty = outside any, e.g. no park), so it is counted exactly once. The
    ``unattributed`` entity holds city - sum of the entities per ``keys``; entities plus
    unattributed add up to the city by construction.

    Parameters
    ----------
    rows : enterprise-level rows (emissions_t, emissions_tco2e, keys, entity_column)
    city : city-level rows on the same keys (yearly)
    entity_column : column of ``rows`` naming the entity
    level : 'district' | 'park' | 'industry' | 'enterprise'
    names : entity names by code (optional)

    Returns
    -------
    pandas.DataFrame
        level, entity_code, entity_name, keys, emissions_t, emissions_tco2e, notation_key.
    """
    keys = list(keys)
    vals = ["emissions_t", "emissions_tco2e"]
    ent = rows.assign(entity_code=rows[entity_column].fillna("").astype(str))
    ent.loc[ent["entity_code"] == "", "entity_code"] = f"no_{level}"
    by = ent.groupby(["entity_code", *keys], as_index=False, observed=True)[vals].sum(min_count=1)
    covered = by.groupby(keys, observed=True)[vals].sum(min_count=1)
    top = city.groupby(keys, observed=True)[vals].sum(min_count=1)
    rest = top.sub(covered.reindex(top.index).fillna(0.0)).reset_index()
    rest = rest.assign(entity_code=UNATTRIBUTED)
    out = pd.concat([by, rest], ignore_index=True).assign(level=level, notation_key="")
    name_map = names if names is not None else pd.Series(dtype=object)
    out["entity_name"] = out["entity_code"].map(name_map).fillna("")
    out.loc[out["entity_code"] == UNATTRIBUTED, "entity_name"] = "未归属（城市总量 - 自下而上合计）"
    out.loc[out["entity_code"] == f"no_{level}", "entity_name"] = f"不属于任何{_LEVEL_ZH[level]}"
    return out


_LEVEL_ZH = {"district": "区", "park": "园区", "industry": "行业", "enterprise": "企业"}


def spread_over_months(yearly: pd.DataFrame, months: pd.DataFrame) -> pd.DataFrame:
    """Monthly city rows: covered enterprises' own months plus the rest spread by days.

    city(y, m) = covered(y, m) + (city(y) - covered(y)) x days(m) / days(y), per sector, gas,
    scope and basis. The remainder has no monthly data of its own: spreading by days is an
    assumption, labelled in the result's method.

    Parameters
    ----------
    yearly : city rows (year, sector, gas, scope, basis, emissions_t, emissions_tco2e)
    months : covered enterprise rows with a ``month`` column on the same keys
    """
    keys = ["year", "sector", "gas", "scope", "basis"]
    vals = ["emissions_t", "emissions_tco2e"]
    covered_m = months.groupby([*keys, "month"], as_index=False)[vals].sum(min_count=1)
    covered_y = covered_m.groupby(keys)[vals].sum(min_count=1)
    top = yearly.groupby(keys)[vals].sum(min_count=1)
    rest = top.sub(covered_y.reindex(top.index).fillna(0.0))
    grid = rest.reset_index().merge(pd.DataFrame({"month": range(1, 13)}), how="cross")
    days = pd.to_datetime(
        dict(year=grid["year"], month=grid["month"], day=1)
    ).dt.days_in_month.to_numpy()
    year_days = np.where(pd.to_datetime(grid["year"].astype(str)).dt.is_leap_year, 366, 365)
    for v in vals:
        grid[v] = grid[v] * days / year_days
    grid = grid.set_index([*keys, "month"])
    cov = covered_m.set_index([*keys, "month"]).reindex(grid.index).fillna(0.0)
    out = grid[vals].add(cov[vals], fill_value=0.0)
    out[vals] = out[vals].where(~grid[vals].isna() | (cov[vals] != 0))
    return out.reset_index()


def intensity_per_10k_cny(amount, gdp_10k_cny):
    """Amount per 10^4 CNY of GDP (tCO2e or tce per 万元).

    Parameters
    ----------
    amount : emissions [tCO2e] or energy [tce]
    gdp_10k_cny : GDP at comparable prices [10^4 CNY]

    References
    ----------
    国家统计局 单位地区生产总值能耗 / 二氧化碳排放 (按可比价计算).
    """
    return amount / gdp_10k_cny


def decline_pct_vs_base(intensity, base_intensity):
    """Decline of an intensity against the base year, percent (positive = lower than base).

    decline = (1 - I_t / I_base) x 100, both at the same comparable prices.

    References
    ----------
    国务院《“十四五”节能减排综合工作方案》/ 碳排放强度降低率 (以基期为100, 按可比价计算).
    """
    return (1.0 - intensity / base_intensity) * 100.0
