"""Tables as people read them in files: labelled columns with units, large figures in 万吨 /
亿千瓦时, fractions as percentages, sensible rounding, coded values spelled out, and the 口径
(basis) of the figures. The one formatting step of every CSV and Excel download meant for people
and of the PDF and Excel reports; the labels, units and titles are data
(``read/data/presentation.yaml``). No formula: a unit change here is a display scale (a column's
figures divided by 10⁴ or 10⁸ with the unit beside them), never a computation of a result.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

LANGS = ("zh", "en")
#: Figures from here on (eight digits) are shown in the unit's larger form (万吨, 亿千瓦时).
BIG = 1e7
#: Decimals kept of a figure whose column has no unit (its unit varies by row, or it is a code
#: or a count held as a float): no 16-digit floats in a file.
PLAIN_DECIMALS = 4
_FILE = Path(__file__).parent / "data" / "presentation.yaml"
#: The year in a unit such as ``% vs 2022`` (the catalog holds it as ``% vs {year}``).
_YEAR_RE = re.compile(r"(?<!\d)(?:19|20|21)\d{2}(?!\d)")


@cache
def catalog() -> dict[str, Any]:
    """The labels, units, values, basis rows and table titles (``presentation.yaml``)."""
    return yaml.safe_load(_FILE.read_text(encoding="utf-8"))


def _lang(lang: str) -> str:
    return lang if lang in LANGS else "zh"


def _columns(table: str | None) -> dict[str, Any]:
    """The column labels of a table: the catalog's, with the table's own where a field means
    something else in it (``tables.<name>.columns``)."""
    own = catalog()["tables"].get(table or "", {}).get("columns", {})
    return {**catalog()["columns"], **own}


def labelled(column: str, table: str | None = None) -> bool:
    """Whether the catalog labels ``column`` (else a file shows its field name)."""
    return column in _columns(table)


def table_title(name: str, lang: str) -> str:
    """The title of a table (sheet and file names); for ``<table>_<suffix>`` (a scenario, an
    enterprise, a target) the table's title and the suffix; its name where the catalog has
    neither."""
    tables = catalog()["tables"]
    if name in tables:
        return tables[name][_lang(lang)]
    known = [k for k in tables if name.startswith(f"{k}_")]
    if not known:
        return name
    key = max(known, key=len)
    return f"{tables[key][_lang(lang)]}_{name[len(key) + 1 :]}"


def unit_spec(unit: str) -> dict[str, Any] | None:
    """The catalog's entry of a unit: its own, or for a unit holding a year (``% vs 2022``)
    the entry of its form with ``{year}`` (``% vs {year}``) with the year filled into the
    display names; None for a unit the catalog does not know."""
    units = catalog()["units"]
    if unit in units:
        return units[unit]
    year = _YEAR_RE.search(unit)
    spec = units.get(_YEAR_RE.sub("{year}", unit, count=1)) if year else None
    if spec is None:
        return None
    shown = {k: v.format(year=year[0]) for k, v in spec.items() if k in LANGS}
    return {**spec, **shown}


def unit_label(unit: str, lang: str) -> str:
    """A unit as people read it in ``lang`` (``tCO2e/person`` -> ``吨CO2当量/人``); the unit
    itself where the catalog does not know it."""
    spec = unit_spec(unit)
    return spec[_lang(lang)] if spec else unit


def _spelled(column: str, lang: str) -> dict[str, str]:
    """The coded values of ``column`` spelled out in ``lang`` (``values`` of the catalog)."""
    return {k: v[_lang(lang)] for k, v in catalog()["values"].get(column, {}).items()}


def value_label(column: str, value: Any, lang: str) -> str:
    """A coded value of ``column`` as people read it in ``lang`` (``tier`` ``Tier 1`` ->
    ``方法1``); the value itself where the catalog does not spell it out."""
    return _spelled(column, lang).get(str(value), str(value))


def with_unit(label: str, unit: str, lang: str) -> str:
    """A header or title with its unit: ``排放量（万吨CO2当量）`` / ``Emissions (10^4 tCO2e)``."""
    if not unit:
        return label
    return f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"


def _largest(values: pd.Series) -> float:
    """The largest absolute figure of a column (0 when it has none)."""
    numbers = pd.to_numeric(values, errors="coerce").astype("float64").to_numpy()
    return float(np.nanmax(np.abs(numbers), initial=0.0))


def _scale(
    values: pd.Series, unit: str, lang: str, largest: float | None = None
) -> tuple[pd.Series, str]:
    """A numeric column in its display unit: the larger unit where a figure reaches eight
    digits (of the column, or ``largest``: of every column of the unit in the table), fractions
    as percentages, rounded to the unit's decimals."""
    spec = unit_spec(unit)
    if spec is None:
        return values, unit
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    big = spec.get("big")
    if big and (_largest(numbers) if largest is None else largest) >= BIG:
        return (numbers / float(big["factor"])).round(big["decimals"]), big[lang]
    return (numbers * spec.get("scale", 1)).round(spec["decimals"]), spec[lang]


