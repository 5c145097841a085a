"""电碳监测: the electricity-to-carbon nowcast (city / district / industry / key enterprise, with
intervals and the statistics where they arrived), how an estimate moved across vintages, the
backtest against the naive baseline, meter quality, load anomalies and hourly nodal scope 2;
the overview's "latest nowcast" panel, the enterprise page's 电-碳-能 panel and the JSON API
``/api/v1/power/...``. Reads only through :mod:`citycarbon.read.power`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup, escape

from citycarbon.read import access
from citycarbon.read import power as pw
from citycarbon.read.access import Principal
from citycarbon.runs import power as power_runs
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render, scope_label, templates
from citycarbon.web.i18n import Translator
from citycarbon.web.routes.api import FileLang, Format, Limit, Offset, Page, file_basis, page

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.require_principal)]
LevelName = Literal["city_wide", "city", "district", "park", "industry", "enterprise"]  # pw.LEVELS
Level = Annotated[LevelName | None, Query()]
Entity = Annotated[str | None, Query(max_length=32, description="entity code")]
PAGE = 50


def _r(v: Any, d: int = 1) -> float | None:
    return None if v is None or pd.isna(v) else round(float(v), d)


def _pick(principal: Principal, level: str | None, entity: str | None) -> tuple[str, str | None]:
    allowed = pw.levels(principal)
    if level not in allowed:  # the first level with a nowcast (no city-wide before an inventory)
        level = next((lv for lv in allowed if pw.entities(principal, lv)), allowed[0])
    ents = pw.entities(principal, level)
    return level, (entity if entity in ents else (ents[0] if ents else None))


def nowcast_chart(
    principal: Principal, level: str, entity: str, t: Translator, months: int = 24
) -> dict:
    """ECharts option: statistics (last ``months``), the newest vintage with its interval."""
    now = pw.nowcast(principal)
    now = now[(now["level"] == level) & (now["entity"] == entity)].sort_values("period")
    stats = pw.statistics(principal, level, entity).sort_values("period").tail(months)
    periods = sorted(set(stats["period"]) | set(now["period"]))
    labels = [p.strftime("%Y-%m") for p in periods]
    s = stats.set_index("period")["actual_tco2"].reindex(periods)
    n = now.set_index("period").reindex(periods)
    lo = n["lower_tco2"]
    actual = _actual_label(level, t)
    return {
        "legend": {
            "top": 0,
            "data": [actual, t("power.nowcast"), t("power.interval")],
        },
        "tooltip": {"trigger": "axis"},
        "grid": {"left": 80, "right": 20, "top": 36, "bottom": 30},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "name": "t CO₂", "scale": True},
        "series": [
            {"name": actual, "type": "line", "data": [_r(v) for v in s]},
            {"name": "lower", "type": "line", "stack": "ci", "symbol": "none",
             "lineStyle": {"opacity": 0}, "data": [_r(v) for v in lo], "tooltip": {"show": False}},
            {"name": t("power.interval"), "type": "line", "stack": "ci", "symbol": "none",
             "lineStyle": {"opacity": 0}, "areaStyle": {"opacity": 0.25},
             "data": [_r(u - v) if pd.notna(u) else None
                      for u, v in zip(n["upper_tco2"], lo, strict=True)]},
            {"name": t("power.nowcast"), "type": "line", "lineStyle": {"type": "dashed"},
             "data": [_r(v) for v in n["estimate_tco2"]]},
        ],
    }  # fmt: skip


def _actual_label(level: str, t: Translator) -> str:
    """What the estimates are compared with: the statistics, or for the city-wide estimate the
    city inventory's months."""
    return t("power.inventory_months") if level == "city_wide" else t("power.statistics")


def _label(level: str, code: str, lang: str) -> str:
    reg = access.registry()
    if level == "district" and code in reg.regions.index:
        return str(reg.regions.at[code, "name_zh" if lang == "zh" else "name_en"])
    if level == "park" and code in reg.parks.index:
        return str(reg.parks.at[code, "name_zh" if lang == "zh" else "name_en"])
    if level == "enterprise" and code in reg.enterprises.index:
        return str(reg.enterprises.at[code, "name"])
    if level in ("city", "city_wide"):
        return Translator(lang)(f"power.level_{level}")
    return code


def _named(frame: pd.DataFrame) -> pd.DataFrame:
    if frame.empty:
        return frame
    names = access.registry().enterprises["name"]
    return frame.assign(name=names.reindex(frame["enterprise_code"]).to_numpy())


