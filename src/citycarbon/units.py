"""The one place where units are converted (tce, GJ, MWh, tCO2e, 万元, ...).

Every quantity in citycarbon carries an explicit unit. A unit belongs to one *dimension*
(energy, mass, volume, ghg, money, area, dimensionless); within a dimension units convert by a
constant factor to the dimension's base unit. Compound units are written ``numerator/denominator``
(``GJ/t``, ``tC/TJ``, ``tCO2/MWh``, ``kgce/kWh``) and their dimension is the pair of dimensions.

Definitions used (not emission factors; those live in factor sets):

- 1 kgce (千克标准煤) = 29 307.6 kJ net calorific value — GB/T 2589-2020, 3.2 (标准煤的定义).
- 1 kWh = 3.6 MJ (SI); 1 kcal = 4.1868 kJ (international table calorie, GB/T 2589-2020, 3.3 note).
- 1 亩 = 10 000 / 15 m2 (市制, 《关于统一我国计量制度的命令》 1984).
- 1 重量箱 (weight case) of flat glass = 50 kg: 10 m2 of 2 mm glass (GB 21340-2019 平板玻璃单位产品
  能源消耗限额, 3.3; unverified clause number).
- tCO2 and tCO2e share one base: CO2 has a GWP of 1 by definition (IPCC AR4-AR6).
"""

from __future__ import annotations

import re
from functools import cache
from typing import NamedTuple

import numpy as np
import pandas as pd

from citycarbon.errors import UnitError, close_matches

KGCE_KJ = 29_307.6  # GB/T 2589-2020, 3.2

# symbol: (dimension, factor to the dimension's base unit)
# bases: energy GJ, mass t, volume m3, ghg tCO2e, money 万元 (10^4 CNY), area m2, dimensionless 1
_UNITS: dict[str, tuple[str, float]] = {
    # energy
    "J": ("energy", 1e-9),
    "kJ": ("energy", 1e-6),
    "MJ": ("energy", 1e-3),
    "GJ": ("energy", 1.0),
    "TJ": ("energy", 1e3),
    "PJ": ("energy", 1e6),
    "kcal": ("energy", 4.1868e-6),
    "Mcal": ("energy", 4.1868e-3),
    "Gcal": ("energy", 4.1868),
    "kWh": ("energy", 3.6e-3),
    "MWh": ("energy", 3.6),
    "GWh": ("energy", 3.6e3),
    "TWh": ("energy", 3.6e6),
    "10^4 kWh": ("energy", 36.0),
    "10^8 kWh": ("energy", 3.6e5),
    "kgce": ("energy", KGCE_KJ * 1e-6),
    "tce": ("energy", KGCE_KJ * 1e-3),
    "10^4 tce": ("energy", KGCE_KJ * 10.0),
    "Mtce": ("energy", KGCE_KJ * 1e3),
    # mass
    "g": ("mass", 1e-6),
    "kg": ("mass", 1e-3),
    "t": ("mass", 1.0),
    "kt": ("mass", 1e3),
    "10^4 t": ("mass", 1e4),
    "Mt": ("mass", 1e6),
    "Gg": ("mass", 1e3),
    "tC": ("mass", 1.0),
    "kgC": ("mass", 1e-3),
    "GgC": ("mass", 1e3),
    # 重量箱 of flat glass: 50 kg (10 m2 of 2 mm glass; GB 21340-2019, 3.3)
    "weight case": ("mass", 0.05),
    "10^4 weight cases": ("mass", 500.0),
    # volume
    "L": ("volume", 1e-3),
    "m3": ("volume", 1.0),
    "10^3 m3": ("volume", 1e3),
    "10^4 m3": ("volume", 1e4),
    "10^8 m3": ("volume", 1e8),
    # greenhouse gases (CO2-equivalent mass)
    "gCO2e": ("ghg", 1e-6),
    "kgCO2e": ("ghg", 1e-3),
    "tCO2e": ("ghg", 1.0),
    "ktCO2e": ("ghg", 1e3),
    "10^4 tCO2e": ("ghg", 1e4),
    "MtCO2e": ("ghg", 1e6),
    "GgCO2e": ("ghg", 1e3),
    # money
    "CNY": ("money", 1e-4),
    "10^3 CNY": ("money", 0.1),
    "10^4 CNY": ("money", 1.0),
    "10^8 CNY": ("money", 1e4),
    # area
    "m2": ("area", 1.0),
    "10^4 m2": ("area", 1e4),
    "ha": ("area", 1e4),
    "km2": ("area", 1e6),
    "mu": ("area", 1e4 / 15),
    # dimensionless
    "1": ("dimensionless", 1.0),
    "%": ("dimensionless", 1e-2),
}

