"""Reference lists: the statistical fuel list (fuels.csv), the greenhouse gases (gases.csv), the
grid regions of the MEE/NBS electricity factors (grid_regions.csv), and the names of factor keys
drawn from them."""

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


@cache
def grid_regions() -> pd.DataFrame:
    """Keys of the ``grid_ef`` series (national, the seven regional grids, the provinces in
    pinyin) with Chinese and English names, kind, GB/T 2260 code of a province and aliases."""
    return pd.read_csv(DATA_DIR / "grid_regions.csv", dtype=str, keep_default_na=False).set_index(
        "code"
    )


@cache
def key_names() -> pd.DataFrame:
    """Names of factor keys, indexed by key: name_zh, name_en, aliases (``;``-separated).

    Fuel codes, gases and grid regions are named by their lists; an IPCC fuel key (the
    ``ipcc_fuel`` of fuels.csv) by the statistical fuels mapped to it, joined with ``、``/``, ``
    (so 原煤 finds ``other_bituminous_coal`` in the IPCC set)."""
    cols = ["name_zh", "name_en", "aliases"]
    f = fuels()
    mapped = f[f["ipcc_fuel"] != ""].groupby("ipcc_fuel")
    ipcc = pd.DataFrame(
        {
            "name_zh": mapped["name_zh"].agg("、".join),
            "name_en": mapped["name_en"].agg(", ".join),
            "aliases": mapped["aliases"].agg(";".join),
        }
    )
    named = pd.concat([f[cols], gases()[cols], grid_regions()[cols]])
    named = named[~named.index.duplicated(keep="first")]
    return pd.concat([named, ipcc[~ipcc.index.isin(named.index)]])


def _spellings(table: pd.DataFrame, names: tuple[str, ...]) -> dict[str, str]:
    spell = {}
    for code, row in table.iterrows():  # reference lists: tens of rows
        words = [*(row[n] for n in names), *row["aliases"].split(";")]
        spell.update({w.strip().lower(): code for w in words if w.strip()})
    spell.update({code.lower(): code for code in table.index})  # a code always means itself
    return spell


def _resolve(
    values,
    table: pd.DataFrame,
    names: tuple[str, ...],
    kind: str,
    source: str | None,
    field: str | None,
) -> pd.Series:
    values = pd.Series(values, copy=False)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)  # work on distinct values only
    spell = _spellings(table, names)
    mapped = [spell.get(str(u).strip().lower()) for u in uniques]
    if (codes < 0).any() or None in mapped:
        bad = (
            int(np.argmax(codes < 0))
            if (codes < 0).any()
            else int(np.argmax(codes == mapped.index(None)))
        )
        known = [f"{c} {table.at[c, 'name_zh']}" for c in table.index]
        raise UnknownCodeError(
            kind, values.iloc[bad], known, source=source, row=values.index[bad], field=field
        )
    categories = list(dict.fromkeys(mapped))
    position = np.array([categories.index(m) for m in mapped], dtype="int32")
    resolved = pd.Categorical.from_codes(position[codes], categories=categories)
    return pd.Series(resolved, index=values.index, name=values.name)


def resolve_fuels(values, *, source: str | None = None, field: str | None = "fuel") -> pd.Series:
    """Map fuel codes, Chinese or English names or aliases to fuel codes; unknown ones raise."""
    return _resolve(values, fuels(), ("name_zh", "name_en"), "fuel", source, field)


def resolve_gases(values, *, source: str | None = None, field: str | None = "gas") -> pd.Series:
    """Map gas codes, formulas, names or aliases (CHF3 -> HFC-23) to gas codes."""
    return _resolve(values, gases(), ("name_zh", "name_en", "formula"), "gas", source, field)