def overview_panel(request: Request, principal: Principal) -> str | None:
    """The overview's "latest nowcast" panel: the newest months with intervals and vintage."""
    t = Translator(lang_of(request))
    f = pw.nowcast(principal)
    if f.empty:
        return None
    # the widest level the user sees: the reporters' city, else their district, park, enterprise
    level = next(
        lv for lv in ("city", "district", "park", "enterprise") if (f["level"] == lv).any()
    )
    rows = f[f["level"] == level]
    rows = rows[rows["entity"] == rows["entity"].iat[0]].sort_values("period").tail(3)
    vintage = pd.Timestamp(rows["as_of"].iat[0]).strftime("%Y-%m-%d")
    body = "".join(
        f"<tr><td>{p:%Y-%m}</td><td class='num'>{e:,.0f}</td>"
        f"<td class='num'>{lo:,.0f} – {hi:,.0f}</td></tr>"
        for p, e, lo, hi in zip(
            rows["period"],
            rows["estimate_tco2"],
            rows["lower_tco2"],
            rows["upper_tco2"],
            strict=True,
        )
    )  # three rows
    name = _label(level, str(rows["entity"].iat[0]), lang_of(request))
    return (
        f'<div id="nowcast-panel"><p class="muted">{escape(name)} · '
        f"{escape(t('power.vintage'))} {vintage}</p>"
        f'<table class="data compact"><thead><tr><th>{escape(t("common.month"))}</th>'
        f"<th class='num'>{escape(t('power.estimate'))} (t CO₂)</th>"
        f"<th class='num'>{escape(t('power.interval'))}</th></tr></thead><tbody>{body}"
        f'</tbody></table><p><a href="/power">{escape(t("power.open"))}</a></p></div>'
    )


def enterprise_panel(request: Request, principal: Principal, code: str) -> Markup | None:
    """The enterprise page's 电-碳-能 panel (indicators, nowcast if key, hourly scope 2)."""
    t = Translator(lang_of(request))
    ind = pw.indicators(principal)
    ind = ind[ind["enterprise_code"] == code].sort_values("year") if len(ind) else ind
    s2 = pw.scope2(principal)
    s2 = s2[s2["enterprise_code"] == code] if len(s2) else s2
    has_nc = code in pw.entities(principal, "enterprise")
    if ind.empty and s2.empty and not has_nc:
        return None
    html = templates.get_template("_power_enterprise.html").render(
        t=t,
        ind=records(ind),
        s2=records(s2)[0] if len(s2) else None,
        nc_chart=nowcast_chart(principal, "enterprise", code, t) if has_nc else None,
    )
    return Markup(html)


def _basis(principal: Principal, level: str, entity: str) -> dict[str, Any] | None:
    """What the newest monthly estimates of one level/entity rest on (the page's 口径 line):
    model, nominal interval level and its backtest coverage, and the share of the city
    inventory the 205-1 reporters measure (levels city and city_wide)."""
    f = pw.nowcast(principal)
    f = f[(f["level"] == level) & (f["entity"] == entity)].sort_values("period")
    if f.empty:
        return None
    last = f.iloc[-1]
    model = str(last["model"])
    return {
        "model": model,
        # city_wide: the proxies that scaled the unreported parts (the rest: the reporters')
        "proxies": [x for x in model.removeprefix("scaled_").split("+") if x != "reporters"],
        "confidence": _r(last["confidence"], 2),
        "coverage": _r(last["interval_coverage"], 3),
        "coverage_n": None
        if pd.isna(last["interval_coverage_n"])
        else int(last["interval_coverage_n"]),
        "inventory_year": None if pd.isna(last["inventory_year"]) else int(last["inventory_year"]),
        "inventory_share": _r(last["inventory_share"], 4),
    }


HISTORY_COLUMNS = [
    "period",
    "run_id",
    "as_of",
    "calibrated_through",
    "estimate_tco2",
    "lower_tco2",
    "upper_tco2",
    "model",
    "actual_tco2",
    "error_pct",
]


def _history(principal: Principal, level: str, entity: str) -> pd.DataFrame:
    """Every vintage's monthly estimate of one visible level/entity (how the estimate moved),
    with the statistics where they arrived (empty when out of scope)."""
    if not pw.visible(principal, level, entity):
        return pd.DataFrame()
    h = power_runs.nowcast_history(
        level=level, entity=entity, actuals=pw.statistics(principal, level, entity)
    )
    if h.empty:
        return h
    return h[HISTORY_COLUMNS].sort_values(["period", "as_of", "run_id"]).reset_index(drop=True)