# Other spellings, Chinese statistical units included; mapped to a symbol above.
_ALIASES: dict[str, str] = {
    "焦耳": "J",
    "千焦": "kJ",
    "兆焦": "MJ",
    "吉焦": "GJ",
    "百万千焦": "GJ",
    "太焦": "TJ",
    "千卡": "kcal",
    "百万千卡": "Gcal",
    "千瓦时": "kWh",
    "kw·h": "kWh",
    "kw.h": "kWh",
    "度": "kWh",
    "兆瓦时": "MWh",
    "mw·h": "MWh",
    "吉瓦时": "GWh",
    "万千瓦时": "10^4 kWh",
    "万kwh": "10^4 kWh",
    "亿千瓦时": "10^8 kWh",
    "亿kwh": "10^8 kWh",
    "千克标准煤": "kgce",
    "kgce": "kgce",
    "吨标准煤": "tce",
    "吨标煤": "tce",
    "万吨标准煤": "10^4 tce",
    "万吨标煤": "10^4 tce",
    "万tce": "10^4 tce",
    "克": "g",
    "千克": "kg",
    "公斤": "kg",
    "吨": "t",
    "千吨": "kt",
    "万吨": "10^4 t",
    "百万吨": "Mt",
    "吨碳": "tC",
    "重量箱": "weight case",
    "weight cases": "weight case",
    "万重量箱": "10^4 weight cases",
    "千克碳": "kgC",
    "升": "L",
    "立方米": "m3",
    "m³": "m3",
    "nm3": "m3",
    "千立方米": "10^3 m3",
    "万立方米": "10^4 m3",
    "万m3": "10^4 m3",
    "万m³": "10^4 m3",
    "亿立方米": "10^8 m3",
    "亿m3": "10^8 m3",
    "tco2": "tCO2e",
    "t co2": "tCO2e",
    "tco2eq": "tCO2e",
    "tco2-eq": "tCO2e",
    "kgco2": "kgCO2e",
    "gco2": "gCO2e",
    "ktco2": "ktCO2e",
    "mtco2": "MtCO2e",
    "ggco2": "GgCO2e",
    "吨二氧化碳": "tCO2e",
    "吨二氧化碳当量": "tCO2e",
    "万吨二氧化碳": "10^4 tCO2e",
    "万吨二氧化碳当量": "10^4 tCO2e",
    "万tco2": "10^4 tCO2e",
    "万tco2e": "10^4 tCO2e",
    "元": "CNY",
    "yuan": "CNY",
    "千元": "10^3 CNY",
    "万元": "10^4 CNY",
    "亿元": "10^8 CNY",
    "平方米": "m2",
    "m²": "m2",
    "万平方米": "10^4 m2",
    "公顷": "ha",
    "平方千米": "km2",
    "平方公里": "km2",
    "亩": "mu",
    "fraction": "1",
    "ratio": "1",
    "": "1",
    "-": "1",
}

_SPELLINGS: dict[str, str] = {**{s.lower(): s for s in _UNITS}, **_ALIASES}
_SPELLINGS.update({k.lower(): v for k, v in _ALIASES.items()})
_SPELLINGS.update({"万" + s.lower(): "10^4 " + s for s in ("t", "tce", "m3", "kWh", "tCO2e")})


class Unit(NamedTuple):
    """A parsed unit: its canonical symbol, dimension and factor to the dimension's base."""

    symbol: str
    dimension: str
    to_base: float


