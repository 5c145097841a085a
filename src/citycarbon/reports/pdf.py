"""PDF reports (reportlab): inventory (annual / monthly) and dual-control targets.

Chinese text needs a CJK font: the first TrueType font with Chinese glyphs that fontconfig lists
(``fc-list :lang=zh``) and reportlab can embed; otherwise (e.g. only CFF-based Noto CJK
collections are installed, which reportlab cannot embed) the built-in CID font ``STSong-Light``
(Adobe-GB1, rendered by the viewer). Charts are drawn by matplotlib (its own CJK font lookup) and
embedded as PNG. Every total is followed by its provenance (result, run_id, factor profile).
"""

from __future__ import annotations

import io
import subprocess
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

import pandas as pd

from citycarbon.read.presentation import present, present_with_unit, table_title, with_unit
from citycarbon.reports.basis import provenance_in, report_basis
from citycarbon.runs.reports import ReportData

FALLBACK_CID = "STSong-Light"
#: Usable widths of a portrait and a landscape A4 page [pt] (40 pt margins).
PORTRAIT_PT, LANDSCAPE_PT = 515.0, 762.0
#: Text of the report in each language (headings and lines not from the data).
TEXT = {
    "zh": {
        "city": "城市",
        "period": "报告期",
        "total": "排放总量",
        "monthly": "逐月排放",
        "month": "月份",
        "sectors": "分部门排放",
        "appendix": "附录：方法与因子",
        "provenance": "数据来源与可追溯性",
        "provenance_text": "本报告的每个合计值均来自下列计算批次（计算批次、因子配置版本、方法）；"
        "用相同输入重新计算即可复现。",
        "more": "另有 {n} 行见 Excel 报告",
        "page": "第 {n} 页",
        "targets": "目标（含来源）",
        "dual": "双控指标（考核口径）",
        "progress_chart": "强度下降：实际（实线）与进度目标（虚线）",
        "decline": "累计下降（%）",
        "actual": "实际",
        "scheduled": "进度目标",
        "intensity": "强度目标进展",
        "budget": "总量目标进展",
        "status": "预警状态（最新期）",
        "warnings": "预警记录",
    },
    "en": {
        "city": "City",
        "period": "Period",
        "total": "Total emissions",
        "monthly": "Monthly emissions",
        "month": "Month",
        "sectors": "Emissions by sector",
        "appendix": "Appendix: methods and factor sets",
        "provenance": "Provenance",
        "provenance_text": "Every total in this report comes from the result runs below (run id, "
        "factor profile version, method); recompute with the same inputs to reproduce it.",
        "more": "{n} more rows in the Excel report",
        "page": "page {n}",
        "targets": "Targets (with source)",
        "dual": "Dual-control indicators (assessed basis)",
        "progress_chart": "Intensity decline: actual (solid) and schedule (dashed)",
        "decline": "Cumulative decline (%)",
        "actual": "actual",
        "scheduled": "schedule",
        "intensity": "Intensity targets progress",
        "budget": "Total (budget) targets progress",
        "status": "Warning status (latest period)",
        "warnings": "Warnings log",
    },
}


@cache
def cjk_font() -> str:
    """Register and return the name of a font that renders Chinese (see module docstring)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    for f in _zh_font_files():
        if not f.lower().endswith((".ttf", ".ttc")):
            continue
        try:
            pdfmetrics.registerFont(TTFont("CityCJK", f, subfontIndex=0))
            return "CityCJK"
        except Exception:
            continue
    pdfmetrics.registerFont(UnicodeCIDFont(FALLBACK_CID))
    return FALLBACK_CID


def _zh_font_files() -> list[str]:
    try:
        out = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    files = sorted({line.split(":")[0].strip() for line in out.splitlines() if line.strip()})
    # sans regular first
    return sorted(files, key=lambda f: ("Sans" not in f, "Bold" in f, f))


@cache
def _mpl_cjk() -> str:
    """Make matplotlib draw Chinese with the first CJK font fontconfig lists (its name)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import font_manager

    for f in _zh_font_files():
        try:
            font_manager.fontManager.addfont(f)
            name = font_manager.FontProperties(fname=f).get_name()
        except Exception:
            continue
        matplotlib.rcParams["font.sans-serif"] = [name, "DejaVu Sans"]
        matplotlib.rcParams["font.family"] = "sans-serif"
        matplotlib.rcParams["axes.unicode_minus"] = False
        return name
    return ""


