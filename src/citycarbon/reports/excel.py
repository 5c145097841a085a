"""Excel reports: every table of a report on its own sheet, plus provenance and notes."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from citycarbon.errors import InputError
from citycarbon.runs.reports import ReportData


def _excel_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Timestamps without time zone (Excel has none); everything else as is."""
    f = frame.copy()
    for c in f.columns:
        if isinstance(f[c].dtype, pd.DatetimeTZDtype):
            f[c] = f[c].dt.tz_convert("UTC").dt.tz_localize(None)
        elif f[c].dtype == object:
            f[c] = f[c].map(
                lambda v: (
                    v.replace(tzinfo=None)
                    if hasattr(v, "tzinfo") and getattr(v, "tzinfo", None) is not None
                    else v
                )
            )
    return f


def write_excel(data: ReportData, path: str | Path) -> Path:
    """Write ``summary``, one sheet per table (sheet name = table name) and ``provenance``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    summary = pd.DataFrame(
        {
            "field": [
                "title",
                "city",
                "period",
                "source",
                *(f"note {i + 1}" for i in range(len(data.notes))),
            ],
            "value": [data.title, data.city, data.period, data.source, *data.notes],
        }
    )
    with pd.ExcelWriter(path, engine="xlsxwriter") as xw:
        summary.to_excel(xw, sheet_name="summary", index=False)
        for name, frame in data.tables.items():
            _excel_safe(frame).to_excel(xw, sheet_name=name[:31], index=False)
        for name, frame in data.charts.items():
            _excel_safe(frame).to_excel(xw, sheet_name=f"chart_{name}"[:31], index=False)
        _excel_safe(data.provenance).to_excel(xw, sheet_name="provenance", index=False)
    return path


def write_gpc_csv(data: ReportData, path: str | Path) -> Path:
    """The GPC-compatible table alone, as UTF-8 CSV (with BOM for Excel)."""
    if "gpc" not in data.tables:
        raise InputError("this report has no GPC table (needs the city inventory results)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    data.tables["gpc"].to_csv(path, index=False, encoding="utf-8-sig")
    return path
