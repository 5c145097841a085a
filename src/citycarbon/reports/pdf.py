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

from citycarbon.runs.reports import ReportData

FALLBACK_CID = "STSong-Light"


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


class _Doc:
    def __init__(self, data: ReportData) -> None:
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

    def h(self, text: str, level: int = 2) -> None:
        from xml.sax.saxutils import escape

        from reportlab.platypus import Paragraph

        self.story.append(Paragraph(escape(text), self.h1 if level == 1 else self.h2))

    def p(self, text: str, small: bool = False) -> None:
        from xml.sax.saxutils import escape

        from reportlab.platypus import Paragraph

        self.story.append(Paragraph(escape(text), self.small if small else self.body))

    def table(self, frame: pd.DataFrame, max_rows: int = 40, cols: list[str] | None = None) -> None:
        from xml.sax.saxutils import escape

        from reportlab.lib import colors
        from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

        f = frame[cols] if cols else frame
        f = f.head(max_rows)
        cell = lambda v: Paragraph(escape(_fmt(v)), self.small)  # noqa: E731
        rows = [[cell(c) for c in f.columns]] + [
            [cell(v) for v in r] for r in f.itertuples(index=False)
        ]
        # column widths in proportion to the longest text (clipped), over the page width
        import numpy as np

        lengths = np.array(
            [max([len(str(c))] + [len(_fmt(v)) for v in f[c]]) for c in f.columns], dtype="float64"
        ).clip(8, 40)
        widths = list(515.0 * lengths / lengths.sum())
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
        self.story.extend([t, Spacer(1, 6)])
        if len(frame) > max_rows:
            self.p(f"… {len(frame) - max_rows} more rows in the Excel report", small=True)

    def image(self, buf: io.BytesIO, width_cm: float = 16) -> None:
        from reportlab.lib.units import cm
        from reportlab.platypus import Image

        img = Image(buf)
        ratio = img.imageHeight / img.imageWidth
        img.drawWidth, img.drawHeight = width_cm * cm, width_cm * cm * ratio
        self.story.append(img)

    def provenance(self) -> None:
        self.h("数据来源与可追溯性 Provenance")
        self.p(
            "Every total in this report comes from the result runs below (run_id, factor "
            "profile version, method); recompute with the same inputs to reproduce it."
        )
        if len(self.data.provenance):
            self.table(self.data.provenance)

    def build(self, out: str | Path | BinaryIO) -> Path | BinaryIO:
        """Write the PDF to a path (its directory created) or a binary stream."""
        from reportlab.lib.pagesizes import A4
        from reportlab.platypus import SimpleDocTemplate

        if isinstance(out, str | Path):
            out = Path(out)
            out.parent.mkdir(parents=True, exist_ok=True)
        font = self.font

        def footer(canvas: Any, doc: Any) -> None:
            canvas.saveState()
            canvas.setFont(font, 7)
            canvas.drawString(40, 20, f"citycarbon | {self.data.title} | 第 {doc.page} 页")
            canvas.restoreState()

        doc = SimpleDocTemplate(
            str(out) if isinstance(out, Path) else out,
            pagesize=A4,
            title=self.data.title,
            leftMargin=40,
            rightMargin=40,
            topMargin=40,
            bottomMargin=40,
        )
        doc.build(self.story, onFirstPage=footer, onLaterPages=footer)
        return out