def _fig_png(fig: Any) -> io.BytesIO:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    buf.seek(0)
    return buf


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if v != v:
            return ""
        return f"{v:,.2f}" if abs(v) >= 100 else f"{v:,.4g}"
    return "" if v is None else str(v)


def _text_width(text: str) -> int:
    """The width of ``text`` in half-em units: a CJK character is two, others one."""
    return sum(2 if ord(ch) >= 0x2E80 else 1 for ch in text)


#: Points per half-em of the 7 pt table text (with margin), and a cell's padding (6 pt a side).
_HALF_EM_PT, _PAD_PT = 4.0, 13.0


def _column_widths(lengths: Any, width_pt: float) -> list[float]:
    """Column widths [pt] filling ``width_pt``: each column as wide as its widest cell
    (``lengths`` in half-ems) where they fit; else the widest columns share what the others
    leave (their text wraps), so short figures and words never break."""
    import numpy as np

    need = np.asarray(lengths, dtype="float64") * _HALF_EM_PT + _PAD_PT
    if need.sum() <= width_pt:
        return list(need * width_pt / need.sum())
    ordered = np.sort(need)
    for k in range(len(ordered)):  # columns, not rows: cap the widest ones at a common width
        cap = (width_pt - ordered[:k].sum()) / (len(ordered) - k)
        if cap <= ordered[k]:
            return list(np.minimum(need, max(cap, _PAD_PT + _HALF_EM_PT * 4)))
    return list(need)


