"""The assessed indicators of carbon and energy dual control (碳排放双控, 能耗双控) from tables.

Pure functions; no I/O. The caller passes the city inventory rows, the energy balance in standard
coal and the grid's generation mix; what comes out are the indicators as the assessments define
them, each a column of one row per region and year.

Carbon dual control (the assessed indicators are CO2, not total GHG) [1]_ [2]_:

- ``energy_co2_t``: CO2 of energy activity, i.e. the IPCC energy sector (1.A fuel combustion,
  1.B fugitive) plus, on the ``incl_net_imported_electricity`` basis, the indirect CO2 of net
  imported electricity (scope 2, sector ``S2``); the basis is the city's choice
  (``targets.basis``).
- ``process_co2_t``: CO2 of industrial processes (IPCC sector 2), shown separately and added to
  the assessed total only where the city config says so (``targets.include_process_co2``).
- ``co2_t = energy_co2_t (+ process_co2_t)`` and ``co2_intensity_t_per_10k_cny = co2_t / GDP``
  at comparable prices.
- ``total_ghg_tco2e`` (all gases, GWP100 of the factor profile) stays a reported indicator.

Energy dual control (能耗双控) [3]_ [4]_ [5]_:

- ``energy_tce``: 能源消费总量 on the basis the city declares (当量值 ``calorific`` or 等价值
  ``coal_equivalent``, GB/T 2589-2020), the 消费量合计 of the energy balance.
- ``feedstock_tce``: 原料用能, fossil fuels used as raw materials (the balance's memo item
  其中：用作原料、材料), excluded from the total and from the intensity: 803号 一(一)(二) defines
  原料用能 as 能源产品不作为燃料、动力使用, 而作为生产非能源产品的原料、材料使用 — coal, oil,
  natural gas and their products made into olefins, aromatics, alkynes, alcohols, ammonia and the
  like; 二(二) asks for 扣除原料用能消费后的能耗强度降低率, i.e. both the total and the intensity
  are counted without it.
- ``new_renewable_tce``: 新增可再生能源电力消费量, excluded from the total only: per the 1258号
  notice, with the 2020 renewable electricity consumption as the base, the renewable electricity
  added in the 14th FYP years (wind, solar, hydro, biomass and geothermal power) is deducted in
  the assessment of the total (在全国和地方能源消费总量考核时予以扣除); green certificates (绿证)
  held by the region's users are the basis of the count. As published explanations of the notice
  put it, it still counts in the intensity (但仍纳入能耗强度考核) — the wording of the notice
  itself on this point could not be read here (assumption, see :func:`energy_control_tce`).
- ``energy_control_tce = energy_tce - feedstock_tce - new_renewable_tce`` (assessed total) and
  ``energy_intensity_tce_per_10k_cny = (energy_tce - feedstock_tce) / GDP`` (assessed intensity).
- ``nonfossil_share``: 非化石能源占能源消费总量比重, the non-fossil energy consumed over the
  energy consumption: local non-fossil primary production plus the non-fossil content of net
  imported electricity at the supplying grid's generation mix, on the same standard-coal basis.

Later rules that also take non-fossil energy out of the intensity (the 2024 move to
非化石能源不纳入能源消费总量和强度调控) are not implemented here.

References
----------
.. [1] 中共中央办公厅 国务院办公厅《关于加快构建碳排放双控制度体系的意见》(2024): 碳排放总量和
   强度双控; 十四五 CO2 intensity as the binding indicator, totals with the 15th FYP.
.. [2] 中华人民共和国国民经济和社会发展第十四个五年规划和2035年远景目标纲要 (2021), 专栏1:
   单位GDP二氧化碳排放降低18%, 单位GDP能源消耗降低13.5%.
.. [3] 国家发展改革委 国家统计局《关于进一步做好原料用能不纳入能源消费总量控制有关工作的通知》
   (发改环资〔2022〕803号, 2022-10-27), 一 and 二(二).
.. [4] 国家发展改革委 国家统计局 国家能源局《关于进一步做好新增可再生能源消费不纳入能源消费总量控制
   有关工作的通知》(发改运行〔2022〕1258号, 2022-11-16), 一(一)(二) and 二 (绿证 as the basis),
   as quoted in the press explanations of 2022-11-17.
.. [5] GB/T 2589-2020 综合能耗计算通则, terms 当量值 and 等价值.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError
from citycarbon.records import message_record

#: The indicators of dual control: code -> (unit, role). ``assessed``: what the assessment counts;
#: ``reported``: shown beside it, not assessed; ``component``: a part of an assessed indicator.
#: Their definitions (with the documents that set them) are said by the message catalog
#: (``indicator.<code>``) from the record :func:`definition_record`.
INDICATORS: dict[str, tuple[str, str]] = {
    "co2_t": ("t", "assessed"),
    "co2_intensity_t_per_10k_cny": ("tCO2/10^4 CNY", "assessed"),
    "energy_co2_t": ("t", "component"),
    "process_co2_t": ("t", "reported"),
    "total_ghg_tco2e": ("tCO2e", "reported"),
    "gdp_10k_cny": ("10^4 CNY", "component"),
    "energy_tce": ("tce", "reported"),
    "feedstock_tce": ("tce", "component"),
    "renewable_electricity_mwh": ("MWh", "component"),
    "new_renewable_tce": ("tce", "component"),
    "energy_control_tce": ("tce", "assessed"),
    "energy_intensity_tce_per_10k_cny": ("tce/10^4 CNY", "assessed"),
    "nonfossil_share": ("1", "reported"),
    "reporters_co2_t": ("t", "reported"),
    "coverage_share": ("1", "reported"),
}


def definition_record(code: str) -> str:
    """The definition of indicator ``code`` as a method record (:mod:`citycarbon.records`)."""
    return message_record("indicator_definition", indicator=code)


def indicator_table() -> pd.DataFrame:
    """:data:`INDICATORS` as a table indexed by code: ``unit``, ``role``, ``definition`` (the
    record of :func:`definition_record`)."""
    t = pd.DataFrame.from_dict(INDICATORS, orient="index", columns=["unit", "role"])
    return t.assign(definition=[definition_record(c) for c in t.index])  # 14 indicators


#: Inventory sectors whose CO2 is energy activity: IPCC sector 1 and the scope-2 rows (S2.x).
ENERGY_SECTORS = ("1", "S2")
#: Inventory sectors whose CO2 is an industrial process (IPCC sector 2, IPPU).
PROCESS_SECTORS = ("2",)
#: Standard-coal bases of the energy balance (GB/T 2589-2020): 当量值, 等价值.
ENERGY_BASES = ("calorific", "coal_equivalent")
#: Supply items of the balance that bring electricity in (+) or send it out (-).
ELECTRICITY_TRADE = ("inflow", "import", "outflow", "export")


def _sector_group(sector: pd.Series, prefixes: tuple[str, ...]) -> np.ndarray:
    """Rows whose sector code is one of ``prefixes`` or a sub-code of one (``1`` -> ``1.A.2``)."""
    s = sector.astype(str)
    return np.logical_or.reduce(
        [((s == p) | s.str.startswith(p + ".")).to_numpy() for p in prefixes]
    )


def co2_by_origin(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Energy-activity CO2, process CO2 and total GHG per group of inventory rows.

    Parameters
    ----------
    rows : DataFrame
        Inventory rows of one basis: ``keys``, ``sector``, ``gas``, ``emissions_t`` [t] and
        ``emissions_tco2e`` [tCO2e] (NaN = not estimated).
    keys : list of str
        Columns to group by (e.g. ``level, entity_code, year``).

    Returns
    -------
    DataFrame
        ``keys``, ``energy_co2_t`` (sectors 1 and S2), ``process_co2_t`` (sector 2) [t] and
        ``total_ghg_tco2e`` (every gas and sector) [tCO2e]; sums skip not-estimated rows, and a
        group with nothing estimated is NaN, never a silent zero.
    """
    co2 = rows["gas"].astype(str).eq("CO2").to_numpy()
    frame = rows[keys].assign(
        energy_co2_t=np.where(
            co2 & _sector_group(rows["sector"], ENERGY_SECTORS), rows["emissions_t"], np.nan
        ),
        process_co2_t=np.where(
            co2 & _sector_group(rows["sector"], PROCESS_SECTORS), rows["emissions_t"], np.nan
        ),
        total_ghg_tco2e=rows["emissions_tco2e"].to_numpy(dtype="float64"),
    )
    cols = ["energy_co2_t", "process_co2_t", "total_ghg_tco2e"]
    return frame.groupby(keys, as_index=False, dropna=False)[cols].sum(min_count=1)


