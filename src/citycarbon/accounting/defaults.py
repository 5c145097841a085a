"""Default-parameter tables of the inventory methods (``accounting/data/*_defaults.csv``: one row
per parameter, key and context with value, unit, source, ``assumption`` flag and note), read the
same way for waste, sinks, transport, agriculture and fugitive emissions."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd

from citycarbon.records import join_records, message_record


@cache
def read_defaults(path: Path) -> pd.DataFrame:
    """A defaults table: parameter, key, context, value (float), unit, source, assumption
    (bool), note, and where the table has them the source's range ``low``, ``high`` (float,
    NaN where the source gives none)."""
    t = pd.read_csv(path, dtype=str, keep_default_na=False)
    for col in ("value", "low", "high"):
        if col in t:
            t[col] = pd.to_numeric(t[col].replace("", np.nan)).astype("float64")
    t["assumption"] = t["assumption"].str.lower().eq("true")
    return t


def default_values(table: pd.DataFrame, parameter: str, keys, context: str = "") -> np.ndarray:
    """Values of ``parameter`` for each key in ``context`` (NaN where the table has none)."""
    t = table[(table["parameter"] == parameter) & (table["context"] == context)]
    return t.set_index("key")["value"].reindex(pd.Index(keys, dtype=object)).to_numpy()


def cite_default(table: pd.DataFrame, parameter: str, key: str = "", context: str = "") -> str:
    """One default as a method record (:mod:`citycarbon.records`): ``default`` (or
    ``default_range`` with the source's range where the table has one) with the parameter, key,
    value, unit and source, and the part ``assumed_value`` where the value is an assumption."""
    r = table[
        (table["parameter"] == parameter) & (table["key"] == key) & (table["context"] == context)
    ].iloc[0]
    low, high = r.get("low", np.nan), r.get("high", np.nan)
    ranged = pd.notna(low) and pd.notna(high)
    cited = message_record(
        "default_range" if ranged else "default",
        parameter=parameter,
        key=key or "-",
        value=f"{r['value']:g}",
        low=f"{low:g}" if ranged else None,
        high=f"{high:g}" if ranged else None,
        unit=r["unit"],
        source=r["source"],
    )
    return join_records(cited, "assumed_value" if r["assumption"] else "")