class _Doc:
    def __init__(self, data: ReportData, lang: str) -> None:
        from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet

        self.font = cjk_font()
        ss = getSampleStyleSheet()
        self.h1 = ParagraphStyle("h1", parent=ss["Heading1"], fontName=self.font, fontSize=17)
        self.h2 = ParagraphStyle("h2", parent=ss["Heading2"], fontName=self.font, fontSize=13)
        self.body = ParagraphStyle(
            "b", parent=ss["BodyText"], fontName=self.font, fontSize=9, leading=13
        )
        self.small = ParagraphStyle("s", parent=self.body, fontSize=7, leading=9)
        self.story: list[Any] = []
        self.data = data
        self.lang = lang if lang in TEXT else "zh"
        self.text = TEXT[self.lang]

    def first_page(self, period_label: str) -> None:
        """Title, city and period, the 口径 and the provenance line of the first page."""
        data, text = self.data, self.text
        self.h(data.title_in(self.lang), 1)
        sep = "；" if self.lang == "zh" else "; "
        self.p(f"{text['city']} {data.city_in(self.lang)}{sep}{period_label} {data.period}")
        self.p(report_basis(data, self.lang).line(self.lang))
        runs = data.provenance
        if len(runs):
            named = runs["result"].astype(str) + " " + runs["run_id"].astype(str)
            self.p(f"{text['provenance']}：" if self.lang == "zh" else f"{text['provenance']}: ")
            self.p(", ".join(named), small=True)
        for note in data.notes:
            self.p(note)

    def h(self, text: str, level: int = 2) -> None:
        """A heading; a section heading opens a new page when less than 4 cm are left (no
        heading alone at the foot of a page)."""
        from xml.sax.saxutils import escape

        from reportlab.lib.units import cm
        from reportlab.platypus import CondPageBreak, Paragraph

        if level != 1:
            self.story.append(CondPageBreak(4 * cm))
        self.story.append(Paragraph(escape(text), self.h1 if level == 1 else self.h2))

    def p(self, text: str, small: bool = False) -> None:
        from xml.sax.saxutils import escape

        from reportlab.platypus import Paragraph

        self.story.append(Paragraph(escape(text), self.small if small else self.body))

    def table(
        self,
        frame: pd.DataFrame,
        max_rows: int = 40,
        cols: list[str] | None = None,
        width_pt: float = PORTRAIT_PT,
        space_after: float = 6,
        units: dict[str, str] | None = None,
    ) -> None:
        """A table of ``frame`` (its ``cols``) labelled in the report's language, figures in
        their display units (:func:`citycarbon.read.presentation.present`; ``units`` of the
        columns whose unit the catalog does not know)."""
        f = present((frame[cols] if cols else frame).head(max_rows), self.lang, units)
        self._grid(f, width_pt, space_after)
        if len(frame) > max_rows:
            self.p(self.text["more"].format(n=len(frame) - max_rows), small=True)

    def _grid(self, f: pd.DataFrame, width_pt: float, space_after: float) -> None:
        """The table of a frame already shown for people."""
        from xml.sax.saxutils import escape

        from reportlab.lib import colors
        from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

        cell = lambda v: Paragraph(escape(_fmt(v)), self.small)  # noqa: E731
        rows = [[cell(c) for c in f.columns]] + [
            [cell(v) for v in r] for r in f.itertuples(index=False)
        ]
        # column widths from the widest cell, over the page width; a header wraps (between
        # its words, a Chinese one anywhere), so at most 12 half-ems of it count
        import numpy as np

        lengths = np.array(
            [
                max(
                    [min(12, max(_text_width(w) for w in str(c).split() or [""]))]
                    + [_text_width(_fmt(v)) for v in f[c]]
                )
                for c in f.columns
            ],
            dtype="float64",
        )
        widths = _column_widths(lengths, width_pt)
        t = Table(rows, repeatRows=1, hAlign="LEFT", colWidths=widths)
        t.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#dde6ee")),
                    ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        self.story.extend([t, Spacer(1, space_after)] if space_after else [t])

    def image(self, buf: io.BytesIO, width_cm: float = 16) -> None:
        from reportlab.lib.units import cm
        from reportlab.platypus import Image

        img = Image(buf)
        ratio = img.imageHeight / img.imageWidth
        img.drawWidth, img.drawHeight = width_cm * cm, width_cm * cm * ratio
        self.story.append(img)

    def landscape_table(self, frame: pd.DataFrame, title: str, max_rows: int = 40) -> None:
        """``frame`` on landscape pages of its own (a wide table stays legible); where all its
        figures are in one unit, the unit is in the title, not in every header."""
        from reportlab.platypus import NextPageTemplate, PageBreak
        from reportlab.platypus.flowables import PageBreakIfNotEmpty

        f, unit = present_with_unit(frame.head(max_rows), self.lang)
        self.story += [NextPageTemplate("landscape"), PageBreak()]
        self.h(with_unit(title, unit, self.lang) if unit else title)
        # no space after it: a spacer at the foot of a full page would open a blank one
        self._grid(f, LANDSCAPE_PT, space_after=0)
        if len(frame) > max_rows:
            self.p(self.text["more"].format(n=len(frame) - max_rows), small=True)
        self.story += [NextPageTemplate("portrait"), PageBreakIfNotEmpty()]

    def provenance(self) -> None:
        self.h(self.text["provenance"])
        self.p(self.text["provenance_text"])
        if len(self.data.provenance):
            self.table(provenance_in(self.data, self.lang))

    def build(self, out: str | Path | BinaryIO) -> Path | BinaryIO:
        """Write the PDF to a path (its directory created) or a binary stream."""
        from reportlab.lib.pagesizes import A4

        if isinstance(out, str | Path):
            out = Path(out)
            out.parent.mkdir(parents=True, exist_ok=True)
        from reportlab.lib.pagesizes import landscape
        from reportlab.platypus import BaseDocTemplate, Frame, PageTemplate

        font, title, text = self.font, self.data.title_in(self.lang), self.text

        def footer(canvas: Any, doc: Any) -> None:
            canvas.saveState()
            canvas.setFont(font, 7)
            canvas.drawString(40, 20, f"citycarbon | {title} | {text['page'].format(n=doc.page)}")
            canvas.restoreState()

        doc = BaseDocTemplate(str(out) if isinstance(out, Path) else out, pagesize=A4, title=title)
        templates = []
        for name, size in (("portrait", A4), ("landscape", landscape(A4))):
            frame = Frame(40, 40, size[0] - 80, size[1] - 80, id=name)
            templates.append(PageTemplate(name, [frame], onPage=footer, pagesize=size))
        doc.addPageTemplates(templates)
        doc.build(self.story)
        return out


