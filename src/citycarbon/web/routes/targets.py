"""目标与预警: carbon dual-control targets (city, districts, key industries and enterprises;
five-year and annual), progress against the schedule-proportional target, the trend forecast
of the period end, warning lamps and the warnings log, report downloads; and the JSON API
``/api/v1/targets/...``. Reads only through :mod:`citycarbon.read.pages`."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import parse_qsl

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from pydantic import BaseModel

from citycarbon.errors import InputError
from citycarbon.read import access
from citycarbon.read import pages as pq
from citycarbon.read.access import Principal
from citycarbon.reports.excel import write_excel
from citycarbon.reports.pdf import targets_pdf
from citycarbon.runs.reports import PERIOD_PATTERN, targets_report
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render, scope_label
from citycarbon.web.i18n import Translator
from citycarbon.web.routes.api import (
    FileLang,
    Format,
    Limit,
    Offset,
    Page,
    file_basis,
    one,
    page,
)
from citycarbon.web.routes.inventory import _stream_report

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.require_principal)]
TargetCode = Annotated[str, Query(max_length=100, description="target code")]
LAMPS = ("red", "yellow", "green")
NOT_COMPUTED = "not yet computed: run `citycarbon targets recompute` (or `citycarbon demo`)"


class Lamps(BaseModel):
    """Counts of the latest warning lamps over the caller's subjects."""

    red: int
    yellow: int
    green: int
    run_id: str | None


def lamp_counts(principal: Principal) -> dict[str, Any]:
    s = pq.status(principal)
    counts = dict.fromkeys(LAMPS, 0)
    if len(s) and "subject" in s:
        worst = s.assign(r=s["level"].map(pq.LAMP_RANK)).sort_values("r").groupby("subject").tail(1)
        for lv, n in worst["level"].value_counts().items():
            counts[str(lv)] = int(n)
    counts["run_id"] = str(s["run_id"].iat[0]) if len(s) and "run_id" in s else None
    return counts


def overview_panel(request: Request, principal: Principal) -> str | None:
    """The 双控目标灯 panel of the overview page (HTML) or None when nothing is evaluated."""
    t = Translator(lang_of(request))
    c = lamp_counts(principal)
    if c["run_id"] is None:
        return None
    parts = [
        f'<span><span class="lamp {lv}"></span>{escape(t("targets.lamp_" + lv))} '
        f'<b class="count">{c[lv]}</b></span>'
        for lv in ("red", "yellow", "green")
    ]
    return str(
        Markup(
            '<link rel="stylesheet" href="/static/css/analysis.css"><div class="lamps" id="target-lamps">'
            + "".join(parts)
            + f'</div><p><a href="/targets">{escape(t("targets.open"))}</a></p>'
        )
    )


