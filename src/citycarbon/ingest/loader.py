"""Ingest (数据接入): validate a file, quarantine bad rows, write the lake and commit a batch.

``ingest(kind, path)`` reads a CSV (UTF-8 with or without BOM, or GBK/GB18030), Excel .xlsx or
Parquet file of one kind (:mod:`citycarbon.contract.inputs`), checks every row against the kind's
declared schema (types, units, registry codes, ranges, dates, rules, duplicates; vectorised, in
chunks), writes accepted rows to the lake and every rejected row, with the reason, to the
``quarantine`` lake table, and records the batch in the catalog. Always
``rows_in = rows_accepted + rows_quarantined``.

Batches
-------
- A file is identified by the SHA-256 of its bytes: the same file again adds nothing and
  reports the batch that holds it.
- A corrected resubmission is a new batch; its rows supersede older rows of the same natural key
  (readers take, per key, the highest committed batch_id; nothing is deleted).
- Atomic: rows are written to ``<lake>/_staging/b<id>/``, moved into place, then the batch is
  committed in the catalog (registry rows in the same transaction). Until that commit nothing is
  visible; a crash or ``kill -9`` at any point leaves the committed state as it was, and the next
  ingest removes the leftovers (:func:`citycarbon.store.lake.cleanup`).
- Large files stream: readings are read in blocks of rows, written per month, and duplicates
  are found per month partition by DuckDB with a memory limit, so a file larger than memory
  ingests.

Errors that reject a whole file (unreadable, empty, a required column missing, wrong encoding)
raise :class:`citycarbon.errors.InputError` naming the file and, where it applies, the columns
found; the batch is then marked failed.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import itertools
import json
import logging
import os
import shutil
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from citycarbon import units
from citycarbon.config import as_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.exports import neutralise_formulas, write_csv
from citycarbon.contract.inputs import (
    DOC_SHEETS,
    QUARANTINE_SCHEMA,
    SCHEMAS,
    BoundaryRule,
    CheckContext,
    InCityRule,
    Schema,
    check_table,
    get_schema,
    match_headers,
    normalize_header,
)
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.geo import bbox, boundaries
from citycarbon.ingest.workbook import XlsxLimits, bounded_rows, check_workbook
from citycarbon.records import message_record
from citycarbon.store import catalog
from citycarbon.store import lake as lk

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
log = logging.getLogger(__name__)
CHUNK_ROWS = 1_000_000  # rows validated at once
EXCEL_CHUNK_CELLS = 2_000_000  # cells of an .xlsx sheet held at once (Python objects)
CSV_BLOCK_BYTES = 16 << 20
XLSX_MAX_REPORT_ROWS = 100_000  # rows in the .xlsx error report (the .csv has all)
REPORT_BLOCK_ROWS = 100_000  # rows of the error report written at once
_ROW_BITS = 32  # _row = (part << 32) | row: part is the sheet (Excel) or 0


# ------------------------------------------------------------------------------- results
@dataclass
class IngestResult:
    """What one call of :func:`ingest` did."""

    batch_id: int
    kind: str
    source_name: str
    content_hash: str
    status: str  # 'committed', or 'unchanged' when the same file was committed before
    rows_in: int
    rows_accepted: int
    rows_quarantined: int
    rows_skipped: int = 0  # blank lines and form total rows (能源合计): not data rows
    files: list[str] = field(default_factory=list)  # lake paths written (relative)
    report_csv: Path | None = None
    report_xlsx: Path | None = None
    problems: pd.DataFrame | None = None  # column, reason, rows (most frequent first)
    ignored_columns: list[str] = field(default_factory=list)
    encoding: str | None = None
    seconds: float = 0.0

    @property
    def unchanged(self) -> bool:
        return self.status == "unchanged"


# --------------------------------------------------------------------------------- files
@dataclass(frozen=True)
class FileInfo:
    """Hash and text properties of an input file (one pass over its bytes)."""

    sha256: str
    size: int
    encoding: str | None  # CSV: 'utf-8' or 'gb18030'
    has_quotes: bool


def file_format(path: Path) -> str:
    """'csv', 'xlsx' or 'parquet' from the file name; other files are refused."""
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            code="file_type",
            params={"suffix": repr(path.suffix or "(none)"), "known": ", ".join(sorted(FORMATS))},
            source=str(path),
        )
    return fmt


def inspect_file(path: Path, fmt: str, label: str | None = None) -> FileInfo:
    """SHA-256 of the bytes; for CSV also the encoding (UTF-8, else GB18030/GBK, else refused).
    ``label`` names the file in errors (default its path).

    Raises
    ------
    InputError
        A CSV that is neither valid UTF-8 nor valid GB18030 (names the byte offset and line).
    """
    digest = hashlib.sha256()
    size, quotes, utf8_ok = 0, False, True
    decoder = codecs.getincrementaldecoder("utf-8")()
    bad_at = None
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            digest.update(chunk)
            if fmt == "csv":
                quotes = quotes or b'"' in chunk
                if utf8_ok:
                    try:
                        decoder.decode(chunk)
                    except UnicodeDecodeError as err:
                        utf8_ok, bad_at = False, size + err.start
            size += len(chunk)
    if fmt == "csv" and utf8_ok:
        try:
            decoder.decode(b"", final=True)
        except UnicodeDecodeError as err:
            utf8_ok, bad_at = False, size - 1 + err.start
    encoding = None
    if fmt == "csv":
        encoding = "utf-8" if utf8_ok else _check_gb18030(path, bad_at or 0, label)
    return FileInfo(digest.hexdigest(), size, encoding, quotes)


def _check_gb18030(path: Path, utf8_error_at: int, label: str | None = None) -> str:
    decoder = codecs.getincrementaldecoder("gb18030")()
    done, lines = 0, 0
    with open(path, "rb") as f:
        while chunk := f.read(8 << 20):
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError as err:
                at = done + err.start
                lines += chunk[: err.start].count(b"\n")
                raise InputError(
                    code="encoding",
                    params={"offset": at, "utf8_offset": utf8_error_at},
                    source=label or str(path),
                    row=lines + 1,
                ) from None
            lines += chunk.count(b"\n")
            done += len(chunk)
    return "gb18030"


# ------------------------------------------------------------------------------- readers
@dataclass
class Chunk:
    """Rows of a file, their headers as the user wrote them, and their row numbers."""

    raw: pa.Table  # original columns (source headers), values as read, plus _row
    part: int  # index into Reader.parts (the sheet for Excel)
    invalid: list[tuple[int, str, str]] = field(default_factory=list)  # (row, text, reason)
    blank: int = 0  # blank rows dropped (not data)


class Reader:
    """Base of the format readers: headers, parts (sheets) and chunks of rows."""

    def __init__(self, path: Path, schema: Schema, name: str | None = None) -> None:
        self.path, self.schema = path, schema
        self.name = name or path.name  # the file as the user named it (errors, quarantine)
        self.label = name or str(path)
        self.parts: list[str] = [self.name]
        self.headers: list[list[str]] = []  # per part

    def chunks(self) -> Iterator[Chunk]:
        raise NotImplementedError


def _unique_names(headers: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for h in headers:
        h = str(h).strip().lstrip("\ufeff") if h is not None else ""
        h = h or "column"
        if h in seen:
            seen[h] += 1
            h = f"{h}.{seen[h]}"
        else:
            seen[h] = 0
        out.append(h)
    return out


class CSVReader(Reader):
    """CSV in blocks (pyarrow): every value as text; the line number of each row as the user
    sees it in an editor (header line 1; rows spanning several lines counted; blank lines kept
    in the numbering)."""

    def __init__(self, path: Path, schema: Schema, info: FileInfo, name: str | None = None) -> None:
        super().__init__(path, schema, name)
        self.info = info
        encoding = "utf-8-sig" if info.encoding == "utf-8" else info.encoding
        with open(path, encoding=encoding, newline="") as f:
            first = f.readline()
            if not first.strip():
                raise InputError(code="empty_file", source=self.label, row=1)
            self.delimiter = max((",", "\t", ";", "|"), key=lambda d: (first.count(d), d == ","))
            header = next(csv.reader([first], delimiter=self.delimiter))
        self.names = _unique_names(header)
        self.headers = [self.names]

    def chunks(self) -> Iterator[Chunk]:
        invalid: list[tuple[int, str, int]] = []

        def handler(row: Any) -> str:
            invalid.append(
                (int(row.number) - 2 if row.number else -1, row.text, row.actual_columns)
            )
            return "skip"

        reader = pacsv.open_csv(
            self.path,
            read_options=pacsv.ReadOptions(
                use_threads=False,
                block_size=CSV_BLOCK_BYTES,
                column_names=self.names,
                skip_rows=1,
                encoding="utf8" if self.info.encoding == "utf-8" else self.info.encoding,
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=self.delimiter,
                newlines_in_values=self.info.has_quotes,
                ignore_empty_lines=False,
                invalid_row_handler=handler,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in self.names},
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
        record = 0  # next data record index (0-based, skipped records included)
        extra_lines = 0  # lines taken by newlines inside quoted values so far
        used = 0  # invalid records accounted for
        try:
            for batch in reader:
                n = batch.num_rows
                done_invalid = sorted(i for i in invalid[used:])
                used = len(invalid)
                skipped_idx = np.array([i[0] for i in done_invalid], dtype="int64")
                # record index of each valid row: skip the invalid records' numbers
                k = np.arange(n, dtype="int64") + record
                if len(skipped_idx):
                    adj = skipped_idx - np.arange(len(skipped_idx))
                    k = k + np.searchsorted(adj, k, side="right")
                lines = k + 2 + extra_lines
                extra_before = extra_lines
                cum = np.zeros(n + 1, dtype="int64")
                if self.info.has_quotes and n:
                    nl = np.zeros(n, dtype="int64")
                    for name in batch.schema.names:  # columns, not rows
                        nl += np.asarray(
                            pc.count_substring(batch[name], "\n")
                            .fill_null(0)
                            .to_numpy(zero_copy_only=False)
                        )
                    cum[1:] = np.cumsum(nl)
                    lines = lines + cum[:-1]
                    extra_lines += int(nl.sum())
                record = int(k[-1]) + 1 if n else record + len(done_invalid)
                table = pa.Table.from_batches([batch])
                empty = np.ones(n, dtype=bool)
                for name in table.column_names:  # a blank line reads as empty fields
                    empty &= np.asarray(
                        pc.equal(table[name], "").fill_null(True).to_numpy(zero_copy_only=False)
                    )
                    if not empty.any():
                        break
                table = table.append_column("_row", pa.array(lines, pa.int64()))
                blank = int(empty.sum())
                if blank:
                    table = table.filter(pa.array(~empty))
                bad = [
                    (
                        int(r) + 2 + extra_before + int(cum[np.searchsorted(k, r)]),
                        text,
                        f"has {cols} field(s), the header has {len(self.names)}",
                    )
                    for r, text, cols in done_invalid
                ]
                yield Chunk(table, 0, bad, blank)
        except pa.ArrowInvalid as err:
            raise InputError(f"cannot read the CSV: {err}", source=self.label) from None
        except UnicodeDecodeError as err:  # pragma: no cover - checked by inspect_file
            raise InputError(f"cannot decode the CSV: {err}", source=self.label) from None
        rest = invalid[used:]
        if rest:
            yield Chunk(
                pa.table(
                    {
                        **{n: pa.array([], pa.string()) for n in self.names},
                        "_row": pa.array([], pa.int64()),
                    }
                ),
                0,
                [
                    (
                        int(r) + 2 + extra_lines,
                        t,
                        f"has {c} field(s), the header has {len(self.names)}",
                    )
                    for r, t, c in rest
                ],
            )


class ParquetReader(Reader):
    """Parquet in row batches; the row number is the 1-based record number."""

    def __init__(self, path: Path, schema: Schema, name: str | None = None) -> None:
        super().__init__(path, schema, name)
        try:
            self.file = pq.ParquetFile(path)
        except (pa.ArrowInvalid, OSError) as err:
            raise InputError(
                f"not a readable Parquet file ({_error_text(err, self.path, self.label)})",
                source=self.label,
            ) from None
        self.headers = [list(self.file.schema_arrow.names)]

    def chunks(self) -> Iterator[Chunk]:
        start = 1
        try:
            for batch in self.file.iter_batches(batch_size=CHUNK_ROWS):
                n = batch.num_rows
                table = pa.Table.from_batches([batch])
                table = table.append_column(
                    "_row", pa.array(np.arange(start, start + n), pa.int64())
                )
                start += n
                yield Chunk(table, 0)
        except (pa.ArrowInvalid, OSError) as err:
            raise InputError(
                f"not a readable Parquet file ({_error_text(err, self.path, self.label)})",
                source=self.label,
            ) from None


_FOOTER_WORDS = ("单位负责人", "统计负责人", "填表人", "报出日期", "说明", "注：", "注:")
_FORM_LETTERS = {"甲", "乙", "丙", "丁", "戊"}


class ExcelReader(Reader):
    """.xlsx sheets (openpyxl, read-only). In each sheet the header row is found (a row naming
    at least two columns of the kind, also as a two-row header: 购进量 / 实物量, 金额（千元）);
    the form's column-number row (甲 乙 丙 1 2 ...) is skipped; enterprise and period may be
    given above the table (``统一社会信用代码：…``, ``报告期：2024年1月``). Sheets without a
    header are ignored, and so are documentation sheets (``DOC_SHEETS``: 说明, README). Row
    numbers are Excel's."""

    def __init__(self, path: Path, schema: Schema, name: str | None = None) -> None:
        super().__init__(path, schema, name)
        import openpyxl
        from openpyxl.utils.exceptions import InvalidFileException

        self.limits = XlsxLimits.from_settings()
        check_workbook(path, self.label, self.limits)  # before parsing: no decompression bomb
        try:
            self.book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except (zipfile.BadZipFile, InvalidFileException, KeyError, OSError, ValueError) as err:
            raise InputError(
                f"not a readable .xlsx workbook ({_error_text(err, path, self.label)})",
                source=self.label,
            ) from None
        self.parts = []
        self.found_headers: list[str] = []
        self.best: tuple[list[str], list[str]] | None = None  # closest sheet header, missing

    def chunks(self) -> Iterator[Chunk]:
        try:
            yield from self._chunks()
        except CitycarbonError:  # a limit of the workbook (ingest/workbook.py): said as it is
            raise
        except (zipfile.BadZipFile, KeyError, OSError, ValueError, EOFError) as err:
            raise InputError(
                f"the .xlsx workbook is damaged ({_error_text(err, self.path, self.label)})",
                source=self.label,
            ) from None
        finally:
            self.book.close()

    def _chunks(self) -> Iterator[Chunk]:
        for sheet in self.book.worksheets:
            if getattr(sheet, "sheet_state", "visible") != "visible" or sheet.title in DOC_SHEETS:
                continue
            rows = bounded_rows(sheet, self.name, self.limits)
            found = self._find_header(rows)
            if found is None:
                continue
            names, consts, pending = found
            part = len(self.parts)
            self.parts.append(f"{self.name}!{sheet.title}")
            self.headers.append(names)
            cols: list[list[Any]] = [[] for _ in names]
            numbers: list[int] = []
            width = len(names)
            chunk_rows = max(1, EXCEL_CHUNK_CELLS // max(width, 1))
            for r, values in itertools.chain(pending, rows):  # Excel rows, one by one
                if values is None or all(
                    v is None or (isinstance(v, str) and not v.strip()) for v in values
                ):
                    continue
                first = next((v for v in values if v is not None), "")
                if isinstance(first, str) and first.strip().startswith(_FOOTER_WORDS):
                    break
                values = tuple(values[:width]) + (None,) * (width - len(values))
                for c, v in zip(cols, values, strict=True):
                    c.append(_cell_text(v))
                numbers.append(r)
                if len(numbers) >= chunk_rows:
                    yield self._chunk(names, cols, numbers, consts, part)
                    cols, numbers = [[] for _ in names], []
            if numbers:
                yield self._chunk(names, cols, numbers, consts, part)

    @staticmethod
    def _chunk(
        names: list[str], cols: list[list], numbers: list[int], consts: dict[str, str], part: int
    ) -> Chunk:
        data = {n: pa.array(c, pa.string()) for n, c in zip(names, cols, strict=True)}
        for k, v in consts.items():
            if k not in data:
                data[k] = pa.array([v] * len(numbers), pa.string())
        data["_row"] = pa.array(numbers, pa.int64())
        return Chunk(pa.table(data), part)

    def _find_header(self, rows: Iterator) -> tuple[list[str], dict[str, str], list] | None:
        """Header names, constants given above the table, rows read ahead (still data)."""
        kind = self.schema.kind
        above: list[tuple] = []
        for i, values in rows:
            if i > 30:
                return None
            texts = ["" if v is None else str(v).strip() for v in (values or ())]
            match = match_headers(kind, texts, source=self.label)
            if len(match.columns) + len(match.scaled) < 2:
                above.append(tuple(values or ()))
                continue
            names = texts
            nxt = next(rows, None)
            if nxt is not None:
                sub = ["" if v is None else str(v).strip() for v in (nxt[1] or ())]
                if self._is_sub_header(kind, names, sub):
                    last, filled = "", []
                    for n in names:  # a merged group cell is empty right of its first column
                        last = n or last
                        filled.append(last)
                    sub += [""] * (len(filled) - len(sub))
                    names = [
                        f"{g} {s}".strip() if s else g for g, s in zip(filled, sub, strict=False)
                    ]
                    nxt = next(rows, None)
            pending = []
            if nxt is not None:
                cells = {str(v).strip() for v in (nxt[1] or ()) if v is not None and str(v).strip()}
                if not (cells and cells <= (_FORM_LETTERS | {str(k) for k in range(1, 40)})):
                    pending.append(nxt)  # a data row, not the column-number row 甲 乙 丙 1 2
            consts = self._constants(above)
            full = match_headers(kind, [*names, *consts], source=self.label)
            if full.missing:  # a sheet of another table (e.g. a list of fuels): not data
                if self.best is None or len(full.missing) < len(self.best[1]):
                    self.best = ([*names, *consts], full.missing)
                return None
            self.found_headers = names
            return _unique_names(names), consts, pending
        return None

    @staticmethod
    def _is_sub_header(kind: str, names: list[str], sub: list[str]) -> bool:
        if not any(sub):
            return False
        last, filled = "", []
        for n in names:
            last = n or last
            filled.append(last)
        combined = match_headers(kind, filled, sub_headers=sub)
        single = match_headers(kind, names)
        return len(combined.columns) + len(combined.scaled) > len(single.columns) + len(
            single.scaled
        )

    def _constants(self, above: list[tuple]) -> dict[str, str]:
        """``label：value`` cells above the table for the enterprise and the period."""
        out: dict[str, str] = {}
        wanted = {c.name for c in self.schema.columns if c.name in ("enterprise_code", "period")}
        for values in above:
            cells = [v for v in values if v is not None and str(v).strip()]
            for j, v in enumerate(cells):
                text = str(v).strip()
                label, sep, rest = text.replace("：", ":").partition(":")
                m = match_headers(self.schema.kind, [label])
                name = next(iter(m.columns), None)
                if name in wanted:
                    value = (
                        rest.strip()
                        if sep and rest.strip()
                        else (_cell_text(cells[j + 1]) if j + 1 < len(cells) else None)
                    )
                    if value:
                        out[name] = value
        return out


def _cell_text(v: Any) -> str | None:
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer() and abs(v) < 1e15:
        return str(int(v))
    if hasattr(v, "isoformat"):
        return v.isoformat(sep=" ") if hasattr(v, "hour") else v.isoformat()
    return str(v)


# ------------------------------------------------------------------------------ the run
def city_bbox(schema: Schema, city: Any) -> tuple[float, float, float, float] | None:
    """The city's bounding box from its packaged boundaries, where the kind checks that points
    or boundaries lie in the city (:class:`InCityRule`, :class:`BoundaryRule`); None otherwise."""
    if not any(isinstance(r, InCityRule | BoundaryRule) for r in schema.rules):
        return None
    return bbox(boundaries(city))


def factor_years(schema: Schema, city: Any) -> dict[str, tuple[str, int | None]]:
    """The kind's factor-period rule resolved in the city's factor profile: value of the rule's
    selector column (the fuel; '' for every row) -> (series label, first data year or None)."""
    rule = schema.factor_periods
    if rule is None:
        return {}
    profile = city.factor_profile("enterprise")
    out: dict[str, tuple[str, int | None]] = {}
    for value, (parameter, key) in rule.series.items():  # a few series
        key = key or city.factors.grid_region
        years = profile.rows(parameter).query("key == @key")["year"].dropna()
        out[value] = (f"{parameter}[{key}]", int(years.min()) if len(years) else None)
    return out


class _Run:
    """One ingest of one file into one batch."""

    def __init__(
        self,
        schema: Schema,
        batch_id: int,
        path: Path,
        fmt: str,
        info: FileInfo,
        city: Any,
        staging: Path,
        url: str,
        now: pd.Timestamp | None = None,
        name: str | None = None,
    ) -> None:
        self.name = name or path.name  # the file as the user named it
        self.schema, self.batch_id, self.path, self.fmt, self.info = (
            schema,
            batch_id,
            path,
            fmt,
            info,
        )
        self.city, self.staging, self.url = city, staging, url
        self.rows_in = self.rows_quarantined = self.rows_skipped = 0
        now = pd.Timestamp.now(tz="UTC") if now is None else pd.Timestamp(now).tz_convert("UTC")
        self.ctx = CheckContext(
            city.timezone,
            now,
            self._code_lists(),
            source=self.name,
            factor_years=factor_years(schema, city),
            city_bbox=city_bbox(schema, city),
        )
        self.writer = (
            None
            if schema.registry
            else lk.StagingWriter(staging, batch_id, schema.arrow_schema(), schema.table)
        )
        self.registry_parts: list[pa.Table] = []
        self.quarantine_parts: list[pa.Table] = []
        self.quarantine_files: list[lk.StagedFile] = []
        self.quarantine_buffered = 0
        self.ignored: list[str] = []
        self.labels: dict[int, dict[str, str]] = {}
        self.reader: Reader | None = None
        self.staged: dict[tuple, list[lk.StagedFile]] = {}

    # -- code lists
    def _code_lists(self) -> dict[str, pa.Array]:
        needed = {c.codes for c in self.schema.columns if c.codes}
        out: dict[str, pa.Array] = {}
        city = self.city
        district = [d.code for d in city.districts]
        for name in needed:
            if name == "enterprise":
                values = catalog.registry_frame("enterprises", url=self.url)["credit_code"]
            elif name == "meter":
                values = catalog.registry_frame("meters", url=self.url)["meter_id"]
            elif name == "grid_node":
                values = catalog.registry_frame("grid_nodes", url=self.url)["node_id"]
            elif name == "park":
                values = catalog.registry_frame("parks", url=self.url)["code"]
            elif name == "region":
                regions = catalog.registry_frame("regions", url=self.url)["code"]
                values = pd.Series([city.adcode, *district, *regions]).drop_duplicates()
            elif name == "district":
                values = pd.Series(district)
            else:
                continue
            out[name] = pa.array(
                pd.Series(values, dtype=object).dropna().astype(str).tolist(), pa.string()
            )
        return out

    # -- reading and checking
    def read(self) -> None:
        schema = self.schema
        if self.fmt == "csv":
            self.reader = CSVReader(self.path, schema, self.info, self.name)
        elif self.fmt == "parquet":
            self.reader = ParquetReader(self.path, schema, self.name)
        else:
            self.reader = ExcelReader(self.path, schema, self.name)
        mapping: dict[int, Any] = {}
        any_rows = False
        for chunk in self.reader.chunks():
            if chunk.part not in mapping:
                mapping[chunk.part] = self._mapping(
                    self.reader.headers[chunk.part]
                    if chunk.part < len(self.reader.headers)
                    else [],
                    chunk,
                )
            self.rows_skipped += chunk.blank
            self._chunk(chunk, mapping[chunk.part])
            any_rows = any_rows or chunk.raw.num_rows > 0 or bool(chunk.invalid)
        if not mapping:
            best = getattr(self.reader, "best", None)
            if best is not None:
                self._mapping(best[0], None)
            if self.fmt == "xlsx":
                raise InputError(
                    code="no_header_sheet",
                    params={"kind": schema.kind, "columns": ", ".join(schema.required)},
                    source=self.name,
                )
            self._mapping(self.reader.headers[0] if self.reader.headers else [], None)
        if not any_rows and self.rows_in == 0:
            raise InputError(code="no_data_rows", source=self.name)

    def _mapping(self, headers: list[str], chunk: Chunk | None) -> Any:
        names = [h for h in headers if h != "_row"]
        if chunk is not None:  # constants from above an Excel table are extra columns
            names += [c for c in chunk.raw.column_names if c not in names and c != "_row"]
        m = match_headers(self.schema.kind, names, source=self.name)
        if m.missing:
            other = _other_kind(self.schema.kind, names)
            raise InputError(
                code="missing_columns_other" if other else "missing_columns",
                params={
                    "columns": ", ".join(m.missing),
                    "aliases": "; ".join(
                        f"{c}: {', '.join(self.schema.column(c).aliases[:3])}" for c in m.missing
                    ),
                    "found": ", ".join(map(str, names)) or "-",
                    "other": repr(other),
                },
                source=self.name,
                row=1 if self.fmt == "csv" else None,  # the header line
                field=m.missing[0],
            )
        self.ignored = sorted(set(self.ignored) | set(m.unknown))
        return m

    def _chunk(self, chunk: Chunk, m: Any) -> None:
        schema, raw = self.schema, chunk.raw
        n = raw.num_rows
        rows = np.asarray(raw["_row"].to_numpy(), dtype="int64") | (chunk.part << _ROW_BITS)
        cols: dict[str, pa.Array] = {"_row": pa.array(rows, pa.int64())}
        labels: dict[str, str] = {}
        for name, header in m.columns.items():
            if header in raw.column_names:
                cols[name] = raw[header]
                labels[name] = header
        for name, (header, unit, scale) in m.scaled.items():
            if header in raw.column_names and name not in cols:
                target = schema.column(name).unit
                cols[name] = raw[header]
                cols[f"{name}__scale"] = pa.array(np.full(n, units.factor(unit, target) * scale))
                labels[name] = header
        self.labels[chunk.part] = labels
        canonical = (
            pa.table(cols) if n else pa.table({k: pa.array([], v.type) for k, v in cols.items()})
        )
        checked = check_table(schema, canonical, self.ctx)
        keep = ~checked.bad & ~checked.skipped
        self.rows_in += n - int(checked.skipped.sum()) + len(chunk.invalid)
        self.rows_skipped += int(checked.skipped.sum())
        self.rows_quarantined += int(checked.bad.sum()) + len(chunk.invalid)
        accepted = checked.table.filter(pa.array(keep))
        if accepted.num_rows:
            self._accept(accepted)
        if checked.bad.any() or chunk.invalid:
            self._quarantine(chunk, raw, rows, checked, labels)

    def _accept(self, accepted: pa.Table) -> None:
        rows = accepted["_row"].to_numpy()
        data = accepted.drop_columns(["_row"])
        if self.schema.registry:
            self.registry_parts.append(accepted)
            return
        data = data.add_column(
            0, "batch_id", pa.array(np.full(data.num_rows, self.batch_id), pa.int64())
        )
        years, months = lk.partition_columns(self.schema, data, self.city.timezone)
        self.writer.write(data, rows, years, months)

    def _quarantine(
        self, chunk: Chunk, raw: pa.Table, rows: np.ndarray, checked: Any, labels: dict[str, str]
    ) -> None:
        probs = checked.problems
        bad_pos = np.flatnonzero(checked.bad)
        originals = raw.drop_columns(["_row"]).take(pa.array(bad_pos))
        raw_json = _json_lines(originals)
        bad_rows = rows[bad_pos]
        prow = probs["_row"].to_numpy()
        where = np.searchsorted(bad_rows, prow) if len(bad_rows) else np.zeros(0, dtype="int64")
        part = chunk.part
        label_arr = (
            np.array([labels.get(c, c) for c in probs["column"].to_pylist()], dtype=object)
            if probs.num_rows < 100_000
            else probs["column"].to_numpy(zero_copy_only=False)
        )
        table = pa.table(
            {
                "_row": pa.array(prow, pa.int64()),
                "column": pa.array(label_arr, pa.string()),
                "value": probs["value"],
                "reason": probs["reason"],
                "raw": pa.array(
                    np.asarray(raw_json, dtype=object)[where] if len(where) else [], pa.string()
                ),
                "reason_key": probs["reason_key"],
            }
        )
        if chunk.invalid:
            inv = [(r | (part << _ROW_BITS), text, why) for r, text, why in chunk.invalid]
            table = pa.concat_tables(
                [
                    table,
                    pa.table(
                        {
                            "_row": pa.array([i[0] for i in inv], pa.int64()),
                            "column": pa.array([""] * len(inv), pa.string()),
                            "value": pa.array([i[1] for i in inv], pa.string()),
                            "reason": pa.array([i[2] for i in inv], pa.string()),
                            "raw": pa.array(
                                [json.dumps({"line": i[1]}, ensure_ascii=False) for i in inv],
                                pa.string(),
                            ),
                            "reason_key": pa.array([""] * len(inv), pa.string()),  # as written
                        }
                    ),
                ]
            )
        self._add_quarantine(table)

    def _add_quarantine(self, table: pa.Table) -> None:
        self.quarantine_parts.append(table)
        self.quarantine_buffered += table.num_rows
        if self.quarantine_buffered >= 500_000:
            self._flush_quarantine()

    def _flush_quarantine(self) -> None:
        if not self.quarantine_parts:
            return
        t = pa.concat_tables(self.quarantine_parts)
        self.quarantine_parts, self.quarantine_buffered = [], 0
        rows = t["_row"].to_numpy()
        parts = self.reader.parts if self.reader else [self.name]
        part_idx = rows >> _ROW_BITS
        names = np.asarray(parts, dtype=object)[np.clip(part_idx, 0, len(parts) - 1)]
        n = t.num_rows
        out = pa.table(
            {
                "batch_id": pa.array(np.full(n, self.batch_id), pa.int64()),
                "kind": pa.array(np.full(n, self.schema.kind, dtype=object), pa.string()),
                "source_name": pa.array(names, pa.string()),
                "source_row": pa.array(rows & ((1 << _ROW_BITS) - 1), pa.int64()),
                "column": t["column"],
                "value": t["value"],
                "reason": t["reason"],
                "raw": t["raw"],
                "reason_key": t["reason_key"],
            },
            schema=QUARANTINE_SCHEMA,
        )
        k = len(self.quarantine_files)
        rel = f"{lk.QUARANTINE}/{lk.file_name(self.batch_id, k)}"
        path = self.staging / "data" / rel
        lk.write_table_file(out, path)
        self.quarantine_files.append(lk.StagedFile(lk.QUARANTINE, rel, path, None, n))

    # -- duplicates
    def dedupe(self) -> None:
        if self.schema.registry:
            self._dedupe_registry()
        else:
            self.staged = self.writer.close()
            self._dedupe_lake()
        self._flush_quarantine()

    def _key_labels(self) -> list[str]:
        labels = self.labels.get(0, {})
        return [labels.get(k, k) for k in self.schema.natural_key]

    def _dup_records(self, dups: pd.DataFrame) -> tuple[np.ndarray, pd.DataFrame]:
        """Which duplicate rows to drop and their quarantine records.

        Rows with the same key *and* the same values: the first is kept, the others are
        "duplicate of row N". Rows with the same key but different values: all are rejected
        ("conflicting values"), since it is not known which one is right.
        """
        key = self._key_cols()
        values = [
            c
            for c in self.schema.arrow_schema().names
            if c not in ("batch_id",) and c in dups.columns
        ]
        dups = dups.sort_values("_row", kind="stable").reset_index(drop=True)
        group = dups.groupby(key, dropna=False, sort=False).ngroup().to_numpy()
        vh = pd.util.hash_pandas_object(dups[values], index=False).to_numpy()
        frame = pd.DataFrame({"g": group, "vh": vh, "_row": dups["_row"].to_numpy()})
        variants = frame.groupby("g")["vh"].transform("nunique").to_numpy()
        first = frame.groupby("g")["_row"].transform("first").to_numpy().astype("int64")
        rank = frame.groupby("g").cumcount().to_numpy()
        second_of = pd.Series(frame["_row"].to_numpy()[rank == 1], index=group[rank == 1])
        second = second_of.reindex(group).fillna(-1).to_numpy().astype("int64")
        exact = variants == 1
        drop = ~exact | (rank > 0)
        label = ", ".join(self._key_labels())
        other = np.where(rank == 0, second, first).astype("int64") & ((1 << _ROW_BITS) - 1)
        first_row = (first & ((1 << _ROW_BITS) - 1)).astype(str)
        reasons = np.where(
            exact,
            np.char.add("duplicate row: same values as row ", first_row),
            np.char.add(
                f"conflicting values for the same key ({label}) as row ", other.astype(str)
            ),
        )
        said = np.where(  # message records: the row numbers are digits, written as they are
            exact,
            np.char.add(message_record("duplicate_row") + "?row=", first_row),
            np.char.add(message_record("conflicting_key", key=label) + "&row=", other.astype(str)),
        )
        key_text = dups[key].astype(str).agg(" | ".join, axis=1).to_numpy()
        rec = pd.DataFrame(
            {
                "_row": dups["_row"].to_numpy()[drop],
                "column": label,
                "value": key_text[drop],
                "reason": reasons[drop],
                "raw": _json_lines(
                    pa.Table.from_pandas(dups.loc[drop, values], preserve_index=False)
                ),
                "reason_key": said[drop],
            }
        )
        return dups["_row"].to_numpy()[drop], rec

    def _key_cols(self) -> list[str]:
        if self.schema.alt_key:
            return ["_key"]
        return list(self.schema.natural_key)

    def _with_key(self, frame: pd.DataFrame) -> pd.DataFrame:
        if self.schema.alt_key:
            first = self.schema.natural_key[0]
            alt = frame[list(self.schema.alt_key)].astype(str).agg("|".join, axis=1)
            has = frame[first].fillna("").astype(str) != ""
            frame = frame.assign(
                _key=np.where(has, "c|" + frame[first].fillna("").astype(str), "k|" + alt)
            )
        return frame

    def _dedupe_registry(self) -> None:
        if not self.registry_parts:
            self.registry = pd.DataFrame(columns=self.schema.arrow_schema().names)
            return
        frame = pa.concat_tables(self.registry_parts).to_pandas()
        dup = frame.duplicated(list(self.schema.natural_key), keep=False).to_numpy()
        if dup.any():
            drop_rows, rec = self._dup_records(frame[dup])
            frame = frame[~frame["_row"].isin(drop_rows)]
            self._record_dups(rec)
        self.registry = frame.drop(columns=["_row"])

    def _record_dups(self, rec: pd.DataFrame) -> None:
        self.rows_quarantined += len(rec)
        self._add_quarantine(
            pa.Table.from_pandas(
                rec[["_row", "column", "value", "reason", "raw", "reason_key"]],
                preserve_index=False,
            ).cast(
                pa.schema(
                    [
                        ("_row", pa.int64()),
                        ("column", pa.string()),
                        ("value", pa.string()),
                        ("reason", pa.string()),
                        ("raw", pa.string()),
                        ("reason_key", pa.string()),
                    ]
                )
            )
        )

    def _dedupe_lake(self) -> None:
        import duckdb

        if not self.staged:
            return
        schema = self.schema
        tmp = self.staging / "duckdb"
        tmp.mkdir(parents=True, exist_ok=True)
        con = duckdb.connect()
        try:
            con.execute(f"SET memory_limit = '{get_settings().ingest_memory}'")
            con.execute(f"SET temp_directory = '{_sql(str(tmp))}'")
            con.execute("SET preserve_insertion_order = false")
            con.execute("SET TimeZone = 'UTC'")
            key_sql = lk._key_sql(schema, schema.arrow_schema().names)  # staged: every column
            for files in self.staged.values():  # partitions (months), not rows
                listing = "[" + ", ".join(f"'{_sql(str(f.data))}'" for f in files) + "]"
                count = con.execute(
                    f"SELECT count(*) FROM (SELECT {key_sql} FROM read_parquet({listing}) "
                    f"GROUP BY ALL HAVING count(*) > 1)"
                ).fetchone()[0]
                if count:
                    self._fix_partition(con, files, listing, key_sql)
        finally:
            con.close()

    def _fix_partition(
        self, con: Any, files: list[lk.StagedFile], listing: str, key_sql: str
    ) -> None:
        rows_listing = "[" + ", ".join(f"'{_sql(str(f.rows_file))}'" for f in files) + "]"
        dups = con.execute(
            f"WITH d AS (SELECT *, {key_sql} AS _k FROM read_parquet({listing}, filename = true,"
            f" file_row_number = true)), "
            f"k AS (SELECT _k FROM d GROUP BY _k HAVING count(*) > 1), "
            f"r AS (SELECT _row, filename AS _rf, file_row_number AS _ri "
            f"FROM read_parquet({rows_listing}, filename = true, file_row_number = true)) "
            f"SELECT d.* EXCLUDE (_k), r._row FROM d SEMI JOIN k ON d._k = k._k "
            f"JOIN r ON r._ri = d.file_row_number AND r._rf = replace(d.filename, "
            f"'{_sql(str(self.staging / 'data'))}', '{_sql(str(self.staging / 'rows'))}')"
        ).df()
        frame = self._with_key(dups)
        drop_rows, rec = self._dup_records(frame)
        self._record_dups(rec)
        drop = frame[frame["_row"].isin(drop_rows)]
        for f in files:  # rewrite the files that hold dropped rows
            sub = drop[drop["filename"] == str(f.data)]
            if sub.empty:
                continue
            data = pq.read_table(f.data)
            rows = pq.read_table(f.rows_file)
            keep = np.ones(data.num_rows, dtype=bool)
            keep[sub["file_row_number"].to_numpy(dtype="int64")] = False
            lk.write_table_file(data.filter(pa.array(keep)), f.data)
            lk.write_table_file(rows.filter(pa.array(keep)), f.rows_file)
            f.rows = int(keep.sum())

    # -- results
    def files(self) -> list[lk.StagedFile]:
        out = [f for files in self.staged.values() for f in files if f.rows > 0]
        return out + self.quarantine_files

    @property
    def rows_accepted(self) -> int:
        if self.schema.registry:
            return len(self.registry)
        return sum(f.rows for files in self.staged.values() for f in files)


def _sql(text: str) -> str:
    return text.replace("'", "''")


def _json_lines(table: pa.Table) -> list[str]:
    """Each row as a JSON object (vectorised by pandas' C writer)."""
    if table.num_rows == 0:
        return []
    frame = table.to_pandas()
    for c in frame.columns:
        if isinstance(frame[c].dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(
            frame[c]
        ):
            frame[c] = frame[c].astype(str)
        elif frame[c].dtype == object:
            frame[c] = (
                frame[c].map(
                    lambda v: v if v is None or isinstance(v, str | int | float) else str(v)
                )
                if frame[c].map(type).nunique() > 1
                else frame[c]
            )
    text = frame.to_json(
        orient="records", lines=True, force_ascii=False, date_format="iso", default_handler=str
    )
    return text.rstrip("\n").split("\n")


def _other_kind(kind: str, headers: list[str]) -> str | None:
    """The ingest kind whose required columns ``headers`` has (most columns matched), if any."""
    best, score = None, 0
    for other in SCHEMAS:
        if other == kind:
            continue
        m = match_headers(other, headers)
        if not m.missing and len(m.columns) > score:
            best, score = other, len(m.columns)
    return best


def _pause(stage: str, lake: Path, batch_id: int) -> None:
    """Test hook: ``CITYCARBON_INGEST_PAUSE=<stage>:<seconds>`` sleeps at a stage (after writing
    a marker file ``_staging/b<id>.<stage>``), so a test can kill the process there."""
    spec = get_settings().ingest_pause
    for item in filter(None, spec.split(",")):
        name, _, seconds = item.partition(":")
        if name == stage:
            marker = lake / lk.STAGING / f"b{batch_id}.{stage}"
            marker.write_text(str(os.getpid()))
            time.sleep(float(seconds or 60))


# ---------------------------------------------------------------------------------- ingest
def ingest(
    kind: str,
    path: str | Path,
    *,
    created_by: str = "cli",
    created_by_id: int | None = None,
    report_dir: str | Path | None = None,
    city: Any = None,
    now: Any = None,
    source_name: str | None = None,
) -> IngestResult:
    """Validate a file of one kind and load it: accepted rows to the lake (or the registry),
    rejected rows to ``quarantine``, one committed batch in the catalog.

    Parameters
    ----------
    kind : str
        ``energy_monthly``, ``meter_readings``, ``city_statistics``, ``industrial_output``,
        ``green_electricity``, ``parks``, ``enterprises``, ``grid_nodes`` or ``meters``.
    path : path
        .csv (UTF-8, UTF-8 with BOM, GBK/GB18030), .xlsx or .parquet.
    created_by : str
        Who made the batch, as shown (a user name; ``cli:<OS user>`` for the command line).
    created_by_id : int, optional
        The platform user the batch belongs to (``users.id``): that user sees it besides the
        city-wide roles. None: a batch of the operator, the demo or the system.
    report_dir : path, optional
        Where the row-level error report goes (default ``$CITYCARBON_HOME/reports/ingest``);
        the files are ``<report_dir>/<batch_id>/errors.csv`` and ``errors.xlsx``.
    city : CityConfig or name, optional
        The city (time zone of naive timestamps, districts); default the configured one.
    now : timestamp, optional
        "Now" for the checks of periods not yet over (default the clock); tests set it.
    source_name : str, optional
        The file's name as the user gave it (an upload saved under a private name), used in
        the batch, errors and quarantine instead of ``path``; default ``path``'s name.

    Returns
    -------
    IngestResult
        ``rows_in = rows_accepted + rows_quarantined``. The same file ingested before gives
        status ``'unchanged'`` and that batch's id and counts.

    Raises
    ------
    InputError
        The whole file is refused (unreadable, empty, missing required column, encoding); the
        batch is marked failed and nothing is written.
    """

    t0 = time.perf_counter()
    schema = get_schema(kind)
    path = Path(path)
    if not path.is_file():
        raise InputError("file not found", source=source_name or str(path))
    name = source_name or path.name
    fmt = file_format(Path(name) if source_name else path)
    settings = get_settings()
    url, lake = settings.database_url, settings.lake
    info = inspect_file(path, fmt, source_name)
    catalog.ensure_catalog(url)
    reports_base = Path(report_dir) if report_dir else settings.home / "reports" / "ingest"
    existing = catalog.find_committed_batch(kind, info.sha256, url=url)
    if existing is not None:
        return _unchanged(existing, reports_base, info, t0)
    city_cfg = as_city(city)
    lk.cleanup(lake, url=url)
    batch_id = catalog.begin_batch(
        kind, name, info.sha256, created_by, created_by_id=created_by_id, url=url
    )
    lock = lk.BatchLock(lake, batch_id)
    staging = lake / lk.STAGING / f"b{batch_id}"
    published: list[Path] = []
    try:
        run = _Run(schema, batch_id, path, fmt, info, city_cfg, staging, url, now, source_name)
        run.read()
        run.dedupe()
        staged = run.files()
        counts = {
            "rows_in": run.rows_in,
            "rows_accepted": run.rows_accepted,
            "rows_quarantined": run.rows_quarantined,
        }
        if counts["rows_in"] != counts["rows_accepted"] + counts["rows_quarantined"]:
            raise InputError(
                f"internal error: rows in {counts['rows_in']} != accepted "
                f"{counts['rows_accepted']} + quarantined "
                f"{counts['rows_quarantined']}",
                source=name,
            )
        _pause("staged", lake, batch_id)
        published = lk.publish(staged, lake)
        _pause("published", lake, batch_id)
        entries = [(f.table, f.rel, f.rows) for f in staged]
        with catalog.session_scope(url) as s:
            if schema.registry:
                catalog.sync_regions(city_cfg, session=s)
                if len(run.registry):
                    catalog.upsert_registry(
                        schema.table, run.registry.reset_index(drop=True), session=s
                    )
            catalog.commit_batch(batch_id, counts, entries, session=s)
    except BaseException as err:
        for p in published:
            p.unlink(missing_ok=True)
        shutil.rmtree(staging, ignore_errors=True)
        try:
            catalog.fail_batch(batch_id, _message(err), url=url)
        except Exception:
            pass
        lock.release()
        if isinstance(err, CitycarbonError | KeyboardInterrupt | SystemExit):
            raise
        log.error("ingest of %s (batch %s) failed", name, batch_id, exc_info=err)
        raise InputError(_message(err), source=name) from err
    shutil.rmtree(staging, ignore_errors=True)
    lock.release()
    qfiles = [lake / f.rel for f in run.quarantine_files]
    csv_path, xlsx_path = write_reports(qfiles, reports_base / str(batch_id))
    return IngestResult(
        batch_id=batch_id,
        kind=kind,
        source_name=name,
        content_hash=info.sha256,
        status="committed",
        rows_in=counts["rows_in"],
        rows_accepted=counts["rows_accepted"],
        rows_quarantined=counts["rows_quarantined"],
        rows_skipped=run.rows_skipped,
        files=[f.rel for f in staged],
        report_csv=csv_path,
        report_xlsx=xlsx_path,
        problems=problem_summary(qfiles),
        ignored_columns=run.ignored,
        encoding=info.encoding,
        seconds=time.perf_counter() - t0,
    )


def _message(err: BaseException) -> str:
    """What users are told of a failed ingest: our errors say what is wrong; anything else is an
    internal error whose text (server paths, library internals) stays in the log."""
    if isinstance(err, KeyboardInterrupt):
        return "interrupted"
    if isinstance(err, CitycarbonError):
        return str(err)[:2000]
    return f"ingest failed: internal error ({type(err).__name__}); the server log has the details"


def _error_text(err: BaseException, path: Path, label: str) -> str:
    """A reader's error as users see it: its type and text, the file named as they named it
    (never the server path it was saved under)."""
    return f"{type(err).__name__}: {str(err).replace(str(path), label)}"


def _unchanged(existing: Any, reports_base: Path, info: FileInfo, t0: float) -> IngestResult:
    d = reports_base / str(existing.id)
    csv_path, xlsx_path = d / "errors.csv", d / "errors.xlsx"
    return IngestResult(
        batch_id=existing.id,
        kind=existing.kind,
        source_name=existing.source_name,
        content_hash=existing.content_hash,
        status="unchanged",
        rows_in=existing.rows_in or 0,
        rows_accepted=existing.rows_accepted or 0,
        rows_quarantined=existing.rows_quarantined or 0,
        report_csv=csv_path if csv_path.exists() else None,
        report_xlsx=xlsx_path if xlsx_path.exists() else None,
        encoding=info.encoding,
        seconds=time.perf_counter() - t0,
    )


# --------------------------------------------------------------------------------- reports
REPORT_COLUMNS = {
    "source_name": "file (文件)",
    "source_row": "row (行号)",
    "column": "column (列)",
    "value": "value (值)",
    "reason": "reason (原因)",
    "raw": "row as read (原始行)",
}


def write_reports(quarantine_files: list[Path], out_dir: Path) -> tuple[Path, Path]:
    """The row-level error report of a batch: ``errors.csv`` (all rows) and ``errors.xlsx``
    (the first :data:`XLSX_MAX_REPORT_ROWS`), ordered by file and row. The rows stream in
    blocks; uploaded text that a spreadsheet would run as a formula is neutralised
    (:func:`citycarbon.contract.exports.neutralise_formulas`)."""
    import duckdb
    import xlsxwriter

    out_dir.mkdir(parents=True, exist_ok=True)
    csv_path, xlsx_path = out_dir / "errors.csv", out_dir / "errors.xlsx"
    header = list(REPORT_COLUMNS.values())
    head: list[pd.DataFrame] = []
    total = 0
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit = '{get_settings().ingest_memory}'")
        with open(csv_path, "w", encoding="utf-8", newline="") as out:
            write_csv(pd.DataFrame(columns=header), out, index=False)
            if quarantine_files:
                listing = "[" + ", ".join(f"'{_sql(str(p))}'" for p in quarantine_files) + "]"
                select = ", ".join(f'"{k}" AS "{v}"' for k, v in REPORT_COLUMNS.items())
                blocks = con.execute(
                    f"SELECT {select} FROM read_parquet({listing}) ORDER BY source_name, source_row"
                ).fetch_record_batch(REPORT_BLOCK_ROWS)
                for block in blocks:  # blocks of rows
                    frame = block.to_pandas()
                    write_csv(frame, out, index=False, header=False)
                    if total < XLSX_MAX_REPORT_ROWS:
                        head.append(neutralise_formulas(frame.head(XLSX_MAX_REPORT_ROWS - total)))
                    total += len(frame)
    finally:
        con.close()
    first = pd.concat(head, ignore_index=True) if head else pd.DataFrame(columns=header)
    book = xlsxwriter.Workbook(str(xlsx_path), {"constant_memory": True})
    sheet = book.add_worksheet("errors 错误")
    bold = book.add_format({"bold": True})
    sheet.write_row(0, 0, header, bold)
    rows = first.astype(object).where(first.notna(), "")
    for i, row in enumerate(rows.itertuples(index=False, name=None), start=1):  # report rows
        sheet.write_row(i, 0, row)  # (at most XLSX_MAX_REPORT_ROWS)
    if total > len(first):
        sheet.write(len(first) + 1, 0, f"... {total - len(first)} more rows in errors.csv")
    sheet.set_column(0, 0, 24)
    sheet.set_column(2, 2, 18)
    sheet.set_column(4, 4, 60)
    book.close()
    return csv_path, xlsx_path


def problem_summary(quarantine_files: list[Path], top: int = 20) -> pd.DataFrame:
    """Quarantined rows counted by column and reason (most frequent first), each with its first
    place in the file: ``example_source`` (the file, ``book.xlsx!sheet`` for a workbook) and
    ``example_row`` (its line or Excel row, see :mod:`citycarbon.errors`)."""
    import duckdb

    if not quarantine_files:
        return pd.DataFrame(columns=["column", "reason", "rows", "example_source", "example_row"])
    listing = "[" + ", ".join(f"'{_sql(str(p))}'" for p in quarantine_files) + "]"
    con = duckdb.connect()
    try:
        return con.execute(
            "SELECT \"column\", regexp_replace(reason, '''[^'']*''', '…', 'g') AS reason, "
            "count(*) AS rows, arg_min(source_name, (source_name, source_row)) AS example_source, "
            "arg_min(source_row, (source_name, source_row)) AS example_row "
            f"FROM read_parquet({listing}) "
            f"GROUP BY ALL ORDER BY rows DESC, example_row LIMIT {int(top)}"
        ).df()
    finally:
        con.close()


__all__ = [
    "FORMATS",
    "FileInfo",
    "IngestResult",
    "file_format",
    "ingest",
    "inspect_file",
    "normalize_header",
    "problem_summary",
    "write_reports",
]
