"""The 数据 page's monthly routine: templates to fill in, the failed rows of a batch to fix, and a
corrected row sent through the same ingest pipeline as a new (one-row) batch.

Raw data never change: a correction is a new batch of the same kind whose row replaces the
rejected one (:mod:`citycarbon.read.quarantine` then shows the quarantined row as resolved by
it). Every correction is audited (who, which rejected row, the values as written and as
corrected) before its job is queued.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Mapping
from pathlib import Path

import pandas as pd

from citycarbon.contract.inputs import (
    CORRECTION_NAME,
    SCHEMAS,
    canonical_rows,
    get_schema,
    raw_rows,
)
from citycarbon.errors import InputError
from citycarbon.ingest import excel205, templates
from citycarbon.runs.jobs import submit_ingest
from citycarbon.store import catalog
from citycarbon.store.catalog import BatchInfo
from citycarbon.store.jobs import JobInfo

#: Template formats: every kind as Excel (with its 说明 sheet) and CSV; 205-1表 as the form.
FORMATS = ("xlsx", "csv")
FORM_205 = "205-1"
FORM_205_KIND = "energy_monthly"
XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA = "text/csv; charset=utf-8"


def template_formats(kind: str) -> tuple[str, ...]:
    """The formats a kind's template comes in (205-1表 only for ``energy_monthly``)."""
    get_schema(kind)
    return (*FORMATS, FORM_205) if kind == FORM_205_KIND else FORMATS


def template_file(kind: str, fmt: str, lang: str) -> tuple[bytes, str, str]:
    """A kind's template: (file content, file name, media type). Unknown kinds and formats raise
    (the name is built from the declared kind, never from what a request sent)."""
    if fmt not in template_formats(kind):
        raise InputError(f"no {fmt!r} template for {kind}", field="format", value=fmt)
    schema = SCHEMAS[kind]
    if fmt == "csv":
        return templates.template_csv(kind, lang), f"{schema.kind}-template.csv", CSV_MEDIA
    if fmt == "xlsx":
        body = templates.workbook_xlsx(kind, lang)
        return body, f"{schema.kind}-template.xlsx", XLSX_MEDIA
    with tempfile.TemporaryDirectory() as tmp:
        path = excel205.write_template(Path(tmp) / "205-1.xlsx")
        return path.read_bytes(), "205-1-template.xlsx", XLSX_MEDIA


def failed_rows_workbook(batch: BatchInfo, quarantine: pd.DataFrame, lang: str) -> bytes:
    """The rejected rows of ``batch`` in its kind's template layout, with a reason column."""
    rows = templates.failed_rows_frame(batch.kind, quarantine, lang)
    return templates.workbook_xlsx(batch.kind, lang, rows)


def correction_fields(kind: str, raw: str, lang: str) -> list[dict[str, object]]:
    """The fields of a correction form for one rejected row: column name, header label, whether
    required, and the value as written (matched to the column as the ingest matches headers)."""
    canon, _ = canonical_rows(kind, raw_rows(pd.Series([raw])))
    values = canon.iloc[0] if len(canon) else pd.Series(dtype=object)
    return [
        {
            "name": c.name,
            "label": templates.header_label(c, lang),
            "required": c.required and not c.nullable,
            "value": "" if pd.isna(values.get(c.name)) else str(values.get(c.name)),
        }
        for c in get_schema(kind).columns
    ]


def submit_correction(
    batch: BatchInfo,
    source_row: int,
    raw: str,
    values: Mapping[str, str],
    *,
    created_by: str,
    created_by_id: int | None,
) -> JobInfo:
    """Audit a correction of the rejected row ``source_row`` of ``batch`` and queue it as a new
    one-row batch of the same kind (the ingest pipeline checks it like any upload)."""
    body = templates.correction_csv(batch.kind, values)
    with catalog.session_scope() as s:
        catalog.record_audit(
            s,
            created_by,
            "correct",
            "quarantine_row",
            f"{batch.id}:{source_row}",
            {"raw": raw},
            {k: v for k, v in values.items() if v},
        )
    name = CORRECTION_NAME.format(kind=batch.kind, batch=batch.id, row=source_row)
    return submit_ingest(
        batch.kind, io.BytesIO(body), name, created_by=created_by, created_by_id=created_by_id
    )


__all__ = [
    "FORMATS",
    "FORM_205",
    "correction_fields",
    "failed_rows_workbook",
    "submit_correction",
    "template_file",
    "template_formats",
]
