"""Checks shared by the table-level accounting functions: quantities must be numbers >= 0."""

from __future__ import annotations

import numpy as np
import pandas as pd

from citycarbon.errors import InputError


def non_negative(
    values: pd.Series, *, field: str = "quantity", source: str | None = None
) -> np.ndarray:
    """Values as float64; text, missing or negative values raise :class:`InputError` naming the
    row by its index label (a frame read from a file is indexed by its lines, see
    :mod:`citycarbon.errors`) and the value as written.

    Never a silent zero: a blank quantity is an error, not 0.
    """
    numeric = pd.to_numeric(values, errors="coerce")
    bad = numeric.isna() | (numeric < 0)
    if bad.any():
        at = int(np.argmax(bad.to_numpy()))
        raise InputError(
            code="negative" if numeric.iloc[at] < 0 else "not_a_number",
            source=source,
            row=values.index[at],
            field=field,
            value=values.iloc[at],
        )
    return numeric.to_numpy(dtype="float64")


def distinct_rows(frame: pd.DataFrame, keys: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    """Each row's code of its distinct ``keys`` combination, and the first row of each combination.

    Methods that are linear in quantity compute once per distinct combination (tens of rows)
    and scale (see :func:`scale_per_unit`). The distinct rows keep the index label of their first
    occurrence, so errors raised on them name a row the user sees.
    """
    combo = np.zeros(len(frame), dtype="int64")
    for col in keys:
        codes, uniques = pd.factorize(frame[col], use_na_sentinel=True)
        combo = combo * (len(uniques) + 1) + (codes + 1)
    code, _ = pd.factorize(combo)
    # factorize numbers combinations in order of first appearance
    n = code.max() + 1 if len(code) else 0
    first = np.searchsorted(np.maximum.accumulate(code), np.arange(n))
    return code, frame.iloc[first][keys]


def scale_per_unit(
    per_unit: pd.DataFrame,
    code: np.ndarray,
    quantity: np.ndarray,
    numeric: tuple[str, ...],
    index: pd.Index,
) -> pd.DataFrame:
    """Expand per-unit results of distinct rows back to all rows: ``numeric`` columns times
    quantity, other numeric columns as they are, labels as categoricals.

    The scaled columns are written into one preallocated float block (no temporaries, no
    consolidation copy): at ten million rows memory traffic, not arithmetic, is the cost.
    """
    scaled = [c for c in per_unit.columns if c in numeric]
    block = np.empty((len(code), len(scaled)), dtype="float64", order="F")
    for i, col in enumerate(scaled):
        np.take(per_unit[col].to_numpy(dtype="float64"), code, out=block[:, i])
        np.multiply(block[:, i], quantity, out=block[:, i])
    out = pd.DataFrame(block, columns=scaled, index=index, copy=False)
    for col in per_unit.columns:
        values = per_unit[col]
        if col in numeric:
            continue
        if pd.api.types.is_numeric_dtype(values):
            out[col] = values.to_numpy()[code]
        else:
            cat = pd.Categorical(values.astype(str))
            out[col] = pd.Categorical.from_codes(cat.codes[code], categories=cat.categories)
    return out