def inventory_pdf(
    data: ReportData, out: str | Path | BinaryIO, lang: str = "zh"
) -> Path | BinaryIO:
    """Write the inventory report (口径 and provenance first, then the total, charts, tables,
    the GPC table on landscape pages, method and factor appendix) in ``lang`` to a path or a
    binary stream."""
    import matplotlib.pyplot as plt

    _mpl_cjk()
    d = _Doc(data, lang)
    text = d.text
    d.first_page(text["period"])
    total = data.tables.get("total")
    if total is not None:
        d.h(text["total"])
        d.table(total)
    unit = "万吨CO2当量" if d.lang == "zh" else "10^4 tCO2e"
    monthly = data.charts.get("monthly")
    if monthly is not None and len(monthly):
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.bar(monthly["month"].astype(int), monthly["emissions_tco2e"] / 1e4, color="#3a7ca5")
        ax.set_xlabel(text["month"])
        ax.set_ylabel(unit)
        ax.set_title(text["monthly"])
        ax.set_xticks(range(1, 13))
        d.image(_fig_png(fig))
    sectors = data.tables.get("by_sector")
    if sectors is not None and len(sectors):
        label = "sector_name_zh" if d.lang == "zh" else "sector"
        s = sectors.groupby(label)["emissions_tco2e"].sum().sort_values()
        fig, ax = plt.subplots(figsize=(8, 0.6 + 0.28 * len(s)))
        ax.barh(s.index, s.to_numpy() / 1e4, color="#81a4cd")
        ax.set_xlabel(unit)
        ax.set_title(text["sectors"])
        ax.tick_params(axis="y", labelsize=8)
        d.image(_fig_png(fig))
    for name in (
        "by_sector",
        "by_gas",
        "by_district",
        "by_industry",
        "by_enterprise",
        "indicators",
        "balance_items",
        "uncertainty",
    ):
        t = data.tables.get(name)
        if t is not None and len(t):
            d.h(table_title(name, d.lang))
            d.table(t.drop(columns=["source_batches"], errors="ignore"), max_rows=30)
    gpc = data.tables.get("gpc")
    if gpc is not None and len(gpc):
        other = "name_en" if d.lang == "zh" else "name_zh"  # one language a page
        shown = gpc.drop(columns=[other])
        blank = shown.isna() | shown.astype(str).apply(lambda c: c.str.strip().eq(""))
        shown = shown.loc[:, ~blank.all()]  # gases the city has not: their columns left out
        d.landscape_table(shown, table_title("gpc", d.lang), max_rows=60)
    d.h(text["appendix"])
    d.table(data.tables["factor_sets"])
    d.provenance()
    return d.build(out)


def _indicator_units(indicators: pd.DataFrame | None) -> dict[str, str]:
    """The unit of each dual-control indicator (as the indicators table states it)."""
    if indicators is None or not len(indicators):
        return {}
    return dict(zip(indicators["indicator"], indicators["unit"], strict=True))


