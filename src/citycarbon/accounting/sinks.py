"""Carbon sinks of a city: land (forest, urban green space) by stock difference, blue carbon
(mangrove, salt marsh, seagrass) per site, and mariculture removals reported separately.

Sign convention (IPCC reporting): a removal is a negative flux, tCO2 < 0. The sinks are a
table of their own (``city_sinks``), never rows of the emission inventory, so they are netted
exactly once: net = gross emissions + removals (:func:`net_emissions`). Mariculture
(shellfish shells and tissue, seaweed) is a memo item: reported, never in the removals.

Defaults are data (``data/sink_defaults.csv``: value, unit, source; unverified values labelled
``assumption``). Tier 2 site data (measured soil or biomass rates) replace the defaults row by
row.

References
----------
[1] IPCC 2006 Guidelines, Vol. 4 AFOLU, Ch. 2 (stock-difference method, eq. 2.5; biomass
    gain, eq. 2.9).
[2] IPCC 2013 Supplement to the 2006 Guidelines: Wetlands, Ch. 4 Coastal Wetlands (Tier 1
    soil carbon accumulation, Table 4.12; mangrove biomass).
[3] HY/T 0349-2022 海洋碳汇核算方法 (vegetation and sediment pools of coastal wetlands;
    shellfish and seaweed mariculture).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.accounting.balance import DATA_DIR
from citycarbon.accounting.defaults import read_defaults
from citycarbon.records import message_record

DEFAULTS_CSV = DATA_DIR / "sink_defaults.csv"
ECOSYSTEMS = ("mangrove", "salt_marsh", "seagrass")
MARICULTURE = ("shellfish", "seaweed")
#: IPCC land categories of the sink rows (3.B, GPC V.2).
SECTOR = {"forest": "3.B.1", "urban_green": "3.B.6", "blue_carbon": "3.B.4"}
C_TO_CO2 = 44.0 / 12.0


def sink_defaults() -> pd.DataFrame:
    """The default parameters: parameter, key, context, value, unit, source, assumption, note."""
    return read_defaults(DEFAULTS_CSV)


def default(parameter: str, keys, context: str = "") -> np.ndarray:
    """Default values of ``parameter`` for each key (NaN where the table has none)."""
    t = sink_defaults()
    t = t[(t["parameter"] == parameter) & (t["context"].isin(["", context]))]
    t = t.sort_values("context").drop_duplicates("key", keep="last")  # the zone's own first
    return t.set_index("key")["value"].reindex(pd.Index(keys, dtype=object)).to_numpy()


# ------------------------------------------------------------------------- single equations
def stock_change_tc_per_yr(stock_t2_tc, stock_t1_tc, years_between):
    """Annual carbon stock change by the stock-difference method, t C/yr.

    dC = (C_t2 - C_t1) / (t2 - t1)  (IPCC 2006 Vol. 4 Ch. 2 eq. 2.5)

    Parameters
    ----------
    stock_t2_tc, stock_t1_tc : array-like   carbon stock at the two inventory times [t C]
    years_between : array-like   t2 - t1 [yr]
    """
    return (stock_t2_tc - stock_t1_tc) / years_between


def co2_flux_t(stock_change_tc):
    """CO2 flux of a carbon stock change, t CO2 (negative = removal).

    CO2 = -dC x 44/12  (IPCC 2006 Vol. 4 Ch. 2 §2.2: a stock gain is a removal)
    """
    return -stock_change_tc * C_TO_CO2


def soil_accumulation_tc(area_ha, rate_tc_per_ha_yr):
    """Sediment carbon accumulated in a year on a coastal wetland, t C.

    dC_soil = A x rate  (IPCC 2013 Wetlands Supplement Ch. 4, Tier 1, Table 4.12 rates)

    Parameters
    ----------
    area_ha : array-like   vegetated area [ha]
    rate_tc_per_ha_yr : array-like   soil carbon accumulation rate [t C/ha/yr]
    """
    return area_ha * rate_tc_per_ha_yr


def biomass_gain_tc(area_ha, agb_growth_t_dm_per_ha_yr, root_shoot, carbon_fraction):
    """Carbon gained in living biomass in a year, t C.

    dC_G = A x G_W x (1 + R) x CF  (IPCC 2006 Vol. 4 Ch. 2 eq. 2.9/2.10; mangrove growth,
    root-to-shoot ratio and carbon fraction of the Wetlands Supplement Ch. 4)

    Parameters
    ----------
    area_ha : array-like   area [ha]
    agb_growth_t_dm_per_ha_yr : array-like   above-ground biomass growth [t dm/ha/yr]
    root_shoot : array-like   below- to above-ground biomass ratio R [1]
    carbon_fraction : array-like   carbon fraction of dry matter CF [t C/t dm]
    """
    return area_ha * agb_growth_t_dm_per_ha_yr * (1.0 + root_shoot) * carbon_fraction


def shellfish_carbon_tc(live_t, shell_share, shell_c, tissue_share, tissue_c):
    """Carbon removed with harvested shellfish, t C (shell plus soft tissue).

    C = W x (share_shell x C_shell + share_tissue x C_tissue)  (HY/T 0349-2022, shellfish
    mariculture: shell and soft-tissue carbon of the harvest)

    Parameters
    ----------
    live_t : array-like   harvest, live weight [t]
    shell_share, tissue_share : array-like   shell and dry soft-tissue share of live weight
    shell_c, tissue_c : array-like   carbon content of shell and dry tissue [t C/t]
    """
    return live_t * (shell_share * shell_c + tissue_share * tissue_c)


def seaweed_carbon_tc(wet_t, dry_share, carbon_c):
    """Carbon removed with harvested seaweed, t C: W x dry/wet x C_dry (HY/T 0349-2022)."""
    return wet_t * dry_share * carbon_c


# ------------------------------------------------------------------------- tier sequences
def land_stock_difference(stocks: pd.DataFrame) -> pd.DataFrame:
    """CO2 flux of land classes (forest, urban green space) by stock difference.

    Stock_y = area_ha x carbon_stock_tc_per_ha; the flux of year y is -(Stock_y - Stock_prev) /
    (y - prev) x 44/12 (eq. 2.5), prev the class's previous inventory year. The first year of
    a class has no flux (it is the reference stock).

    Parameters
    ----------
    stocks : region_code, year, land_class (forest | urban_green), area_ha,
        carbon_stock_tc_per_ha (all pools the survey covers)

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector, pool ('stock'), source (land class), area_ha,
        co2_t (negative = removal), method.
    """
    s = stocks.sort_values(["region_code", "land_class", "year"]).reset_index(drop=True)
    stock = s["area_ha"] * s["carbon_stock_tc_per_ha"]
    g = s.groupby(["region_code", "land_class"])
    prev_stock = stock.groupby([s["region_code"], s["land_class"]]).shift()
    prev_year = g["year"].shift()
    dc = stock_change_tc_per_yr(stock, prev_stock, s["year"] - prev_year)
    out = s.assign(
        sector=s["land_class"].map(SECTOR),
        pool="stock",
        source=s["land_class"],
        co2_t=co2_flux_t(dc),
        method=message_record("sink_stock_difference"),
    )
    out = out[prev_year.notna().to_numpy()]
    cols = ["region_code", "year", "sector", "pool", "source", "area_ha", "co2_t", "method"]
    return out[cols].reset_index(drop=True)


def blue_carbon_sites(sites: pd.DataFrame, *, climate_zone: str = "subtropical") -> pd.DataFrame:
    """Annual removals of blue-carbon sites, per site, year and pool (sediment, vegetation).

    Sediment: area x soil accumulation rate (Tier 2 ``soil_c_rate_tc_per_ha_yr`` of the site
    where given, else the Table 4.12 default). Vegetation (planted mangroves only, while the
    stand is young, ``growth_years`` after ``year_planted``): area x G_W x (1 + R) x CF (Tier 2
    ``biomass_c_rate_tc_per_ha_yr`` where given). A site counts from the year after planting;
    a site with no planting year (natural stand) counts its sediment pool only.

    Parameters
    ----------
    sites : region_code, site_id, site_name, year, ecosystem, area_ha, year_planted,
        soil_c_rate_tc_per_ha_yr, biomass_c_rate_tc_per_ha_yr (the last three may be NaN)
    climate_zone : zone of the mangrove biomass defaults

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector (3.B.4), pool, source (site id), site_name, ecosystem,
        area_ha, co2_t (negative = removal), tier, method.
    """
    s = sites.reset_index(drop=True)
    eco = s["ecosystem"]
    planted = s["year_planted"].astype("float64")
    active = (planted.isna() | (s["year"] > planted)).to_numpy()
    soil_rate = s["soil_c_rate_tc_per_ha_yr"].astype("float64")
    soil_tier = np.where(soil_rate.notna(), "Tier 2", "Tier 1")
    soil = soil_accumulation_tc(
        s["area_ha"], soil_rate.fillna(pd.Series(default("soil_c_rate", eco)))
    )
    young = (s["year"] - planted <= default("growth_years", eco)).fillna(False).to_numpy()
    default_bio = biomass_gain_tc(
        s["area_ha"],
        np.nan_to_num(default("agb_growth", eco, climate_zone)),
        np.nan_to_num(default("root_shoot", eco, climate_zone)),
        np.nan_to_num(default("carbon_fraction", eco)),
    )
    bio_rate = s["biomass_c_rate_tc_per_ha_yr"].astype("float64")
    bio = np.where(bio_rate.notna(), s["area_ha"] * bio_rate, default_bio) * young
    bio_tier = np.where(bio_rate.notna(), "Tier 2", "Tier 1")
    base = s[["region_code", "year", "site_name", "ecosystem", "area_ha"]].assign(
        sector=SECTOR["blue_carbon"], source=s["site_id"]
    )
    out = pd.concat(
        [
            base.assign(
                pool="sediment",
                co2_t=co2_flux_t(soil.to_numpy()),
                tier=soil_tier,
                method=message_record("sink_sediment"),
            ),
            base.assign(
                pool="vegetation",
                co2_t=co2_flux_t(bio),
                tier=bio_tier,
                method=message_record("sink_vegetation", climate_zone=climate_zone),
            ),
        ],
        ignore_index=True,
    )
    keep = np.concatenate([active, active & (bio != 0)])
    return out[keep].reset_index(drop=True)


def mariculture_removals(harvest: pd.DataFrame) -> pd.DataFrame:
    """Carbon removed with shellfish and seaweed harvests, per region, year and group: a memo
    item (HY/T 0349-2022 reports it apart from the coastal-wetland sinks).

    Parameters
    ----------
    harvest : region_code, year, species_group (shellfish | seaweed), harvest_t (live/wet weight)

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector ('memo'), pool ('mariculture'), source (group), co2_t
        (negative), method.
    """
    g = harvest["species_group"]
    w = harvest["harvest_t"].to_numpy(dtype="float64")
    shell = shellfish_carbon_tc(
        w,
        default("shell_share", g),
        default("shell_c", g),
        default("tissue_share", g),
        default("tissue_c", g),
    )
    weed = seaweed_carbon_tc(w, default("dry_share", g), default("tissue_c", g))
    tc = np.where(g == "shellfish", shell, weed)
    out = harvest[["region_code", "year"]].assign(
        sector="memo",
        pool="mariculture",
        source=g.to_numpy(),
        co2_t=co2_flux_t(tc),
        method=message_record("sink_mariculture"),
    )
    return out.groupby(
        ["region_code", "year", "sector", "pool", "source", "method"], as_index=False
    )["co2_t"].sum()


def net_emissions(gross_tco2e: pd.Series, sinks: pd.DataFrame) -> pd.DataFrame:
    """Gross emissions, removals and net emissions per year, tCO2e.

    net = gross + removals, removals = sum of the sink rows outside the memo items (negative
    for a net sink). The neutrality gap is the net: what is left to remove or avoid.

    Parameters
    ----------
    gross_tco2e : emissions of the inventory by year (no removal in it)
    sinks : rows with year, sector ('memo' = outside the totals), co2_t
    """
    counted = sinks[sinks["sector"] != "memo"]
    removals = counted.groupby("year")["co2_t"].sum()
    years = gross_tco2e.index.union(removals.index)
    gross = gross_tco2e.reindex(years)
    rem = removals.reindex(years).fillna(0.0)
    return pd.DataFrame(
        {"year": years, "gross_tco2e": gross.to_numpy(), "removals_tco2e": rem.to_numpy()}
    ).assign(net_tco2e=lambda t: t["gross_tco2e"] + t["removals_tco2e"])
