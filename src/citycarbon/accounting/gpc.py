"""GPC v1.1 city inventory: the reporting framework, the energy balance classified into it, totals.

The Global Protocol for Community-Scale GHG Emission Inventories (GPC) reports emissions by
sector (I stationary energy, II transportation, III waste, IV IPPU, V AFOLU, VI other scope 3),
sub-sector and scope, under a reference number (``I.1.2`` = residential buildings, scope 2), and
adds them up in two city-induced totals:

- **BASIC**: scope 1 and 2 of stationary energy and transportation, scope 1 and 3 of waste;
- **BASIC+**: BASIC plus IPPU and AFOLU, the scope 3 of transboundary journeys and the
  transmission and distribution (T&D) losses of grid-supplied energy.

The rules this module implements (reference table ``data/gpc_reference.csv``, one row per
reference number with its scope and BASIC / BASIC+ membership):

- grid-supplied energy is electricity *and* heat or steam from networks: its consumption is
  scope 2 of the consuming sub-sector (x.2), in BASIC; heat is never dropped;
- T&D losses of grid-supplied energy are scope 3 (x.3), BASIC+ only, allocated to the consuming
  sub-sectors in proportion to their consumption of the carrier;
- energy-industry own use (fuel and grid energy used by the energy industries themselves) is
  I.4.1 / I.4.2, in BASIC;
- fuel burnt to generate electricity and heat supplied to the grid (I.4.4) is reported, and in
  the scope 1 (territorial) total, but added to neither BASIC nor BASIC+: the energy is counted
  as scope 2 where it is consumed;
- fuel sold in the city for transboundary flights and voyages is scope 3 (II.4.3, II.3.3),
  BASIC+;
- international bunkers (fuel sold to foreign ships and aircraft, the balance item 境外轮船和飞机
  在境内的加油量) are memo items (``M.II.3``, ``M.II.4``), outside every total.

The balance is classified by ``data/gpc_activity.csv`` (balance item and fuel -> GPC sub-sector
and kind of trip; the transport modes are assumptions there, the balance does not split
transport). Non-energy sectors of the IPCC inventory map to GPC by ``data/gpc_ipcc.csv``. The
notes of the table (why a row is NO, IE or outside BASIC) are ``data/gpc_notes.csv``, in Chinese
and English, each with its source.

References
----------
[1] WRI, C40, ICLEI (2021). Global Protocol for Community-Scale Greenhouse Gas Inventories,
    version 1.1. Ch. 3 (scopes; BASIC and BASIC+; emissions from energy generation supplied to
    the grid reported but excluded from BASIC), Ch. 4 reporting framework (Table 4.3), Ch. 6
    (stationary energy, T&D losses) and Ch. 7 (transportation, transboundary journeys).
[2] IPCC 2006 Guidelines, Vol. 2 Ch. 3, 3.5-3.6 (international bunkers are memo items, excluded
    from national totals); Vol. 1 Ch. 8 (notation keys NE, NO, IE).
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.balance import DATA_DIR, balance_items
from citycarbon.accounting.electricity import electricity_co2_t, heat_co2_t
from citycarbon.accounting.gwp import gwp_values
from citycarbon.accounting.inventory import NOT_COMBUSTED, combustion_gases
from citycarbon.errors import InputError
from citycarbon.factors import FactorProfile

CARRIERS = NOT_COMBUSTED  # grid-supplied energy: electricity, heat (steam, hot water)
#: trips of data/gpc_activity.csv -> the scope position of the reference number of burnt fuel
TRIPS = ("in_boundary", "transboundary", "generation", "international")
GENERATION_REF = "I.4.4"
ROW_COLUMNS = ["region_code", "year", "gpc_ref", "gas", "emissions_t", "emissions_tco2e"]
TOTALS = (
    "scope1_tco2e",
    "scope2_tco2e",
    "scope3_tco2e",
    "basic_tco2e",
    "basic_plus_tco2e",
    "memo_tco2e",
)


@cache
def gpc_reference() -> pd.DataFrame:
    """The GPC reporting framework: one row per reference number (index ``ref``) with sector,
    sub-sector, scope (0 for memo items), names (zh, en), ``basic``, ``basic_plus``, ``memo``,
    the notation key ``absent`` when a city's data give no row, and a note (a key of
    :func:`gpc_notes`)."""
    t = pd.read_csv(DATA_DIR / "gpc_reference.csv", dtype=str, keep_default_na=False)
    for c in ("basic", "basic_plus", "memo"):
        t[c] = t[c].str.lower().eq("true")
    t["scope"] = t["scope"].astype("int64")
    return t.set_index("ref")


@cache
def gpc_notes() -> pd.DataFrame:
    """The notes of the reporting table (index ``key``): ``note_zh``, ``note_en``, source."""
    return pd.read_csv(DATA_DIR / "gpc_notes.csv", dtype=str, keep_default_na=False).set_index(
        "key"
    )


def note_columns(keys: pd.Series) -> dict[str, np.ndarray]:
    """``note_zh`` and ``note_en`` of note keys (:func:`gpc_notes`; '' = no note)."""
    notes = gpc_notes().reindex(keys.to_numpy()).fillna("")
    return {"note_zh": notes["note_zh"].to_numpy(), "note_en": notes["note_en"].to_numpy()}


@cache
def activity_map() -> pd.DataFrame:
    """Balance item and fuel ('' = any other fuel) -> GPC sub-sector, trips, assumption, note."""
    t = pd.read_csv(DATA_DIR / "gpc_activity.csv", dtype=str, keep_default_na=False)
    t["assumption"] = t["assumption"].str.lower().eq("true")
    bad = ~t["trips"].isin(TRIPS)
    if bad.any():
        raise InputError(
            f"trips must be one of {list(TRIPS)}",
            source=str(DATA_DIR / "gpc_activity.csv"),
            row=int(np.argmax(bad.to_numpy())) + 2,
            field="trips",
            value=t["trips"][bad].iloc[0],
        )
    return t


@cache
def ipcc_map() -> pd.DataFrame:
    """IPCC category prefix -> GPC reference number (non-energy sectors of the inventory)."""
    return pd.read_csv(DATA_DIR / "gpc_ipcc.csv", dtype=str, keep_default_na=False)


def energy_activity(balance: pd.DataFrame) -> pd.DataFrame:
    """The energy of a completed balance classified by GPC reference number.

    Per region, year and fuel:

    - fuel burnt in final consumption (industry split into I.3 = industry less
      电力、热力、燃气及水生产和供应业 less feedstock, and I.4 = that item: own use), in
      power and heat plants (inputs of 火力发电 and 供热: I.4.4), sold to foreign ships and
      aircraft (境外轮船和飞机在境内的加油量: memo); burnt fuel of transport by mode and trips
      as :func:`activity_map` says;
    - electricity and heat consumed (final consumption and inputs of transformation): x.2;
    - their losses (损失量): x.3, shared among the sub-sectors in proportion to their
      consumption of the carrier (I.6 when nothing of it is consumed).

    Other transformation inputs of fuels (coking, refining, gas works) are not burnt: their
    carbon is counted where the products are burnt.

    Parameters
    ----------
    balance : output of :func:`citycarbon.accounting.balance.complete_balance`

    Returns
    -------
    pandas.DataFrame
        region_code, year, fuel, item, subsector, gpc_ref, quantity (> 0, the fuel's
        statistical unit), ch4_n2o_context (of the item, '' = none).
    """
    items = balance_items()
    keys = ["region_code", "year", "fuel"]
    wide = balance.pivot_table(index=keys, columns="item", values="quantity", aggfunc="sum")
    wide = wide.reindex(columns=items.index, fill_value=0.0).fillna(0.0)
    finals = list(items.index[(items["parent"] == "final") & (items["group"] == "final")])
    trans = list(items.index[items["group"] == "transformation"])
    q = wide[finals].copy()
    q["industry"] = (
        wide["industry"] - wide["industry_utilities"] - wide["industry_feedstock"]
    ).clip(lower=0.0)
    q["industry_utilities"] = wide["industry_utilities"]
    carrier = wide.index.get_level_values("fuel").isin(CARRIERS)
    inputs = (-wide[trans]).clip(lower=0.0)
    q["thermal_power"] = np.where(carrier, 0.0, inputs["thermal_power"])
    q["heating"] = np.where(carrier, 0.0, inputs["heating"])
    q["transformation"] = np.where(carrier, inputs.sum(axis=1), 0.0)  # carriers used by T
    q["bunker_home"] = (-wide["bunker_home"]).clip(lower=0.0)
    q.columns.name = "item"
    long = q.stack().rename("quantity").reset_index()
    long = long[long["quantity"] > 0].reset_index(drop=True)
    long = _classify(long)
    losses = _losses(wide["losses"], long)
    out = pd.concat([long, losses], ignore_index=True)
    ctx = items["ch4_n2o_context"].fillna("")
    out["ch4_n2o_context"] = ctx.reindex(out["item"]).fillna("").to_numpy()
    unknown = ~out["gpc_ref"].isin(gpc_reference().index)
    if unknown.any():
        bad = out[unknown].iloc[0]
        raise InputError(
            f"balance item {bad['item']} x {bad['fuel']} maps to GPC {bad['gpc_ref']}, which the "
            "GPC reporting framework does not have (data/gpc_activity.csv)",
            source=str(DATA_DIR / "gpc_activity.csv"),
            field="subsector",
            value=bad["gpc_ref"],
        )
    return out[[*keys, "item", "subsector", "gpc_ref", "quantity", "ch4_n2o_context"]]


def _classify(long: pd.DataFrame) -> pd.DataFrame:
    """Sub-sector and reference number of activity rows by (item, fuel), then (item, any fuel)."""
    m = activity_map()
    exact = m[m["fuel"] != ""].set_index(["item", "fuel"])
    default = m[m["fuel"] == ""].set_index("item")
    pair = pd.MultiIndex.from_frame(long[["item", "fuel"]])
    sub = exact["subsector"].reindex(pair).to_numpy()
    trips = exact["trips"].reindex(pair).to_numpy()
    fallback = pd.isna(sub)
    sub[fallback] = default["subsector"].reindex(long["item"][fallback]).to_numpy()
    trips[fallback] = default["trips"].reindex(long["item"][fallback]).to_numpy()
    sub = pd.Series(sub, dtype=object)
    trips = pd.Series(trips, dtype=object)
    ref = reference_numbers(sub, trips, long["fuel"].isin(CARRIERS).to_numpy())
    return long.assign(subsector=sub.to_numpy(), gpc_ref=ref)


def reference_numbers(subsector: pd.Series, trips, carrier) -> np.ndarray:
    """GPC reference number of energy activity from its sub-sector and kind of trip.

    Grid-supplied energy is scope 2 (x.2); fuel burnt for generation supplied to the grid is
    I.4.4; international trips are memo items (M.x); transboundary trips scope 3 (x.3); the rest
    scope 1 (x.1) (GPC v1.1 Table 4.3; Ch. 7 for the transport trips).

    Parameters
    ----------
    subsector : GPC sub-sector per row (``II.1`` ...)
    trips : one of :data:`TRIPS` per row
    carrier : whether the row is grid-supplied energy (electricity, heat)
    """
    sub = pd.Series(subsector, dtype=object).reset_index(drop=True)
    trips = np.asarray(trips, dtype=object)
    return np.select(
        [carrier, trips == "generation", trips == "international", trips == "transboundary"],
        [sub + ".2", GENERATION_REF, "M." + sub, sub + ".3"],
        default=sub + ".1",
    )


def _losses(losses: pd.Series, consumed: pd.DataFrame) -> pd.DataFrame:
    """T&D losses of electricity and heat as x.3 rows, shared by the consumption of each
    sub-sector (L_s = L x C_s / sum C); I.6.3 when the carrier is not consumed at all."""
    keys = ["region_code", "year", "fuel"]
    lost = losses[losses.index.get_level_values("fuel").isin(CARRIERS) & (losses > 0)]
    lost = lost.rename("losses").reset_index()
    use = consumed[consumed["fuel"].isin(CARRIERS)]
    by = use.groupby([*keys, "subsector"], as_index=False)["quantity"].sum()
    by["share"] = by["quantity"] / by.groupby(keys)["quantity"].transform("sum")
    out = lost.merge(by[[*keys, "subsector", "share"]], on=keys, how="left")
    out["subsector"] = out["subsector"].fillna("I.6")
    out["share"] = out["share"].fillna(1.0)
    return pd.DataFrame(
        {
            **{k: out[k] for k in keys},
            "item": "losses",
            "quantity": out["losses"] * out["share"],
            "subsector": out["subsector"],
            "gpc_ref": out["subsector"] + ".3",
        }
    )


def electricity_consumed_mwh(activity: pd.DataFrame) -> pd.Series:
    """Grid electricity consumed in the city per year [MWh]: the x.2 rows of
    :func:`energy_activity` (final consumption and transformation inputs, losses excluded)."""
    e = activity[(activity["fuel"] == "electricity") & (activity["item"] != "losses")]
    mwh = units.convert(e["quantity"].to_numpy(), "10^4 kWh", "MWh")
    return pd.Series(mwh, index=e["year"].to_numpy()).groupby(level=0).sum()


def energy_emissions(
    activity: pd.DataFrame,
    profile: FactorProfile,
    stat_units: pd.Series,
    grid_ef_tco2_per_mwh: pd.Series,
    heat_ef_tco2_per_gj: pd.Series,
) -> pd.DataFrame:
    """Emissions of the classified energy activity, per region, year, reference number and gas.

    Burnt fuel: CO2, CH4 and N2O as the city inventory computes them
    (:func:`citycarbon.accounting.inventory.combustion_gases`; NE where the profile has no
    CH4/N2O factor). Electricity: E = MWh x EF_grid (location-based, the declared grid factor
    of the year); heat: E = GJ x EF_heat; CO2 only (the published factors are CO2 factors).

    Parameters
    ----------
    activity : output of :func:`energy_activity`
    profile : factor profile (combustion factors, GWP100)
    stat_units : fuels.csv ``stat_unit`` by fuel code
    grid_ef_tco2_per_mwh, heat_ef_tco2_per_gj : factor by data year

    Returns
    -------
    pandas.DataFrame
        region_code, year, gpc_ref, gas, emissions_t, emissions_tco2e (NaN where NE).

    References
    ----------
    GPC v1.1 Ch. 6 (scope 2 of grid-supplied electricity, steam, heating and cooling; scope 3
    of T&D losses); GB/T 32150-2015, 6.7 (E = AD x EF of purchased electricity and heat).
    """
    carrier = activity["fuel"].isin(CARRIERS)
    burnt = activity[~carrier]
    fuel_rows = combustion_gases(
        burnt[["region_code", "year", "gpc_ref", "fuel", "quantity", "ch4_n2o_context"]],
        profile,
        stat_units,
    )
    grid = activity[carrier]
    unit = pd.Series(stat_units.reindex(grid["fuel"]).to_numpy(), index=grid.index)
    gj = grid["quantity"].to_numpy() * units.to_base_factors(unit, expect="energy")
    power = (grid["fuel"] == "electricity").to_numpy()
    year = grid["year"].to_numpy()
    co2 = np.where(
        power,
        electricity_co2_t(
            units.convert(gj, "GJ", "MWh"), grid_ef_tco2_per_mwh.reindex(year).to_numpy()
        ),
        heat_co2_t(gj, heat_ef_tco2_per_gj.reindex(year).to_numpy()),
    )
    co2_rows = grid[["region_code", "year", "gpc_ref"]].assign(
        gas="CO2", emissions_t=co2, emissions_tco2e=co2 * gwp_values(["CO2"], profile)[0]
    )
    rows = pd.concat(
        [fuel_rows.reindex(columns=ROW_COLUMNS), co2_rows[ROW_COLUMNS]], ignore_index=True
    )
    return rows.groupby(ROW_COLUMNS[:4], as_index=False)[ROW_COLUMNS[4:]].sum(min_count=1)


def inventory_rows(city_rows: pd.DataFrame) -> pd.DataFrame:
    """GPC rows of the non-energy sectors of the IPCC city inventory (1.B fugitive, 2 IPPU,
    3 AFOLU, 4 waste) by :func:`ipcc_map` (longest matching category prefix). Energy (1.A) and
    scope-2 rows are not taken: :func:`energy_activity` classifies the balance itself.

    Parameters
    ----------
    city_rows : territorial city rows: region_code, year, sector, gas, emissions_t,
        emissions_tco2e

    Returns
    -------
    pandas.DataFrame
        region_code, year, gpc_ref, gas, emissions_t, emissions_tco2e (NaN where NE).
    """
    m = ipcc_map()
    sector = city_rows["sector"].astype(str)
    ref = pd.Series(np.nan, index=city_rows.index, dtype=object)
    for prefix, gpc_ref in sorted(  # a score of prefixes, longest first
        zip(m["prefix"], m["gpc_ref"], strict=True), key=lambda p: -len(p[0])
    ):
        hit = ref.isna() & ((sector == prefix) | sector.str.startswith(prefix + "."))
        ref[hit] = gpc_ref
    rows = city_rows[ref.notna()].assign(gpc_ref=ref[ref.notna()])
    return rows.groupby(ROW_COLUMNS[:4], as_index=False)[ROW_COLUMNS[4:]].sum(min_count=1)


def reporting_table(rows: pd.DataFrame, regions_years: pd.DataFrame) -> pd.DataFrame:
    """The GPC reporting table: every reference number of the framework for every region and
    year, by gas, with its scope, names, BASIC / BASIC+ / memo flags and notation key.

    A reference number without rows gets one row (gas '') with its ``absent`` notation key
    (NO: the energy balance records no such activity; NE: not estimated; IE: included
    elsewhere, see the note); a row whose emissions are NaN is NE.

    Parameters
    ----------
    rows : region_code, year, gpc_ref, gas, emissions_t, emissions_tco2e
    regions_years : region_code, year (the inventories to report)

    Returns
    -------
    pandas.DataFrame
        region_code, year, gpc_ref, gas, scope, name_zh, name_en, emissions_t,
        emissions_tco2e, notation_key, basic, basic_plus, memo, note_zh, note_en.
    """
    ref = gpc_reference()
    grid = (
        regions_years[["region_code", "year"]]
        .drop_duplicates()
        .merge(pd.DataFrame({"gpc_ref": ref.index}), how="cross")
    )
    present = rows[["region_code", "year", "gpc_ref"]].drop_duplicates()
    absent = grid.merge(present, how="left", indicator=True)
    absent = absent[absent["_merge"] == "left_only"].drop(columns="_merge")
    absent = absent.assign(
        gas="",
        emissions_t=np.nan,
        emissions_tco2e=np.nan,
        notation_key=ref["absent"].reindex(absent["gpc_ref"]).to_numpy(),
    )
    have = rows.assign(notation_key=np.where(rows["emissions_tco2e"].isna(), "NE", ""))
    out = pd.concat([have, absent], ignore_index=True)
    info = ref.reindex(out["gpc_ref"])
    out = out.assign(
        scope=info["scope"].to_numpy(),
        name_zh=info["zh"].to_numpy(),
        name_en=info["en"].to_numpy(),
        basic=info["basic"].to_numpy(),
        basic_plus=info["basic_plus"].to_numpy(),
        memo=info["memo"].to_numpy(),
        **note_columns(info["note"]),
        order=pd.Categorical(out["gpc_ref"], categories=ref.index, ordered=True),
    )
    cols = [
        "region_code",
        "year",
        "gpc_ref",
        "gas",
        "scope",
        "name_zh",
        "name_en",
        "emissions_t",
        "emissions_tco2e",
        "notation_key",
        "basic",
        "basic_plus",
        "memo",
        "note_zh",
        "note_en",
    ]
    return out.sort_values(["region_code", "year", "order", "gas"])[cols].reset_index(drop=True)


def totals(table: pd.DataFrame) -> pd.DataFrame:
    """GPC totals per region and year, tCO2e.

    - scope1 (territorial, the scopes framework): every scope-1 row, I.4.4 included;
    - scope2, scope3: rows of that scope counted in BASIC+;
    - basic, basic_plus: rows flagged so in the framework;
    - memo: international bunkers, in no other total.

    Rows reported NE, NO or IE add nothing; ``not_estimated`` lists the NE reference numbers.

    Parameters
    ----------
    table : output of :func:`reporting_table`

    Returns
    -------
    pandas.DataFrame
        region_code, year, scope1_tco2e, scope2_tco2e, scope3_tco2e, basic_tco2e,
        basic_plus_tco2e, memo_tco2e, not_estimated.
    """
    keys = ["region_code", "year"]
    t = table.assign(v=table["emissions_tco2e"].fillna(0.0))
    counted = t["basic_plus"]
    parts = {
        "scope1_tco2e": t["v"].where((t["scope"] == 1) & ~t["memo"], 0.0),
        "scope2_tco2e": t["v"].where((t["scope"] == 2) & counted, 0.0),
        "scope3_tco2e": t["v"].where((t["scope"] == 3) & counted, 0.0),
        "basic_tco2e": t["v"].where(t["basic"], 0.0),
        "basic_plus_tco2e": t["v"].where(counted, 0.0),
        "memo_tco2e": t["v"].where(t["memo"], 0.0),
    }
    out = pd.DataFrame({k: t[k] for k in keys}).assign(**parts)
    out = out.groupby(keys, as_index=False)[list(TOTALS)].sum()
    ne = (
        t[t["notation_key"] == "NE"]
        .groupby(keys)["gpc_ref"]
        .agg(lambda s: ",".join(dict.fromkeys(s)))
        .rename("not_estimated")
    )
    out = out.merge(ne.reset_index(), on=keys, how="left")
    out["not_estimated"] = out["not_estimated"].fillna("")
    return out
