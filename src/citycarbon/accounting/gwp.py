"""Adding gases up: masses of CH4, N2O, F-gases to CO2-equivalents with a GWP100 set.

CO2e = m_gas x GWP100_gas

The GWP values are data (factor sets ``ipcc-ar4-gwp100``, ``ipcc-ar5-gwp100``,
``ipcc-ar6-gwp100``), chosen by the city's configuration; the functions here only apply them and
report which set was used.

References
----------
[1] IPCC AR4 WG1 (2007), Ch. 2, Table 2.14.  [2] IPCC AR5 WG1 (2013), Ch. 8, Table 8.A.1.
[3] IPCC AR6 WG1 (2021), Ch. 7, Table 7.15 and Table 7.SM.7.
[4] IPCC 2006 Guidelines, Vol. 1, Ch. 8 (reporting), 8.2: CO2-equivalent emissions are the
    mass of each gas times its GWP.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.factors import FactorProfile, gases, resolve_gases


def co2e_t(mass_t, gwp):
    """CO2-equivalent of a mass of gas, tonnes CO2e.

    CO2e = m x GWP

    Parameters
    ----------
    mass_t : array-like
        Mass of the gas [t].
    gwp : array-like
        Its global warming potential over the chosen horizon [tCO2e/t, dimensionless].

    Returns
    -------
    array-like
        CO2-equivalent [tCO2e].

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 1, Ch. 8, 8.2 (CO2-equivalent emissions).
    [2] IPCC AR5 WG1, Ch. 8, 8.7.1.2 (definition of the GWP).
    """
    return mass_t * gwp


def gwp_values(
    gas, profile: FactorProfile, *, source: str | None = None, field: str | None = "gas"
) -> np.ndarray:
    """GWP100 of each gas (codes, formulas or names :func:`resolve_gases` knows), from a profile.

    Raises :class:`UnknownCodeError` naming the row of an unknown gas, or the gas the profile's
    GWP set has no value for.
    """
    codes = gas_codes(gas, source=source, field=field)
    try:
        return profile.lookup_many("gwp100", codes.astype(str), "1", source=source)
    except UnknownCodeError as err:
        raise UnknownCodeError(
            f"gwp100 in {gwp_set_label(profile) or 'the profile (no GWP set)'}: gas",
            err.value,
            profile.rows("gwp100")["key"],
            source=source,
            row=err.row,
            field=field,
        ) from None


def gas_codes(values, *, source: str | None = None, field: str | None = "gas") -> pd.Series:
    """Gas codes for codes, formulas, names or aliases; a gas code (any case) stands for itself.

    (``CH4`` is also the formula of ``CH4_non_fossil``; written as a code it means ``CH4``.)
    """
    values = pd.Series(values, copy=False)
    resolved = resolve_gases(values, source=source, field=field).astype(str)
    by_code = {c.lower(): c for c in gases().index}
    exact = values.astype(str).str.strip().str.lower().map(by_code)
    return exact.fillna(resolved).astype(str)


def gwp_set_label(profile: FactorProfile) -> str:
    """Which factor set(s) supply the profile's GWP100 values, as ``id@version`` (``+``-joined).

    Empty string if the profile has no GWP values. Recorded with results so a CO2e figure says
    which assessment report it was added up with.
    """
    rows = profile.rows("gwp100")
    if rows.empty or "set_id" not in rows.columns:
        return ""
    labels = (rows["set_id"].astype(str) + "@" + rows["set_version"].astype(str)).unique()
    return "+".join(labels)


def to_co2e(
    gas_masses: pd.DataFrame, profile: FactorProfile, *, source: str | None = None
) -> pd.DataFrame:
    """Convert gas masses to CO2-equivalents with the profile's GWP100 set.

    Parameters
    ----------
    gas_masses : pandas.DataFrame
        Either *long*: columns ``gas`` and ``mass_t`` (one gas per row, other columns kept), or
        *wide*: one column per gas, named by any spelling :func:`resolve_gases` knows
        (``CH4``, ``N2O``, ``CHF3``, ``HFC-134a`` ...), values in tonnes.
    profile : FactorProfile
        Supplies ``gwp100`` per gas code.
    source : str, optional
        Name of the input (file, table) used in error messages.

    Returns
    -------
    pandas.DataFrame
        Long input: the input with ``gas`` resolved to its code and columns ``gwp100``,
        ``co2e_t`` and ``gwp_set`` added. Wide input: same index, one column per gas code in
        tCO2e, plus ``co2e_t`` (their sum) and ``gwp_set``.

    Raises
    ------
    InputError
        Missing or non-numeric masses (a blank is not zero), unknown gases (with suggestions),
        a gas the GWP set lacks. Negative masses are allowed (removals).

    References
    ----------
    [1] IPCC 2006 Guidelines, Vol. 1, Ch. 8, 8.2.  [2] See the module docstring for the GWP tables.
    """
    label = gwp_set_label(profile)
    if "gas" in gas_masses.columns and "mass_t" in gas_masses.columns:
        mass = _finite(gas_masses["mass_t"], "mass_t", source)
        gwp = gwp_values(gas_masses["gas"], profile, source=source)
        out = gas_masses.copy()
        out["gas"] = gas_codes(gas_masses["gas"], source=source)
        out["gwp100"] = gwp
        out["co2e_t"] = co2e_t(mass, gwp)
        out["gwp_set"] = label
        return out
    if "gas" in gas_masses.columns or "mass_t" in gas_masses.columns:
        raise InputError(
            "long form needs both columns 'gas' and 'mass_t'",
            source=source,
            field="gas" if "gas" not in gas_masses.columns else "mass_t",
        )
    if gas_masses.shape[1] == 0:
        raise InputError("no gas columns", source=source)
    names = pd.Series(gas_masses.columns.astype(str), index=gas_masses.columns.astype(str))
    codes = gas_codes(names, source=source, field="column")
    gwp = gwp_values(names, profile, source=source, field="column")
    masses = np.column_stack([_finite(gas_masses[c], str(c), source) for c in gas_masses.columns])
    parts = co2e_t(masses, gwp[np.newaxis, :])
    out = pd.DataFrame(parts, index=gas_masses.index, columns=codes.astype(str).to_list())
    out = out.T.groupby(level=0, sort=False).sum().T  # two spellings of one gas: one column
    out["co2e_t"] = parts.sum(axis=1)
    out["gwp_set"] = label
    return out


def _finite(values: pd.Series, field: str, source: str | None) -> np.ndarray:
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | ~np.isfinite(numeric.astype("float64"))
    if bad.any():
        row = values.index[np.argmax(bad.to_numpy())]
        raise InputError(
            f"{field} {values[row]!r} is not a number",
            source=source,
            row=row,
            field=field,
            value=values[row],
        )
    return numeric.to_numpy(dtype="float64")
