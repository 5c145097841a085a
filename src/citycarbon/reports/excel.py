"""Excel reports: every table of a report on its own sheet, plus provenance and notes.

A report is written to a file path (the CLI) or to a binary stream (the web streams it from
memory, so no file name is ever made of request data). No cell is a spreadsheet formula
(:func:`citycarbon.contract.exports.spreadsheet_ready`).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pandas as pd

from citycarbon.contract.exports import spreadsheet_ready, write_csv
from citycarbon.errors import InputError
from citycarbon.runs.reports import ReportData


def _target(out: str | Path | BinaryIO) -> Path | BinaryIO:
    """A path (its directory created) or the stream as given."""
    if isinstance(out, str | Path):
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    return out


def write_excel(data: ReportData, out: str | Path | BinaryIO) -> Path | BinaryIO:
    """Write ``summary``, one sheet per table (sheet name = table name) and ``provenance`` to a
    path or a binary stream; returns the path (or the stream)."""
    target = _target(out)
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
    with pd.ExcelWriter(target, engine="xlsxwriter") as xw:
        spreadsheet_ready(summary).to_excel(xw, sheet_name="summary", index=False)
        for name, frame in data.tables.items():
            spreadsheet_ready(frame).to_excel(xw, sheet_name=name[:31], index=False)
        for name, frame in data.charts.items():
            spreadsheet_ready(frame).to_excel(xw, sheet_name=f"chart_{name}"[:31], index=False)
        spreadsheet_ready(data.provenance).to_excel(xw, sheet_name="provenance", index=False)
    return target


def write_gpc_csv(data: ReportData, out: str | Path | BinaryIO) -> Path | BinaryIO:
    """The GPC-compatible table alone, as UTF-8 CSV (with BOM for Excel)."""
    if "gpc" not in data.tables:
        raise InputError("this report has no GPC table (needs the city inventory results)")
    target = _target(out)
    write_csv(data.tables["gpc"], target, index=False, encoding="utf-8-sig")
    return target
