""".xlsx workbooks read within limits: a small upload must not take the server's memory or
minutes of its time (a decompression bomb: a sheet of a few hundred kilobytes that unzips to
gigabytes, millions of shared strings, a cell in row 10^9).

An .xlsx is a zip of XML parts. Before anything is parsed, :func:`check_workbook` reads the
zip's directory and refuses a workbook whose parts unzip to more than the limits of
:class:`XlsxLimits` (all parts together; a part read whole into memory; the compression ratio
of a part) or that holds more shared strings than allowed (counted while streaming the part).
The zip's declared sizes bound what is decompressed: Python's zip reader stops at the declared
size and a part that unzips to more fails its CRC check. The sheets are then read streaming
(openpyxl read-only mode) through :func:`bounded_rows`, which refuses a sheet with more rows or
columns than allowed and does not trust the sheet's declared dimension.

The limits are settings (``CITYCARBON_XLSX_MAX_*``, :mod:`citycarbon.config.settings`); a
refusal names the file, what is too large, the limit and the setting, in English or Chinese
(the ``refused`` reason of :mod:`citycarbon.errors`).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from citycarbon.config.settings import Settings, get_settings, size_bytes
from citycarbon.errors import InputError

#: Parts smaller than this are not checked for their compression ratio (tiny XML compresses
#: well and cannot hurt).
RATIO_FLOOR_BYTES = 1 << 20
#: Worksheet parts: parsed streaming, so they count only towards the total.
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$", re.IGNORECASE)
_SHARED_STRINGS = re.compile(r"(^|/)sharedStrings\.xml$", re.IGNORECASE)
_STRING_ITEM = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?si[\s/>]")
_READ_BYTES = 1 << 20


@dataclass(frozen=True)
class XlsxLimits:
    """How large an uploaded workbook may be (see the settings of the same names)."""

    uncompressed_bytes: int
    part_bytes: int
    ratio: int
    rows: int
    columns: int
    shared_strings: int

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> XlsxLimits:
        s = settings or get_settings()
        return cls(
            uncompressed_bytes=size_bytes(s.xlsx_max_uncompressed),
            part_bytes=size_bytes(s.xlsx_max_part),
            ratio=s.xlsx_max_ratio,
            rows=s.xlsx_max_rows,
            columns=s.xlsx_max_columns,
            shared_strings=s.xlsx_max_shared_strings,
        )


def _size(n: float) -> str:
    """Bytes in decimal units, as the size settings count them: 950 B, 2.1 GB."""
    for unit in ("B", "kB", "MB"):
        if n < 1000:
            return f"{n:,.0f} {unit}" if unit == "B" else f"{n:,.1f} {unit}"
        n /= 1000
    return f"{n:,.1f} GB"


def refused(label: str, en: str, zh: str, setting: str) -> InputError:
    """The refusal of a workbook over a limit: what is too large (``en``, ``zh``: said in the
    reader's language) and the setting of the limit."""
    return InputError(code="refused", params={"en": en, "zh": zh, "setting": setting}, source=label)


def check_workbook(path: Path, label: str, limits: XlsxLimits) -> None:
    """Refuse (:class:`InputError`) a workbook that would unzip beyond ``limits``, before it is
    parsed; a file that is not a zip is left to the reader (which says so)."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError):
        return
    with archive:
        parts = archive.infolist()  # the zip's directory: a few entries
        total = sum(p.file_size for p in parts)
        if total > limits.uncompressed_bytes:
            size, limit = _size(total), _size(limits.uncompressed_bytes)
            raise refused(
                label,
                f"the workbook unzips to {size}, above the limit of {limit}",
                f"工作簿解压后为 {size}，超过上限 {limit}",
                "CITYCARBON_XLSX_MAX_UNCOMPRESSED",
            )
        for part in parts:
            name, ratio = part.filename, part.file_size / max(part.compress_size, 1)
            if part.file_size > RATIO_FLOOR_BYTES and ratio > limits.ratio:
                raise refused(
                    label,
                    f"part {name} unzips to {ratio:,.0f} times its size, above the limit of "
                    f"{limits.ratio:,}",
                    f"部件 {name} 的压缩比为 {ratio:,.0f}，超过上限 {limits.ratio:,}",
                    "CITYCARBON_XLSX_MAX_RATIO",
                )
            if not _SHEET_PART.match(name) and part.file_size > limits.part_bytes:
                size, limit = _size(part.file_size), _size(limits.part_bytes)
                raise refused(
                    label,
                    f"part {name}, read whole, unzips to {size}, above the limit of {limit}",
                    f"整体读入的部件 {name} 解压后为 {size}，超过上限 {limit}",
                    "CITYCARBON_XLSX_MAX_PART",
                )
        strings = next((p for p in parts if _SHARED_STRINGS.search(p.filename)), None)
        if strings is not None:
            n = _count_shared_strings(archive, strings, stop_after=limits.shared_strings)
            if n > limits.shared_strings:
                raise refused(
                    label,
                    f"the workbook has more than {limits.shared_strings:,} shared strings",
                    f"工作簿的共享字符串超过 {limits.shared_strings:,} 个",
                    "CITYCARBON_XLSX_MAX_SHARED_STRINGS",
                )


def _count_shared_strings(archive: zipfile.ZipFile, part: zipfile.ZipInfo, stop_after: int) -> int:
    """``<si>`` items of the shared-strings part, counted in blocks of the unzipped stream
    (stops once more than ``stop_after`` are seen)."""
    count, tail = 0, b""
    keep = 64  # bytes carried over a block boundary (longer than any <prefix:si> tag)
    with archive.open(part) as stream:
        while block := stream.read(_READ_BYTES):
            text = tail + block
            cut = max(len(text) - keep, 0)
            count += sum(1 for m in _STRING_ITEM.finditer(text) if m.start() < cut)
            tail = text[cut:]
            if count > stop_after:
                return count
    return count + len(_STRING_ITEM.findall(tail))


def bounded_rows(sheet: Any, label: str, limits: XlsxLimits) -> Iterator[tuple[int, tuple]]:
    """``(Excel row number, values)`` of a read-only sheet, refusing a sheet beyond the row or
    column limit. The sheet's declared dimension is ignored (it may lie and would pad every
    row to its width); each row is as wide as its last cell."""
    sheet.reset_dimensions()
    where = f"{label}!{sheet.title}"
    for r, values in enumerate(sheet.iter_rows(values_only=True), start=1):  # streaming
        if r > limits.rows:
            raise refused(
                where,
                f"the sheet has more than {limits.rows:,} rows",
                f"工作表超过 {limits.rows:,} 行",
                "CITYCARBON_XLSX_MAX_ROWS",
            )
        if len(values) > limits.columns:
            raise refused(
                where,
                f"row {r} has {len(values):,} columns, more than {limits.columns:,}",
                f"第 {r} 行有 {len(values):,} 列，超过 {limits.columns:,} 列",
                "CITYCARBON_XLSX_MAX_COLUMNS",
            )
        yield r, values


__all__ = ["XlsxLimits", "bounded_rows", "check_workbook", "refused"]
