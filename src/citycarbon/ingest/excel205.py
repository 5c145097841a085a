"""The 205-1表 (能源购进、消费与库存) Excel workbook: a template to fill in, and its import.

Layout of the form's table (国家统计局《能源统计报表制度》, 205-1表), as reproduced by
enterprise statistics software: 能源名称 (甲), 计量单位 (乙), 代码 (丙), 年初/期初库存量 (1),
购进量 — 实物量 (2), 金额（千元） (3), 消费量 — 合计 (4), 工业生产消费 (5), 用作原料、材料 (6),
非工业生产消费 (7), 运输工具消费 (8), 年末/期末库存量 (9), 采用折标系数 (10), 参考折标系数 (丁).
Two header rows (group over sub-headers) and the row of column numbers follow the form.

Two layouts:

- *long* (default): one sheet, one row per enterprise, month and fuel, with the columns
  统一社会信用代码 and 报告期 in front; what a city or park collects from many enterprises.
- *form*: one enterprise-month on a sheet, with 统一社会信用代码 and 报告期 above the table, as
  an enterprise's energy manager fills the paper form.

Both import through :func:`citycarbon.ingest.loader.ingest` (kind ``energy_monthly``): headers are
recognised by name, 金额（千元） is converted to 万元 and quantities to each fuel's statistical
unit, and the column-number row and a 能源合计 row are skipped. 代码 holds the fuel code of
``factors/data/fuels.csv`` (the form's own numeric row codes are not reproduced: a name in
能源名称 is enough, an unknown 代码 falls back to it).

References
----------
[1] 国家统计局《能源统计报表制度》, 基层定报表式 205-1表 能源购进、消费与库存.
[2] GB/T 2589-2020 综合能耗计算通则 (参考折标系数, where the city's factor profile has them).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from citycarbon import units
from citycarbon.config import as_city
from citycarbon.contract.exports import neutralise_formulas
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.factors import fuels
from citycarbon.ingest.loader import ingest

FORM = "205-1表"
TITLE = "能源购进、消费与库存"
#: (group header, sub-header, form column number, canonical column); group '' = single header.
COLUMNS: tuple[tuple[str, str, str, str], ...] = (
    ("能源名称", "", "甲", "fuel_name"),
    ("计量单位", "", "乙", "unit"),
    ("代码", "", "丙", "fuel"),
    ("年初库存量", "", "1", "opening_stock"),
    ("购进量", "实物量", "2", "purchased"),
    ("购进量", "金额（千元）", "3", "purchase_value_kcny"),
    ("消费量", "合计", "4", "consumed_total"),
    ("消费量", "工业生产消费", "5", "consumed_industrial"),
    ("消费量", "#用作原料、材料", "6", "consumed_as_feedstock"),
    ("消费量", "非工业生产消费", "7", "consumed_non_industrial"),
    ("消费量", "#运输工具消费", "8", "consumed_transport"),
    ("年末库存量", "", "9", "closing_stock"),
    ("采用折标系数", "", "10", "coefficient_used"),
    ("参考折标系数", "", "丁", "coefficient_reference"),
)
LEAD = (("统一社会信用代码", "enterprise_code"), ("报告期", "period"))
#: How the statistical units of fuels.csv are written on the form.
UNIT_LABELS = {
    "t": "吨",
    "10^4 m3": "万立方米",
    "10^4 kWh": "万千瓦时",
    "GJ": "百万千焦",
    "TJ": "太焦",
    "m3": "立方米",
    "kWh": "千瓦时",
}
THOUSAND = 1e3  # 千元 = 10^3 元


def reference_coefficients(fuel_codes: Sequence[str], city: Any = None) -> dict[str, float]:
    """参考折标系数 per fuel: tce per statistical unit from the city's factor profile
    (``coal_equivalent``); fuels without a value are left out (never a made-up number)."""
    try:
        cfg = as_city(city)
        profile = cfg.factor_profile("enterprise")
    except (CitycarbonError, OSError):
        return {}
    table = fuels()
    out = {}
    for code in fuel_codes:  # the fuel list: tens of fuels
        try:
            out[code] = float(
                profile.lookup_many(
                    "coal_equivalent", [code], f"tce/{table.at[code, 'stat_unit']}"
                )[0]
            )
        except (CitycarbonError, KeyError):
            continue
    return out


def _fuel_sheet(book: Any, coefficients: dict[str, float]) -> tuple[str, int]:

    table = fuels()
    sheet = book.add_worksheet("能源目录")
    bold = book.add_format({"bold": True})
    sheet.write_row(
        0, 0, ["能源名称", "代码", "计量单位", "参考折标系数（吨标准煤/计量单位）", "English"], bold
    )
    for i, (code, row) in enumerate(table.iterrows(), start=1):  # fuel list: tens of rows
        sheet.write_row(
            i, 0, [row["name_zh"], code, UNIT_LABELS.get(row["stat_unit"], row["stat_unit"])]
        )
        if code in coefficients:
            sheet.write_number(i, 3, coefficients[code])
        sheet.write(i, 4, row["name_en"])
    sheet.set_column(0, 0, 28)
    sheet.set_column(1, 1, 28)
    sheet.set_column(2, 3, 16)
    return "能源目录", len(table)


def _header(book: Any, sheet: Any, first_col: int, top: int, lead: bool) -> int:
    """Write the two header rows and the column-number row; return the first data row."""
    head = book.add_format(
        {
            "bold": True,
            "align": "center",
            "valign": "vcenter",
            "border": 1,
            "text_wrap": True,
            "bg_color": "#F2F2F2",
        }
    )
    cols = ([(name, "", "", key) for name, key in LEAD] if lead else []) + list(COLUMNS)
    c = first_col
    i = 0
    while i < len(cols):
        group, sub, number, _ = cols[i]
        if sub:
            span = 1
            while i + span < len(cols) and cols[i + span][0] == group and cols[i + span][1]:
                span += 1
            sheet.merge_range(top, c, top, c + span - 1, group, head)
            for j in range(span):
                sheet.write(top + 1, c + j, cols[i + j][1], head)
                sheet.write(top + 2, c + j, cols[i + j][2], head)
            c += span
            i += span
        else:
            sheet.merge_range(top, c, top + 1, c, group, head)
            sheet.write(top + 2, c, number, head)
            c += 1
            i += 1
    return top + 3


def write_template(
    out: str | Path,
    *,
    enterprise_code: str | None = None,
    period: str | None = None,
    rows: pd.DataFrame | None = None,
    city: Any = None,
) -> Path:
    """Write a 205-1表 workbook to fill in (or filled with ``rows``).

    Parameters
    ----------
    out : path
        The .xlsx file to write.
    enterprise_code, period : str, optional
        Both given: the *form* layout for one enterprise-month (fields above the table).
        Otherwise the *long* layout (统一社会信用代码 and 报告期 as columns).
    rows : pandas.DataFrame, optional
        Rows in the ``energy_monthly`` columns (enterprise_code, period, fuel, unit, quantities,
        purchase_value_10k_cny) to fill in; written as the form writes them (金额 in 千元).
    city : optional
        City whose factor profile gives the 参考折标系数.

    Returns
    -------
    Path
        ``out``.
    """
    import xlsxwriter

    out = Path(out)
    if out.suffix.lower() != ".xlsx":
        raise InputError("the template is an .xlsx file", source=str(out))
    out.parent.mkdir(parents=True, exist_ok=True)
    form = enterprise_code is not None and period is not None
    table = fuels()
    coefficients = reference_coefficients(list(table.index), city)
    book = xlsxwriter.Workbook(str(out))
    sheet = book.add_worksheet(FORM)
    title = book.add_format({"bold": True, "font_size": 16, "align": "center"})
    note = book.add_format({"italic": True, "font_color": "#555555"})
    ncols = len(COLUMNS) + (0 if form else len(LEAD))
    sheet.merge_range(0, 0, 0, ncols - 1, TITLE, title)
    sheet.write(1, 0, f"表号：{FORM}", note)
    if form:
        sheet.write(2, 0, f"统一社会信用代码：{enterprise_code}")
        sheet.write(2, 5, f"报告期：{period}")
        top = 4
    else:
        sheet.write(1, 3, "每行一个企业、报告期（YYYY-MM）与能源品种；金额单位：千元", note)
        top = 3
    first = _header(book, sheet, 0, top, lead=not form)
    sheet.freeze_panes(first, 2 if not form else 1)
    sheet.set_column(0, 0, 22 if not form else 16)
    sheet.set_column(1, ncols - 1, 12)
    fuel_sheet, nfuels = _fuel_sheet(book, coefficients)
    name_col = 0 if form else len(LEAD)
    sheet.data_validation(
        first,
        name_col,
        first + 100_000,
        name_col,
        {
            "validate": "list",
            "source": f"='{fuel_sheet}'!$A$2:$A${nfuels + 1}",
            "error_type": "warning",
        },
    )
    if rows is not None and len(rows):
        _write_rows(sheet, rows, first, form, coefficients)
    book.close()
    return out


def _write_rows(
    sheet: Any, rows: pd.DataFrame, first: int, form: bool, coefficients: dict[str, float]
) -> None:

    table = fuels()
    frame = neutralise_formulas(rows.reset_index(drop=True))  # text written as it came
    fuel = frame["fuel"].astype(str)
    names = fuel.map(table["name_zh"]).fillna(fuel)
    unit = frame["unit"].astype(str) if "unit" in frame else fuel.map(table["stat_unit"])
    unit_label = unit.map(lambda u: UNIT_LABELS.get(u, u))  # distinct units, few
    value_k = (
        frame["purchase_value_10k_cny"].to_numpy(dtype="float64")
        * units.factor("10^4 CNY", "CNY")
        / THOUSAND
        if "purchase_value_10k_cny" in frame
        else np.full(len(frame), np.nan)
    )
    period = pd.to_datetime(frame["period"]).dt.strftime("%Y-%m") if "period" in frame else None
    quantity = {
        key: frame[key].to_numpy(dtype="float64") if key in frame else np.full(len(frame), np.nan)
        for _, _, _, key in COLUMNS[3:]
    }
    quantity["purchase_value_kcny"] = value_k
    quantity["coefficient_reference"] = fuel.map(coefficients).to_numpy(dtype="float64")
    lead = [] if form else [frame["enterprise_code"].astype(str).to_numpy(), period.to_numpy()]
    columns = (
        lead
        + [names.to_numpy(), unit_label.to_numpy(), fuel.to_numpy()]
        + [quantity[key] for _, _, _, key in COLUMNS[3:]]
    )
    for i in range(len(frame)):  # writing cells: xlsxwriter is row by row
        r = first + i
        for c, col in enumerate(columns):
            v = col[i]
            if isinstance(v, float):
                if v == v:
                    sheet.write_number(r, c, v)
            else:
                sheet.write_string(r, c, str(v))


def ingest_205(path: str | Path, **kwargs: Any) -> Any:
    """Import a filled 205-1表 workbook into ``energy_monthly`` (see :func:`ingest`)."""
    return ingest("energy_monthly", path, **kwargs)


__all__ = [
    "COLUMNS",
    "FORM",
    "TITLE",
    "UNIT_LABELS",
    "ingest_205",
    "reference_coefficients",
    "write_template",
]
