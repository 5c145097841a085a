"""What every table the platform writes as a spreadsheet or CSV file must respect.

Uploaded data reach downloads: a fuel name, a file name or a rejected value in the quarantine is
written back into CSV and Excel files that people open in a spreadsheet program. A text cell
that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be run there as a
formula (CSV or formula injection), so every writer passes its table through
:func:`neutralise_formulas` (CSV files through :func:`write_csv`, which also quotes a field
holding a line break; Excel files through :func:`spreadsheet_ready`, which also makes
timestamps time-zone-naive) before writing it: the targets and inventory reports, the ingest
error reports, the API's CSV and Excel downloads, the quarantine exports and the CLI's CSV
files.

References
----------
[1] OWASP, "CSV Injection" (https://owasp.org/www-community/attacks/CSV_Injection): prepend a
    single quote to cells beginning with = + - @ tab or carriage return.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

#: The first characters that make a spreadsheet program read a cell as a formula (OWASP).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: What a neutralised cell starts with: the spreadsheet shows the text as it is.
QUOTE = "'"


def neutralise_formulas(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula prefixed with a
    single quote (numbers, dates and missing values unchanged; a new frame, the input is kept).

    Vectorised per column (pandas string methods); a column without any text is left as is.
    """
    out = frame.copy()
    for col in out.columns:  # columns, not rows
        values = out[col]
        if not (values.dtype == object or pd.api.types.is_string_dtype(values.dtype)):
            continue
        try:
            hit = values.str.startswith(FORMULA_STARTS, na=False)
        except AttributeError:  # an object column without any text (dates, mixed objects)
            continue
        rows = hit.to_numpy(dtype=bool, na_value=False)
        if rows.any():
            cells = values.to_numpy(dtype=object, copy=True)
            cells[rows] = QUOTE + values[rows].astype(str).to_numpy(dtype=object)
            out[col] = pd.array(cells, dtype=values.dtype)
    return out


def write_csv(frame: pd.DataFrame, target: Any = None, **options: Any) -> str | None:
    """``frame`` as CSV, its cells neutralised (:func:`neutralise_formulas`), with RFC 4180 line
    ends (CRLF), so that a field holding a carriage return or a line feed is quoted and cannot
    start a row of its own. ``target``: a path or stream (None: the text is returned);
    ``options``: those of :meth:`pandas.DataFrame.to_csv`."""
    return neutralise_formulas(frame).to_csv(target, lineterminator="\r\n", **options)


def spreadsheet_ready(frame: pd.DataFrame) -> pd.DataFrame:
    """:func:`neutralise_formulas`, and timestamps as naive UTC (Excel has no time zones)."""
    out = neutralise_formulas(frame)
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = out[col].dt.tz_convert("UTC").dt.tz_localize(None)
        elif pd.api.types.infer_dtype(out[col], skipna=True) == "datetime":  # objects, zones
            out[col] = pd.to_datetime(out[col], utc=True).dt.tz_localize(None)
    return out


__all__ = ["FORMULA_STARTS", "QUOTE", "neutralise_formulas", "spreadsheet_ready", "write_csv"]