def _simple(text: str) -> Unit:
    key = re.sub(r"\s+", " ", text.strip()).replace("×", "")
    symbol = _SPELLINGS.get(key.lower()) or _SPELLINGS.get(key.replace(" ", "").lower())
    if symbol is None:
        raise UnitError(
            f"unit {text!r} is unknown", value=text, suggestions=close_matches(text, _UNITS)
        )
    dimension, factor = _UNITS[symbol]
    return Unit(symbol, dimension, factor)


@cache
def parse(unit: str) -> Unit:
    """Parse a unit (``'万吨'``, ``'GJ/t'``, ``'tCO2/MWh'``); raises :class:`UnitError` if unknown.

    A compound unit's dimension is ``'numerator/denominator'``.
    """
    if unit is None or (isinstance(unit, float) and np.isnan(unit)):
        raise UnitError("unit is missing", value=unit)
    text = str(unit).strip()
    if "/" in text:
        num, _, den = text.partition("/")
        n, d = _simple(num), _simple(den)
        return Unit(f"{n.symbol}/{d.symbol}", f"{n.dimension}/{d.dimension}", n.to_base / d.to_base)
    return _simple(text)


def dimension(unit: str) -> str:
    """Dimension of a unit: ``'energy'``, ``'mass'``, ``'energy/mass'``, ..."""
    return parse(unit).dimension


def factor(from_unit: str, to_unit: str) -> float:
    """Multiplier that converts a value in ``from_unit`` to ``to_unit``; same dimension required."""
    a, b = parse(from_unit), parse(to_unit)
    if a.dimension != b.dimension:
        raise UnitError(
            f"cannot convert {a.symbol} ({a.dimension}) to {b.symbol} ({b.dimension})",
            value=from_unit,
        )
    return a.to_base / b.to_base


def convert(value, from_unit: str, to_unit: str):
    """Convert scalars or arrays (NumPy, pandas) from one unit to another of the same dimension."""
    return value * factor(from_unit, to_unit)


def to_base_factors(
    units: pd.Series,
    *,
    expect: str | tuple[str, ...] | None = None,
    source: str | None = None,
    field: str = "unit",
) -> np.ndarray:
    """Per-row factors to the base unit for a column of unit strings (vectorised over unique units).

    Raises :class:`UnitError` naming ``source``, ``field`` and the first offending row (index
    label) if a unit is unknown, missing, or not of the expected dimension(s).
    """
    codes, uniques = pd.factorize(units, use_na_sentinel=True)
    if (codes < 0).any():
        row = units.index[int(np.argmax(codes < 0))]
        raise UnitError("unit is missing", source=source, row=row, field=field, value=None)
    allowed = (expect,) if isinstance(expect, str) else expect
    factors = np.empty(len(uniques), dtype="float64")
    for i, text in enumerate(uniques):  # loops over distinct units only
        row = units.index[int(np.argmax(codes == i))]
        try:
            u = parse(text)
        except UnitError as err:
            raise UnitError(
                err.reason,
                source=source,
                row=row,
                field=field,
                value=text,
                suggestions=err.suggestions,
            ) from None
        if allowed and u.dimension not in allowed:
            raise UnitError(
                f"unit {text!r} is {u.dimension}, expected {' or '.join(allowed)}",
                source=source,
                row=row,
                field=field,
                value=text,
            )
        factors[i] = u.to_base
    return factors[codes]


def dimensions(units: pd.Series) -> np.ndarray:
    """Per-row dimension of a column of (valid) unit strings, parsed once per distinct unit."""
    codes, uniques = pd.factorize(units)
    return np.array([parse(u).dimension for u in uniques], dtype=object)[codes]


def base_unit(dim: str) -> str:
    """The base unit symbol of a (simple or compound) dimension."""
    bases = {
        "energy": "GJ",
        "mass": "t",
        "volume": "m3",
        "ghg": "tCO2e",
        "money": "10^4 CNY",
        "area": "m2",
        "dimensionless": "1",
    }
    return "/".join(bases[d] for d in dim.split("/"))
