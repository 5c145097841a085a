"""Uploaded .xlsx workbooks are read within limits (decompression bombs): a small file that
unzips to gigabytes, millions of shared strings, a row in the billions or a column far to the
right is refused before it takes the memory or the time, with a message naming the file, the
limit and its setting in English and Chinese; an ordinary workbook still ingests.

The bombs are generated here: a valid workbook (xlsxwriter) whose sheet or shared-strings part
is replaced by crafted XML, streamed into the zip (the test never holds the expanded part)."""

from __future__ import annotations

import time
import tracemalloc
import zipfile
from collections.abc import Iterable
from pathlib import Path

import pandas as pd
import pytest

from citycarbon.errors import InputError
from citycarbon.ingest.loader import ingest
from citycarbon.ingest.workbook import XlsxLimits, check_workbook
from citycarbon.store import catalog, lake

HEADER = ["enterprise_code", "period", "fuel", "unit", "consumed_total"]
CELLS = "".join(
    f'<c r="{col}1" t="inlineStr"><is><t>{name}</t></is></c>'
    for col, name in zip("ABCDE", HEADER, strict=True)
)
HEAD = (
    b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet '
    b'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
    + f'<row r="1">{CELLS}</row>'.encode()
)
TAIL = b"</sheetData></worksheet>"


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    catalog.ensure_catalog()  # migrations before any measurement
    yield tmp_path / "home"
    catalog.dispose_engines()


def _base(path: Path, strings: int = 0) -> Path:
    """A valid workbook: the header row, and ``strings`` distinct texts (shared strings)."""
    frame = pd.DataFrame({"x": [f"text {i}" for i in range(strings)]}, dtype=object)
    frame.to_excel(path, index=False, engine="xlsxwriter")
    return path


