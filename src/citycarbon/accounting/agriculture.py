"""Agriculture (IPCC sector 3.A livestock, 3.C aggregate sources on land) of a city inventory,
IPCC 2006 Tier 1.

One function per equation of IPCC 2006 Vol. 4, then :func:`agriculture_emissions`, which chains
them over the ingest table ``agriculture`` (one row per year and item: livestock head counts by
species and manure management system, rice harvested area by water regime, nitrogen applied to
soils). Defaults are data (``data/agriculture_defaults.csv``: value, unit, source and table per
row, checked against a transcription of the IPCC 2006 tables; rows that could not be checked are
labelled ``assumption`` and say so).

Categories (IPCC 2006 codes; 省级温室气体清单编制指南 第四章 农业):

- 3.A.1 enteric fermentation CH4 (eq. 10.19, Tables 10.10, 10.11);
- 3.A.2 manure management CH4 (eq. 10.22; Table 10.14 by annual average temperature for cattle,
  buffalo and swine, Table 10.15 by climate class for the other species) and direct N2O
  (eqs. 10.25, 10.30; Tables 10.19, 10.21); manure on pasture, range and paddock is 3.C.4;
- 3.C.4 direct N2O of managed soils (eq. 11.1, Tier 1 without organic soils and mineralisation:
  synthetic N, manure N, crop-residue N x EF1; pasture N x EF3PRP);
- 3.C.5 indirect N2O of managed soils (eqs. 11.9 volatilisation, 11.10 leaching);
- 3.C.7 rice cultivation CH4 (eqs. 5.1, 5.2; Tables 5.11-5.13; no organic amendment: SFo = 1).

A category without activity data in a year is reported ``NE`` with the reason, never zero.

References
----------
[1] IPCC 2006 Guidelines, Vol. 4 AFOLU: Ch. 5 (cropland, rice cultivation §5.5), Ch. 10
    (livestock and manure management), Ch. 11 (N2O from managed soils).
[2] 国家发展改革委《省级温室气体清单编制指南（试行）》(2011), 第四章 农业.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.accounting.balance import DATA_DIR
from citycarbon.accounting.defaults import cite_default, default_values, read_defaults
from citycarbon.records import join_records, message_record

DEFAULTS_CSV = DATA_DIR / "agriculture_defaults.csv"
LIVESTOCK = (
    "dairy_cattle",
    "other_cattle",
    "buffalo",
    "sheep",
    "goats",
    "swine",
    "horses",
    "mules_asses",
    "poultry",
)
RICE = (
    "rice_continuously_flooded",
    "rice_intermittent_single",
    "rice_intermittent_multiple",
    "rice_rainfed_regular",
    "rice_rainfed_drought",
    "rice_deep_water",
    "rice_upland",
)
#: Nitrogen added to managed soils [t N]: synthetic fertiliser (F_SN), manure and other
#: organic N applied (F_ON), N in crop residues returned (F_CR).
N_INPUTS = ("synthetic_n", "manure_n", "crop_residue_n")
ITEMS = (*LIVESTOCK, *RICE, *N_INPUTS)
#: Manure management systems (IPCC 2006 Vol. 4 Table 10.18); ``pasture`` = pasture, range and
#: paddock (its N2O is a soil emission, 3.C.4).
MANURE_SYSTEMS = (
    "pasture",
    "daily_spread",
    "solid_storage",
    "dry_lot",
    "liquid_slurry",
    "anaerobic_lagoon",
    "pit_storage",
    "anaerobic_digester",
    "deep_bedding",
    "composting",
    "poultry_manure",
    "aerobic_treatment",
)
CLIMATES = ("cool", "temperate", "warm")
#: Species whose manure CH4 factor Table 10.14 gives per degree of annual average temperature,
#: from <= 10 C to >= 28 C; the others (Table 10.15) per climate class.
BY_TEMPERATURE = ("dairy_cattle", "other_cattle", "buffalo", "swine")
TEMPERATURE_COLUMNS_C = (10, 28)
#: Agriculture categories: code, gases.
CATEGORIES = {
    "3.A.1": ("CH4",),
    "3.A.2": ("CH4", "N2O"),
    "3.C.4": ("N2O",),
    "3.C.5": ("N2O",),
    "3.C.7": ("CH4",),
}
N2O_N_TO_N2O = 44.0 / 28.0


def agriculture_defaults() -> pd.DataFrame:
    """The default parameters: parameter, key, context, value, unit, source, assumption, note."""
    return read_defaults(DEFAULTS_CSV)


def default(parameter: str, keys, context: str = "") -> np.ndarray:
    """Default values of ``parameter`` for each key (NaN where the table has none)."""
    return default_values(agriculture_defaults(), parameter, keys, context)


def cite(parameter: str, key: str = "", context: str = "") -> str:
    """One default as a method record (:func:`citycarbon.accounting.defaults.cite_default`)."""
    return cite_default(agriculture_defaults(), parameter, key, context)


def climate_class(temperature_c: float) -> str:
    """Climate class of Table 10.15: cool < 15 C, temperate 15-25 C, warm > 25 C (annual
    average temperature; IPCC 2006 Vol. 4 Tables 10.14, 10.15 column heads)."""
    return "cool" if temperature_c < 15 else "warm" if temperature_c > 25 else "temperate"


def manure_ch4_context(species, temperature_c: float) -> np.ndarray:
    """The column of the manure CH4 factor of each species: the whole degree of Table 10.14
    (clipped to its <= 10 and >= 28 C columns) or the climate class of Table 10.15."""
    low, high = TEMPERATURE_COLUMNS_C
    degree = str(int(np.clip(np.floor(temperature_c + 0.5), low, high)))
    return np.where(
        pd.Series(species).isin(BY_TEMPERATURE).to_numpy(), degree, climate_class(temperature_c)
    )


# ------------------------------------------------------------------------- single equations
def livestock_ch4_t(head, ef_kg_per_head_yr):
    """CH4 of enteric fermentation or of manure management (Tier 1), t.

    E = EF x N / 10^6 [Gg]  (IPCC 2006 Vol. 4 eq. 10.19, enteric; eq. 10.22, manure), here in t

    Parameters
    ----------
    head : array-like   average annual population N [head]
    ef_kg_per_head_yr : array-like   emission factor [kg CH4/head/yr] (Tables 10.10, 10.11;
        10.14, 10.15)

    References
    ----------
    IPCC 2006 Guidelines, Vol. 4, Ch. 10, eqs. 10.19 and 10.22.
    """
    return head * ef_kg_per_head_yr * 1e-3


def n_excretion_kg_per_head_yr(n_rate_kg_per_t_mass_day, tam_kg):
    """Annual N excretion per head, kg N/head/yr.

    Nex = N_rate x TAM / 1000 x 365  (IPCC 2006 Vol. 4 eq. 10.30)

    Parameters
    ----------
    n_rate_kg_per_t_mass_day : array-like   default N excretion rate [kg N/(1000 kg mass)/day]
        (Table 10.19)
    tam_kg : array-like   typical animal mass [kg/head] (Annex 10A)
    """
    return n_rate_kg_per_t_mass_day * tam_kg / 1000.0 * 365.0


def manure_n2o_direct_t(head_in_system, nex_kg_per_head_yr, ef3_kg_n2o_n_per_kg_n):
    """Direct N2O of manure management, t.

    N2O_D(mm) = sum_S sum_T (N_T x Nex_T x MS_T,S) x EF3_S x 44/28  (IPCC 2006 Vol. 4
    eq. 10.25), with N_T x MS_T,S given directly as the head count managed in system S

    Parameters
    ----------
    head_in_system : array-like   animals whose manure is managed in the system [head]
    nex_kg_per_head_yr : array-like   N excretion [kg N/head/yr] (eq. 10.30)
    ef3_kg_n2o_n_per_kg_n : array-like   EF3 of the system [kg N2O-N/kg N] (Table 10.21)
    """
    return head_in_system * nex_kg_per_head_yr * ef3_kg_n2o_n_per_kg_n * N2O_N_TO_N2O * 1e-3


def rice_ch4_t(area_ha, days, ef_c_kg_per_ha_day, sf_w, sf_p, sf_o):
    """CH4 of rice cultivation, t.

    CH4_Rice = A x t x EF_i x 10^-6 [Gg], EF_i = EF_c x SF_w x SF_p x SF_o  (IPCC 2006 Vol. 4
    eqs. 5.1, 5.2), here in t

    Parameters
    ----------
    area_ha : array-like   annual harvested area [ha]
    days : array-like   cultivation period [day]
    ef_c_kg_per_ha_day : array-like   baseline factor, continuously flooded without organic
        amendment [kg CH4/ha/day] (Table 5.11)
    sf_w, sf_p, sf_o : array-like   scaling factors of the water regime during cultivation
        (Table 5.12), before cultivation (Table 5.13) and of organic amendment (eq. 5.3)
    """
    return area_ha * days * ef_c_kg_per_ha_day * sf_w * sf_p * sf_o * 1e-3


def soil_n2o_direct_t(n_applied_t, ef1, n_prp_t, ef3_prp):
    """Direct N2O of managed mineral soils (Tier 1), t.

    N2O_Direct-N = (F_SN + F_ON + F_CR) x EF1 + F_PRP x EF3PRP;  N2O = N2O-N x 44/28
    (IPCC 2006 Vol. 4 eq. 11.1 without organic soils, F_SOM and the flooded-rice split)

    Parameters
    ----------
    n_applied_t : array-like   F_SN + F_ON + F_CR [t N]
    ef1 : array-like   [kg N2O-N/kg N] (Table 11.1)
    n_prp_t : array-like   F_PRP, urine and dung N on pasture, range and paddock [t N]
    ef3_prp : array-like   [kg N2O-N/kg N] (Table 11.1)
    """
    return (n_applied_t * ef1 + n_prp_t * ef3_prp) * N2O_N_TO_N2O


def soil_n2o_volatilisation_t(f_sn_t, f_on_prp_t, frac_gasf, frac_gasm, ef4):
    """Indirect N2O of atmospheric deposition of N volatilised from managed soils, t.

    N2O(ATD)-N = (F_SN x Frac_GASF + (F_ON + F_PRP) x Frac_GASM) x EF4;  x 44/28
    (IPCC 2006 Vol. 4 eq. 11.9)

    Parameters
    ----------
    f_sn_t : array-like   synthetic fertiliser N [t N]
    f_on_prp_t : array-like   organic N applied plus N deposited by grazing animals [t N]
    frac_gasf, frac_gasm : array-like   fractions volatilised [kg N/kg N] (Table 11.3)
    ef4 : array-like   [kg N2O-N/(kg NH3-N + NOx-N)] (Table 11.3)
    """
    return (f_sn_t * frac_gasf + f_on_prp_t * frac_gasm) * ef4 * N2O_N_TO_N2O


def soil_n2o_leaching_t(n_t, frac_leach, ef5):
    """Indirect N2O of N leached and run off from managed soils, t.

    N2O(L)-N = (F_SN + F_ON + F_PRP + F_CR) x Frac_LEACH-(H) x EF5;  x 44/28
    (IPCC 2006 Vol. 4 eq. 11.10, without F_SOM)

    Parameters
    ----------
    n_t : array-like   F_SN + F_ON + F_PRP + F_CR [t N]
    frac_leach : array-like   fraction leached [kg N/kg N] (Table 11.3)
    ef5 : array-like   [kg N2O-N/kg N leached] (Table 11.3)
    """
    return n_t * frac_leach * ef5 * N2O_N_TO_N2O


# ------------------------------------------------------------------------- tier sequences
def agriculture_gases(rows: pd.DataFrame, temperature_c: float) -> pd.DataFrame:
    """Agriculture gases per region and year, long by category and gas (only where data).

    Parameters
    ----------
    rows : ``agriculture`` rows: region_code, year, item, manure_system, quantity, days
    temperature_c : annual average temperature [C] of the manure CH4 factors (Tables 10.14,
        10.15)

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector, gas, emissions_t.
    """
    keys = ["region_code", "year", "sector", "gas"]
    item = rows["item"]
    q = rows["quantity"].to_numpy(dtype="float64")
    lv = rows[item.isin(LIVESTOCK)]
    head = lv["quantity"].to_numpy(dtype="float64")
    species = lv["item"]
    nex = n_excretion_kg_per_head_yr(default("n_rate", species), default("tam", species))
    system = lv["manure_system"].fillna("")
    housed = ~system.isin(["", "pasture"]).to_numpy()
    n_prp_t = np.where(system.eq("pasture"), head * nex * 1e-3, 0.0)
    parts = [
        lv.assign(
            sector="3.A.1",
            gas="CH4",
            emissions_t=livestock_ch4_t(head, default("ef_enteric", species)),
        ),
        lv.assign(
            sector="3.A.2",
            gas="CH4",
            emissions_t=livestock_ch4_t(head, _manure_ch4_ef(species, temperature_c)),
        ),
        lv[housed].assign(
            sector="3.A.2",
            gas="N2O",
            emissions_t=manure_n2o_direct_t(
                head[housed], nex[housed], default("ef3", system[housed])
            ),
        ),
    ]
    rice = rows[item.isin(RICE)]
    days = rice["days"].fillna(default("days", [""])[0]).to_numpy(dtype="float64")
    parts.append(
        rice.assign(
            sector="3.C.7",
            gas="CH4",
            emissions_t=rice_ch4_t(
                rice["quantity"].to_numpy(dtype="float64"),
                days,
                default("ef_c", [""])[0],
                default("sf_w", rice["item"]),
                default("sf_p", [""])[0],
                default("sf_o", [""])[0],
            ),
        )
    )
    # soil N per region and year: F_SN, F_ON, F_CR from the N rows, F_PRP from the livestock
    n = pd.DataFrame(
        {
            "region_code": rows["region_code"].to_numpy(),
            "year": rows["year"].to_numpy(),
            "f_sn": np.where(item.eq("synthetic_n"), q, 0.0),
            "f_on": np.where(item.eq("manure_n"), q, 0.0),
            "f_cr": np.where(item.eq("crop_residue_n"), q, 0.0),
            "f_prp": 0.0,
            "prp_n2o_n": 0.0,
        }
    )
    n.loc[item.isin(LIVESTOCK).to_numpy(), "f_prp"] = n_prp_t
    ef3_prp = default("ef3_prp", species)
    n.loc[item.isin(LIVESTOCK).to_numpy(), "prp_n2o_n"] = n_prp_t * ef3_prp
    soil_rows = item.isin(N_INPUTS) | (item.isin(LIVESTOCK) & rows["manure_system"].eq("pasture"))
    n = n[soil_rows.to_numpy()].groupby(["region_code", "year"], as_index=False).sum()
    applied = (n["f_sn"] + n["f_on"] + n["f_cr"]).to_numpy()
    # F_PRP x EF3PRP summed per species: pass N2O-N with EF 1
    direct = soil_n2o_direct_t(applied, default("ef1", [""])[0], n["prp_n2o_n"].to_numpy(), 1.0)
    atd = soil_n2o_volatilisation_t(
        n["f_sn"].to_numpy(),
        (n["f_on"] + n["f_prp"]).to_numpy(),
        default("frac_gasf", [""])[0],
        default("frac_gasm", [""])[0],
        default("ef4", [""])[0],
    )
    leach = soil_n2o_leaching_t(
        applied + n["f_prp"].to_numpy(), default("frac_leach", [""])[0], default("ef5", [""])[0]
    )
    parts += [
        n.assign(sector="3.C.4", gas="N2O", emissions_t=direct),
        n.assign(sector="3.C.5", gas="N2O", emissions_t=atd + leach),
    ]
    long = pd.concat([p[[*keys, "emissions_t"]] for p in parts], ignore_index=True)
    return long.groupby(keys, as_index=False)["emissions_t"].sum()


def agriculture_emissions(
    rows: pd.DataFrame, *, region_code: str, years, temperature_c: float
) -> pd.DataFrame:
    """Agriculture rows (3.A.1, 3.A.2, 3.C.4, 3.C.5, 3.C.7) of a region's inventory years, with
    NE and the reason where data are missing.

    Parameters
    ----------
    rows : ``agriculture`` rows (region_code, year, item, manure_system, quantity, days)
    region_code : the city
    years : inventory years
    temperature_c : annual average temperature [C] of the manure CH4 factors (Tables 10.14,
        10.15)

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector, gas, scope (1), emissions_t (NaN where NE), notation_key,
        method (equations and defaults, or the reason it is NE).
    """
    years = [int(y) for y in years]
    rows = rows[(rows["region_code"] == region_code) & rows["year"].isin(years)]
    got = agriculture_gases(rows, temperature_c).drop(columns="region_code")
    got["year"] = got["year"].astype("int64")
    grid = pd.DataFrame(
        [(y, s, g) for y in years for s, gases in CATEGORIES.items() for g in gases],
        columns=["year", "sector", "gas"],
    )  # years x 6 (category, gas) pairs
    out = grid.merge(got, on=["year", "sector", "gas"], how="left")
    item = rows["item"]
    lv = rows[item.isin(LIVESTOCK)]
    no_system = lv.loc[lv["manure_system"].fillna("").eq(""), ["year"]]
    pasture = lv.loc[lv["manure_system"].eq("pasture"), ["year"]]
    data = pd.concat(
        [
            lv[["year"]].assign(sector="3.A.1", gas="CH4"),
            lv[["year"]].assign(sector="3.A.2", gas="CH4"),
            lv[["year"]].assign(sector="3.A.2", gas="N2O"),
            rows.loc[item.isin(RICE), ["year"]].assign(sector="3.C.7", gas="CH4"),
            *(
                pd.concat([rows.loc[item.isin(N_INPUTS), ["year"]], pasture]).assign(
                    sector=s, gas="N2O"
                )
                for s in ("3.C.4", "3.C.5")
            ),
        ],
        ignore_index=True,
    ).astype({"year": "int64"})
    # manure N2O needs the system of every head: NE if any livestock row has none
    data = data[
        ~(
            (data["sector"] == "3.A.2")
            & (data["gas"] == "N2O")
            & data["year"].isin(set(no_system["year"]))
        )
    ]
    data = data.drop_duplicates().assign(has=True)
    out = out.merge(data, on=["year", "sector", "gas"], how="left")
    has = out.pop("has").eq(True).to_numpy()
    out.loc[~has, "emissions_t"] = np.nan
    out["notation_key"] = np.where(has, "", "NE")
    reason = out["sector"].map(_NE_REASON)
    manure_n2o = ((out["sector"] == "3.A.2") & (out["gas"] == "N2O")).to_numpy()
    some_livestock = out["year"].isin(set(lv["year"])).to_numpy()
    reason = np.where(manure_n2o & some_livestock, _NO_SYSTEM, reason)
    out["method"] = np.where(has, out["sector"].map(_methods(temperature_c)), reason)
    return out.assign(region_code=region_code, scope=1)


#: Why a category is NE, as method records (:mod:`citycarbon.records`).
_NE_REASON = {
    "3.A.1": message_record("agri_ne_livestock"),
    "3.A.2": message_record("agri_ne_livestock"),
    "3.C.4": message_record("agri_ne_nitrogen"),
    "3.C.5": message_record("agri_ne_nitrogen"),
    "3.C.7": message_record("agri_ne_rice"),
}
_NO_SYSTEM = message_record("agri_ne_manure_system")


def _manure_ch4_ef(species, temperature_c: float) -> np.ndarray:
    """Manure CH4 factor of each species at the annual average temperature [kg CH4/head/yr]."""
    context = manure_ch4_context(species, temperature_c)
    t = agriculture_defaults()
    t = t[t["parameter"] == "ef_manure_ch4"].set_index(["key", "context"])["value"]
    keys = pd.MultiIndex.from_arrays([np.asarray(species, dtype=object), context])
    return t.reindex(keys).to_numpy()


def _methods(temperature_c: float) -> dict[str, str]:
    """The method record of each category: equations, then the defaults used."""
    return {
        "3.A.1": message_record("agri_enteric"),
        "3.A.2": message_record(
            "agri_manure",
            temperature_c=f"{temperature_c:g}",
            climate_class=climate_class(temperature_c),
        ),
        "3.C.4": join_records(message_record("agri_soils_direct"), cite("ef1")),
        "3.C.5": join_records(
            message_record("agri_soils_indirect"),
            *(cite(p) for p in ("frac_gasf", "frac_gasm", "frac_leach", "ef4", "ef5")),
        ),
        "3.C.7": join_records(
            message_record("agri_rice"), *(cite(p) for p in ("ef_c", "sf_p", "sf_o", "days"))
        ),
    }