def inventory_pdf(data: ReportData, out: str | Path | BinaryIO) -> Path | BinaryIO:
    """Write the inventory report (summary, charts, tables, method and factor appendix) to a
    path or a binary stream."""
    import matplotlib.pyplot as plt

    _mpl_cjk()
    d = _Doc(data)
    d.h(data.title, 1)
    d.p(f"城市 City: {data.city} | 报告期 Period: {data.period} | 数据源 Source: {data.source}")
    for note in data.notes:
        d.p(note)
    total = data.tables.get("total")
    if total is not None:
        d.h("排放总量 Total")
        d.table(total)
    monthly = data.charts.get("monthly")
    if monthly is not None and len(monthly):
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.bar(monthly["month"].astype(int), monthly["emissions_tco2e"] / 1e4, color="#3a7ca5")
        ax.set_xlabel("月份 month")
        ax.set_ylabel("万吨CO2e (10^4 tCO2e)")
        ax.set_title("逐月排放 Monthly emissions")
        ax.set_xticks(range(1, 13))
        d.image(_fig_png(fig))
    sectors = data.tables.get("by_sector")
    if sectors is not None and len(sectors):
        s = sectors.groupby("sector_name_zh")["emissions_tco2e"].sum().sort_values()
        fig, ax = plt.subplots(figsize=(8, 3))
        ax.barh(s.index, s.to_numpy() / 1e4, color="#81a4cd")
        ax.set_xlabel("万吨CO2e (10^4 tCO2e)")
        ax.set_title("分部门排放 Emissions by sector")
        d.image(_fig_png(fig))
    titles = {
        "by_sector": "分部门 By sector (scope)",
        "by_gas": "分气体 By gas",
        "by_district": "分区 By district",
        "by_industry": "分行业 By industry (top 15)",
        "by_enterprise": "重点企业 Largest enterprises (top 10)",
        "indicators": "指标 Indicators",
        "balance_items": "能源平衡表（汇总）Energy balance items",
        "uncertainty": "不确定性 Uncertainty",
        "gpc": "GPC 报告格式 GPC reporting table",
    }
    for name, title in titles.items():
        t = data.tables.get(name)
        if t is not None and len(t):
            d.h(title)
            d.table(t, max_rows=30)
    d.h("附录：方法与因子 Appendix: methods and factor sets")
    d.table(data.tables["factor_sets"])
    d.provenance()
    return d.build(out)


def targets_pdf(data: ReportData, out: str | Path | BinaryIO) -> Path | BinaryIO:
    """Write the dual-control report (target list, progress vs schedule, status, warnings) to a
    path or a binary stream."""
    import matplotlib.pyplot as plt

    _mpl_cjk()
    d = _Doc(data)
    d.h(data.title, 1)
    d.p(f"城市 City: {data.city} | 期间 Period: {data.period} | 方法 Method: {data.source}")
    targets = data.tables["targets"]
    d.h("目标 Targets (with source)")
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
        d.h("双控指标（考核口径） Dual-control indicators (assessed basis)")
        d.table(
            city.sort_values(["indicator", "year"]),
            cols=["indicator", "year", "value", "unit", "role", "origin", "status", "basis"],
        )
    p = data.tables["progress"]
    inten = p[p["kind"] == "intensity"]
    if len(inten):
        fig, ax = plt.subplots(figsize=(8, 3.2))
        for code, g in inten.groupby("code"):
            line = ax.plot(g["year"], g["actual_decline_pct"], marker="o", label=f"{code} 实际")
            ax.plot(g["year"], g["scheduled_decline_pct"], ls="--", color=line[0].get_color())
        ax.set_ylabel("累计下降 decline [%]")
        ax.set_title("强度下降：实际（实线）与进度目标（虚线） Actual vs schedule")
        ax.legend(fontsize=6, ncol=2)
        d.image(_fig_png(fig))
        d.h("强度目标进展 Intensity progress")
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
        d.h("总量目标进展 Total (budget) progress")
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
        )
    status = data.tables.get("status")
    if status is not None and len(status):
        d.h("预警状态 Warning status (latest period)")
        worst = status.sort_values(
            "level", key=lambda s: s.map({"red": 0, "yellow": 1, "green": 2})
        )
        d.table(
            worst, cols=["level", "rule_id", "subject", "period", "metric", "value", "threshold"]
        )
    w = data.tables.get("warnings")
    if w is not None and len(w):
        d.h("预警记录 Warnings log")
        d.table(w, cols=["at", "level", "message", "notified_via"], max_rows=30)
    d.provenance()
    return d.build(out)


def actions_pdf(data: ReportData, out: str | Path | BinaryIO) -> Path | BinaryIO:
    """Write the action plan's progress report (tasks with status, due date, overdue days and
    linked indicators) to a path or a binary stream."""
    d = _Doc(data)
    d.h(data.title, 1)
    d.p(f"城市 City: {data.city} | 日期 Date: {data.period} | 依据 Source: {data.source}")
    for note in data.notes:
        d.p(note)
    d.h("任务进展 Task progress")
    d.table(data.tables["tasks"], max_rows=80)
    return d.build(out)