@router.get("/power", response_class=HTMLResponse, include_in_schema=False)
def power_page(
    request: Request,
    principal: PrincipalDep,
    level: Level = None,
    entity: Entity = None,
) -> HTMLResponse:
    lang = lang_of(request)
    t = Translator(lang)
    level, entity = _pick(principal, level, entity)
    ents = pw.entities(principal, level)
    hist = _history(principal, level, entity) if entity else pd.DataFrame()
    episodes = pw.anomaly_episodes(principal)
    ctx: dict[str, Any] = {
        "active": "power",
        "scope": scope_label(principal, lang),
        "levels": pw.levels(principal),
        "level": level,
        "entity": entity,
        "entities": [{"code": c, "name": _label(level, c, lang)} for c in ents[:500]],
        "computed": entity is not None,
        "nc_chart": nowcast_chart(principal, level, entity, t) if entity else None,
        "nc_basis": _basis(principal, level, entity) if entity else None,
        "actual_label": _actual_label(level, t),
        "history": records(hist),
        "backtest": records(_backtest(principal)),
        "city_backtest": records(pw.city_backtest(principal)),
        "quality": records(pw.meter_quality(principal).head(PAGE)),
        "anomalies": records(_named(episodes.head(20))),
        "scope2": records(pw.scope2(principal).head(20)),
        "n": {
            "anomalies": len(episodes),
            "anomaly_days": int(episodes["days"].sum()),
            "quality": len(pw.meter_quality(principal)),
            "scope2": len(pw.scope2(principal)),
        },
    }
    if len(hist):
        piv = hist.assign(
            p=hist["period"].dt.strftime("%Y-%m"),
            v=hist["as_of"].dt.strftime("%Y-%m-%d")
            + " ("
            + t("power.through")
            + " "
            + hist["calibrated_through"].dt.strftime("%Y-%m")
            + ")",
        )
        vint = sorted(piv["v"].unique())
        ctx["history_chart"] = {
            "legend": {"top": 0, "type": "scroll"},
            "tooltip": {"trigger": "axis"},
            "grid": {"left": 80, "right": 20, "top": 48, "bottom": 30},
            "xAxis": {"type": "category", "data": sorted(piv["p"].unique())},
            "yAxis": {"type": "value", "name": "t CO₂", "scale": True},
            "series": [
                {
                    "name": v,
                    "type": "line",
                    "data": [
                        _r(x)
                        for x in piv[piv["v"] == v]
                        .groupby("p")["estimate_tco2"]
                        .last()
                        .reindex(sorted(piv["p"].unique()))
                    ],
                }
                for v in vint
            ]
            + [
                {
                    "name": _actual_label(level, t),
                    "type": "scatter",
                    "data": [
                        _r(x)
                        for x in piv.groupby("p")["actual_tco2"]
                        .first()
                        .reindex(sorted(piv["p"].unique()))
                    ],
                }
            ],
        }
    return render(request, "power.html", ctx)


# --------------------------------------------------------------------------- API
@router.get("/api/v1/power/nowcast", response_model=Page, tags=["power"])
def api_nowcast(
    principal: PrincipalDep,
    level: Level = None,
    entity: Entity = None,
    frequency: Literal["month", "week", "day"] = "month",
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The newest nowcast vintage: estimate and interval [t CO2] per level, entity and period."""
    f = pw.nowcast(principal, frequency)
    if level and len(f):
        f = f[f["level"] == level]
    if entity and len(f):
        f = f[f["entity"] == entity]
    f = f.reset_index(drop=True)
    return page(
        f, limit, offset, format, "nowcast", lang, file_basis(principal, lang, f, "nowcast")
    )


@router.get("/api/v1/power/nowcast/history", response_model=Page, tags=["power"])
def api_history(
    principal: PrincipalDep,
    level: Annotated[LevelName, Query()],
    entity: Annotated[str, Query(max_length=32)],
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Every vintage's monthly estimate of one entity, with the statistics where they arrived."""
    frame = _history(principal, level, entity)
    about = file_basis(principal, lang, frame, "nowcast")
    return page(frame, limit, offset, format, "nowcast_history", lang, about)


def _table(name: str, fn: Any) -> Any:
    def endpoint(
        principal: PrincipalDep,
        limit: Limit = 100,
        offset: Offset = 0,
        format: Format = "json",
        lang: FileLang = None,
    ) -> Any:
        frame = fn(principal)
        about = file_basis(principal, lang, frame, name)
        return page(frame, limit, offset, format, name, lang, about)

    endpoint.__doc__ = fn.__doc__
    return endpoint


def _backtest(principal: Principal) -> pd.DataFrame:
    """MAPE per level and model vs the naive baseline over the rows the principal may see."""
    return power_runs.backtest_table(pw.backtest_rows(principal))


for _path, _name, _fn in (
    ("backtest", "nowcast_backtest", _backtest),
    ("city-backtest", "nowcast_city_backtest", pw.city_backtest),
    ("meter-quality", "meter_quality", pw.meter_quality),
    ("anomalies", "load_anomalies", pw.anomalies),
    ("indicators", "power_indicators", pw.indicators),
    ("scope2", "hourly_scope2", pw.scope2),
):
    router.add_api_route(
        f"/api/v1/power/{_path}",
        _table(_name, _fn),
        methods=["GET"],
        response_model=Page,
        tags=["power"],
        name=f"api_power_{_name}",
    )
