"""Fuel combustion (scope 1): CO2, CH4 and N2O of fuels burnt, by fuel.

Two CO2 methods, chosen per fuel by what the factor profile holds
(:meth:`citycarbon.factors.FactorProfile.co2_methods`):

- *guideline*: E = AD x NCV x CC x OF x 44/12, with the net calorific value, carbon content and
  oxidation rate of the fuel code itself (the Chinese 核算指南 / GB/T 32150-2015 method; with the
  IPCC defaults it is IPCC 2006 eq. 2.1 with the emission factor built from Table 1.3);
- *IPCC 2006 Tier 1*: E = energy x EF_CO2, with the default CO2 factor (Table 1.4) of the fuel's
  IPCC fuel type (``ipcc_fuel`` in fuels.csv), only where the caller allows it (``tier1``: the
  inventory mode) and the profile has neither the carbon content nor the oxidation rate of the
  fuel. A fuel with one of the two, or with no method, is an error naming the fuel and what is
  missing: never a silent switch of method. Every row cites the factors it used (set@version,
  parameter[key] = value unit).

CH4 and N2O always follow IPCC 2006 Tier 1 (eq. 2.1, Tables 2.2-2.5) by IPCC fuel type and
source category. CO2 of biomass fuels is reported apart (``co2_biogenic_t``) and left out of
CO2e, as the Guidelines require (Vol. 2, Ch. 2, 2.3.3.4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.gwp import gwp_set_label, gwp_values
from citycarbon.accounting.inputs import distinct_rows, non_negative, scale_per_unit
from citycarbon.errors import InputError
from citycarbon.factors import FactorProfile, fuels, resolve_fuels
from citycarbon.records import message_record

CO2_PER_C = 44 / 12  # molar mass ratio CO2 : C (IPCC 2006 Vol. 2 eq. 2.1 note; 核算指南 通则)

CH4_N2O_CONTEXTS = ("energy_industries", "manufacturing", "commercial", "residential")

METHOD_GUIDELINE = message_record("combustion_guideline")
METHOD_TIER1 = message_record("combustion_tier1")

COLUMNS = [
    "fuel",
    "ipcc_fuel",
    "energy_gj",
    "co2_t",
    "co2_biogenic_t",
    "ch4_t",
    "n2o_t",
    "co2e_t",
    "method",
    "ch4_n2o_context",
    "co2_factors",
    "ch4_n2o_factors",
    "gwp_set",
    "ncv_gj_per_unit",
    "carbon_content_tc_per_tj",
    "oxidation",
    "co2_ef_t_per_tj",
]
NUMERIC = ("energy_gj", "co2_t", "co2_biogenic_t", "ch4_t", "n2o_t", "co2e_t")


def combustion_co2_t(fuel_quantity, ncv_gj_per_unit, carbon_content_tc_per_tj, oxidation):
    """CO2 from fuel combustion, tonnes.

    E = AD x NCV x CC x OF x 44/12

    Parameters
    ----------
    fuel_quantity : array-like
        Fuel burnt, in the unit NCV is given per [t, 10^4 m3, ...; or GJ with ncv 1].
    ncv_gj_per_unit : array-like
        Net calorific value 低位发热量 [GJ per unit of ``fuel_quantity``].
    carbon_content_tc_per_tj : array-like
        Carbon content per unit of heat 单位热值含碳量 [tC/TJ] (= kgC/GJ).
    oxidation : array-like
        Carbon oxidation rate 碳氧化率 [0-1].

    Returns
    -------
    array-like
        CO2 [t].

    References
    ----------
    [1] GB/T 32150-2015 工业企业温室气体排放核算和报告通则, 6.4 (化石燃料燃烧排放), and the
        sector 核算方法与报告指南 (NDRC 2013-2015): E = sum(AD_i x EF_i),
        AD_i = FC_i x NCV_i, EF_i = CC_i x OF_i x 44/12.
    [2] IPCC 2006 Guidelines, Vol. 2, Ch. 2, eq. 2.1, with the emission factor from Ch. 1,
        Table 1.3 (carbon content) and 1.4.2.1 (oxidation factor).
    """
    return fuel_quantity * ncv_gj_per_unit * 1e-3 * carbon_content_tc_per_tj * oxidation * CO2_PER_C


def combustion_co2_tier1_t(energy_tj, co2_ef_kg_per_tj):
    """CO2 from fuel combustion by the IPCC Tier 1 default factor, tonnes.

    E = Fuel_consumption x EF_CO2

    Parameters
    ----------
    energy_tj : array-like
        Fuel burnt, on a net-calorific basis [TJ].
    co2_ef_kg_per_tj : array-like
        Default CO2 emission factor [kg/TJ] (IPCC 2006 Vol. 2, Ch. 1, Table 1.4; it assumes an
        oxidation factor of 1).

    Returns
    -------
    array-like
        CO2 [t].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 2, Ch. 2, eq. 2.1 (Tier 1) and Table 2.2-2.5 (CO2 column);
        Ch. 1, Table 1.4.
    """
    return energy_tj * co2_ef_kg_per_tj * 1e-3


def combustion_gas_t(energy_tj, ef_kg_per_tj):
    """CH4 or N2O from stationary fuel combustion by an IPCC Tier 1 factor, tonnes of the gas.

    E_gas = Fuel_consumption x EF_gas

    Parameters
    ----------
    energy_tj : array-like
        Fuel burnt, on a net-calorific basis [TJ].
    ef_kg_per_tj : array-like
        Default emission factor of the gas for the fuel and source category [kg/TJ].

    Returns
    -------
    array-like
        Mass of the gas [t].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 2, Ch. 2, eq. 2.1 and Tables 2.2 (energy industries),
        2.3 (manufacturing industries and construction), 2.4 (commercial/institutional),
        2.5 (residential and agriculture/forestry/fishing).
    """
    return energy_tj * ef_kg_per_tj * 1e-3


def fuel_combustion_emissions(
    activity: pd.DataFrame,
    profile: FactorProfile,
    *,
    ch4_n2o_context: str = "manufacturing",
    ch4_gwp_key: str = "CH4_non_fossil",
    tier1: bool = True,
    source: str | None = None,
) -> pd.DataFrame:
    """CO2, CH4, N2O and CO2e of fuel-by-fuel combustion rows.

    Parameters
    ----------
    activity : pandas.DataFrame
        Columns ``fuel`` (code, Chinese or English name, alias: see fuels.csv), ``quantity``
        (number >= 0) and ``unit`` (mass, volume or energy: 万吨, t, m3, 万立方米, TJ ...), and
        optionally ``ch4_n2o_context`` per row (empty = the keyword default). Other columns are
        ignored. Electricity and heat rows are refused (purchased energy is scope 2, see
        :func:`citycarbon.accounting.electricity.purchased_energy_emissions`).
    profile : FactorProfile
        Supplies, per fuel code, ``ncv``, ``carbon_content``, ``oxidation`` (guideline method);
        per IPCC fuel type, ``ncv`` and ``co2_ef`` (Tier 1 fallback) and ``ch4_ef``/``n2o_ef``
        in the source category; ``gwp100`` for CH4 and N2O.
    ch4_n2o_context : str
        Source category of the CH4/N2O factors: ``energy_industries`` (IPCC Table 2.2),
        ``manufacturing`` (2.3), ``commercial`` (2.4) or ``residential`` (2.5).
    ch4_gwp_key : str
        Gas key whose GWP100 weighs combustion CH4. Default ``CH4_non_fossil``: the carbon in
        combustion CH4 is already counted in the CO2 estimate (IPCC 2006 Vol. 2, 1.4.2.1, full
        oxidation), and the AR6 fossil-methane metric (Table 7.15) would count the CO2 from its
        oxidation a second time. AR4 and AR5 give one CH4 value, so the choice only matters with
        AR6.
    tier1 : bool
        Whether IPCC Tier 1 may give the CO2 of a fuel the profile has no guideline factors for
        (the inventory mode). False in the 核算指南 guideline mode: such a fuel is an error.
    source : str, optional
        Name of the input (file, table) for error messages.

    Returns
    -------
    pandas.DataFrame
        Same index: ``fuel`` (code), ``ipcc_fuel``, ``energy_gj``, ``co2_t`` (fossil CO2),
        ``co2_biogenic_t`` (CO2 of biomass fuels, a memo item), ``ch4_t``, ``n2o_t``,
        ``co2e_t`` (= co2 + ch4 x GWP + n2o x GWP), ``method``, ``ch4_n2o_context``, the
        factors used, cited as ``set@version parameter[key] = value unit`` (``, assumption``
        where the value is one) and joined by '; ': ``co2_factors``, ``ch4_n2o_factors``; the
        GWP set label ``gwp_set``; and the CO2 factors per row: ``ncv_gj_per_unit`` (GJ per unit
        of the row's quantity; NaN for quantities in energy units), ``carbon_content_tc_per_tj``
        and ``oxidation`` (guideline method) or ``co2_ef_t_per_tj`` (Tier 1), NaN otherwise.

    Raises
    ------
    InputError
        Naming row and field: unknown fuel (with suggestions), a quantity that is missing,
        text or negative, a unit that is missing, unknown or of the wrong dimension, a fuel the
        profile has no CO2 method for (or only part of the guideline factors), electricity or
        heat rows.

    References
    ----------
    [1] GB/T 32150-2015, 6.4; the NDRC 企业温室气体排放核算方法与报告指南 (2013-2015).
    [2] IPCC 2006 Guidelines, Vol. 2, Ch. 1 (Tables 1.2-1.4, 1.4.2.1) and Ch. 2 (eq. 2.1,
        Tables 2.2-2.5, 2.3.3.4 on biomass CO2).
    """
    where = source or "activity"
    missing = [c for c in ("fuel", "quantity", "unit") if c not in activity.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=where, field=missing[0])
    if activity.empty:
        return pd.DataFrame(columns=COLUMNS, index=activity.index)
    quantity = non_negative(activity["quantity"], source=where)
    # linear in quantity: computed once per distinct (fuel, unit, context), then scaled
    keys = [c for c in ("fuel", "unit", "ch4_n2o_context") if c in activity.columns]
    code, distinct = distinct_rows(activity, keys)
    per_unit = _combustion_rows(
        distinct.assign(quantity=1.0),
        profile,
        ch4_n2o_context=ch4_n2o_context,
        ch4_gwp_key=ch4_gwp_key,
        tier1=tier1,
        where=where,
    )
    return scale_per_unit(per_unit, code, quantity, NUMERIC, activity.index)


def _combustion_rows(
    activity: pd.DataFrame,
    profile: FactorProfile,
    *,
    ch4_n2o_context: str,
    ch4_gwp_key: str,
    tier1: bool,
    where: str,
) -> pd.DataFrame:
    """The method row by row (vectorised): used on the distinct rows of the activity table."""
    index = activity.index

    # distinct fuels: every lookup below runs per fuel (tens), results are broadcast to rows
    fuel = resolve_fuels(activity["fuel"], source=where)
    f_code, f_uniq = pd.factorize(fuel.astype(str))
    u = _FuelTable(pd.Index(f_uniq), profile, tier1=tier1)
    scope2 = (u.ipcc == "").to_numpy()[f_code]
    if scope2.any():
        row = index[np.argmax(scope2)]
        raise InputError(
            f"{fuel[row]!r} is purchased energy (scope 2), not fuel combustion: "
            "use accounting.electricity.purchased_energy_emissions",
            source=where,
            row=row,
            field="fuel",
            value=activity.at[row, "fuel"],
        )

    quantity = activity["quantity"].to_numpy(dtype="float64")
    to_base = units.to_base_factors(
        activity["unit"], expect=("mass", "volume", "energy"), source=where
    )
    dim = units.dimensions(activity["unit"])
    q_base = quantity * to_base  # t, m3 or GJ
    in_energy = dim == "energy"

    lacking = (u.methods["method"] == "").to_numpy()[f_code]
    if lacking.any():
        i = int(np.argmax(lacking))
        raise InputError(
            f"no CO2 method for fuel {fuel.iloc[i]!r}: " + u.methods["problem"].iloc[f_code[i]],
            source=where,
            row=index[i],
            field="fuel",
            value=activity["fuel"].iloc[i],
        )
    guideline = (u.methods["method"] == "guideline").to_numpy()[f_code]

    # energy: rows in energy units as they are, others times the NCV of the fuel (or its IPCC
    # fuel type), whose denominator must be the row's dimension
    needs = ~in_energy
    no_ncv = needs & u.ncv_per.isna().to_numpy()[f_code]
    if no_ncv.any():
        i = int(np.argmax(no_ncv))
        raise InputError(
            f"no net calorific value (ncv) for fuel {fuel.iloc[i]!r} (key "
            f"{u.ncv_key.iloc[f_code[i]]!r}) in profile {profile.name}: give the quantity in "
            "an energy unit or add an ncv factor",
            source=where,
            row=index[i],
            field="fuel",
        )
    per = u.ncv_per.to_numpy()[f_code]
    mismatch = needs & (per != dim)
    if mismatch.any():
        i = int(np.argmax(mismatch))
        raise InputError(
            f"quantity of {fuel.iloc[i]!r} is in {dim[i]} units but its ncv "
            f"({u.ncv_key.iloc[f_code[i]]!r}, {u.ncv_unit.iloc[f_code[i]]}) is per {per[i]}: "
            f"give the quantity per {per[i]} or add an ncv per {dim[i]}",
            source=where,
            row=index[i],
            field="unit",
        )
    ncv_base = u.ncv_gj_per_base(where)[f_code]
    energy_gj = np.where(needs, q_base * ncv_base, q_base)
    energy_tj = units.convert(energy_gj, "GJ", "TJ")

    cc, of, ef = u.co2_factors(where)
    co2 = np.where(
        guideline,
        combustion_co2_t(energy_gj, 1.0, cc[f_code], of[f_code]),
        combustion_co2_tier1_t(energy_tj, ef[f_code]),
    )

    context = _contexts(activity, ch4_n2o_context, where)
    c_code, c_uniq = pd.factorize(context)
    ch4_ef = np.empty(len(index))
    n2o_ef = np.empty(len(index))
    gas_labels = np.empty(len(index), dtype=object)
    for k, ctx in enumerate(c_uniq):  # at most four source categories
        rows = c_code == k
        ch4_u, n2o_u, label_u = u.gas_factors(ctx, rows, f_code, activity, where)
        ch4_ef[rows] = ch4_u[f_code[rows]]
        n2o_ef[rows] = n2o_u[f_code[rows]]
        gas_labels[rows] = label_u[f_code[rows]]
    ch4 = combustion_gas_t(energy_tj, ch4_ef)
    n2o = combustion_gas_t(energy_tj, n2o_ef)
    gwp_ch4, gwp_n2o = gwp_values(
        pd.Series([ch4_gwp_key, "N2O"]), profile, source=where, field="ch4_gwp_key"
    )

    fossil = u.fossil[f_code]
    co2_fossil = np.where(fossil, co2, 0.0)
    co2_labels = np.where(needs, u.cite_ncv[f_code] + "; ", "").astype(object) + np.where(
        guideline, u.cite_guideline[f_code], u.cite_tier1[f_code]
    )
    return pd.DataFrame(
        {
            "fuel": fuel,
            "ipcc_fuel": pd.Categorical(u.ipcc.to_numpy()[f_code]),
            "energy_gj": energy_gj,
            "co2_t": co2_fossil,
            "co2_biogenic_t": np.where(fossil, 0.0, co2),
            "ch4_t": ch4,
            "n2o_t": n2o,
            "co2e_t": co2_fossil + ch4 * gwp_ch4 + n2o * gwp_n2o,
            "method": pd.Categorical(np.where(guideline, METHOD_GUIDELINE, METHOD_TIER1)),
            "ch4_n2o_context": pd.Categorical(context),
            "co2_factors": pd.Categorical(co2_labels),
            "ch4_n2o_factors": pd.Categorical(gas_labels),
            "gwp_set": gwp_set_label(profile),
            "ncv_gj_per_unit": np.where(needs, ncv_base * to_base, np.nan),
            "carbon_content_tc_per_tj": np.where(guideline, cc[f_code], np.nan),
            "oxidation": np.where(guideline, of[f_code], np.nan),
            "co2_ef_t_per_tj": np.where(guideline, np.nan, ef[f_code] * 1e-3),
        },
        index=index,
    )


class _FuelTable:
    """Per distinct fuel code: its IPCC fuel type, its CO2 method and the factors it uses."""

    def __init__(self, codes: pd.Index, profile: FactorProfile, *, tier1: bool) -> None:
        ref = fuels()
        self.profile = profile
        self.codes = pd.Series(codes.astype(str), index=codes)
        self.ipcc = pd.Series(ref["ipcc_fuel"].reindex(codes).fillna("").to_numpy(), index=codes)
        self.fossil = (ref["fossil"].reindex(codes) == "true").to_numpy()
        self.methods = profile.co2_methods(codes, self.ipcc, tier1=tier1)
        self.guideline = (self.methods["method"] == "guideline").to_numpy()
        self.tier1 = (self.methods["method"] == "tier1").to_numpy()
        ncv = profile.chosen("ncv")
        # the guideline method uses the fuel's own NCV; Tier 1 its own or its IPCC type's
        own = codes.isin(ncv.index) | self.guideline
        self.ncv_key = self.codes.where(own, self.ipcc)
        found = ncv.reindex(self.ncv_key.to_numpy())
        self.ncv_unit = pd.Series(found["unit"].to_numpy(), index=codes)
        self.ncv_per = pd.Series(
            [
                str(d).partition("/")[2] if isinstance(d, str) else np.nan
                for d in found["dimension"]
            ],
            index=codes,
            dtype=object,
        )
        self.cite_ncv = _cited(profile.cite("ncv", self.ncv_key), self.ncv_key).to_numpy()
        self.cite_guideline = _join(
            _cited(profile.cite("carbon_content", self.codes), self.codes),
            _cited(profile.cite("oxidation", self.codes), self.codes),
        )
        self.cite_tier1 = _cited(profile.cite("co2_ef", self.ipcc), self.ipcc).to_numpy()

    def ncv_gj_per_base(self, where: str) -> np.ndarray:
        """NCV of each fuel in GJ per base unit of its denominator (t, m3, GJ); NaN if none."""
        out = np.full(len(self.codes), np.nan)
        targets = {"mass": "GJ/t", "volume": "GJ/m3", "energy": "GJ/GJ"}
        for per, target in targets.items():  # three dimensions, not rows
            mask = (self.ncv_per == per).to_numpy()
            if mask.any():
                out[mask] = self.profile.lookup_many(
                    "ncv", self.ncv_key[mask], target, source=where
                )
        return out

    def co2_factors(self, where: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Carbon content [tC/TJ], oxidation [1] (guideline) and CO2 EF [kg/TJ] (Tier 1)."""
        n = len(self.codes)
        cc, of, ef = np.full(n, np.nan), np.full(n, np.nan), np.full(n, np.nan)
        g = self.guideline
        if g.any():
            cc[g] = self.profile.lookup_many("carbon_content", self.codes[g], "tC/TJ", source=where)
            of[g] = self.profile.lookup_many("oxidation", self.codes[g], "1", source=where)
        t = self.tier1
        if t.any():
            dims = self.ipcc[t].map(self.profile.chosen("co2_ef")["dimension"])
            target = {"mass/energy": "kg/TJ", "ghg/energy": "kgCO2e/TJ"}
            sub = np.empty(int(t.sum()))
            for d in dims.unique():
                m = (dims == d).to_numpy()
                sub[m] = self.profile.lookup_many(
                    "co2_ef", self.ipcc[t][m], target[d], source=where
                )
            ef[t] = sub
        return cc, of, ef

    def gas_factors(
        self,
        context: str,
        in_context: np.ndarray,
        f_code: np.ndarray,
        activity: pd.DataFrame,
        where: str,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """CH4 and N2O factors [kg/TJ] and their set labels in one source category."""
        n = len(self.codes)
        present = np.unique(f_code[in_context])
        out, labels = [], []
        for parameter in ("ch4_ef", "n2o_ef"):
            rows = self.profile.chosen(parameter, context)
            keys = self.ipcc.iloc[present]
            lacking = ~keys.isin(rows.index).to_numpy()
            if lacking.any():
                u_bad = present[np.argmax(lacking)]
                i = int(np.argmax(in_context & (f_code == u_bad)))
                raise InputError(
                    f"no {parameter} for IPCC fuel {self.ipcc.iloc[u_bad]!r} (fuel "
                    f"{self.codes.iloc[u_bad]!r}) in source category {context!r} in profile "
                    f"{self.profile.name}: add the factor (with its source) or choose another "
                    "ch4_n2o_context",
                    source=where,
                    row=activity.index[i],
                    field="fuel",
                    value=activity["fuel"].iloc[i],
                )
            values = np.full(n, np.nan)
            values[present] = self.profile.lookup_many(
                parameter, keys, "kg/TJ", context=context, source=where
            )
            out.append(values)
            labels.append(_cited(self.profile.cite(parameter, keys, context=context), self.ipcc))
        return out[0], out[1], _join(*labels)


def _cited(citations: pd.Series, keys: pd.Series) -> pd.Series:
    """The citation of each key of ``keys`` (per fuel), '' where there is none."""
    return pd.Series(citations.reindex(keys.to_numpy()).fillna("").to_numpy(), index=keys.index)


def _join(*parts: pd.Series) -> np.ndarray:
    """Per position, the distinct non-empty citations joined by '; ' (on per-fuel arrays, tens)."""
    columns = [p.fillna("").astype(str).to_numpy() for p in parts]
    return np.array(
        ["; ".join(dict.fromkeys(v for v in vals if v)) for vals in zip(*columns, strict=True)],
        dtype=object,
    )


def _contexts(activity: pd.DataFrame, default: str, where: str) -> np.ndarray:
    if "ch4_n2o_context" in activity.columns:
        ctx = activity["ch4_n2o_context"].fillna("").astype(str).str.strip()
        ctx = ctx.where(ctx != "", default)
    else:
        ctx = pd.Series(default, index=activity.index)
    bad = ~ctx.isin(CH4_N2O_CONTEXTS)
    if bad.any():
        row = activity.index[np.argmax(bad.to_numpy())]
        raise InputError(
            f"CH4/N2O source category {ctx[row]!r} is unknown; use one of "
            f"{', '.join(CH4_N2O_CONTEXTS)}",
            source=where,
            row=row,
            field="ch4_n2o_context",
            value=ctx[row],
        )
    return ctx.to_numpy(dtype=object)
