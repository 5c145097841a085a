"""Templates of every ingest kind, generated from its declaration (:mod:`citycarbon.contract.inputs`).

A template is what a user fills in and uploads: one header per declared column, written as the
column's Chinese label (its first Chinese alias) or, in English, its canonical name — both are
headers the ingest recognises (:func:`citycarbon.contract.inputs.match_headers`). The Excel
template has a second sheet (说明 / README) listing each field: header, type, unit, whether it
is required, whether it may be empty, the allowed values and what it holds. The same layout,
filled with the rejected rows of a batch and a column with the reasons, is the *failed rows*
workbook to fix and upload again; a correction typed into the page becomes a one-row CSV of the
kind. Nothing here is written by hand: a new column in a declaration is in its template.

References
----------
[1] 国家统计局《能源统计报表制度》, 205-1表 (the form itself: :mod:`citycarbon.ingest.excel205`).
"""

from __future__ import annotations

import io
import re
from collections.abc import Mapping

import pandas as pd

from citycarbon.contract.exports import spreadsheet_ready, write_csv
from citycarbon.contract.inputs import (
    DOC_SHEETS,
    FUEL_STAT_UNIT,
    Column,
    Schema,
    canonical_rows,
    get_schema,
    raw_rows,
)
from citycarbon.contract.records import reason_texts
from citycarbon.errors import InputError

LANGS = ("zh", "en")
_CJK = re.compile(r"[\u4e00-\u9fff]")
#: Sheet names and the README's headers, per language.
_TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "data": "数据",
        "readme": DOC_SHEETS[0],
        "header": "表头",
        "type": "类型",
        "unit": "单位",
        "required": "必填",
        "nullable": "可为空",
        "allowed": "允许值",
        "doc": "说明",
        "yes": "是",
        "no": "否",
        "fuel_unit": "该能源品种的统计单位（见计量单位列）",
        "codes": "代码表：{}",
        "range": "范围 {}",
        "from": "不早于 {}",
        "finished": "已结束的报告期",
        "reason": "问题原因",
        "source_row": "原文件行号",
    },
    "en": {
        "data": "data",
        "readme": DOC_SHEETS[2],
        "header": "header",
        "type": "type",
        "unit": "unit",
        "required": "required",
        "nullable": "may be empty",
        "allowed": "allowed values",
        "doc": "description",
        "yes": "yes",
        "no": "no",
        "fuel_unit": "the fuel's statistical unit (see the unit column)",
        "codes": "code list: {}",
        "range": "range {}",
        "from": "not before {}",
        "finished": "a period that is over",
        "reason": "problem reason",
        "source_row": "row in the file",
    },
}
#: How each declared dtype is described (never a word the ingest takes for a header).
_TYPES: dict[str, dict[str, str]] = {
    "zh": {
        "string": "文本",
        "float64": "数字",
        "int64": "整数",
        "bool": "是/否",
        "month": "年月 YYYY-MM",
        "timestamp": "时刻 YYYY-MM-DD hh:mm",
    },
    "en": {
        "string": "text",
        "float64": "number",
        "int64": "whole number",
        "bool": "yes/no",
        "month": "year-month YYYY-MM",
        "timestamp": "time YYYY-MM-DD hh:mm",
    },
}


def _lang(lang: str) -> str:
    if lang not in LANGS:
        raise InputError(f"unknown language {lang!r}; known: {', '.join(LANGS)}", field="lang")
    return lang


def header_label(column: Column, lang: str) -> str:
    """The header a template writes for ``column``: its first Chinese alias (zh) or its
    canonical name (en); both are recognised by the ingest."""
    if _lang(lang) == "zh":
        return next((a for a in column.aliases if _CJK.search(a)), column.name)
    return column.name


def template_headers(schema: Schema, lang: str) -> list[str]:
    """The template's headers, one per declared column, in declaration order."""
    return [header_label(c, lang) for c in schema.columns]


def _allowed(column: Column, lang: str) -> str:
    text = _TEXT[lang]
    parts = []
    if column.codes:
        parts.append(text["codes"].format(column.codes))
    if column.pattern:
        choices = column.pattern.split("|")
        parts.append(" | ".join(choices) if len(choices) > 1 else f"/{column.pattern}/")
    if column.minimum is not None or column.maximum is not None:
        low = "" if column.minimum is None else f"≥ {column.minimum:g}"
        high = "" if column.maximum is None else f"≤ {column.maximum:g}"
        parts.append(text["range"].format(", ".join(p for p in (low, high) if p)))
    if column.earliest:
        parts.append(text["from"].format(column.earliest[:7]))
    if column.latest == "finished":
        parts.append(text["finished"])
    return "; ".join(parts)


