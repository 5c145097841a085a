"""Energy in heat content (GJ) and standard coal (tce, 吨标准煤), fuel by fuel.

Two bases of standard coal (GB/T 2589-2020, terms 当量值 / 等价值, and Annex A):

- *calorific* (当量值): every energy carrier at its own heat content; electricity at
  0.1229 kgce/kWh (860 kcal/kWh), heat at 0.03412 kgce/MJ. Factor parameter ``coal_equivalent``.
- *equivalent* (等价值): electricity at the primary energy spent to make it, i.e. the year's average
  coal consumption of thermal power (按当年火电发电标准煤耗计算), a time series per year. Factor
  parameter ``coal_equivalent_primary`` (key ``electricity``); other carriers as calorific.

The functions that take numbers are plain arithmetic; :func:`energy_consumption_tce` is the
table-level function that looks the coefficients up in a
:class:`~citycarbon.factors.FactorProfile` and converts any unit of the right dimension
(万吨, 万立方米, 万千瓦时, GJ, ...) through :mod:`citycarbon.units`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.accounting.inputs import non_negative
from citycarbon.errors import InputError, UnitError, UnknownCodeError
from citycarbon.factors import FactorProfile, resolve_fuels

BASES = ("calorific", "equivalent")
ACTIVITY_DIMENSIONS = ("mass", "volume", "energy")


def energy_gj(quantity, ncv_gj_per_unit):
    """Heat content of a quantity of fuel, GJ.

    E = AD x NCV

    Parameters
    ----------
    quantity : array-like
        Fuel quantity, in the unit the NCV is given per [t, 10^4 m3, ...].
    ncv_gj_per_unit : array-like
        Net calorific value 平均低位发热量 [GJ per unit of ``quantity``].

    Returns
    -------
    array-like
        Heat content [GJ].

    References
    ----------
    .. [1] GB/T 2589-2020 综合能耗计算通则, Annex A, Table A.1 (平均低位发热量).
    .. [2] IPCC 2006 Guidelines, Vol. 2, Ch. 1, 1.4.1.2 (conversion to energy units).
    """
    return quantity * ncv_gj_per_unit


def energy_tce(quantity, tce_per_unit):
    """Standard coal of a quantity of an energy carrier, tce.

    E = AD x k, with k the standard-coal coefficient 折标准煤系数: the calorific value
    (当量值) or, for electricity, the primary-energy value (等价值), whichever is passed.

    Parameters
    ----------
    quantity : array-like
        Quantity of the carrier [t, 10^4 m3, 10^4 kWh, GJ, ...].
    tce_per_unit : array-like
        Standard-coal coefficient [tce per unit of ``quantity``], e.g. 0.7143 for raw coal in t.

    Returns
    -------
    array-like
        Standard coal [tce].

    References
    ----------
    .. [1] GB/T 2589-2020 综合能耗计算通则, Annex A, Table A.1 (折标准煤系数).
    """
    return quantity * tce_per_unit


def energy_consumption_tce(
    quantity,
    unit,
    fuel,
    profile: FactorProfile,
    *,
    basis: str = "calorific",
    year: int | None = None,
    source: str | None = None,
) -> pd.Series:
    """Standard coal of energy use, row by row, looked up in a factor profile, tce.

    Parameters
    ----------
    quantity : array-like or pandas.Series
        Quantities (numbers >= 0; text, blanks and negatives raise :class:`InputError`).
    unit : str or array-like
        Unit of each quantity, any spelling :mod:`citycarbon.units` knows (吨, 万吨, 万立方米,
        万千瓦时, GJ, ...); of the dimension the fuel's coefficient is given per (mass for coal
        and oil, volume for gases, energy for electricity and heat).
    fuel : str or array-like
        Fuel codes of fuels.csv, or their Chinese/English names and aliases (原煤, 电力, ...).
    profile : citycarbon.factors.FactorProfile
        Supplies ``coal_equivalent`` (and, for electricity on the equivalent basis,
        ``coal_equivalent_primary`` for ``year``).
    basis : {"calorific", "equivalent"}
        当量值 or 等价值; they differ for electricity only.
    year : int, optional
        Data year; required on the equivalent basis when there is electricity.
    source : str, optional
        Name of the input (file, table) used in error messages.

    Returns
    -------
    pandas.Series
        ``energy_tce`` [tce], on the index of ``quantity`` (a RangeIndex for arrays).

    Raises
    ------
    InputError
        Bad quantity (names the row), bad basis, missing year.
    UnknownCodeError
        Unknown fuel, or a fuel without a coefficient in the profile (names the row).
    UnitError
        Unknown unit, or a unit whose dimension does not match the fuel's coefficient.

    References
    ----------
    .. [1] GB/T 2589-2020 综合能耗计算通则: terms 当量值 and 等价值; Annex A, Table A.1.
    """
    if basis not in BASES:
        raise InputError(
            f"basis {basis!r} is unknown: use 'calorific' (当量值) or 'equivalent' (等价值)",
            source=source,
            field="basis",
            value=basis,
            suggestions=BASES,
        )
    qty = quantity if isinstance(quantity, pd.Series) else pd.Series(np.asarray(quantity))
    index = qty.index
    unit_s = _aligned(unit, index, "unit")
    fuel_s = _aligned(fuel, index, "fuel")

    amount = non_negative(qty, field="quantity", source=source)
    codes = resolve_fuels(fuel_s, source=source, field="fuel")
    to_base = units.to_base_factors(unit_s, expect=ACTIVITY_DIMENSIONS, source=source)
    dims = units.dimensions(unit_s)

    primary = (basis == "equivalent") & (codes == "electricity").to_numpy()
    if primary.any() and year is None:
        row = index[int(np.argmax(primary))]
        raise InputError(
            "the equivalent basis (等价值) of electricity needs a data year",
            source=source,
            row=row,
            field="year",
        )

    coef = np.empty(len(index), dtype="float64")  # tce per base unit of the row's dimension
    for dim in np.unique(dims):  # at most three dimensions: mass, volume, energy
        for is_primary in (False, True):
            rows = (dims == dim) & (primary == is_primary)
            if not rows.any():
                continue
            parameter = "coal_equivalent_primary" if is_primary else "coal_equivalent"
            keys = codes[rows]
            if not is_primary:
                # 当量值 is the net calorific value in standard coal (GB/T 2589-2020, 3.2): a
                # fuel without a published coefficient is converted from its NCV
                by_ncv = (~keys.isin(profile.rows(parameter)["key"])).to_numpy()
                if by_ncv.any():
                    ncv_rows = np.flatnonzero(rows)[by_ncv]
                    _check_dimension(profile, "ncv", keys[by_ncv], dim, unit_s[ncv_rows], source)
                    try:
                        ncv = profile.lookup_many(
                            "ncv", keys[by_ncv], f"GJ/{units.base_unit(dim)}", source=source
                        )
                    except UnknownCodeError as err:
                        raise UnknownCodeError(
                            "coal_equivalent (nor an ncv to derive it from): key",
                            err.value,
                            profile.rows(parameter)["key"],
                            source=source,
                            row=err.row,
                            field="fuel",
                        ) from None
                    coef[ncv_rows] = units.convert(ncv, "GJ", "tce")
                    rows = rows.copy()
                    rows[ncv_rows] = False
                    keys = codes[rows]
                    if not rows.any():
                        continue
            _check_dimension(profile, parameter, keys, dim, unit_s[rows], source)
            coef[rows] = profile.lookup_many(
                parameter,
                keys,
                f"tce/{units.base_unit(dim)}",
                year=year if is_primary else None,
                source=source,
            )
    return pd.Series(energy_tce(amount * to_base, coef), index=index, name="energy_tce")


def _aligned(values, index: pd.Index, field: str) -> pd.Series:
    """A scalar broadcast to ``index``, or array-likes of the same length (by position)."""
    if np.ndim(values) == 0:
        return pd.Series([values] * len(index), index=index, dtype=object)
    values = pd.Series(values.to_numpy() if isinstance(values, pd.Series) else values, dtype=object)
    if len(values) != len(index):
        raise InputError(f"{field} has {len(values)} rows, quantity has {len(index)}", field=field)
    values.index = index
    return values


def _check_dimension(
    profile: FactorProfile,
    parameter: str,
    keys: pd.Series,
    dim: str,
    unit_s: pd.Series,
    source: str | None,
) -> None:
    """Raise :class:`UnitError` naming the first row whose unit does not fit its coefficient."""
    table = profile.rows(parameter)
    given = table.drop_duplicates("key").set_index("key")["dimension"]
    per = given.reindex(pd.Index(keys.astype(str))).to_numpy()
    wrong = pd.notna(per) & (per != f"energy/{dim}")
    if wrong.any():
        i = int(np.argmax(wrong))
        row, key = keys.index[i], keys.iloc[i]
        needs = str(per[i]).split("/", 1)[1]
        raise UnitError(
            f"{key} is given in {unit_s.iloc[i]!r} ({dim}), but its {parameter} is per {needs}: "
            f"give the quantity in a {needs} unit",
            source=source,
            row=row,
            field="unit",
            value=unit_s.iloc[i],
        )
