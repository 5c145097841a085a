"""Waste (IPCC sector 4) of a city inventory: landfill CH4 by first-order decay, incineration,
biological treatment, wastewater CH4 and N2O.

One function per equation of IPCC 2006 Vol. 5, then :func:`waste_emissions`, which chains them
over the ingest tables ``waste_disposal`` (t wet waste per year, treatment and waste type) and
``wastewater`` (t COD per year, stream and treatment). Defaults are data
(``data/waste_defaults.csv``: value, unit, source per row; values not verified against the
published table are labelled ``assumption``).

Categories: 4.A solid waste disposal (landfill CH4), 4.B biological treatment (composting,
anaerobic digestion: CH4, N2O), 4.C incineration (fossil CO2, CH4, N2O; biogenic CO2 is not
counted), 4.D wastewater (CH4 of domestic and industrial streams, N2O of domestic effluent).
A category without activity data is reported ``NE`` with the reason, never zero.

References
----------
[1] IPCC 2006 Guidelines, Vol. 5 Waste: Ch. 2 (Table 2.4 composition defaults), Ch. 3 (solid
    waste disposal, eqs. 3.1-3.6, Tables 3.1-3.3), Ch. 4 (biological treatment, eq. 4.1,
    Table 4.1), Ch. 5 (incineration, eqs. 5.1, 5.4, 5.5), Ch. 6 (wastewater, eqs. 6.1-6.3, 6.7,
    6.8).
[2] 国家发展改革委《省级温室气体清单编制指南（试行）》(2011), 第五章 废弃物处理.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.accounting.balance import DATA_DIR
from citycarbon.accounting.defaults import cite_default, default_values, read_defaults
from citycarbon.records import join_records, message_record

DEFAULTS_CSV = DATA_DIR / "waste_defaults.csv"
LANDFILL = (
    "landfill_managed_anaerobic",
    "landfill_managed_semi_aerobic",
    "landfill_unmanaged_deep",
    "landfill_unmanaged_shallow",
    "landfill_uncategorised",
)
BIOLOGICAL = ("composting", "anaerobic_digestion")
INCINERATION = ("incineration",)
TREATMENTS = (*LANDFILL, *BIOLOGICAL, *INCINERATION)
WASTE_TYPES = ("food", "garden", "paper", "wood", "textiles", "plastics", "inert")
WW_STREAMS = ("domestic", "industrial")
WW_TREATMENTS = (
    "centralized_aerobic",
    "centralized_aerobic_overloaded",
    "anaerobic_reactor",
    "septic_system",
    "sea_river_lake_discharge",
)
CLIMATE_ZONES = ("tropical_moist_wet", "temperate_wet")
#: Waste categories: code, gases.
CATEGORIES = {
    "4.A": ("CH4",),
    "4.B": ("CH4", "N2O"),
    "4.C": ("CO2", "CH4", "N2O"),
    "4.D": ("CH4", "N2O"),
}
CATEGORY_ZH = {"4.A": "固体废弃物处置", "4.B": "生物处理", "4.C": "焚烧处理", "4.D": "废水处理"}
C_TO_CO2 = 44.0 / 12.0
C_TO_CH4 = 16.0 / 12.0
N2O_N_TO_N2O = 44.0 / 28.0


def waste_defaults() -> pd.DataFrame:
    """The default parameters: parameter, key, context, value, unit, source, assumption, note."""
    return read_defaults(DEFAULTS_CSV)


def default(parameter: str, keys, context: str = "") -> np.ndarray:
    """Default values of ``parameter`` for each key (NaN where the table has none)."""
    return default_values(waste_defaults(), parameter, keys, context)


def cite(parameter: str, key: str = "", context: str = "") -> str:
    """One default as a method record (:func:`citycarbon.accounting.defaults.cite_default`)."""
    return cite_default(waste_defaults(), parameter, key, context)


# ------------------------------------------------------------------------- single equations
def ddocm_t(waste_t, doc, docf, mcf):
    """Decomposable degradable organic carbon deposited, t C.

    DDOCm = W x DOC x DOCf x MCF  (IPCC 2006 Vol. 5 eq. 3.2)

    Parameters
    ----------
    waste_t : array-like   waste deposited [t wet]
    doc : array-like   degradable organic carbon [t C/t wet]
    docf : array-like   fraction of DOC that decomposes [0-1]
    mcf : array-like   CH4 correction factor of the site type [0-1]

    References
    ----------
    IPCC 2006 Guidelines, Vol. 5, Ch. 3, eq. 3.2.
    """
    return waste_t * doc * docf * mcf


def fod_decomposed_t(deposited_t: np.ndarray, k) -> tuple[np.ndarray, np.ndarray]:
    """DDOCm accumulated and decomposed per year by first-order decay, t C.

    DDOCma_T = DDOCmd_T + DDOCma_{T-1} x e^{-k}       (eq. 3.4)
    DDOCm decomp_T = DDOCma_{T-1} x (1 - e^{-k})     (eq. 3.5)

    Waste deposited in year T starts to decay in year T+1 (the equations as printed, no
    in-year delay). Closed form, one matrix product per series:
    decomp_T = sum_{t<T} DDOCmd_t x e^{-k (T-1-t)} x (1 - e^{-k}).

    Parameters
    ----------
    deposited_t : array (series, years)   DDOCmd of consecutive years [t C]
    k : array-like (series,)   decay rate [1/yr]

    Returns
    -------
    accumulated, decomposed : arrays (series, years) [t C]

    References
    ----------
    IPCC 2006 Guidelines, Vol. 5, Ch. 3, eqs. 3.4 and 3.5.
    """
    d = np.atleast_2d(np.asarray(deposited_t, dtype="float64"))
    k = np.broadcast_to(np.asarray(k, dtype="float64"), (d.shape[0],))
    n = d.shape[1]
    lag = np.arange(n)[:, None] - np.arange(n)[None, :]  # T - t
    keep = np.exp(-k[:, None, None] * np.clip(lag, 0, None)[None]) * (lag >= 0)[None]
    accumulated = np.einsum("sTt,st->sT", keep, d)
    previous = np.concatenate([np.zeros((d.shape[0], 1)), accumulated[:, :-1]], axis=1)
    return accumulated, previous * (1.0 - np.exp(-k))[:, None]


def landfill_ch4_generated_t(decomposed_t, f):
    """CH4 generated from decomposed DDOCm, t.

    CH4 generated_T = DDOCm decomp_T x F x 16/12  (IPCC 2006 Vol. 5 eq. 3.6)

    Parameters
    ----------
    decomposed_t : array-like   DDOCm decomposed [t C]
    f : array-like   fraction of CH4 in generated landfill gas [0-1]
    """
    return decomposed_t * f * C_TO_CH4


def landfill_ch4_emitted_t(generated_t, recovered_t, ox):
    """CH4 emitted from solid waste disposal sites, t.

    CH4 emitted_T = (sum_x CH4 generated_{x,T} - R_T) x (1 - OX_T)  (IPCC 2006 Vol. 5 eq. 3.1)

    Parameters
    ----------
    generated_t : array-like   CH4 generated, summed over waste types [t]
    recovered_t : array-like   CH4 recovered (flared or used) [t]
    ox : array-like   oxidation factor [0-1]
    """
    return (generated_t - recovered_t) * (1.0 - ox)


def incineration_fossil_co2_t(waste_t, dm, cf, fcf, of):
    """Fossil CO2 of waste incinerated, t.

    CO2 = SW x dm x CF x FCF x OF x 44/12  (IPCC 2006 Vol. 5 eq. 5.1, per waste component)

    Parameters
    ----------
    waste_t : array-like   waste incinerated [t wet]
    dm : array-like   dry matter content [t dm/t wet]
    cf : array-like   carbon in dry matter [t C/t dm]
    fcf : array-like   fossil fraction of the carbon [0-1]
    of : array-like   oxidation factor [0-1]
    """
    return waste_t * dm * cf * fcf * of * C_TO_CO2


def waste_gas_t(waste_t, ef_kg_per_t):
    """CH4 or N2O of waste treated (incinerated, composted, digested), t.

    E = sum_i M_i x EF_i x 10^-3  (IPCC 2006 Vol. 5 eq. 4.1/4.2 before recovery; eqs. 5.4, 5.5)

    Parameters
    ----------
    waste_t : array-like   waste treated [t wet]
    ef_kg_per_t : array-like   emission factor [kg/t wet] (= g/kg)
    """
    return waste_t * ef_kg_per_t * 1e-3


def wastewater_ch4_t(cod_t, sludge_cod_t, b0_kg_per_kg, mcf, recovered_t):
    """CH4 of wastewater treatment and discharge, t.

    CH4 = (TOW - S) x EF - R, EF = B0 x MCF  (IPCC 2006 Vol. 5 eqs. 6.1, 6.2; organics as COD,
    the 省级清单指南 form; eq. 6.4 for industrial streams)

    Parameters
    ----------
    cod_t : array-like   organics in the wastewater TOW [t COD]
    sludge_cod_t : array-like   organics removed as sludge S [t COD]
    b0_kg_per_kg : array-like   maximum CH4 producing capacity [kg CH4/kg COD]
    mcf : array-like   CH4 correction factor of the treatment [0-1]
    recovered_t : array-like   CH4 recovered [t]
    """
    return (cod_t - sludge_cod_t) * b0_kg_per_kg * mcf - recovered_t


def domestic_effluent_n_t(population, protein_kg_per_person_yr, f_npr, f_non_con, f_ind_com):
    """Nitrogen in the effluent of domestic wastewater, t N.

    N_EFFLUENT = P x Protein x F_NPR x F_NON-CON x F_IND-COM  (IPCC 2006 Vol. 5 eq. 6.8,
    N removed with sludge taken as 0)

    Parameters
    ----------
    population : array-like   persons served [persons]
    protein_kg_per_person_yr : array-like   protein consumption [kg/person/yr]
    f_npr, f_non_con, f_ind_com : array-like   see §6.3.1.3 [1]
    """
    return population * protein_kg_per_person_yr * f_npr * f_non_con * f_ind_com * 1e-3


def effluent_n2o_t(n_effluent_t, ef_kg_n2o_n_per_kg_n):
    """N2O of wastewater effluent, t.

    N2O = N_EFFLUENT x EF_EFFLUENT x 44/28  (IPCC 2006 Vol. 5 eq. 6.7)
    """
    return n_effluent_t * ef_kg_n2o_n_per_kg_n * N2O_N_TO_N2O


# ------------------------------------------------------------------------- tier sequences
def landfill_ch4(
    disposal: pd.DataFrame, climate_zone: str, last_year: int | None = None
) -> pd.DataFrame:
    """Landfill CH4 per region and year by first-order decay over the whole deposit history.

    Chains eqs. 3.2 -> 3.4/3.5 -> 3.6 -> 3.1 per (site type, waste type) series; years without
    a deposit row count as no deposit. Recovered CH4 (``ch4_recovered_t`` summed over the
    year's rows) is subtracted before oxidation; OX is the deposit-weighted mean of the site
    types of the year's generation.

    Parameters
    ----------
    disposal : region_code, year, treatment (landfill_*), waste_type, quantity_t,
        ch4_recovered_t
    climate_zone : key of Table 3.3 (``tropical_moist_wet`` | ``temperate_wet``)
    last_year : last year to compute (default: the last deposit year)

    Returns
    -------
    pandas.DataFrame
        region_code, year, ch4_generated_t, ch4_recovered_t, ch4_t.
    """
    d = disposal[disposal["treatment"].isin(LANDFILL)]
    cols = ["region_code", "year", "ch4_generated_t", "ch4_recovered_t", "ch4_t"]
    if d.empty:
        return pd.DataFrame(columns=cols)
    last = max(int(d["year"].max()), last_year or 0)
    years = np.arange(int(d["year"].min()), last + 1)
    series = ["region_code", "treatment", "waste_type"]
    wide = d.pivot_table(
        index=series, columns="year", values="quantity_t", aggfunc="sum", fill_value=0.0
    ).reindex(columns=years, fill_value=0.0)
    idx = wide.index.to_frame(index=False)
    wt = idx["waste_type"].to_numpy()
    dd = ddocm_t(
        wide.to_numpy(),
        default("doc", wt)[:, None],
        default("docf", [""])[0],
        default("mcf", idx["treatment"])[:, None],
    )
    k = default("k", wt, climate_zone)
    k = np.where(np.isnan(k), 0.0, k)  # plastics and inert: no DOC, no decay
    _, decomposed = fod_decomposed_t(dd, k)
    gen = landfill_ch4_generated_t(decomposed, default("f_ch4", [""])[0])
    ox = default("ox", idx["treatment"])[:, None]
    long = pd.DataFrame(
        {
            "region_code": np.repeat(idx["region_code"].to_numpy(), len(years)),
            "year": np.tile(years, len(idx)),
            "gen": gen.ravel(),
            "gen_ox": (gen * ox).ravel(),
        }
    )
    by = long.groupby(["region_code", "year"], as_index=False)[["gen", "gen_ox"]].sum()
    rec = d.groupby(["region_code", "year"])["ch4_recovered_t"].sum()
    recovered = rec.reindex(pd.MultiIndex.from_frame(by[["region_code", "year"]])).fillna(0.0)
    ox_mean = (by["gen_ox"] / by["gen"].where(by["gen"] > 0)).fillna(0.0).to_numpy()
    return pd.DataFrame(
        {
            "region_code": by["region_code"].to_numpy(),
            "year": by["year"].to_numpy(dtype="int64"),
            "ch4_generated_t": by["gen"].to_numpy(),
            "ch4_recovered_t": recovered.to_numpy(),
            "ch4_t": landfill_ch4_emitted_t(by["gen"].to_numpy(), recovered.to_numpy(), ox_mean),
        }
    )


def treatment_gases(disposal: pd.DataFrame) -> pd.DataFrame:
    """Incineration (4.C: fossil CO2, CH4, N2O) and biological treatment (4.B: CH4, N2O) per
    region and year, long by gas.

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector, gas, emissions_t.
    """
    inc = disposal[disposal["treatment"].isin(INCINERATION)]
    bio = disposal[disposal["treatment"].isin(BIOLOGICAL)]
    wt = inc["waste_type"]
    q = inc["quantity_t"].to_numpy(dtype="float64")
    tr = inc["treatment"]
    co2 = incineration_fossil_co2_t(
        q, default("dm", wt), default("cf", wt), default("fcf", wt), default("of", tr)
    )
    parts = [
        inc.assign(sector="4.C", gas="CO2", emissions_t=co2),
        inc.assign(sector="4.C", gas="CH4", emissions_t=waste_gas_t(q, default("ef_ch4", tr))),
        inc.assign(sector="4.C", gas="N2O", emissions_t=waste_gas_t(q, default("ef_n2o", tr))),
    ]
    qb = bio["quantity_t"].to_numpy(dtype="float64")
    tb = bio["treatment"]
    parts += [
        bio.assign(sector="4.B", gas="CH4", emissions_t=waste_gas_t(qb, default("ef_ch4", tb))),
        bio.assign(sector="4.B", gas="N2O", emissions_t=waste_gas_t(qb, default("ef_n2o", tb))),
    ]
    long = pd.concat(parts, ignore_index=True)
    keys = ["region_code", "year", "sector", "gas"]
    return long.groupby(keys, as_index=False)["emissions_t"].sum()


def wastewater_gases(wastewater: pd.DataFrame) -> pd.DataFrame:
    """Wastewater CH4 (domestic and industrial) and domestic effluent N2O per region and year.

    N2O needs the population served and the protein consumption on the domestic rows; rows
    without them give no N2O (the category's N2O is then NE, see :func:`waste_emissions`).

    Parameters
    ----------
    wastewater : region_code, year, stream, treatment, cod_t, sludge_cod_t, ch4_recovered_t,
        population_10k, protein_kg_per_person_yr

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector (4.D), gas, emissions_t.
    """
    w = wastewater
    ch4 = wastewater_ch4_t(
        w["cod_t"].to_numpy(dtype="float64"),
        w["sludge_cod_t"].fillna(0.0).to_numpy(dtype="float64"),
        default("b0", w["stream"]),
        default("mcf", w["treatment"]),
        w["ch4_recovered_t"].fillna(0.0).to_numpy(dtype="float64"),
    )
    dom = w[(w["stream"] == "domestic")].dropna(
        subset=["population_10k", "protein_kg_per_person_yr"]
    )
    # population once per region and year (several treatment rows may repeat it)
    dom = dom.drop_duplicates(["region_code", "year"])
    n = domestic_effluent_n_t(
        dom["population_10k"].to_numpy(dtype="float64") * 1e4,
        dom["protein_kg_per_person_yr"].to_numpy(dtype="float64"),
        default("f_npr", [""])[0],
        default("f_non_con", [""])[0],
        default("f_ind_com", [""])[0],
    )
    parts = [
        w.assign(sector="4.D", gas="CH4", emissions_t=ch4),
        dom.assign(
            sector="4.D", gas="N2O", emissions_t=effluent_n2o_t(n, default("ef_effluent", [""])[0])
        ),
    ]
    long = pd.concat(parts, ignore_index=True)
    keys = ["region_code", "year", "sector", "gas"]
    return long.groupby(keys, as_index=False)["emissions_t"].sum()


def waste_emissions(
    disposal: pd.DataFrame,
    wastewater: pd.DataFrame,
    *,
    region_code: str,
    years,
    climate_zone: str,
) -> pd.DataFrame:
    """Waste rows (4.A-4.D) of a region's inventory years, with NE where data are missing.

    Parameters
    ----------
    disposal : ``waste_disposal`` rows (every year on record: landfill FOD needs the history)
    wastewater : ``wastewater`` rows
    region_code : the city
    years : inventory years
    climate_zone : FOD decay-rate zone (Table 3.3)

    Returns
    -------
    pandas.DataFrame
        region_code, year, sector, gas, scope (1), emissions_t (NaN where NE), notation_key,
        method (equations and defaults, or the reason it is NE).
    """
    years = [int(y) for y in years]
    disposal = disposal[disposal["region_code"] == region_code]
    wastewater = wastewater[wastewater["region_code"] == region_code]
    lf = landfill_ch4(disposal, climate_zone, max(years, default=None))
    lf = lf.assign(sector="4.A", gas="CH4", emissions_t=lf["ch4_t"])
    got = pd.concat(
        [
            lf[["region_code", "year", "sector", "gas", "emissions_t"]],
            treatment_gases(disposal),
            wastewater_gases(wastewater),
        ],
        ignore_index=True,
    )
    grid = pd.DataFrame(
        [(y, s, g) for y in years for s, gases in CATEGORIES.items() for g in gases],
        columns=["year", "sector", "gas"],
    )  # years x 8 (category, gas) pairs
    got["year"] = got["year"].astype("int64")
    out = grid.merge(got.drop(columns="region_code"), on=["year", "sector", "gas"], how="left")
    # years with activity data per category; landfill: every year from the first deposit on
    # record (the decay of earlier deposits goes on without new ones)
    tr = disposal["treatment"]
    landfill_years = disposal.loc[tr.isin(LANDFILL), "year"].astype(int)
    first = landfill_years.min() if len(landfill_years) else np.inf
    data = pd.concat(
        [
            pd.DataFrame({"sector": "4.A", "year": [y for y in years if y >= first]}),
            disposal.loc[tr.isin(BIOLOGICAL), ["year"]].assign(sector="4.B"),
            disposal.loc[tr.isin(INCINERATION), ["year"]].assign(sector="4.C"),
            wastewater[["year"]].assign(sector="4.D"),
        ],
        ignore_index=True,
    ).astype({"year": "int64"})
    data = data.drop_duplicates().assign(has=True)
    out = out.merge(data, on=["sector", "year"], how="left")
    has = out.pop("has").eq(True).to_numpy()
    out.loc[~has, "emissions_t"] = np.nan
    ne = out["emissions_t"].isna().to_numpy()
    out["notation_key"] = np.where(ne, "NE", "")
    reason = np.where(has, _N2O_NOTE, out["sector"].map(_NE_REASON))
    out["method"] = np.where(ne, reason, out["sector"].map(_methods(climate_zone)))
    return out.assign(region_code=region_code, scope=1)


#: Why a category is NE, as method records (:mod:`citycarbon.records`; said by the message
#: catalog, ``run_method.<key>``).
_NE_REASON = {
    "4.A": message_record("waste_ne_landfill"),
    "4.B": message_record("waste_ne_biological"),
    "4.C": message_record("waste_ne_incineration"),
    "4.D": message_record("waste_ne_wastewater"),
}
_N2O_NOTE = message_record("waste_ne_effluent_n2o")


def _methods(climate_zone: str) -> dict[str, str]:
    """The method record of each category: equations, then every default used."""
    return {
        "4.A": join_records(
            message_record("waste_landfill", climate_zone=climate_zone),
            cite("docf"),
            cite("f_ch4"),
        ),
        "4.B": join_records(
            message_record("waste_biological"),
            *(cite(p, t) for p in ("ef_ch4", "ef_n2o") for t in BIOLOGICAL),
        ),
        "4.C": join_records(
            message_record("waste_incineration"),
            *(cite(p, "incineration") for p in ("of", "ef_ch4", "ef_n2o")),
        ),
        "4.D": join_records(
            message_record("waste_wastewater"),
            *(cite(p) for p in ("f_npr", "f_non_con", "f_ind_com", "ef_effluent")),
        ),
    }
