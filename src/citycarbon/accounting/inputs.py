"""Checks shared by the table-level accounting functions: quantities must be numbers >= 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError


def non_negative(values: pd.Series, *, field: str = "quantity",
                 source: str | None = None) -> np.ndarray:
    """Values as float64; text, missing or negative values raise :class:`InputError` naming the row.

    Never a silent zero: a blank quantity is an error, not 0.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric < 0)
    if bad.any():
        row = values.index[np.argmax(bad.to_numpy())]
        why = "is negative" if numeric[row] < 0 else "is not a number"
        raise InputError(f"{field} {values[row]!r} {why}", source=source, row=row, field=field,
                         value=values[row])
    return numeric.to_numpy(dtype="float64")