def _replace(path: Path, out: Path, part: str, chunks: Iterable[bytes]) -> Path:
    """``path`` with ``part`` replaced by the bytes of ``chunks``, written streaming."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename != part:
                dst.writestr(info.filename, src.read(info.filename))
        info = zipfile.ZipInfo(part)
        info.compress_type = zipfile.ZIP_DEFLATED
        with dst.open(info, "w", force_zip64=True) as f:
            for chunk in chunks:
                f.write(chunk)
    return out


def _sheet(tmp_path: Path, body: Iterable[bytes], name: str = "bomb.xlsx") -> Path:
    return _replace(
        _base(tmp_path / "base.xlsx"), tmp_path / name, "xl/worksheets/sheet1.xml",
        [HEAD, *body, TAIL],
    )  # fmt: skip


def _refused(path: Path, setting: str) -> tuple[str, float, int]:
    """Ingest ``path`` expecting a refusal naming ``setting``; the message, the seconds it took
    and the peak of memory allocated meanwhile [bytes]."""
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(InputError) as info:
            ingest("energy_monthly", path, source_name="月报.xlsx")
        seconds = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    text = str(info.value)  # in English; in Chinese too, each language alone
    zh = info.value.render("zh")
    assert text.startswith("月报.xlsx") and setting in text and "已拒收" not in text, text
    assert zh.startswith("文件 月报.xlsx") and setting in zh and "已拒收" in zh, zh
    assert "refused" not in zh and "另存为 CSV" in zh, zh
    assert text.count("refused") == 1 and "damaged" not in text, text  # said once, as it is
    assert str(path) not in text  # the file as the user named it, never the server path
    return text, seconds, peak


def test_a_zip_bomb_is_refused_before_it_is_unzipped(home, tmp_path):
    """64 MB of one letter in a cell unzip from about 64 kB: refused by its compression ratio,
    in a fraction of a second and a few MB, where parsing it would take seconds and a 64 MB
    string (the penetration test's 0.8 MB file took 2.2 GB and 83 s)."""
    letters = (b"A" * (1 << 20) for _ in range(64))
    row = [b'<row r="2"><c r="A2" t="inlineStr"><is><t>', *letters, b"</t></is></c></row>"]
    bomb = _sheet(tmp_path, row)
    assert bomb.stat().st_size < 1 << 20
    text, seconds, peak = _refused(bomb, "CITYCARBON_XLSX_MAX_RATIO")
    assert "xl/worksheets/sheet1.xml" in text and "above the limit of 200" in text
    assert seconds < 5 and peak < 16 << 20, (seconds, peak)
    assert lake.read_current("energy_monthly").empty


def test_millions_of_shared_strings_are_refused_while_counted(home, tmp_path):
    """1.1 million distinct texts (the default limit is a million): counted streaming, never
    loaded."""
    items = (
        "".join(f"<si><t>{i:07d}</t></si>" for i in range(j, j + 100_000)).encode()
        for j in range(0, 1_100_000, 100_000)
    )
    sst = [b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">', *items]
    bomb = _replace(
        _base(tmp_path / "base.xlsx", strings=3), tmp_path / "sst.xlsx", "xl/sharedStrings.xml",
        [*sst, b"</sst>"],
    )  # fmt: skip
    text, seconds, peak = _refused(bomb, "CITYCARBON_XLSX_MAX_SHARED_STRINGS")
    assert "more than 1,000,000 shared strings" in text
    assert seconds < 10 and peak < 16 << 20, (seconds, peak)


def test_a_row_far_down_is_refused_without_reading_the_rows_before(home, tmp_path):
    """A cell in row 2,000,000 (Excel stops at 1,048,576): the sheet's rows are counted as
    read, not as declared."""
    row = [b'<row r="2000000"><c r="A2000000" t="inlineStr"><is><t>x</t></is></c></row>']
    text, seconds, peak = _refused(_sheet(tmp_path, row), "CITYCARBON_XLSX_MAX_ROWS")
    assert "月报.xlsx, sheet Sheet1" in text and "more than 1,048,576 rows" in text
    assert seconds < 20 and peak < 16 << 20, (seconds, peak)


def test_a_cell_far_to_the_right_is_refused(home, tmp_path):
    row = [b'<row r="2"><c r="XFD2"><v>1</v></c></row>']
    text, _, peak = _refused(_sheet(tmp_path, row), "CITYCARBON_XLSX_MAX_COLUMNS")
    assert "row 2 has 16,384 columns, more than 1,000" in text
    assert peak < 16 << 20


@pytest.mark.parametrize(
    ("setting", "value", "says"),
    [
        ("CITYCARBON_XLSX_MAX_UNCOMPRESSED", "20kB", "the workbook unzips to"),
        ("CITYCARBON_XLSX_MAX_PART", "5kB", "part xl/sharedStrings.xml, read whole"),
        ("CITYCARBON_XLSX_MAX_SHARED_STRINGS", "100", "more than 100 shared strings"),
        ("CITYCARBON_XLSX_MAX_ROWS", "50", "more than 50 rows"),
        ("CITYCARBON_XLSX_MAX_COLUMNS", "3", "row 1 has 5 columns, more than 3"),
    ],
)
def test_every_limit_is_a_setting(home, tmp_path, monkeypatch, setting, value, says):
    path = _replace(
        _base(tmp_path / "base.xlsx", strings=400), tmp_path / "w.xlsx", "xl/worksheets/sheet1.xml",
        [HEAD, *(f'<row r="{r}"><c r="A{r}"><v>{r}</v></c></row>'.encode() for r in range(2, 99)),
         TAIL],
    )  # fmt: skip
    check_workbook(path, "w.xlsx", XlsxLimits.from_settings())  # within the defaults
    monkeypatch.setenv(setting, value)
    text, _, _ = _refused(path, setting)
    assert says in text, text


def test_a_workbook_within_the_limits_is_read_as_before(home, tmp_path):
    """The limits let an ordinary 205-1 return through (its rows reach the checks)."""
    frame = pd.DataFrame(
        {
            "enterprise_code": ["91350203MA0000001X"] * 3,
            "period": ["2024-01"] * 3,
            "fuel": ["diesel"] * 3,
            "unit": ["t"] * 3,
            "consumed_total": [1.0, 2.0, 3.0],
        }
    )
    path = tmp_path / "ok.xlsx"
    frame.to_excel(path, index=False, engine="xlsxwriter")
    r = ingest("energy_monthly", path)
    assert r.rows_in == 3  # read and checked (the unknown enterprise is quarantined)
