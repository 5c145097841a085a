"""The reporting tables as Excel workbooks: the provincial guideline's 总表 and sector tables
(one workbook) and GPC BASIC / BASIC+ in a CIRIS-like layout (another), each with a 说明 sheet
(the 口径) and every sheet in one language (sheet names, column labels with units, row names).

Figures stay in tCO2e over the whole table (unit ``tCO2e (table)`` of the presentation
catalog), so the rows add up to the totals of 清单 as printed; no cell is a spreadsheet formula
(:func:`citycarbon.contract.exports.spreadsheet_ready`).
"""

from __future__ import annotations

from typing import BinaryIO

import pandas as pd

from citycarbon.contract.exports import spreadsheet_ready
from citycarbon.read.presentation import Basis, present, table_title
from citycarbon.runs.reporting_tables import ReportingTables

TABLE_UNIT = "tCO2e (table)"
#: Columns of text; every other column holds tCO2e (gas families, other gases, totals). A scope
#: column holds tCO2e or a notation key and is shown as given (its label says so).
_TEXT = {"sector", "item_name", "notation_key", "subsector", "data_quality", "data_quality_note"}
_TEXT |= {"scope_1", "scope_2", "scope_3"}


def _one_language(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The frame with its row names and notes in ``lang`` only (``name_zh`` → ``item_name``)."""
    other = "en" if lang == "zh" else "zh"
    out = frame.drop(columns=[f"name_{other}", f"data_quality_note_{other}"], errors="ignore")
    return out.rename(
        columns={f"name_{lang}": "item_name", f"data_quality_note_{lang}": "data_quality_note"}
    )


def sheet_frame(frame: pd.DataFrame, lang: str) -> pd.DataFrame:
    """A table as its sheet shows it: one language, labelled headers, tCO2e throughout."""
    one = _one_language(frame, lang)
    units = {str(c): TABLE_UNIT for c in one.columns if str(c) not in _TEXT}
    return present(one, lang, units)


def write_tables(
    tables: ReportingTables, names: list[str], basis: Basis, out: BinaryIO, lang: str = "zh"
) -> BinaryIO:
    """Write the 说明 sheet and the tables ``names`` of ``tables`` to ``out`` in ``lang``."""
    about = basis.frame(lang)
    with pd.ExcelWriter(out, engine="xlsxwriter") as xw:
        sheet = table_title("summary", lang)[:31]
        spreadsheet_ready(about).to_excel(xw, sheet_name=sheet, index=False)
        xw.sheets[sheet].set_column(0, 0, 14)
        xw.sheets[sheet].set_column(1, 1, 90)
        for name in names:  # a handful of sheets
            sheet = table_title(name, lang)[:31]
            frame = sheet_frame(tables.tables[name], lang)
            spreadsheet_ready(frame).to_excel(xw, sheet_name=sheet, index=False)
            xw.sheets[sheet].set_column(0, 0, 10)
            xw.sheets[sheet].set_column(1, 1, 36)
            xw.sheets[sheet].set_column(2, len(frame.columns), 16)
            xw.sheets[sheet].freeze_panes(1, 2)
    return out
