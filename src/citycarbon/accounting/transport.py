"""Transport (1.A.3) of a city inventory by mode: road, rail, water-borne navigation, aviation.

Fuel-based Tier 1 of IPCC 2006 Vol. 2 Ch. 3 over the ingest table ``transport_fuel`` (fuel sold
or used per year, mode, vehicle type, technology, fuel and kind of trip):

- CO2 by the same factor profile and method as every other fuel of the inventory (guideline
  NCV x CC x OF x 44/12, or IPCC Tier 1; :func:`citycarbon.accounting.combustion.
  fuel_combustion_emissions`), so a tonne of diesel emits the same CO2 in 1.A.2 and 1.A.3;
- CH4 and N2O by mode, fuel and (road gasoline) emission-control technology, kg per TJ of fuel
  (``data/transport_defaults.csv``: Tables 3.2.2, 3.4.1, 3.5.3, 3.6.5, source and range per row;
  a fuel without a row is ``NE`` for the gas, never zero).

Aviation fuel of an airport that reports its landing/take-off cycles (``lto_cycles``, and its
fuel per cycle ``lto_fuel_kg_per_cycle``, from the airport's own statistics) is split into the LTO
phase (below 3,000 ft: cycles x fuel per cycle) and cruise (the rest of the fuel), the fuel split
of the Tier 2 method of IPCC 2006 Vol. 2 §3.6.1.2 (eqs. 3.6.2-3.6.3: total = LTO + cruise; LTO
fuel = number of LTOs x fuel per LTO; cruise fuel = total fuel - LTO fuel). Each phase keeps
the Tier 1 factors per TJ of its fuel, so the split never changes a total; rows get ``phase``
``lto`` or ``cruise`` (blank: other modes, or aviation without LTO statistics).

Categories (IPCC): 1.A.3.a civil aviation, 1.A.3.b road, 1.A.3.c railways, 1.A.3.d water-borne
navigation, domestic trips only. International aviation and navigation (trip
``international``: fuel of trips ending abroad) are memo items (``M.1.A.3.a.i``,
``M.1.A.3.d.i``) outside every total. Water-borne rows may name their kind of navigation
(``navigation_type``, IPCC 2006 Vol. 2 §3.5, Table 3.5.1 and the domestic/international
criteria of Table 3.5.2): ``harbour`` (harbour craft and port operations afloat: tugs, pilot
and work boats within the port's waters, in-boundary) and ``coastal`` (coastal and inland
shipping between domestic ports) are both 1.A.3.d.ii domestic water-borne navigation;
``international`` (voyages ending abroad) is 1.A.3.d.i, a memo item. Port cargo-handling
machinery ashore is off-road equipment (1.A.3.e.ii; GPC II.5), not water-borne navigation.
Rows may name the ``facility`` (the airport or port whose fuel they are, e.g. ``XMN
厦门高崎国际机场``, ``厦门港``): it is carried into every result row, so the airport and the
port each report as an entity; it never changes a total. GPC (v1.1 Ch. 7): in-boundary trips
scope 1 (II.x.1), transboundary domestic trips scope 3 (II.x.3), international trips memo
(M.II.x; water-borne navigation is II.3, aviation II.4), by
:func:`citycarbon.accounting.gpc.reference_numbers`. Electricity of transport is grid energy
(scope 2, from the balance), not a ``transport_fuel`` row.

References
----------
[1] IPCC 2006 Guidelines, Vol. 2 Ch. 3 Mobile combustion: eqs. 3.2.1, 3.2.3 (road), 3.4.1
    (railways), 3.5.1 (water-borne), 3.6.1 (aviation, Tier 1); §3.5.1.1 and §3.6.1.1
    (international bunkers as memo items).
[2] 国家发展改革委《省级温室气体清单编制指南（试行）》(2011), 第一章 能源活动, 交通运输
    (分交通方式的燃料消费; 国际燃料舱单独报告).
[3] WRI, C40, ICLEI (2021) GPC v1.1, Ch. 7 Transportation.
[4] IPCC 2006 Guidelines, Vol. 2 Ch. 3, §3.6.1.2 Tier 2 (LTO and cruise), eqs. 3.6.2-3.6.3.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.accounting.balance import DATA_DIR
from citycarbon.accounting.combustion import fuel_combustion_emissions
from citycarbon.accounting.defaults import read_defaults
from citycarbon.accounting.gpc import reference_numbers
from citycarbon.accounting.gwp import gwp_values
from citycarbon.factors import FactorProfile, fuels
from citycarbon.records import message_record

DEFAULTS_CSV = DATA_DIR / "transport_defaults.csv"
MODES = ("road", "rail", "navigation", "aviation")
TRIPS = ("in_boundary", "transboundary", "international")
TECHNOLOGIES = ("uncontrolled", "oxidation_catalyst", "low_mileage_ldv_1995_or_later")
#: Kinds of water-borne navigation (IPCC 2006 Vol. 2 §3.5, Table 3.5.1): harbour craft and
#: coastal shipping are domestic (1.A.3.d.ii), international voyages memo (1.A.3.d.i), with
#: the trips each may have.
NAVIGATION_TYPES = {
    "harbour": ("in_boundary",),
    "coastal": ("in_boundary", "transboundary"),
    "international": ("international",),
}
#: Modes whose fuel is reported by a facility (the airport, the port).
FACILITY_MODES = ("aviation", "navigation")
#: Flight phases of aviation rows with LTO statistics (IPCC 2006 Vol. 2 §3.6.1.2, Tier 2).
PHASES = ("lto", "cruise")
ROAD_VEHICLES = (
    "passenger_car",
    "taxi",
    "bus",
    "light_truck",
    "heavy_truck",
    "motorcycle",
    "other",
)
#: IPCC category of the domestic trips of each mode, and its GPC sub-sector.
CATEGORY = {"aviation": "1.A.3.a", "road": "1.A.3.b", "rail": "1.A.3.c", "navigation": "1.A.3.d"}
GPC_SUBSECTOR = {"road": "II.1", "rail": "II.2", "navigation": "II.3", "aviation": "II.4"}
GASES = ("CO2", "CH4", "N2O")


def transport_defaults() -> pd.DataFrame:
    """CH4 and N2O factors: parameter, mode, ipcc_fuel, technology, value, unit, source,
    assumption, note."""
    return read_defaults(DEFAULTS_CSV)


def mobile_ef_kg_per_tj(parameter: str, mode, ipcc_fuel, technology) -> np.ndarray:
    """CH4 or N2O factor per row, kg/TJ: the row's technology, else the fuel's default
    (technology ''); NaN where the table has neither."""
    t = transport_defaults()
    t = t[t["parameter"] == parameter].set_index(["mode", "ipcc_fuel", "technology"])["value"]
    mode = np.asarray(mode, dtype=object)
    fuel = np.asarray(ipcc_fuel, dtype=object)
    tech = np.asarray(technology, dtype=object)
    exact = t.reindex(pd.MultiIndex.from_arrays([mode, fuel, tech])).to_numpy()
    fallback = t.reindex(pd.MultiIndex.from_arrays([mode, fuel, np.full(len(mode), "")]))
    return np.where(np.isnan(exact), fallback.to_numpy(), exact)


# ------------------------------------------------------------------------- single equations
def mobile_gas_t(fuel_tj, ef_kg_per_tj):
    """CH4 or N2O of fuel burnt in vehicles, ships or aircraft, t.

    Emission = sum_a Fuel_a x EF_a  (IPCC 2006 Vol. 2 eq. 3.2.3 road; eq. 3.4.1 railways;
    eq. 3.5.1 water-borne navigation; eq. 3.6.1 aviation Tier 1), Fuel in TJ.

    Parameters
    ----------
    fuel_tj : array-like   fuel burnt [TJ]
    ef_kg_per_tj : array-like   emission factor [kg/TJ]

    References
    ----------
    IPCC 2006 Guidelines, Vol. 2, Ch. 3, Tables 3.2.2, 3.4.1, 3.5.3, 3.6.5.
    """
    return fuel_tj * ef_kg_per_tj * 1e-3


def lto_fuel_t(lto_cycles, lto_fuel_kg_per_cycle):
    """Fuel burnt in the landing/take-off cycles (below 3,000 ft), t.

    LTO fuel = number of LTOs x fuel consumption per LTO  (IPCC 2006 Vol. 2 §3.6.1.2, Tier 2,
    eq. 3.6.3)

    Parameters
    ----------
    lto_cycles : array-like   landing/take-off cycles [1] (one landing and one take-off)
    lto_fuel_kg_per_cycle : array-like   fuel per cycle [kg]

    References
    ----------
    IPCC 2006 Guidelines, Vol. 2, Ch. 3, §3.6.1.2 (Tier 2), eq. 3.6.3.
    """
    return lto_cycles * lto_fuel_kg_per_cycle * 1e-3


def cruise_fuel_t(total_fuel_t, lto_fuel_t_):
    """Fuel burnt in cruise (above 3,000 ft), t.

    Cruise fuel = total fuel - LTO fuel  (IPCC 2006 Vol. 2 §3.6.1.2, Tier 2, eqs. 3.6.2-3.6.3:
    total emissions = LTO emissions + cruise emissions)

    Parameters
    ----------
    total_fuel_t : array-like   aviation fuel of the trips [t]
    lto_fuel_t_ : array-like   of it, fuel of the LTO cycles [t] (:func:`lto_fuel_t`)

    References
    ----------
    IPCC 2006 Guidelines, Vol. 2, Ch. 3, §3.6.1.2 (Tier 2), eqs. 3.6.2-3.6.3.
    """
    return total_fuel_t - lto_fuel_t_


def by_flight_phase(activity: pd.DataFrame) -> pd.DataFrame:
    """``transport_fuel`` rows with the aviation rows that carry LTO statistics split into an
    ``lto`` and a ``cruise`` row (:func:`lto_fuel_t`, :func:`cruise_fuel_t`), each with its part
    of ``quantity``; other rows keep theirs with ``phase`` blank. ``lto_cycles`` stays on the LTO
    row only. Quantities add up to the input's (aviation fuel is in t: fuels.csv)."""
    lto_columns = ["lto_cycles", "lto_fuel_kg_per_cycle"]
    a = activity.reindex(columns=list(dict.fromkeys([*activity.columns, *lto_columns])))
    a = a.reset_index(drop=True)
    cycles = a["lto_cycles"].to_numpy(dtype="float64")
    per_cycle = a["lto_fuel_kg_per_cycle"].to_numpy(dtype="float64")
    split = (a["mode"] == "aviation").to_numpy() & ~np.isnan(cycles) & ~np.isnan(per_cycle)
    total = a["quantity"].to_numpy(dtype="float64")
    # at most the row's fuel: statistics rounded to LTO = total must not leave a negative cruise
    lto = np.minimum(lto_fuel_t(cycles, per_cycle), total)
    lto_phase, cruise_phase = PHASES
    whole = a[~split].assign(phase="", lto_cycles=np.nan)
    in_lto = a[split].assign(phase=lto_phase, quantity=lto[split])
    in_cruise = a[split].assign(
        phase=cruise_phase, quantity=cruise_fuel_t(total[split], lto[split]), lto_cycles=np.nan
    )
    out = pd.concat([whole, in_lto, in_cruise], ignore_index=True)
    return out.drop(columns="lto_fuel_kg_per_cycle")


