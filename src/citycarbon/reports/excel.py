"""Excel reports: a 说明 sheet with the 口径 and notes, every table of a report on its own sheet
(Chinese or English sheet names and column labels with units), the chart series and provenance.

A report is written to a file path (the CLI) or to a binary stream (the web streams it from
memory, so no file name is ever made of request data). No cell is a spreadsheet formula
(:func:`citycarbon.contract.exports.spreadsheet_ready`); figures are shown through
:func:`citycarbon.read.presentation.present` (万吨 where tonnes reach eight digits, fractions as
percentages).
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import pandas as pd

from citycarbon.contract.exports import spreadsheet_ready, write_csv
from citycarbon.errors import InputError
from citycarbon.read.presentation import present, table_title
from citycarbon.reports.basis import methods_in, provenance_in, report_basis
from citycarbon.runs.reports import ReportData

_NOTE = {"zh": "说明", "en": "Note"}
_REPORT = {"zh": "报告", "en": "Report"}


def _target(out: str | Path | BinaryIO) -> Path | BinaryIO:
    """A path (its directory created) or the stream as given."""
    if isinstance(out, str | Path):
        path = Path(out)
        path.parent.mkdir(parents=True, exist_ok=True)
        return path
    return out


def _sheet(name: str, lang: str, used: set[str]) -> str:
    """A sheet name: the table's title (31 characters at most), unique in the workbook."""
    title = table_title(name, lang)[:31]
    while title in used:
        title = title[:29] + f"_{len(used)}"
    used.add(title)
    return title


def write_excel(data: ReportData, out: str | Path | BinaryIO, lang: str = "zh") -> Path | BinaryIO:
    """Write the 说明 sheet (title, 口径, notes), one sheet per table and chart series and the
    provenance to a path or a binary stream, labelled in ``lang``; returns the path (or the
    stream)."""
    target = _target(out)
    basis = report_basis(data, lang)
    about = basis.frame(lang)
    head = pd.DataFrame({about.columns[0]: [_REPORT[lang]], about.columns[1]: [data.title]})
    notes = pd.DataFrame(
        {about.columns[0]: [_NOTE[lang]] * len(data.notes), about.columns[1]: data.notes}
    )
    summary = pd.concat([head, about, notes], ignore_index=True)
    used: set[str] = set()
    with pd.ExcelWriter(target, engine="xlsxwriter") as xw:
        spreadsheet_ready(summary).to_excel(
            xw, sheet_name=_sheet("summary", lang, used), index=False
        )
        xw.sheets[table_title("summary", lang)].set_column(0, 0, 14)
        xw.sheets[table_title("summary", lang)].set_column(1, 1, 90)
        for name, frame in data.tables.items():
            sheet = _sheet(name, lang, used)
            shown = present(methods_in(frame, lang), lang)
            spreadsheet_ready(shown).to_excel(xw, sheet_name=sheet, index=False)
            xw.sheets[sheet].set_column(0, len(frame.columns), 16)
        for name, frame in data.charts.items():
            sheet = _sheet(f"chart_{name}", lang, used)
            spreadsheet_ready(present(frame, lang)).to_excel(xw, sheet_name=sheet, index=False)
        sheet = _sheet("provenance", lang, used)
        spreadsheet_ready(present(provenance_in(data, lang), lang)).to_excel(
            xw, sheet_name=sheet, index=False
        )
    return target


def write_gpc_csv(data: ReportData, out: str | Path | BinaryIO) -> Path | BinaryIO:
    """The GPC-compatible table alone, as UTF-8 CSV (with BOM for Excel)."""
    if "gpc" not in data.tables:
        raise InputError("this report has no GPC table (needs the city inventory results)")
    target = _target(out)
    write_csv(data.tables["gpc"], target, index=False, encoding="utf-8-sig")
    return target
