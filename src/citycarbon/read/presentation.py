"""Tables as people read them in files: labelled columns with units, large figures in 万吨 /
亿千瓦时, fractions as percentages, sensible rounding, coded values spelled out, and the 口径
(basis) of the figures. The one formatting step of every CSV and Excel download meant for people
and of the PDF and Excel reports; the labels, units and titles are data
(``read/data/presentation.yaml``). No formula: a unit change here is a display scale (a column's
figures divided by 10⁴ or 10⁸ with the unit beside them), never a computation of a result.
"""

from __future__ import annotations

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
_FILE = Path(__file__).parent / "data" / "presentation.yaml"


@cache
def catalog() -> dict[str, Any]:
    """The labels, units, values, basis rows and table titles (``presentation.yaml``)."""
    return yaml.safe_load(_FILE.read_text(encoding="utf-8"))


def _lang(lang: str) -> str:
    return lang if lang in LANGS else "zh"


def labelled(column: str) -> bool:
    """Whether the catalog labels ``column`` (else a file shows its field name)."""
    return column in catalog()["columns"]


def table_title(name: str, lang: str) -> str:
    """The title of a table (sheet and file names); its name where the catalog has none."""
    entry = catalog()["tables"].get(name)
    return entry[_lang(lang)] if entry else name


def _header(label: str, unit: str, lang: str) -> str:
    if not unit:
        return label
    return f"{label}（{unit}）" if lang == "zh" else f"{label} ({unit})"


def _scale(values: pd.Series, unit: str, lang: str) -> tuple[pd.Series, str]:
    """A numeric column in its display unit: the larger unit where a figure reaches eight
    digits, fractions as percentages, rounded to the unit's decimals."""
    spec = catalog()["units"].get(unit)
    if spec is None:
        return values, unit
    numbers = pd.to_numeric(values, errors="coerce").astype("float64")
    big = spec.get("big")
    if big and np.nanmax(np.abs(numbers.to_numpy()), initial=0.0) >= BIG:
        return (numbers / float(big["factor"])).round(big["decimals"]), big[lang]
    return (numbers * spec.get("scale", 1)).round(spec["decimals"]), spec[lang]


def _scale_long(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A long table whose ``value`` column has its unit per row (``unit``): each row in its
    display unit (rows of one unit scaled together)."""
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
    frame: pd.DataFrame, lang: str = "zh", units: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """``frame`` for people: headers in ``lang`` with the unit of their figures, figures in
    their display unit and rounded, fractions as percentages, coded values spelled out.

    ``units``: units of columns the catalog does not know (e.g. the sector columns of a wide
    table, all tCO2e). A long table with ``value`` and ``unit`` columns is scaled row by row.
    Vectorised per column.
    """
    lang = _lang(lang)
    cat = catalog()
    out = _scale_long(frame, lang) if {"value", "unit"} <= set(frame.columns) else frame.copy()
    names = {}
    for col in out.columns:
        entry = cat["columns"].get(str(col), {})
        unit = (units or {}).get(str(col), entry.get("unit", ""))
        shown = cat["units"].get(unit, {}).get(lang, unit)
        numeric = pd.api.types.is_numeric_dtype(out[col])
        if unit and numeric and not pd.api.types.is_bool_dtype(out[col]):
            out[col], shown = _scale(out[col], unit, lang)
        coded = cat["values"].get(str(col))
        if coded:
            spelled = {k: v[lang] for k, v in coded.items()}
            out[col] = out[col].astype(str).map(spelled).fillna(out[col])
        names[col] = _header(entry.get(lang, str(col)), shown, lang)
    return out.rename(columns=names)


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
        coded = catalog()["values"]["basis"].get(self.basis)
        return coded[_lang(lang)] if coded else self.basis

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


__all__ = ["BIG", "Basis", "catalog", "labelled", "present", "table_title"]