def readme_frame(schema: Schema, lang: str) -> pd.DataFrame:
    """One row per declared field: header, type, unit, required, may be empty, allowed values,
    description (the 说明 / README sheet)."""
    text = _TEXT[_lang(lang)]
    yes_no = {True: text["yes"], False: text["no"]}
    cols = list(schema.columns)
    return pd.DataFrame(
        {
            text["header"]: [header_label(c, lang) for c in cols],
            text["type"]: [_TYPES[lang][c.dtype] for c in cols],
            text["unit"]: [
                text["fuel_unit"] if c.unit == FUEL_STAT_UNIT else (c.unit or "") for c in cols
            ],
            text["required"]: [yes_no[c.required] for c in cols],
            text["nullable"]: [yes_no[c.nullable] for c in cols],
            text["allowed"]: [_allowed(c, lang) for c in cols],
            text["doc"]: [c.doc for c in cols],
        }
    )


def template_frame(kind: str, lang: str) -> pd.DataFrame:
    """An empty table with the template's headers."""
    return pd.DataFrame(columns=template_headers(get_schema(kind), lang), dtype=object)


def template_csv(kind: str, lang: str) -> bytes:
    """The CSV template of ``kind``: its header line (UTF-8 with BOM, opens in Excel)."""
    return write_csv(template_frame(kind, lang), index=False).encode("utf-8-sig")


def workbook_xlsx(kind: str, lang: str, rows: pd.DataFrame | None = None) -> bytes:
    """The Excel template of ``kind``: the data sheet (``rows`` in the template's headers, or
    empty) and the 说明 / README sheet. No cell is a formula."""
    import xlsxwriter  # noqa: F401  (the engine pandas writes with)

    schema = get_schema(kind)
    text = _TEXT[_lang(lang)]
    data = template_frame(kind, lang) if rows is None else rows
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="xlsxwriter") as writer:
        spreadsheet_ready(data).to_excel(writer, index=False, sheet_name=text["data"])
        readme_frame(schema, lang).to_excel(writer, index=False, sheet_name=text["readme"])
        bold = writer.book.add_format({"bold": True, "bg_color": "#F2F2F2", "border": 1})
        sheet = writer.sheets[text["data"]]
        sheet.freeze_panes(1, 0)
        for i, name in enumerate(data.columns):
            sheet.write_string(0, i, str(name), bold)
            sheet.set_column(i, i, max(12, min(40, len(str(name)) * 2 + 2)))
        writer.sheets[text["readme"]].set_column(0, 6, 22)
    return buf.getvalue()


def failed_rows_frame(kind: str, quarantine: pd.DataFrame, lang: str) -> pd.DataFrame:
    """The rejected rows of a batch in the template's layout, with the source row and the
    reasons (``column: reason``, joined) last: the failed-rows workbook's data sheet.

    ``quarantine``: rows of the quarantine table (one per problem) of one batch of ``kind``.
    """
    schema, text = get_schema(kind), _TEXT[_lang(lang)]
    if quarantine.empty:
        return pd.DataFrame(
            columns=[*template_headers(schema, lang), text["source_row"], text["reason"]]
        )
    said = reason_texts(quarantine, lang)  # in the user's language
    problems = quarantine.assign(why=quarantine["column"].fillna("") + ": " + said)
    grouped = problems.groupby(["source_name", "source_row"], sort=True)
    firsts = grouped.first()
    reasons = grouped["why"].agg("; ".join)
    raw = raw_rows(firsts["raw"])
    canon, scaled = canonical_rows(kind, raw)
    out = pd.DataFrame(
        {header_label(c, lang): canon[c.name] if c.name in canon else None for c in schema.columns},
        index=raw.index,
    )
    for header in scaled:
        out[header] = raw[header]
    out[text["source_row"]] = firsts.index.get_level_values("source_row")
    out[text["reason"]] = reasons
    return out.reset_index(drop=True)


def correction_csv(kind: str, values: Mapping[str, str]) -> bytes:
    """One corrected row of ``kind`` as a CSV file (canonical headers), to ingest as a batch.

    ``values``: column name -> text as typed; names that are not columns of the kind are refused.
    """
    schema = get_schema(kind)
    names = [c.name for c in schema.columns]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise InputError(f"not columns of {kind}: {', '.join(unknown)}", field=unknown[0])
    row = {n: (values.get(n) or "").strip() for n in names}
    return write_csv(pd.DataFrame([row], columns=names), index=False).encode("utf-8")


__all__ = [
    "LANGS",
    "correction_csv",
    "failed_rows_frame",
    "header_label",
    "readme_frame",
    "template_csv",
    "template_frame",
    "template_headers",
    "workbook_xlsx",
]
