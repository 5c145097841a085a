"""总览: city (or the user's scope) totals by year and month, by district, largest emitters,
city statistics; panels of other modules (targets, nowcast) when they are computed.

Other modules add a panel by giving their route module a function
``overview_panel(request, principal) -> str | None`` (HTML, already escaped); until then the
panel shows a 'not yet computed' message.
"""

from __future__ import annotations

import importlib
from typing import Annotated, Any

import pandas as pd
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markupsafe import Markup

from citycarbon.read import access
from citycarbon.read import pages as pq
from citycarbon.read.access import Principal
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render, scope_label
from citycarbon.web.i18n import Translator

router = APIRouter(include_in_schema=False)
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]

#: (panel key, route module that may provide ``overview_panel``, i18n key of the placeholder)
PANELS = (
    ("targets", "targets", "overview.targets_missing"),
    ("nowcast", "power", "overview.nowcast_missing"),
)


def _panels(request: Request, principal: Principal) -> list[dict[str, Any]]:
    out = []
    present = request.app.state.route_modules
    for key, module, missing in PANELS:
        html = None
        if module in present:
            fn = getattr(
                importlib.import_module(f"citycarbon.web.routes.{module}"), "overview_panel", None
            )
            if fn is not None:
                html = fn(request, principal)
        out.append({"key": key, "html": Markup(html) if html else None, "missing": missing})
    return out


@access.memoized
def overview_data(principal: Principal) -> dict[str, Any]:
    """Everything the overview shows, as JSON-ready values (also served by the API)."""
    years = access.totals_by_year(principal)
    res = access.results()
    latest = int(years["year"].max()) if len(years) else None
    return {
        "years": records(years),
        "latest_year": latest,
        "months": records(access.totals_by_month(principal)),
        "districts": records(access.totals_by_district(principal, latest)) if latest else [],
        "top": records(access.top_emitters(principal, latest)) if latest else [],
        "run_id": res.run_id if res else None,
        "factor_profile": res.factor_profile if res else None,
    }


def _charts(data: dict[str, Any], t: Translator, lang: str) -> dict[str, Any]:
    years = [str(r["year"]) for r in data["years"]]
    trend = {
        "legend": {"bottom": 0},
        "grid": {"left": 70, "right": 70, "top": 40, "bottom": 76},
        "xAxis": {"type": "category", "data": years},
        "yAxis": [
            {"type": "value", "name": "t CO₂"},
            {"type": "value", "name": "tce", "splitLine": {"show": False}},
        ],
        "series": [
            {
                "name": t("overview.scope1"),
                "type": "bar",
                "stack": "co2",
                "data": [round(r["scope1_co2_t"], 1) for r in data["years"]],
            },
            {
                "name": t("overview.scope2"),
                "type": "bar",
                "stack": "co2",
                "data": [round(r["scope2_co2_t"], 1) for r in data["years"]],
            },
            {
                "name": t("overview.energy"),
                "type": "line",
                "yAxisIndex": 1,
                "data": [round(r["energy_tce"], 1) for r in data["years"]],
            },
        ],
    }
    months = data["months"]
    monthly = {
        "grid": {"left": 70, "right": 20, "top": 20, "bottom": 50},
        "xAxis": {"type": "category", "data": [f"{r['year']}-{r['month']:02d}" for r in months]},
        "yAxis": {"type": "value", "name": "t CO₂"},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 16, "bottom": 8}],
        "series": [
            {
                "name": t("overview.co2"),
                "type": "line",
                "smooth": True,
                "showSymbol": False,
                "areaStyle": {"opacity": 0.15},
                "data": [round(r["co2_t"], 1) for r in months],
            }
        ],
    }
    d = data["districts"]
    by_district = {
        "grid": {"left": 90, "right": 30, "top": 10, "bottom": 30},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "xAxis": {"type": "value", "name": "t CO₂"},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [
                (r["district"] if lang == "zh" else r["district_en"]) or r["district_code"]
                for r in d
            ],
        },
        "series": [
            {"name": t("overview.co2"), "type": "bar", "data": [round(r["co2_t"], 1) for r in d]}
        ],
    }
    return {"trend": trend, "monthly": monthly, "by_district": by_district}


def _statistics(principal: Principal, lang: str) -> pd.DataFrame:
    """City statistics of the principal's area (the city, or their district) by year."""
    s = access.city_statistics(principal)
    if s.empty:
        return pd.DataFrame()
    reg = access.registry().regions
    if principal.city_wide:
        s = s[s["region_code"].isin(reg.index[reg["level"] == "city"])]
    if "price_basis" in s:
        s = s[s["price_basis"].isin(["", "current"])]
    if s.empty:
        return pd.DataFrame()
    s = s.assign(
        region=reg["name_zh" if lang == "zh" else "name_en"].reindex(s["region_code"]).to_numpy()
    )
    t = Translator(lang)
    s = s.assign(
        indicator=[t(f"stats.{c}") if t.has(f"stats.{c}") else c for c in s["indicator"]],
        unit=[t(f"stat_units.{u}") if t.has(f"stat_units.{u}") else u for u in s["unit"]],
    )
    table = s.pivot_table(
        index=["region", "indicator", "unit"], columns="year", values="value", aggfunc="first"
    ).reset_index()
    table.columns = [
        t(f"stats.{c}") if c in ("region", "indicator", "unit") else str(c) for c in table.columns
    ]
    return table


@router.get("/", response_class=HTMLResponse)
def overview_page(request: Request, principal: PrincipalDep) -> Response:
    if not principal.can("read_emissions"):  # a 责任单位 user: its home is 行动跟踪
        return RedirectResponse(f"/actions?lang={lang_of(request)}", status_code=303)
    lang = lang_of(request)
    t = Translator(lang)
    data = overview_data(principal)
    kpis = None
    if data["years"]:
        last = data["years"][-1]
        kpis = {"last": last, "ytd": access.year_to_date(principal)}
    stats = _statistics(principal, lang)
    return render(
        request,
        "overview.html",
        {
            "active": "overview",
            "data": data,
            "kpis": kpis,
            "charts": _charts(data, t, lang) if data["years"] else None,
            "scope": scope_label(principal, lang),
            "panels": _panels(request, principal),
            "stats": stats,
            "scope2_basis": records(pq.scope2_basis(principal, kpis["last"]["year"]).head(1))
            if kpis
            else [],
        },
    )