def in_display_units(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A long table whose ``value`` column has its unit per row (``unit``): each row in its
    display unit, the unit as people read it in ``lang`` (rows of one unit scaled together)."""
    lang = _lang(lang)
    out = frame.copy()
    values = pd.to_numeric(out["value"], errors="coerce").astype("float64")
    units = out["unit"].astype(str)
    shown_units = units.copy()
    for unit in units.unique():  # a handful of units, not rows
        rows = (units == unit).to_numpy()
        values.loc[rows], shown_units.loc[rows] = _scale(values[rows], unit, lang)
    out["value"] = values
    out["unit"] = shown_units
    return out


def present(
    frame: pd.DataFrame,
    lang: str = "zh",
    units: Mapping[str, str] | None = None,
    table: str | None = None,
) -> pd.DataFrame:
    """``frame`` for people (:func:`present_with_unit`): headers with their units."""
    return present_with_unit(frame, lang, units, table, one_unit=False)[0]


def present_with_unit(
    frame: pd.DataFrame,
    lang: str = "zh",
    units: Mapping[str, str] | None = None,
    table: str | None = None,
    *,
    one_unit: bool = True,
) -> tuple[pd.DataFrame, str]:
    """``frame`` for people: headers in ``lang`` with the unit of their figures, figures in
    their display unit and rounded, fractions as percentages, coded values spelled out.

    ``units``: units of columns the catalog does not know (e.g. the sector columns of a wide
    table, all tCO2e). ``table``: the table's name, for the labels of fields that mean
    something else in it. A long table with ``value`` and ``unit`` columns is scaled row by
    row. Columns of one unit are shown in one display unit (万吨 for all of them when one
    reaches eight digits), so that they compare. Float columns without a unit are rounded to
    :data:`PLAIN_DECIMALS`. Vectorised per column.

    ``one_unit``: where every figure of the table is in one display unit, the headers leave it
    out and it is returned (for the table's title: one unit a table); else it is "".
    """
    lang = _lang(lang)
    columns = _columns(table)
    long = {"value", "unit"} <= set(frame.columns)
    out = in_display_units(frame, lang) if long else frame.copy()
    unit_of = {
        col: (units or {}).get(str(col), columns.get(str(col), {}).get("unit", ""))
        for col in out.columns
        if pd.api.types.is_numeric_dtype(out[col]) and not pd.api.types.is_bool_dtype(out[col])
    }
    largest: dict[str, float] = {}
    for col, unit in unit_of.items():
        largest[unit] = max(largest.get(unit, 0.0), _largest(out[col]))
    labels: dict[Any, tuple[str, str]] = {}
    for col in out.columns:
        entry = columns.get(str(col), {})
        unit = (units or {}).get(str(col), entry.get("unit", ""))
        shown = unit_label(unit, lang)
        if unit and col in unit_of:
            out[col], shown = _scale(out[col], unit, lang, largest[unit])
        elif pd.api.types.is_float_dtype(out[col]):
            out[col] = out[col].round(PLAIN_DECIMALS)
        spelled = _spelled(str(col), lang)
        if spelled:
            out[col] = out[col].astype(str).map(spelled).fillna(out[col])
        labels[col] = (entry.get(lang, str(col)), shown)
    measured = {col for col, unit in unit_of.items() if unit}
    shared = {labels[col][1] for col in measured}
    common = shared.pop() if one_unit and len(shared) == 1 else ""
    names = {
        col: label if common and col in measured else with_unit(label, shown, lang)
        for col, (label, shown) in labels.items()
    }
    return out.rename(columns=names), common


@dataclass(frozen=True)
class Basis:
    """The 口径 of the figures of a file: what they cover and how they were computed.

    ``basis``: a coded basis (``incl_net_imported_electricity`` / ``territorial``) or text;
    the other fields are text already in the file's language (empty: not shown).
    """

    city: str
    year: str
    basis: str = ""
    scope: str = ""
    gases: str = ""
    factors: str = ""
    coverage: str = ""
    energy: str = ""
    source: str = ""
    licence: str = ""

    def _basis_text(self, lang: str) -> str:
        return value_label("basis", self.basis, lang)

    def rows(self, lang: str) -> list[tuple[str, str]]:
        """(label, text) pairs in ``lang``, the empty ones left out."""
        labels = catalog()["basis"]
        texts = {
            "city": self.city,
            "year": self.year,
            "scope": self.scope,
            "basis": self._basis_text(lang),
            "gases": self.gases,
            "factors": self.factors,
            "coverage": self.coverage,
            "energy": self.energy,
            "source": self.source,
            "licence": self.licence,
        }
        return [(labels[k][_lang(lang)], v) for k, v in texts.items() if v]

    def line(self, lang: str) -> str:
        """The 口径 in one line: ``口径说明：城市 厦门市；年份 2024；…``."""
        lang = _lang(lang)
        sep, colon = ("；", "：") if lang == "zh" else ("; ", ": ")
        title = catalog()["basis"]["title"][lang]
        return title + colon + sep.join(f"{k} {v}" for k, v in self.rows(lang))

    def frame(self, lang: str) -> pd.DataFrame:
        """The 口径 as a two-column table (a 说明 sheet)."""
        lang = _lang(lang)
        rows = self.rows(lang)
        return pd.DataFrame(
            {
                catalog()["columns"]["field"][lang]: [k for k, _ in rows],
                catalog()["columns"]["value"][lang]: [v for _, v in rows],
            }
        )

    def columns(self, lang: str) -> dict[str, str]:
        """The 口径 as constant columns (label → text) of a CSV file."""
        return dict(self.rows(lang))

    def file_name(self, table: str, ext: str, lang: str) -> str:
        """``厦门市_2024_清单明细_含调入电力.csv``: city, year, table title, basis."""
        parts = [self.city, self.year, table_title(table, lang), self._basis_text(lang)]
        stem = "_".join(p for p in parts if p)
        keep = "".join(ch if ch.isalnum() or ch in "-+.（）()" else "_" for ch in stem)
        return f"{keep}.{ext}"


__all__ = [
    "BIG",
    "PLAIN_DECIMALS",
    "Basis",
    "catalog",
    "in_display_units",
    "labelled",
    "present",
    "present_with_unit",
    "table_title",
    "unit_label",
    "unit_spec",
    "value_label",
    "with_unit",
]