def targets_pdf(data: ReportData, out: str | Path | BinaryIO, lang: str = "zh") -> Path | BinaryIO:
    """Write the dual-control report (口径 and provenance first, target list, progress vs
    schedule, status, warnings) in ``lang`` to a path or a binary stream."""
    import matplotlib.pyplot as plt

    _mpl_cjk()
    d = _Doc(data, lang)
    text = d.text
    d.first_page(text["period"])
    targets = data.tables["targets"]
    d.h(text["targets"])
    d.table(
        targets,
        cols=[
            "code",
            "version",
            "name",
            "kind",
            "target_value",
            "target_unit",
            "base_year",
            "end_year",
            "status",
            "source",
        ],
    )
    ind = data.tables.get("indicators")
    if ind is not None and len(ind):
        city = ind[(ind["level"] == "city") & ind["role"].isin(["assessed", "reported"])]
        d.h(text["dual"])
        d.table(
            city.sort_values(["indicator", "year"]),
            cols=["indicator", "year", "value", "unit", "role", "origin", "status", "basis"],
        )
    p = data.tables["progress"]
    inten = p[p["kind"] == "intensity"]
    if len(inten):
        fig, ax = plt.subplots(figsize=(8, 3.6))
        for code, g in inten.groupby("code"):
            line = ax.plot(
                g["year"], g["actual_decline_pct"], marker="o", label=f"{code} {text['actual']}"
            )
            ax.plot(
                g["year"],
                g["scheduled_decline_pct"],
                ls="--",
                color=line[0].get_color(),
                label=f"{code} {text['scheduled']}",
            )
        years = inten["year"].astype(int)
        ax.set_xticks(range(years.min(), years.max() + 1))  # every whole year, evenly spaced
        ax.set_ylabel(text["decline"])
        ax.set_title(text["progress_chart"])
        ax.legend(fontsize=8, ncol=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
        d.image(_fig_png(fig))
        d.h(text["intensity"])
        d.table(
            inten,
            cols=[
                "code",
                "entity_name",
                "year",
                "value",
                "base_value",
                "base_source",
                "actual_decline_pct",
                "scheduled_decline_pct",
                "decline_gap_pts",
                "forecast_decline_pct",
            ],
        )
    total = p[p["kind"] == "total"]
    if len(total):
        d.h(text["budget"])
        # the figures are in the unit of the target's indicator (CO2 in t: 万吨 from 8 digits)
        unit = _indicator_units(ind).get(total["indicator"].iat[0], "")
        same = total["indicator"].nunique() == 1
        figures = ("value", "cap_value", "budget_to_date", "actual_to_date")
        d.table(
            total,
            cols=[
                "code",
                "entity_name",
                "year",
                "months",
                "value",
                "cap_value",
                "budget_to_date",
                "actual_to_date",
                "budget_use_ratio",
                "forecast_cap_ratio",
            ],
            units=dict.fromkeys(figures, unit) if same and unit else None,
        )
    status = data.tables.get("status")
    if status is not None and len(status):
        d.h(text["status"])
        worst = status.sort_values(
            "level", key=lambda s: s.map({"red": 0, "yellow": 1, "green": 2})
        )
        d.table(  # the rule in words (its zh/en text), not its id
            worst, cols=["level", d.lang, "subject", "period", "metric", "value", "threshold"]
        )
    w = data.tables.get("warnings")
    if w is not None and len(w):
        d.h(text["warnings"])
        d.table(w, cols=["at", "level", "message", "notified_via"], max_rows=30)
    d.provenance()
    return d.build(out)


def actions_pdf(data: ReportData, out: str | Path | BinaryIO, lang: str = "zh") -> Path | BinaryIO:
    """Write the action plan's progress report (tasks with status, due date, overdue days and
    linked indicators) to a path or a binary stream, its labels in ``lang``."""
    d = _Doc(data, lang)
    d.h(data.title, 1)
    if lang == "en":
        d.p(f"City: {data.city} | Date: {data.period} | Source: {data.source}")
    else:
        d.p(f"城市：{data.city} | 日期：{data.period} | 依据：{data.source}")
    for note in data.notes:
        d.p(note)
    d.h("Task progress" if lang == "en" else "任务进展")
    d.table(data.tables["tasks"], max_rows=80)
    return d.build(out)