def _progress_chart(prog: pd.DataFrame, annual: pd.DataFrame, row: dict, t: Translator) -> dict:
    years = sorted(
        set(prog["year"].tolist()) | set(annual["year"].tolist()) | {int(row["end_year"])}
    )
    actual = prog.set_index("year")["value"].reindex(years)
    path = annual.set_index("year")["target_value"].reindex(years)
    series = [
        {
            "name": t("targets.actual"),
            "type": "line",
            "data": [None if pd.isna(v) else round(float(v), 6) for v in actual],
        },
        {
            "name": t("targets.schedule"),
            "type": "line",
            "lineStyle": {"type": "dashed"},
            "data": [None if pd.isna(v) else round(float(v), 6) for v in path],
        },
    ]
    fc = row.get("forecast_end_value")
    if fc is not None and not pd.isna(fc) and len(prog):
        last = int(prog["year"].max())
        series.append(
            {
                "name": t("targets.forecast"),
                "type": "line",
                "lineStyle": {"type": "dotted"},
                "data": [
                    round(float(actual[last]), 6)
                    if y == last
                    else (round(float(fc), 6) if y == int(row["end_year"]) else None)
                    for y in years
                ],
                "connectNulls": True,
            }
        )
    return {
        "legend": {"top": 0},
        "grid": {"left": 80, "right": 20, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": [str(y) for y in years]},
        "yAxis": {"type": "value", "scale": True},
        "series": series,
    }


def _by_lamp(frame: pd.DataFrame) -> pd.DataFrame:
    """Red first, then yellow, then green."""
    if frame.empty or "level" not in frame:
        return frame
    rank = frame["level"].map(pq.LAMP_RANK).fillna(-1)
    return frame.assign(_r=-rank).sort_values(["_r", "rule_id", "subject"]).drop(columns="_r")


def note_text(t: Translator, note: Any) -> str:
    """A note of the dual-control results in the page's language: a message key with its
    parameters (``grid_mix?grid=fujian&year=2023``) is translated (``targets.note_<key>``,
    indicator codes in ``inputs``/``indicator`` and the grid by their names); any other note is
    a source citation and shown as written."""
    if not isinstance(note, str) or not note:
        return ""
    key, _, query = note.partition("?")
    if not t.has(f"targets.note_{key}"):
        return note
    params = dict(parse_qsl(query))
    for name in ("inputs", "indicator"):
        if name in params:
            names = (t(f"targets.ind_{c}") for c in params[name].split(","))
            params[name] = t("targets.list_sep").join(names)
    if t.has(f"targets.grid_{params.get('grid')}"):
        params["grid"] = t(f"targets.grid_{params['grid']}")
    return t(f"targets.note_{key}", **params)


def basis_text(t: Translator, basis: Any) -> str:
    """The basis code of a dual-control row in the page's language (``comparable_2020``: GDP at
    2020 prices)."""
    if not isinstance(basis, str) or not basis:
        return ""
    if basis.startswith("comparable_"):
        return t("targets.basis_comparable", year=basis.removeprefix("comparable_"))
    return t(f"targets.basis_{basis}") if t.has(f"targets.basis_{basis}") else basis


def _value(frame: pd.DataFrame, row: Any, column: str) -> float | None:
    """A cell of an indexed frame as a number, None where absent or NaN."""
    if row not in frame.index or pd.isna(frame.at[row, column]):
        return None
    return float(frame.at[row, column])


def dual_control_view(frame: pd.DataFrame, t: Translator) -> dict[str, Any]:
    """The 双控指标 tables of the page: the city's indicators by year with their 口径, and the
    districts' latest year (their own statistics, or the reporters' coverage and no intensity)."""
    if frame.empty:
        return {"years": [], "city": [], "districts": []}
    f = frame.assign(
        basis_text=[basis_text(t, b) for b in frame["basis"]],
        note_text=[note_text(t, n) for n in frame["note"]],
    )
    city = f[f["level"] == "city"]
    years = sorted(int(y) for y in city["year"].unique())
    rows = []
    for code, g in city.groupby("indicator", sort=False):  # a dozen indicators
        by_year = g.set_index("year")
        rows.append(
            {
                "indicator": code,
                "role": str(g["role"].iat[0]),
                "unit": str(g["unit"].iat[0]),
                "values": [_value(by_year, y, "value") for y in years],
                "entered": [
                    y in by_year.index and by_year.at[y, "origin"] == "entered" for y in years
                ],
                "status": sorted({s for s in g["status"] if s}),
                "basis": sorted({b for b in g["basis_text"] if b}),
                "notes": list(dict.fromkeys(n for n in g["note_text"] if n)),
                "profile": str(g["factor_profile"].iat[-1]) if "factor_profile" in g else "",
            }
        )
    dist = f[f["level"] == "district"]
    districts = []
    if len(dist):
        latest = int(dist["year"].max())
        d = dist[dist["year"] == latest]
        for code, g in d.groupby("entity_code"):  # a handful of districts
            v = g.set_index("indicator")
            districts.append(
                {
                    "code": code,
                    "name": str(g["entity_name"].iat[0] or code),
                    "year": latest,
                    **{
                        k: _value(v, k, "value")
                        for k in (
                            "reporters_co2_t",
                            "coverage_share",
                            "co2_t",
                            "co2_intensity_t_per_10k_cny",
                            "energy_tce",
                            "energy_intensity_tce_per_10k_cny",
                        )
                    },
                    "notes": list(dict.fromkeys(n for n in g["note_text"] if n)),
                }
            )
    return {"years": years, "city": rows, "districts": districts}


INTENSITY_COLS = (
    "value",
    "target_value_year",
    "actual_decline_pct",
    "scheduled_decline_pct",
    "decline_gap_pts",
    "forecast_end_value",
    "forecast_decline_pct",
    "forecast_decline_gap_pts",
)
TOTAL_COLS = (
    "value",
    "cap_value",
    "actual_to_date",
    "budget_to_date",
    "budget_use_ratio",
    "forecast_end_value",
    "forecast_cap_ratio",
)


def _filter_options(tg: pd.DataFrame, st: pd.DataFrame, lang: str) -> dict[str, list]:
    """The choices of the page's filters: object types, districts and targets present."""
    levels = [*tg["level"].dropna(), *st.get("entity_level", pd.Series(dtype=str)).dropna()]
    codes = {c for c in [*tg["district_code"], *st.get("district_code", [])] if c}
    regions = access.registry().regions
    names = regions["name_zh" if lang == "zh" else "name_en"]
    return {
        "levels": [lv for lv in pq.ENTITY_LEVELS if lv in set(levels)],
        "districts": [(c, str(names.get(c, c))) for c in sorted(codes)],
        "targets": list(zip(tg["code"], tg["name"], strict=True)),
    }


@router.get("/targets", response_class=HTMLResponse, include_in_schema=False)
def targets_page(
    request: Request,
    principal: PrincipalDep,
    code: Annotated[str | None, Query(max_length=100)] = None,
    lamp: Annotated[str | None, Query(pattern=f"^({'|'.join(LAMPS)})?$")] = None,
    level: Annotated[str | None, Query(pattern=f"^({'|'.join(pq.ENTITY_LEVELS)})?$")] = None,
    district: Annotated[str | None, Query(max_length=12)] = None,
    target: Annotated[str | None, Query(max_length=100)] = None,
) -> HTMLResponse:
    # the filter form sends "" for "all"
    lamp, level, district, target = (v or None for v in (lamp, level, district, target))
    lang = lang_of(request)
    t = Translator(lang)
    all_targets = pq.targets(principal)
    all_status = pq.status(principal)
    chosen = {"lamp": lamp, "entity_level": level, "district": district, "target": target}
    st = _by_lamp(pq.select_targets(all_status, **chosen))
    # a lamp picks the targets with a rule evaluated at that lamp (not only their worst one)
    tg = pq.select_targets(all_targets, **{**chosen, "lamp": None})
    if lamp:
        tg = tg[tg["code"].isin(st["code"])].reset_index(drop=True)
    computed = pq.result("target_progress") is not None
    ctx: dict[str, Any] = {
        "active": "targets",
        "scope": scope_label(principal, lang),
        "computed": computed,
        "targets": records(tg),
        "lamps": {lv: int((st["level"] == lv).sum()) for lv in LAMPS},
        "filters": {"lamp": lamp, "level": level, "district": district, "target": target},
        "options": _filter_options(all_targets, all_status, lang),
        "warnings": records(pq.warnings_log(principal).head(100)),
        "status": records(st),
        "city_wide": principal.can("read_city"),
        "dual": dual_control_view(pq.dual_control(principal), t),
        "note_text": lambda n: note_text(t, n),
    }
    with_progress = tg[tg["progress_year"].notna()] if "progress_year" in tg else tg.head(0)
    code = code or target
    selected = (
        code
        if code in set(with_progress["code"])
        else (str(with_progress["code"].iat[0]) if len(with_progress) else None)
    )
    if selected:
        row = tg[tg["code"] == selected].iloc[0].to_dict()
        prog = pq.progress(principal, selected)
        annual = pq.annual_path(principal, selected)
        ctx.update(
            selected=selected,
            selected_row=records(pd.DataFrame([row]))[0],
            progress_chart=_progress_chart(prog, annual, row, t),
            progress_rows=records(
                prog[
                    [
                        "year",
                        "months",
                        *[
                            c
                            for c in (INTENSITY_COLS if row["kind"] == "intensity" else TOTAL_COLS)
                            if c in prog and prog[c].notna().any()
                        ],
                    ]
                ]
            ),
        )
    return render(request, "targets.html", ctx)


# --------------------------------------------------------------------------- API
@router.get("/api/v1/targets", response_model=Page, tags=["targets"])
def api_targets(
    principal: PrincipalDep,
    level: Annotated[Literal[pq.ENTITY_LEVELS] | None, Query()] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Current targets the caller may see with their latest progress (actual, scheduled,
    forecast of the period end) and the worst warning lamp."""
    frame = pq.targets(principal)
    if level:
        frame = frame[frame["level"] == level]
    frame = frame.reset_index(drop=True)
    about = file_basis(principal, lang, frame, "target_progress")
    return page(frame, limit, offset, format, "targets", lang, about)


@router.get("/api/v1/targets/indicators", response_model=Page, tags=["targets"])
def api_indicators(
    principal: PrincipalDep,
    level: Annotated[Literal["city", "district"] | None, Query()] = None,
    indicator: Annotated[str | None, Query(max_length=60)] = None,
    limit: Limit = 500,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The dual-control indicators on the assessed basis (CO2 and its intensity, energy less
    feedstock and new renewables, non-fossil share; total GHG as reported), by entity and year,
    each with its 口径: role (assessed/reported/component), origin (computed, statistics,
    entered), status, basis, coverage, note, method and factor profile."""
    frame = pq.dual_control(principal, level, indicator)
    about = file_basis(principal, lang, frame, "dual_control_indicators")
    return page(frame, limit, offset, format, "dual_control_indicators", lang, about)


@router.get("/api/v1/targets/lamps", response_model=Lamps, tags=["targets"])
def api_lamps(principal: PrincipalDep) -> dict:
    """Number of subjects per latest warning lamp (red, yellow, green)."""
    return lamp_counts(principal)


@router.get("/api/v1/targets/progress", response_model=Page, tags=["targets"])
def api_progress(
    principal: PrincipalDep,
    target: Annotated[str | None, Query(max_length=100, description="target code")] = None,
    limit: Limit = 200,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Yearly progress of the visible targets (or one): actual value, scheduled and actual
    decline, gap, budget use, forecast of the period end."""
    frame = pq.progress(principal, target)
    about = file_basis(principal, lang, frame, "target_progress")
    return page(frame, limit, offset, format, "target_progress", lang, about)


@router.get("/api/v1/targets/annual", tags=["targets"])
def api_annual(
    principal: PrincipalDep, target: TargetCode, format: Format = "json", lang: FileLang = None
) -> Any:
    """The annual (schedule-proportional) decomposition of one target."""
    frame = pq.annual_path(principal, target)
    about = file_basis(principal, lang, frame)
    return one(frame, format, f"target_annual_{target}", lang, about)


@router.get("/api/v1/targets/status", response_model=Page, tags=["targets"])
def api_status(
    principal: PrincipalDep,
    level: Annotated[Literal["green", "yellow", "red"] | None, Query()] = None,
    limit: Limit = 200,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The latest evaluation of every warning rule: metric, value, threshold and lamp."""
    frame = pq.status(principal)
    if level:
        frame = frame[frame["level"] == level]
    frame = frame.reset_index(drop=True)
    about = file_basis(principal, lang, frame, "target_status")
    return page(frame, limit, offset, format, "target_status", lang, about)


@router.get("/api/v1/targets/warnings", response_model=Page, tags=["targets"])
def api_warnings(
    principal: PrincipalDep,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The warnings log (changes of lamp), newest first."""
    frame = pq.warnings_log(principal)
    about = file_basis(principal, lang, frame)
    return page(frame, limit, offset, format, "warnings_log", lang, about)


@router.get(
    "/api/v1/targets/report",
    tags=["targets"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def api_report(
    principal: PrincipalDep,
    period: Annotated[
        str | None, Query(pattern=PERIOD_PATTERN, description="first and last year: 2021-2025")
    ] = None,
    format: Literal["pdf", "xlsx"] = "pdf",
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """The dual-control report (PDF or Excel, from the reports module; city-wide roles)."""

    access.require(principal, "read_city")
    if pq.result("target_progress") is None:
        raise HTTPException(404, NOT_COMPUTED)
    try:
        data = targets_report(period)
    except InputError as err:  # a well-formed period without targets: not found
        raise HTTPException(404, err.message) from None
    return _stream_report(data, f"targets-{data.period}", format, targets_pdf, write_excel, lang)
