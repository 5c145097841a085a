"""Industrial-process emissions (工业生产过程排放, IPPU): mineral-industry CO2 and electronics F-gases.

Mineral industry (IPCC 2006 Vol. 3, Ch. 2): CO2 released by calcining carbonates, whatever heats
the kiln - cement clinker (水泥熟料), lime (石灰), glass (玻璃) and other uses of carbonates
(碳酸盐使用). Electronics (Ch. 6): fluorinated gases (含氟气体) emitted by plasma etching and chamber
cleaning in semiconductor, TFT flat-panel display and photovoltaic manufacturing.

The single equations take numbers; :func:`process_emissions` takes a table of activity rows,
looks the factors up in a :class:`~citycarbon.factors.FactorProfile` (normally the
``ipcc-2006-ippu`` set, see its manifest for the key conventions) and records where each factor
came from.

References
----------
[1] IPCC 2006 Guidelines for National Greenhouse Gas Inventories, Vol. 3 Industrial Processes and
    Product Use, Ch. 2 Mineral Industry Emissions (§2.2 cement, §2.3 lime, §2.4 glass, §2.5 other
    process uses of carbonates) and Ch. 6 Electronics Industry Emissions (§6.2).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.gwp import gas_codes
from citycarbon.accounting.inputs import non_negative
from citycarbon.errors import InputError, UnitError, UnknownCodeError
from citycarbon.factors import FactorProfile
from citycarbon.records import message_record

#: process code -> (dimension of the quantity, description)
PROCESSES: dict[str, tuple[str, str]] = {
    "cement": ("mass", "cement produced (Tier 1, from cement x clinker fraction)"),
    "clinker": ("mass", "clinker produced (Tier 2)"),
    "lime": ("mass", "lime produced, by type"),
    "glass": ("mass", "glass melted, by type"),
    "carbonate": ("mass", "carbonate consumed (other process uses of carbonates)"),
    "electronics_tier1": ("area", "substrate processed [m2] (Tier 1)"),
    "electronics_tier2a": ("mass", "F-gas consumed (Tier 2a)"),
}

#: The method of each process (and tier) as a method record (:mod:`citycarbon.records`;
#: ``run_method.process_<name>`` of the message catalog says the equation, IPCC 2006 Vol. 3).
METHODS = {
    name: message_record(f"process_{name}")
    for name in (
        "cement",
        "clinker",
        "lime_tier1",
        "lime_tier2",
        "glass_tier1",
        "glass_tier2",
        "carbonate",
        "electronics_tier1",
        "electronics_tier2a",
    )
}

#: by-product symbol in the factor set -> gas code of the by-product, output column
BYPRODUCTS = {
    "B_CF4": ("CF4", "cf4_byproduct_t"),
    "B_C2F6": ("C2F6", "c2f6_byproduct_t"),
    "B_CHF3": ("HFC-23", "chf3_byproduct_t"),
}

COLUMNS = [
    "process",
    "material",
    "product",
    "gas",
    "mass_t",
    "cf4_byproduct_t",
    "c2f6_byproduct_t",
    "chf3_byproduct_t",
    "method",
    "factors",
    "factor_sets",
]


# --- single equations: mineral industry ---------------------------------------------------------


def cement_tier1_co2_t(
    cement_t, clinker_fraction, ef_clinker_tco2_per_t, clinker_import_t=0.0, clinker_export_t=0.0
):
    """CO2 of cement production from cement output (Tier 1), tonnes.

    E = [sum_i (M_ci x C_cli) - Im + Ex] x EF_clc

    Sum the result over cement types; give imports and exports of clinker once, not per type.

    Parameters
    ----------
    cement_t : array-like
        Cement of type i produced [t].
    clinker_fraction : array-like
        Clinker fraction of that cement type C_cli [0-1].
    ef_clinker_tco2_per_t : array-like
        Clinker emission factor EF_clc, corrected for cement kiln dust [tCO2/t clinker]
        (default 0.52, eq. 2.4).
    clinker_import_t, clinker_export_t : array-like, default 0
        Clinker imported for / exported from cement production [t].

    Returns
    -------
    array-like
        CO2 [t].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.2.1.1, eq. 2.1; EF_clc from eq. 2.4.
    """
    return (
        cement_t * clinker_fraction - clinker_import_t + clinker_export_t
    ) * ef_clinker_tco2_per_t


def cement_clinker_co2_t(clinker_t, ef_clinker_tco2_per_t, ckd_correction):
    """CO2 of cement production from clinker output (Tier 2), tonnes.

    E = M_cl x EF_cl x CF_ckd

    Parameters
    ----------
    clinker_t : array-like
        Clinker produced M_cl [t].
    ef_clinker_tco2_per_t : array-like
        Clinker emission factor EF_cl, *not* corrected for CKD [tCO2/t clinker] (0.51 for 65 %
        CaO, eq. 2.4; see :func:`oxide_ef_tco2_per_t`).
    ckd_correction : array-like
        Correction factor for cement kiln dust not recycled to the kiln CF_ckd (default 1.02;
        :func:`ckd_correction_factor`).

    Returns
    -------
    array-like
        CO2 [t].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.2.1.1, eq. 2.2.
    """
    return clinker_t * ef_clinker_tco2_per_t * ckd_correction


def ckd_correction_factor(
    ckd_t,
    clinker_t,
    ckd_carbonate_fraction,
    ckd_calcination_fraction,
    ef_carbonate_tco2_per_t,
    ef_clinker_tco2_per_t,
):
    """Correction factor for cement kiln dust (CKD) not recycled to the kiln, dimensionless.

    CF_ckd = 1 + (M_d / M_cl) x C_d x F_d x (EF_c / EF_cl)

    Parameters
    ----------
    ckd_t : array-like
        CKD not recycled to the kiln M_d [t].
    clinker_t : array-like
        Clinker produced M_cl [t].
    ckd_carbonate_fraction : array-like
        Original carbonate fraction of the CKD C_d [0-1].
    ckd_calcination_fraction : array-like
        Fraction of that carbonate calcined F_d [0-1].
    ef_carbonate_tco2_per_t : array-like
        Emission factor of the carbonate EF_c [tCO2/t carbonate] (Table 2.1).
    ef_clinker_tco2_per_t : array-like
        Clinker emission factor uncorrected for CKD EF_cl [tCO2/t clinker].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.2.1.2, eq. 2.5.
    """
    return 1 + (ckd_t / clinker_t) * ckd_carbonate_fraction * ckd_calcination_fraction * (
        ef_carbonate_tco2_per_t / ef_clinker_tco2_per_t
    )


def oxide_ef_tco2_per_t(oxide_fraction, stoichiometric_ratio_tco2_per_t):
    """Emission factor of a calcined product from its oxide content, tCO2 per tonne of product.

    EF = oxide content x stoichiometric ratio

    For clinker: CaO fraction x (CO2/CaO) (eq. 2.4: 0.65 x 44.01/56.08 = 0.51); for lime:
    CaO (or CaO.MgO) content x stoichiometric ratio (Table 2.4: 0.95 x 0.785 = 0.75).

    Parameters
    ----------
    oxide_fraction : array-like
        CaO (or CaO.MgO) mass fraction of the product that came from carbonates [0-1].
    stoichiometric_ratio_tco2_per_t : array-like
        CO2 released per tonne of oxide formed [tCO2/t oxide].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.2.1.2 (eq. 2.4) and §2.3.1.2 (Table 2.4).
    """
    return oxide_fraction * stoichiometric_ratio_tco2_per_t


def lime_co2_t(lime_t, ef_tco2_per_t, lkd_correction=1.0, hydrated_lime_correction=1.0):
    """CO2 of lime production, tonnes.

    E = sum_i (EF_lime,i x M_l,i x CF_lkd,i x C_h,i)

    With the default factor of eq. 2.8 and no corrections it is the Tier 1 estimate
    E = M_lime x EF_lime.

    Parameters
    ----------
    lime_t : array-like
        Lime of type i produced M_l,i [t].
    ef_tco2_per_t : array-like
        Emission factor of that lime type [tCO2/t lime] (Table 2.4).
    lkd_correction : array-like, default 1
        Correction factor for lime kiln dust CF_lkd (default 1.02 in Tier 2).
    hydrated_lime_correction : array-like, default 1
        Correction for hydrated lime C_h (:func:`hydrated_lime_correction`).

    Returns
    -------
    array-like
        CO2 [t].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.3.1.1 (Tier 2) and §2.3.1.2 (Table 2.4, eq. 2.8).
    """
    return lime_t * ef_tco2_per_t * lkd_correction * hydrated_lime_correction


def hydrated_lime_correction(hydrated_fraction, water_content):
    """Correction factor for hydrated lime, dimensionless.

    C_h = 1 - x x y

    Parameters
    ----------
    hydrated_fraction : array-like
        Proportion x of the lime output that is hydrated lime [0-1].
    water_content : array-like
        Water content y of the hydrated lime [0-1].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.3.1.2 (correction for hydrated lime).
    """
    return 1 - hydrated_fraction * water_content


def glass_co2_t(glass_t, ef_tco2_per_t, cullet_ratio):
    """CO2 of glass production, tonnes.

    E = M_g x EF x (1 - CR)

    Cullet (recycled glass) has already given up its carbonate CO2; the factor applies to the
    virgin part of the batch only.

    Parameters
    ----------
    glass_t : array-like
        Glass melted (of type i) M_g [t].
    ef_tco2_per_t : array-like
        Emission factor [tCO2/t glass] (Tier 1 default 0.20; Table 2.6 by glass type).
    cullet_ratio : array-like
        Cullet ratio CR [0-1] (Tier 1 default 0.50; Table 2.6 gives typical ranges by type).

    Returns
    -------
    array-like
        CO2 [t].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.4.1.1 (Tier 1 and Tier 2 equations) and
        §2.4.1.2 (Table 2.6).
    """
    return glass_t * ef_tco2_per_t * (1 - cullet_ratio)


def carbonate_use_co2_t(carbonate_t, ef_tco2_per_t, calcination_fraction=1.0):
    """CO2 of carbonates consumed in a process (calcination or acid release), tonnes.

    E = sum_i (M_i x EF_i x F_i)

    Parameters
    ----------
    carbonate_t : array-like
        Carbonate i consumed M_i [t].
    ef_tco2_per_t : array-like
        Emission factor of that carbonate EF_i [tCO2/t carbonate] (Table 2.1, molar-mass ratio
        CO2 / carbonate).
    calcination_fraction : array-like, default 1
        Fraction calcination achieved F_i [0-1]; the lower tiers assume full calcination.

    Returns
    -------
    array-like
        CO2 [t].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2, §2.1 (Table 2.1) and §2.5.1.1 (other process uses of
        carbonates).
    """
    return carbonate_t * ef_tco2_per_t * calcination_fraction


# --- single equations: electronics --------------------------------------------------------------


def electronics_tier1_fgas_kg(substrate_m2, ef_kg_per_m2):
    """F-gas emissions of electronics manufacturing by the Tier 1 method, kg of the gas.

    E_i = EF_i x C_u x C_d

    ``substrate_m2`` is C_u x C_d, the substrate area actually processed (design capacity times
    capacity utilisation). For PV, count only the production that uses fluorinated compounds.
    The Tier 1 factors of a product are meant to be used as a complete set, all gases together.

    Parameters
    ----------
    substrate_m2 : array-like
        Silicon wafer, display glass or PV substrate processed [m2].
    ef_kg_per_m2 : array-like
        Tier 1 emission factor of gas i for the product [kg/m2] (Table 6.2).

    Returns
    -------
    array-like
        Mass of gas i emitted [kg].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 6, §6.2.1.1, eq. 6.1; §6.2.2.1, Table 6.2.
    """
    return substrate_m2 * ef_kg_per_m2


def electronics_tier2a_fgas_kg(
    gas_consumed_kg, heel_fraction, one_minus_u, abatement_fraction, destruction_efficiency
):
    """Emissions of an input F-gas by the Tier 2a method, kg of the gas.

    E_i = (1 - h) x FC_i x (1 - U_i) x (1 - a_i x d_i)

    Parameters
    ----------
    gas_consumed_kg : array-like
        Consumption of gas i FC_i [kg] (purchases adjusted for inventory changes).
    heel_fraction : array-like
        Fraction h of the gas left in the shipping container (heel) [0-1] (default 0.10).
    one_minus_u : array-like
        Emission factor 1 - U_i: fraction of gas i emitted untransformed [0-1].
    abatement_fraction : array-like
        Fraction a_i of gas i fed into processes with emission control technology [0-1].
    destruction_efficiency : array-like
        Fraction d_i of gas i destroyed by that technology [0-1].

    Returns
    -------
    array-like
        Mass of gas i emitted [kg].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 6, §6.2.1.1, eq. 6.2; §6.2.2.1 (Tier 2a defaults).
    """
    return (
        (1 - heel_fraction)
        * gas_consumed_kg
        * one_minus_u
        * (1 - abatement_fraction * destruction_efficiency)
    )


def electronics_tier2a_byproduct_kg(
    gas_consumed_kg,
    heel_fraction,
    byproduct_rate,
    abatement_fraction,
    destruction_efficiency_byproduct,
):
    """By-product emissions (CF4, C2F6, ...) from the use of an input F-gas, Tier 2a, kg.

    BPE_k,i = (1 - h) x B_k,i x FC_i x (1 - a_i x d_k)

    Parameters
    ----------
    gas_consumed_kg : array-like
        Consumption of input gas i FC_i [kg].
    heel_fraction : array-like
        Heel fraction h [0-1].
    byproduct_rate : array-like
        B_k,i: kg of by-product k formed per kg of gas i consumed [0-1].
    abatement_fraction : array-like
        Fraction a_i of gas i fed into processes with emission control technology [0-1].
    destruction_efficiency_byproduct : array-like
        Fraction d_k of by-product k destroyed by that technology [0-1].

    Returns
    -------
    array-like
        Mass of by-product k emitted [kg].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 6, §6.2.1.1, eq. 6.3 (by-product CF4; the C2F6
        equation that follows has the same form); §6.2.2.1 (Tier 2a defaults).
    """
    return (
        (1 - heel_fraction)
        * byproduct_rate
        * gas_consumed_kg
        * (1 - abatement_fraction * destruction_efficiency_byproduct)
    )


# --- table level --------------------------------------------------------------------------------


def process_emissions(
    activity: pd.DataFrame, profile: FactorProfile, *, source: str | None = None
) -> pd.DataFrame:
    """Process emissions of activity rows, one result row per input row.

    Parameters
    ----------
    activity : pandas.DataFrame
        Required columns ``process``, ``quantity`` (number >= 0) and ``unit``; ``material`` for
        every process except cement/clinker; ``product`` for electronics. ``process`` is one of

        - ``cement`` - quantity = cement produced (mass); needs ``clinker_fraction``; EF_clc is
          process_ef ``clinker`` (Tier 1, eq. 2.1).
        - ``clinker`` - quantity = clinker produced; EF_cl is process_ef ``clinker_before_ckd``,
          times ``ckd_correction`` (column, else process_parameter ``ckd_correction[cement]``)
          (Tier 2, eq. 2.2).
        - ``lime`` - material ``lime`` (Tier 1 default factor, no corrections) or a lime type
          ``lime_*`` (Tier 2: times ``lkd_correction``, column else
          process_parameter ``lkd_correction[lime]``, and C_h = 1 - ``hydrated_fraction`` x
          ``water_content``; no hydrated lime when ``hydrated_fraction`` is blank).
        - ``glass`` - material ``glass`` (Tier 1; ``cullet_ratio`` column, else
          process_parameter ``cullet_ratio[glass]``) or a glass type ``glass_*`` (Tier 2;
          ``cullet_ratio`` required, Table 2.6 gives only ranges).
        - ``carbonate`` - material a carbonate formula (``CaCO3``, ``CaMg(CO3)2`` ...);
          ``calcination_fraction`` column, blank = 1 (full calcination).
        - ``electronics_tier1`` - material = gas (code, formula or name: CF4, CHF3, NF3 ...),
          product (``semiconductor``, ``tft_fpd``, ``pv``), quantity = substrate area (m2 ...).
        - ``electronics_tier2a`` - material = input gas, product (also ``semiconductor_remote``
          / ``tft_fpd_remote`` for NF3 in remote plasma cleaning), quantity = gas consumed
          (mass); optional ``heel_fraction`` (else process_parameter ``heel_fraction
          [electronics]``), ``abatement_fraction`` (blank = 0) and, where it is > 0,
          ``destruction_efficiency`` and ``destruction_efficiency_cf4`` / ``_c2f6`` /
          ``_chf3`` for the by-products that form.

        Fractions must lie in [0, 1]; correction factors must be >= 1.
    profile : FactorProfile
        Supplies process_ef, process_parameter, fgas_ef and fgas_parameter values (e.g. the
        ``ipcc-2006-ippu`` set).
    source : str, optional
        Name of the input (file, table) for error messages.

    Returns
    -------
    pandas.DataFrame
        Same index as ``activity``: ``process``, ``material`` (factor key; gas code for
        electronics), ``product``, ``gas`` (``CO2`` or the F-gas), ``mass_t`` (that gas),
        ``cf4_byproduct_t``, ``c2f6_byproduct_t``, ``chf3_byproduct_t`` (Tier 2a by-products,
        0 where none forms), ``method``, ``factors`` (each profile value used: set, parameter,
        key, value, unit, clause) and ``factor_sets`` (``id@version`` labels).
        :func:`process_gas_masses` turns it into one row per gas for
        :func:`citycarbon.accounting.gwp.to_co2e`.

    Raises
    ------
    InputError
        Naming row and field: unknown process or material (with suggestions), a quantity that is
        missing, text or negative, a unit of the wrong dimension, a fraction outside [0, 1], a
        missing required parameter, a factor the profile does not hold.

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 3, Ch. 2 (eqs. 2.1, 2.2, 2.4, 2.8; Tables 2.1, 2.4, 2.6) and
        Ch. 6 (eqs. 6.1-6.3; Table 6.2 and the Tier 2a defaults).
    """
    where = source or "activity"
    missing = [c for c in ("process", "quantity", "unit") if c not in activity.columns]
    if missing:
        raise InputError(f"missing column(s) {', '.join(missing)}", source=where, field=missing[0])
    if activity.empty:
        return pd.DataFrame(columns=COLUMNS, index=activity.index)
    t = _Table(activity, profile, where)
    for proc in t.process.unique():  # at most seven process families
        getattr(t, f"_{proc}")(t.process.to_numpy() == proc)
    return t.result()


def process_gas_masses(result: pd.DataFrame) -> pd.DataFrame:
    """One row per emitted gas: the primary gas of every row and each by-product that formed.

    Columns ``row`` (index label in the activity table), ``process``, ``material``, ``gas``,
    ``mass_t``, ``method`` - the long form :func:`citycarbon.accounting.gwp.to_co2e` takes.
    """
    base = result.reset_index(names="row")
    parts = [base[["row", "process", "material", "gas", "mass_t", "method"]]]
    for gas, column in BYPRODUCTS.values():
        rows = base[base[column] > 0]
        if len(rows):
            parts.append(
                rows.assign(gas=gas, mass_t=rows[column])[
                    ["row", "process", "material", "gas", "mass_t", "method"]
                ]
            )
    return pd.concat(parts, ignore_index=True)


class _Table:
    """Working state of :func:`process_emissions`: inputs, per-row results, factor slots."""

    def __init__(self, activity: pd.DataFrame, profile: FactorProfile, where: str) -> None:
        self.a, self.profile, self.where = activity, profile, where
        self.index = activity.index
        n = len(activity)
        process = _text(activity, "process").str.lower()
        unknown = ~process.isin(list(PROCESSES))
        if unknown.any():
            row = self.index[np.argmax(unknown.to_numpy())]
            raise UnknownCodeError(
                "process",
                activity.at[row, "process"],
                list(PROCESSES),
                source=where,
                row=row,
                field="process",
            )
        self.process = process
        self.material = _text(activity, "material")
        self.product = _text(activity, "product")
        quantity = non_negative(activity["quantity"], source=where)
        to_base = units.to_base_factors(activity["unit"], source=where)
        dim = units.dimensions(activity["unit"])
        expected = process.map({k: v[0] for k, v in PROCESSES.items()}).to_numpy()
        wrong = dim != expected
        if wrong.any():
            i = int(np.argmax(wrong))
            raise UnitError(
                f"unit {activity['unit'].iloc[i]!r} is {dim[i]}; process "
                f"{process.iloc[i]!r} needs a quantity in {expected[i]} "
                f"({PROCESSES[process.iloc[i]][1]})",
                source=where,
                row=self.index[i],
                field="unit",
                value=activity["unit"].iloc[i],
            )
        self.q_base = quantity * to_base  # t for mass, m2 for area
        self.out = {
            "material": np.array(self.material.to_numpy(), dtype=object),
            "gas": np.full(n, "CO2", dtype=object),
            "mass_t": np.full(n, np.nan),
            **{col: np.zeros(n) for _, col in BYPRODUCTS.values()},
            "method": np.empty(n, dtype=object),
        }
        self.slots: list[np.ndarray] = []  # per factor used: 'parameter\x1fkey\x1fcontext'

    # -- helpers ----------------------------------------------------------------------------

    def _slot(self, mask: np.ndarray, parameter: str, keys, context="") -> None:
        """Record that rows in ``mask`` used ``parameter[key|context]`` from the profile."""
        slot = np.full(len(self.index), "", dtype=object)
        slot[mask] = (
            parameter
            + "\x1f"
            + pd.Series(keys, dtype=object).astype(str)
            + "\x1f"
            + pd.Series(context, index=range(int(mask.sum())), dtype=object).astype(str)
        ).to_numpy()
        self.slots.append(slot)

    def _lookup(
        self,
        mask: np.ndarray,
        parameter: str,
        keys,
        *,
        context="",
        field: str = "material",
        units_by_dim: dict[str, str] | None = None,
    ) -> np.ndarray:
        """Values of ``parameter`` for the rows in ``mask`` (keys and contexts per row)."""
        keys = pd.Series(np.asarray(keys, dtype=object), index=self.index[mask])
        ctx = pd.Series(context, index=keys.index, dtype=object)
        units_by_dim = units_by_dim or {"dimensionless": "1"}
        values = np.empty(len(keys))
        for c in ctx.unique():  # distinct contexts (products), not rows
            sel = (ctx == c).to_numpy()
            rows = self.profile.rows(parameter, c).drop_duplicates("key").set_index("key")
            k = keys[sel]
            lacking = ~k.isin(rows.index)
            if lacking.any():
                row = k.index[np.argmax(lacking.to_numpy())]
                what = f"{parameter} (context {c!r})" if c else parameter
                raise UnknownCodeError(
                    f"{what} in profile {self.profile.name}: key",
                    k[row],
                    rows.index.astype(str),
                    source=self.where,
                    row=row,
                    field=field,
                )
            dims = k.map(rows["dimension"])
            sub = np.empty(len(k))
            for d in dims.unique():  # at most two dimensions
                m = (dims == d).to_numpy()
                if d not in units_by_dim:
                    row = k.index[np.argmax(m)]
                    raise UnitError(
                        f"{parameter} for {k[row]!r} is {d}, expected " + " or ".join(units_by_dim),
                        source=self.where,
                        row=row,
                        field=field,
                    )
                sub[m] = self.profile.lookup_many(
                    parameter, k[m], units_by_dim[d], context=c, source=self.where
                )
            values[sel] = sub
        self._slot(mask, parameter, keys.to_numpy(), ctx.to_numpy())
        return values

    def _ef(self, mask: np.ndarray, keys) -> np.ndarray:
        return self._lookup(
            mask, "process_ef", keys, units_by_dim={"ghg/mass": "tCO2e/t", "mass/mass": "t/t"}
        )

    def _param(
        self, mask: np.ndarray, column: str, *, default=None, low=0.0, high=1.0, why: str = ""
    ) -> np.ndarray:
        """A numeric input column on the rows in ``mask``: blanks take ``default``.

        ``default`` is a scalar, an array over the masked rows, or None (blank is an error).
        """
        n = int(mask.sum())
        if column in self.a.columns:
            raw = self.a.loc[mask, column]
            text = raw.astype("string").str.strip()
            blank = (raw.isna() | (text == "")).to_numpy()
            values = pd.to_numeric(raw.where(~blank), errors="coerce").to_numpy(dtype="float64")
            bad = ~blank & ~np.isfinite(values)
            if bad.any():
                row = raw.index[np.argmax(bad)]
                raise InputError(
                    f"{column} {raw[row]!r} is not a number",
                    source=self.where,
                    row=row,
                    field=column,
                    value=raw[row],
                )
        else:
            blank = np.ones(n, dtype=bool)
            values = np.full(n, np.nan)
        if blank.any():
            if default is None:
                row = self.index[mask][np.argmax(blank)]
                raise InputError(
                    f"{column} is required{why}", source=self.where, row=row, field=column
                )
            values = np.where(blank, default, values)
        out = (values < low) | (values > high if high is not None else False)
        if out.any():
            row = self.index[mask][np.argmax(out)]
            rng = f"in [{low:g}, {high:g}]" if high is not None else f">= {low:g}"
            raise InputError(
                f"{column} {values[np.argmax(out)]!r} must be {rng}",
                source=self.where,
                row=row,
                field=column,
                value=values[np.argmax(out)],
            )
        return values

    def _given(self, mask: np.ndarray, column: str) -> np.ndarray:
        """Which rows in ``mask`` give a value in ``column``."""
        if column not in self.a.columns:
            return np.zeros(int(mask.sum()), dtype=bool)
        raw = self.a.loc[mask, column]
        return (raw.notna() & (raw.astype("string").str.strip() != "")).to_numpy()

    def _profile_default(
        self, mask: np.ndarray, column: str, key: str, context: str, **bounds
    ) -> np.ndarray:
        """Column values, blanks filled from process_parameter[key|context] (recorded)."""
        given = self._given(mask, column)
        n = int(mask.sum())
        default = np.full(n, np.nan)
        if (~given).any():
            sub = mask.copy()
            sub[mask] = ~given
            default[~given] = self._lookup(
                sub,
                "process_parameter",
                np.full(int(sub.sum()), key),
                context=context,
                field=column,
            )
        return self._param(mask, column, default=default, **bounds)

    def _materials(self, mask: np.ndarray, allowed) -> np.ndarray:
        """Material keys of the rows in ``mask``; blanks and keys outside ``allowed`` raise."""
        mat = self.material[mask]
        known = [
            k for k in self.profile.rows("process_ef")["key"].astype(str).unique() if allowed(k)
        ]
        bad = ~mat.isin(known)
        if bad.any():
            row = mat.index[np.argmax(bad.to_numpy())]
            proc = self.process[row]
            if mat[row] == "":
                raise InputError(
                    f"material is required for process {proc!r}",
                    source=self.where,
                    row=row,
                    field="material",
                    suggestions=known[:5],
                )
            raise UnknownCodeError(
                f"material for process {proc!r}",
                mat[row],
                known,
                source=self.where,
                row=row,
                field="material",
            )
        return mat.to_numpy(dtype=object)

    def _gases(self, mask: np.ndarray) -> np.ndarray:
        mat = self.material[mask]
        if (mat == "").any():
            row = mat.index[np.argmax((mat == "").to_numpy())]
            raise InputError(
                "material (the gas) is required for electronics rows",
                source=self.where,
                row=row,
                field="material",
            )
        return gas_codes(mat, source=self.where, field="material").to_numpy(dtype=object)

    def _products(self, mask: np.ndarray, parameter: str, symbol: str = "") -> np.ndarray:
        prod = self.product[mask]
        contexts = self.profile.table.loc[
            self.profile.table["parameter"] == parameter, "context"
        ].astype(str)
        known = sorted({c.split("|")[0] for c in contexts if c})
        bad = ~prod.isin(known)
        if bad.any():
            row = prod.index[np.argmax(bad.to_numpy())]
            raise UnknownCodeError(
                f"product for {parameter} (known: {', '.join(known)})",
                prod[row],
                known,
                source=self.where,
                row=row,
                field="product",
            )
        return (prod + symbol).to_numpy(dtype=object)

    # -- process families -------------------------------------------------------------------

    def _no_material(self, m: np.ndarray) -> None:
        """Cement and clinker rows take their factor from the process; refuse another material."""
        mat = self.material[m]
        bad = ~mat.isin(["", "cement", "clinker", "clinker_before_ckd"])
        if bad.any():
            row = mat.index[np.argmax(bad.to_numpy())]
            raise InputError(
                f"material {mat[row]!r} does not fit process "
                f"{self.process[row]!r} (leave it blank: the clinker factor is "
                "implied)",
                source=self.where,
                row=row,
                field="material",
                value=mat[row],
            )

    def _cement(self, m: np.ndarray) -> None:
        self._no_material(m)
        cf = self._param(m, "clinker_fraction", why=" for process 'cement' (Tier 1)")
        ef = self._ef(m, np.full(int(m.sum()), "clinker"))
        self.out["mass_t"][m] = cement_tier1_co2_t(self.q_base[m], cf, ef)
        self.out["material"][m] = "clinker"
        self.out["method"][m] = METHODS["cement"]

    def _clinker(self, m: np.ndarray) -> None:
        self._no_material(m)
        ef = self._ef(m, np.full(int(m.sum()), "clinker_before_ckd"))
        ckd = self._profile_default(
            m, "ckd_correction", "ckd_correction", "cement", low=1.0, high=None
        )
        self.out["mass_t"][m] = cement_clinker_co2_t(self.q_base[m], ef, ckd)
        self.out["material"][m] = "clinker_before_ckd"
        self.out["method"][m] = METHODS["clinker"]

    def _lime(self, m: np.ndarray) -> None:
        mat = self._materials(m, lambda k: k == "lime" or k.startswith("lime_"))
        ef = self._ef(m, mat)
        tier1 = mat == "lime"
        for column in ("lkd_correction", "hydrated_fraction", "water_content"):
            given = self._given(m, column) & tier1
            if given.any():
                row = self.index[m][np.argmax(given)]
                raise InputError(
                    f"{column} given for material 'lime' (Tier 1 default factor, "
                    "no corrections): give the lime type (lime_high_calcium, "
                    "lime_dolomitic_..., lime_hydraulic) for Tier 2",
                    source=self.where,
                    row=row,
                    field=column,
                )
        lkd = np.ones(int(m.sum()))
        ch = np.ones(int(m.sum()))
        if (~tier1).any():
            t2 = m.copy()
            t2[m] = ~tier1
            lkd[~tier1] = self._profile_default(
                t2, "lkd_correction", "lkd_correction", "lime", low=1.0, high=None
            )
            x = self._param(t2, "hydrated_fraction", default=0.0)
            y = np.zeros(len(x))
            if (x > 0).any():
                xm = t2.copy()
                xm[t2] = x > 0
                y[x > 0] = self._param(xm, "water_content", why=" where hydrated_fraction > 0")
            ch[~tier1] = hydrated_lime_correction(x, y)
        self.out["mass_t"][m] = lime_co2_t(self.q_base[m], ef, lkd, ch)
        self.out["material"][m] = mat
        self.out["method"][m] = np.where(tier1, METHODS["lime_tier1"], METHODS["lime_tier2"])

    def _glass(self, m: np.ndarray) -> None:
        mat = self._materials(m, lambda k: k == "glass" or k.startswith("glass_"))
        ef = self._ef(m, mat)
        tier1 = mat == "glass"
        cr = np.empty(int(m.sum()))
        if tier1.any():
            t1 = m.copy()
            t1[m] = tier1
            cr[tier1] = self._profile_default(t1, "cullet_ratio", "cullet_ratio", "glass")
        if (~tier1).any():
            t2 = m.copy()
            t2[m] = ~tier1
            given = self._given(t2, "cullet_ratio")
            if not given.all():
                row = self.index[t2][np.argmax(~given)]
                raise InputError(
                    f"cullet_ratio is required for glass type {self.material[row]!r} "
                    f"(Tier 2){self._cullet_range(self.material[row])}; or use material "
                    "'glass' for the Tier 1 defaults",
                    source=self.where,
                    row=row,
                    field="cullet_ratio",
                )
            cr[~tier1] = self._param(t2, "cullet_ratio")
        self.out["mass_t"][m] = glass_co2_t(self.q_base[m], ef, cr)
        self.out["material"][m] = mat
        self.out["method"][m] = np.where(tier1, METHODS["glass_tier1"], METHODS["glass_tier2"])

    def _cullet_range(self, glass_key: str) -> str:
        low = self.profile.rows("process_parameter", glass_key)
        low = low.set_index("key")["value"]
        if {"cullet_ratio_low", "cullet_ratio_high"} <= set(low.index):
            return (
                f"; typical range {low['cullet_ratio_low']:g}-{low['cullet_ratio_high']:g}"
                " (IPCC 2006 Vol. 3 Table 2.6)"
            )
        return ""

    def _carbonate(self, m: np.ndarray) -> None:
        mat = self._materials(m, lambda k: "CO3" in k)
        ef = self._ef(m, mat)
        f = self._param(m, "calcination_fraction", default=1.0)
        self.out["mass_t"][m] = carbonate_use_co2_t(self.q_base[m], ef, f)
        self.out["material"][m] = mat
        self.out["method"][m] = METHODS["carbonate"]

    def _electronics_tier1(self, m: np.ndarray) -> None:
        gas = self._gases(m)
        product = self._products(m, "fgas_ef")
        ef = self._lookup(m, "fgas_ef", gas, context=product, units_by_dim={"mass/area": "kg/m2"})
        kg = electronics_tier1_fgas_kg(self.q_base[m], ef)
        self.out["mass_t"][m] = units.convert(kg, "kg", "t")
        self.out["gas"][m] = gas
        self.out["material"][m] = gas
        self.out["method"][m] = METHODS["electronics_tier1"]

    def _electronics_tier2a(self, m: np.ndarray) -> None:
        gas = self._gases(m)
        product = self._products(m, "fgas_parameter")
        one_minus_u = self._lookup(m, "fgas_parameter", gas, context=product + "|1-U")
        h = self._profile_default(m, "heel_fraction", "heel_fraction", "electronics")
        a = self._param(m, "abatement_fraction", default=0.0)
        abated = m.copy()
        abated[m] = a > 0
        d = np.zeros(int(m.sum()))
        if abated.any():
            d[a > 0] = self._param(
                abated, "destruction_efficiency", why=" where abatement_fraction > 0"
            )
        fc_kg = units.convert(self.q_base[m], "t", "kg")
        kg = electronics_tier2a_fgas_kg(fc_kg, h, one_minus_u, a, d)
        self.out["mass_t"][m] = units.convert(kg, "kg", "t")
        for symbol, (bp_gas, column) in BYPRODUCTS.items():
            ctx = product + "|" + symbol
            rates = np.zeros(int(m.sum()))
            for c in pd.unique(ctx):  # distinct products
                keys = set(self.profile.rows("fgas_parameter", c)["key"].astype(str))
                has = (ctx == c) & np.isin(gas, list(keys))
                if has.any():
                    sub = m.copy()
                    sub[m] = has
                    rates[has] = self._lookup(sub, "fgas_parameter", gas[has], context=c)
            forms = rates > 0
            d_bp = np.zeros(int(m.sum()))
            need = forms & (a > 0)
            if need.any():
                sub = m.copy()
                sub[m] = need
                name = "destruction_efficiency_" + bp_gas.replace("HFC-23", "chf3").lower()
                d_bp[need] = self._param(
                    sub,
                    name,
                    why=f" where abatement_fraction > 0 and {bp_gas} forms as a by-product",
                )
            bp_kg = electronics_tier2a_byproduct_kg(fc_kg, h, rates, a, d_bp)
            self.out[column][m] = units.convert(bp_kg, "kg", "t")
        self.out["gas"][m] = gas
        self.out["material"][m] = gas
        self.out["method"][m] = METHODS["electronics_tier2a"]

    # -- result -----------------------------------------------------------------------------

    def result(self) -> pd.DataFrame:
        factors, sets = self._provenance()
        out = pd.DataFrame(
            {
                "process": pd.Categorical(self.process.to_numpy()),
                "material": self.out["material"],
                "product": self.product.to_numpy(dtype=object),
                "gas": pd.Categorical(self.out["gas"]),
                "mass_t": self.out["mass_t"],
                **{col: self.out[col] for _, col in BYPRODUCTS.values()},
                "method": pd.Categorical(self.out["method"]),
                "factors": factors,
                "factor_sets": sets,
            },
            index=self.index,
        )
        return out[COLUMNS]

    def _provenance(self) -> tuple[np.ndarray, np.ndarray]:
        """Per row: the profile values used, and the set labels - built per distinct combination."""
        n = len(self.index)
        if not self.slots:
            return np.full(n, "", dtype=object), np.full(n, "", dtype=object)
        combos = pd.DataFrame(np.column_stack(self.slots))
        codes, uniques = pd.MultiIndex.from_frame(combos).factorize()
        cache: dict[str, dict] = {}
        labels, set_labels = [], []
        for combo in uniques:  # distinct factor combinations, not rows
            parts, sets = [], []
            for slot in dict.fromkeys(s for s in combo if s):
                if slot not in cache:
                    parameter, key, context = slot.split("\x1f")
                    cache[slot] = self.profile.provenance(parameter, key, context=context)
                p = cache[slot]
                at = f"{p['key']}|{p['context']}" if p["context"] else p["key"]
                label = f"{p['set_id']}@{p['set_version']}"
                parts.append(
                    f"{label} {p['parameter']}[{at}] = {p['value']:g} {p['unit']} ({p['clause']})"
                )
                sets.append(label)
            labels.append("; ".join(parts))
            set_labels.append("+".join(dict.fromkeys(sets)))
        return (np.array(labels, dtype=object)[codes], np.array(set_labels, dtype=object)[codes])


def _text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series("", index=frame.index, dtype=object)
    return frame[column].astype("string").fillna("").str.strip().astype(object)