# ------------------------------------------------------------------------- tier sequence
def transport_emissions(activity: pd.DataFrame, profile: FactorProfile) -> pd.DataFrame:
    """Emissions of ``transport_fuel`` rows by facility, mode, vehicle type, trip and gas.

    Parameters
    ----------
    activity : region_code, year, mode, vehicle_type, technology, fuel (code, not electricity
        or heat), trip, quantity (the fuel's statistical unit); optionally facility (airport or
        port), navigation_type (:data:`NAVIGATION_TYPES`), and lto_cycles and
        lto_fuel_kg_per_cycle of aviation rows (:func:`by_flight_phase`); a missing or empty
        optional text reads as blank
    profile : factor profile of the inventory (NCV, CO2 factors, GWP100)

    Returns
    -------
    pandas.DataFrame
        region_code, year, facility, mode, navigation_type, vehicle_type, technology, trip,
        fuel, fuel_zh and fuel_en (its names), phase (``lto``, ``cruise`` or blank),
        lto_cycles (LTO rows), sector (IPCC category, ``M.`` prefixed for international
        trips), gpc_ref, memo (bool), gas, energy_tj, emissions_t (NaN where the gas has no
        factor: NE), emissions_tco2e, notation_key, method.
    """
    keys = [
        "region_code",
        "year",
        "facility",
        "mode",
        "navigation_type",
        "vehicle_type",
        "technology",
        "trip",
        "fuel",
    ]
    cols = [
        *keys,
        "fuel_zh",
        "fuel_en",
        "phase",
        "lto_cycles",
        "sector",
        "gpc_ref",
        "memo",
        "gas",
        "energy_tj",
        "emissions_t",
        "emissions_tco2e",
        "notation_key",
        "method",
    ]
    if activity.empty:
        return pd.DataFrame(columns=cols)
    a = by_flight_phase(activity)
    texts = ["facility", "navigation_type", "vehicle_type", "technology"]
    a = a.assign(**{c: a.reindex(columns=texts)[c].fillna("").astype(str) for c in texts})
    f = fuels()
    act = pd.DataFrame(
        {
            "fuel": a["fuel"].to_numpy(),
            "quantity": a["quantity"].to_numpy(dtype="float64"),
            "unit": f["stat_unit"].reindex(a["fuel"]).to_numpy(),
        }
    )
    em = fuel_combustion_emissions(act, profile, tier1=True, source="transport_fuel")
    tj = em["energy_gj"].to_numpy(dtype="float64") * 1e-3
    ipcc = f["ipcc_fuel"].reindex(a["fuel"]).fillna("").to_numpy()
    memo = (a["trip"] == "international").to_numpy()
    category = a["mode"].map(CATEGORY)
    sector = np.where(memo, "M." + category + ".i", category)
    ref = reference_numbers(a["mode"].map(GPC_SUBSECTOR), a["trip"], np.zeros(len(a), bool))
    gwp = dict(zip(GASES, gwp_values(["CO2", "CH4_non_fossil", "N2O"], profile), strict=True))
    base = a[[*keys, "phase", "lto_cycles"]].assign(
        fuel_zh=f["name_zh"].reindex(a["fuel"]).to_numpy(),
        fuel_en=f["name_en"].reindex(a["fuel"]).to_numpy(),
        sector=sector,
        gpc_ref=ref,
        memo=memo,
        energy_tj=tj,
    )
    co2_method = em["method"].astype(str).to_numpy()
    parts = [
        base.assign(gas="CO2", emissions_t=em["co2_t"].to_numpy(dtype="float64"), method=co2_method)
    ]
    for gas, parameter in (("CH4", "ch4_ef"), ("N2O", "n2o_ef")):
        ef = pd.Series(mobile_ef_kg_per_tj(parameter, a["mode"], ipcc, a["technology"]))
        said = {  # a method record per distinct factor (a few per gas)
            v: message_record("mobile_gas", gas=gas, ef=f"{v:g}") for v in ef.dropna().unique()
        }
        parts.append(
            base.assign(
                gas=gas,
                emissions_t=mobile_gas_t(tj, ef.to_numpy()),
                method=np.where(ef.isna(), message_record("mobile_gas_ne", gas=gas), ef.map(said)),
            )
        )
    out = pd.concat(parts, ignore_index=True)
    out["emissions_tco2e"] = out["emissions_t"] * out["gas"].map(gwp)
    out["notation_key"] = np.where(out["emissions_t"].isna(), "NE", "")
    return out[cols]


def one_category(sector: pd.Series) -> pd.Series:
    """Transport modes (1.A.3.a-d) as the one category 1.A.3 (the enterprise accounts' level)."""
    return sector.where(~sector.astype(str).str.startswith("1.A.3."), "1.A.3")