def assessed_co2_t(energy_co2_t, process_co2_t, include_process: bool):
    """Total CO2 of carbon dual control, t.

    ``co2 = energy_co2 + process_co2`` where the city includes process CO2, else ``energy_co2``;
    a process CO2 that is not estimated (NaN) adds nothing when included.

    References
    ----------
    [1] 中办 国办《关于加快构建碳排放双控制度体系的意见》(2024) (module docstring).
    """
    energy = np.asarray(energy_co2_t, dtype="float64")
    if not include_process:
        return energy
    return energy + np.nan_to_num(np.asarray(process_co2_t, dtype="float64"))


def _ratio(numerator, denominator):
    """``numerator / denominator``; NaN where the denominator is missing or not positive."""
    n = np.asarray(numerator, dtype="float64")
    d = np.asarray(denominator, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(d > 0, n / d, np.nan)


def per_10k_cny(value, gdp_10k_cny):
    """An intensity per 10^4 CNY of GDP at comparable prices: ``value / gdp`` (NaN where the GDP
    is missing or not positive)."""
    return _ratio(value, gdp_10k_cny)


def coverage_share(reporters_co2_t, city_co2_t):
    """Share of the city's CO2 that some reporting enterprises account for, 0-1:
    ``reporters / city`` (NaN where the city total is not known). What a district's reporters
    cover, when the district has no statistics of its own: not the district's total, so no
    district intensity follows from it."""
    return _ratio(reporters_co2_t, city_co2_t)


def balance_energy(balance: pd.DataFrame, fuel_info: pd.DataFrame, basis: str) -> pd.DataFrame:
    """The energy parts of dual control from the energy balance on one standard-coal basis.

    Parameters
    ----------
    balance : DataFrame
        Rows of the ``energy_balance`` result: ``region_code, year, item, fuel, tce_basis,
        quantity, tce``; the ``total`` fuel holds the 合计 column.
    fuel_info : DataFrame
        fuels.csv indexed by fuel code (``fossil``).
    basis : {"calorific", "coal_equivalent"}
        当量值 or 等价值.

    Returns
    -------
    DataFrame
        ``region_code, year, energy_tce`` (消费量合计 of the 合计 column), ``feedstock_tce``
        (其中：用作原料、材料 of fossil fuels), ``local_nonfossil_tce`` (一次能源生产量 of
        non-fossil carriers), ``net_import_electricity_10k_kwh`` and
        ``net_import_electricity_tce`` (调入 + 进口 - 调出 - 出口 of electricity, clipped at
        zero: a net exporter imports no grid mix) and ``electricity_tce_per_10k_kwh`` (the
        coefficient the balance used for electricity on this basis).
    """
    if basis not in ENERGY_BASES:
        raise InputError(
            f"unknown standard-coal basis; known: {list(ENERGY_BASES)}", field="basis", value=basis
        )
    b = balance[balance["tce_basis"] == basis]
    keys = ["region_code", "year"]
    total = b[(b["fuel"] == "total") & (b["item"] == "total_consumption")]
    out = total.groupby(keys)["tce"].sum().rename("energy_tce").to_frame()
    fossil = fuel_info["fossil"].astype(str).str.lower().eq("true")
    per_fuel = b[b["fuel"] != "total"]
    is_fossil = fossil.reindex(per_fuel["fuel"]).fillna(False).to_numpy(dtype=bool)
    feed = per_fuel[(per_fuel["item"] == "industry_feedstock") & is_fossil]
    out["feedstock_tce"] = feed.groupby(keys)["tce"].sum()
    local = per_fuel[(per_fuel["item"] == "production") & ~is_fossil]
    out["local_nonfossil_tce"] = local.groupby(keys)["tce"].sum()
    # the trade items are stored with the yearbook's sign (outflow and export negative)
    el = per_fuel[(per_fuel["fuel"] == "electricity") & per_fuel["item"].isin(ELECTRICITY_TRADE)]
    net = el.groupby(keys)[["quantity", "tce"]].sum().clip(lower=0.0)
    out["net_import_electricity_10k_kwh"] = net["quantity"]
    out["net_import_electricity_tce"] = net["tce"]
    el = per_fuel[(per_fuel["fuel"] == "electricity") & (per_fuel["quantity"] != 0)]
    out["electricity_tce_per_10k_kwh"] = (
        (el["tce"] / el["quantity"]).groupby([el["region_code"], el["year"]]).median()
    )
    fill = ["feedstock_tce", "local_nonfossil_tce"]
    out[fill] = out[fill].fillna(0.0)  # no row of the item: an empty cell of the table
    trade = ["net_import_electricity_10k_kwh", "net_import_electricity_tce"]
    out[trade] = out[trade].fillna(0.0)
    return out.reset_index()


def new_renewable_mwh(renewable_mwh, base_mwh):
    """New renewable electricity consumption since the base year (新增可再生能源电力消费量), MWh.

    ``max(RE_t - RE_2020, 0)``: the sum of the yearly additions over the 2020 base (1258号 一(二):
    以各地区2020年可再生能源电力消费量为基数, 每年较上一年新增的...予以扣除); a consumption below
    the base adds nothing (our reading: a decline is not a negative deduction). NaN where the base
    is not known.

    References
    ----------
    [1] 发改运行〔2022〕1258号 (module docstring).
    """
    re_t = np.asarray(renewable_mwh, dtype="float64")
    base = np.asarray(base_mwh, dtype="float64")
    return np.maximum(re_t - base, 0.0)


def energy_control_tce(energy_tce, feedstock_tce, new_renewable_tce):
    """Total energy consumption as the energy dual-control assessment counts it, tce.

    ``E_control = E - E_feedstock - E_new_renewable`` (803号 二(二); 1258号 一(二)).

    Parameters
    ----------
    energy_tce : array-like   能源消费总量 on the city's basis [tce]
    feedstock_tce : array-like   原料用能 [tce]
    new_renewable_tce : array-like   新增可再生能源电力消费量 on the same basis [tce]; NaN where
        the 2020 base is unknown (the result is then NaN: no number rather than a wrong one)

    References
    ----------
    [1] 发改环资〔2022〕803号; [2] 发改运行〔2022〕1258号 (module docstring).
    """
    return (
        np.asarray(energy_tce, dtype="float64")
        - np.asarray(feedstock_tce, dtype="float64")
        - np.asarray(new_renewable_tce, dtype="float64")
    )


def energy_for_intensity_tce(energy_tce, feedstock_tce):
    """Energy counted in the energy-intensity assessment, tce: ``E - E_feedstock`` (803号 二(二):
    扣除原料用能消费后的能耗强度降低率; new renewable electricity stays in, 1258号 as explained
    when it was issued — not checked against the notice's text)."""
    return np.asarray(energy_tce, dtype="float64") - np.asarray(feedstock_tce, dtype="float64")


def nonfossil_share(local_nonfossil_tce, net_import_electricity_tce, grid_nonfossil, energy_tce):
    """Non-fossil energy's share of energy consumption (非化石能源占比), 0-1.

    ``(E_local_nonfossil + E_net_import_electricity x s_grid) / E``, with every term on the same
    standard-coal basis (等价值 counts non-fossil electricity at the thermal power coal rate, the
    发电煤耗计算法 of the statistics) and ``s_grid`` the non-fossil share of the supplying grid's
    generation. Counting local production only leaves out the nuclear, hydro and wind power that
    comes in over the grid.

    Parameters
    ----------
    local_nonfossil_tce : array-like   一次能源生产量 of non-fossil carriers [tce]
    net_import_electricity_tce : array-like   net imported electricity [tce], >= 0
    grid_nonfossil : array-like   non-fossil share of the grid's generation [0-1]; NaN = unknown
    energy_tce : array-like   能源消费总量 [tce]

    References
    ----------
    [1] 国家统计局, 能源统计 主要统计指标解释: 非化石能源占一次能源消费比重 (definition; the
        attribution of imported electricity to the supplying grid's mix is this platform's
        method for a city, not a published rule).
    """
    share = np.asarray(grid_nonfossil, dtype="float64")
    num = (
        np.asarray(local_nonfossil_tce, dtype="float64")
        + np.asarray(net_import_electricity_tce, dtype="float64") * share
    )
    return _ratio(num, energy_tce)


def grid_share_for_years(mix: pd.DataFrame, region: str, years) -> pd.DataFrame:
    """The grid's non-fossil share for each data year: the year's own value, else the latest
    earlier year's (carried forward and said so); none before the first year of the data.

    Parameters
    ----------
    mix : DataFrame
        ``region, year, nonfossil_share, status, source`` (the grid mix data file).
    region : str
        Key of the grid (``fujian``).
    years : iterable of int

    Returns
    -------
    DataFrame
        ``year, nonfossil_share, mix_year`` (the year whose value is used), ``status``,
        ``source``; NaN share where no value applies.
    """
    own = mix[mix["region"] == region].sort_values("year")
    want = pd.DataFrame({"year": sorted({int(y) for y in years})})
    if own.empty:
        return want.assign(nonfossil_share=np.nan, mix_year=np.nan, status="", source="")
    got = pd.merge_asof(
        want,
        own.rename(columns={"year": "mix_year"}).assign(
            year=own["year"].astype("int64").to_numpy()
        ),
        on="year",
        direction="backward",
    )
    got[["status", "source"]] = got[["status", "source"]].fillna("")
    return got[["year", "nonfossil_share", "mix_year", "status", "source"]]
