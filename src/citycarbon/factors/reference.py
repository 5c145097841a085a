"""Reference lists: the statistical fuel list (fuels.csv) and the greenhouse gases (gases.csv)."""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd

from citycarbon.errors import UnknownCodeError
from citycarbon.factors.library import DATA_DIR


@cache
def fuels() -> pd.DataFrame:
    """The fuel list (原煤 ... 电力): code, Chinese and English name, category, statistical unit."""
    return pd.read_csv(DATA_DIR / "fuels.csv", dtype=str, keep_default_na=False).set_index("code")


@cache
def gases() -> pd.DataFrame:
    """Greenhouse gases by code (CO2, CH4, N2O, SF6, NF3, HFCs, PFCs) with names and aliases."""
    return pd.read_csv(DATA_DIR / "gases.csv", dtype=str, keep_default_na=False).set_index("code")


def _spellings(table: pd.DataFrame, names: tuple[str, ...]) -> dict[str, str]:
    spell = {}
    for code, row in table.iterrows():  # reference lists: tens of rows
        words = [code, *(row[n] for n in names), *row["aliases"].split(";")]
        spell.update({w.strip().lower(): code for w in words if w.strip()})
    return spell


def _resolve(values, table: pd.DataFrame, names: tuple[str, ...], kind: str,
             source: str | None, field: str | None) -> pd.Series:
    values = pd.Series(values, copy=False)
    spell = _spellings(table, names)
    codes, uniques = pd.factorize(values.astype("string").str.strip().str.lower())
    mapped = np.array([spell.get(u) for u in uniques], dtype=object)
    if (codes < 0).any() or any(m is None for m in mapped):
        bad_i = int(np.argmax(codes < 0)) if (codes < 0).any() else None
        if bad_i is None:
            bad_u = next(i for i, m in enumerate(mapped) if m is None)
            bad_i = int(np.argmax(codes == bad_u))
        known = [f"{c} {table.at[c, 'name_zh']}" for c in table.index]
        raise UnknownCodeError(kind, values.iloc[bad_i], known, source=source,
                               row=values.index[bad_i], field=field)
    return pd.Series(mapped[codes], index=values.index, dtype="string")


def resolve_fuels(values, *, source: str | None = None, field: str | None = "fuel") -> pd.Series:
    """Map fuel codes, Chinese or English names or aliases to fuel codes; unknown ones raise."""
    return _resolve(values, fuels(), ("name_zh", "name_en"), "fuel", source, field)


def resolve_gases(values, *, source: str | None = None, field: str | None = "gas") -> pd.Series:
    """Map gas codes, formulas, names or aliases (CHF3 -> HFC-23) to gas codes."""
    return _resolve(values, gases(), ("name_zh", "name_en", "formula"), "gas", source, field)
