"""Fugitive emissions from fuels (IPCC sector 1.B) of a city inventory, IPCC 2006 Tier 1.

Chains one function per equation over the ingest table ``fugitive_activity`` (one row per year
and activity: raw coal mined underground or at the surface [t], natural gas distributed or
transmitted [10^6 m3]). Defaults are data (``data/fugitive_defaults.csv``: value, unit, source
and table, and the IPCC range as ``low``/``high`` where the source gives one).

Categories: 1.B.1 solid fuels (coal mining and post-mining CH4), 1.B.2 oil and natural gas
(natural gas transmission and distribution CH4 and CO2). The notation key is data-driven:

- no row of the category in a year: ``NE`` (not estimated, the reason says which data);
- rows whose quantities are all zero: ``NO`` (the activity does not occur, e.g. a city without
  coal mines reports ``coal_underground`` 0);
- otherwise the Tier 1 estimate.

LNG import terminals are not covered: IPCC 2006 Tier 1 gives no factor per throughput that this
module could cite (a city with a terminal reports it as NE).

References
----------
[1] IPCC 2006 Guidelines, Vol. 2 Energy, Ch. 4 Fugitive emissions: §4.1.3 (underground mines,
    eqs. 4.1.1, 4.1.3), §4.1.4 (surface mines, eq. 4.1.4), §4.2.2 (oil and gas Tier 1,
    eq. 4.2.1, Tables 4.2.4, 4.2.5).
[2] 国家发展改革委《省级温室气体清单编制指南（试行）》(2011), 第一章 能源活动 (煤炭开采和矿后活动
    逸散排放, 石油和天然气系统逸散排放).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.accounting.balance import DATA_DIR
from citycarbon.accounting.defaults import cite_default, default_values, read_defaults
from citycarbon.records import join_records, message_record

DEFAULTS_CSV = DATA_DIR / "fugitive_defaults.csv"
COAL = ("coal_underground", "coal_surface")
GAS = ("gas_distribution", "gas_transmission")
ACTIVITIES = (*COAL, *GAS)
#: Fugitive categories: code, gases.
CATEGORIES = {"1.B.1": ("CH4",), "1.B.2": ("CH4", "CO2")}


def fugitive_defaults() -> pd.DataFrame:
    """The default parameters: parameter, key, context, value, unit, source, assumption, note."""
    return read_defaults(DEFAULTS_CSV)


def default(parameter: str, keys, context: str = "") -> np.ndarray:
    """Default values of ``parameter`` for each key (NaN where the table has none)."""
    return default_values(fugitive_defaults(), parameter, keys, context)


def cite(parameter: str, key: str = "", context: str = "") -> str:
    """One default as a method record (:func:`citycarbon.accounting.defaults.cite_default`)."""
    return cite_default(fugitive_defaults(), parameter, key, context)


# ------------------------------------------------------------------------- single equations
def coal_mining_ch4_t(coal_t, ef_mining_m3_per_t, ef_post_mining_m3_per_t, density_kg_per_m3):
    """CH4 of coal mining and post-mining activities (Tier 1), t.

    CH4 = raw coal production x (EF_mining + EF_post-mining) x conversion factor
    (IPCC 2006 Vol. 2 eqs. 4.1.3 underground and 4.1.4 surface, Tier 1, no recovery or
    flaring), conversion 0.67 x 10^-6 Gg/m3 = 0.67 kg/m3

    Parameters
    ----------
    coal_t : array-like   raw coal production [t]
    ef_mining_m3_per_t, ef_post_mining_m3_per_t : array-like   [m3 CH4/t]
    density_kg_per_m3 : array-like   CH4 density [kg/m3]
    """
    return coal_t * (ef_mining_m3_per_t + ef_post_mining_m3_per_t) * density_kg_per_m3 * 1e-3


def gas_system_t(throughput_mm3, ef_gg_per_mm3):
    """CH4 or CO2 of a natural gas system segment (Tier 1), t.

    E_gas,segment = A_segment x EF_gas,segment  (IPCC 2006 Vol. 2 eq. 4.2.1), Gg -> t

    Parameters
    ----------
    throughput_mm3 : array-like   gas distributed (utility sales) or transmitted [10^6 m3]
    ef_gg_per_mm3 : array-like   [Gg/10^6 m3] (Tables 4.2.4, 4.2.5)
    """
    return throughput_mm3 * ef_gg_per_mm3 * 1e3


# ------------------------------------------------------------------------- tier sequences
def fugitive_emissions(rows: pd.DataFrame, *, region_code: str, years) -> pd.DataFrame:
    """Fugitive rows (1.B.1, 1.B.2) of a region's inventory years: estimated, ``NO`` where the
    activity is reported as zero, ``NE`` where it is not reported.

    Parameters
    ----------
    rows : ``fugitive_activity`` rows: region_code, year, activity, quantity
    region_code : the city
    years : inventory years

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector, gas, scope (1), emissions_t (NaN where NE or NO),
        notation_key, method (equations and defaults, or the reason of NE / NO).
    """
    years = [int(y) for y in years]
    rows = rows[(rows["region_code"] == region_code) & rows["year"].isin(years)]
    act = rows["activity"]
    q = rows["quantity"].to_numpy(dtype="float64")
    coal = act.isin(COAL).to_numpy()
    ch4 = np.where(
        coal,
        coal_mining_ch4_t(
            q,
            default("ef_ch4", act, "mining"),
            default("ef_ch4", act, "post_mining"),
            default("ch4_density", [""])[0],
        ),
        gas_system_t(q, default("ef_ch4", act)),
    )
    sector = np.where(coal, "1.B.1", "1.B.2")
    long = pd.concat(
        [
            pd.DataFrame({"year": rows["year"], "sector": sector, "gas": "CH4", "t": ch4}),
            pd.DataFrame(
                {"year": rows["year"], "sector": sector, "gas": "CO2", "t": np.nan}
            ).assign(t=gas_system_t(q, default("ef_co2", act)))[~coal],
        ],
        ignore_index=True,
    ).astype({"year": "int64"})
    got = long.groupby(["year", "sector", "gas"], as_index=False)["t"].sum()
    grid = pd.DataFrame(
        [(y, s, g) for y in years for s, gases in CATEGORIES.items() for g in gases],
        columns=["year", "sector", "gas"],
    )  # years x 3 (category, gas) pairs
    out = grid.merge(got, on=["year", "sector", "gas"], how="left")
    have = out["t"].notna().to_numpy()
    none = have & (out["t"] == 0).to_numpy()
    out["emissions_t"] = np.where(have & ~none, out.pop("t"), np.nan)
    out["notation_key"] = np.where(none, "NO", np.where(have, "", "NE"))
    method = out["sector"].map(_METHODS)
    out["method"] = np.where(
        none,
        out["sector"].map(_NO_REASON),
        np.where(have, method, out["sector"].map(_NE_REASON)),
    )
    return out.assign(region_code=region_code, scope=1)


#: Why a category is NE or NO, and how it is estimated, as method records
#: (:mod:`citycarbon.records`): equations, then every default used.
_NE_REASON = {
    "1.B.1": message_record("fugitive_ne_coal"),
    "1.B.2": message_record("fugitive_ne_gas"),
}
_NO_REASON = {
    "1.B.1": message_record("fugitive_no_coal"),
    "1.B.2": message_record("fugitive_no_gas"),
}
_METHODS = {
    "1.B.1": join_records(
        message_record("fugitive_coal"),
        *(cite("ef_ch4", k, c) for k in COAL for c in ("mining", "post_mining")),
    ),
    "1.B.2": join_records(
        message_record("fugitive_gas"),
        *(cite(p, k) for p in ("ef_ch4", "ef_co2") for k in GAS),
    ),
}
