"""清单: the city GHG inventory of a year by sector, gas and scope on both accounting bases
(territorial; incl. net imported electricity), the drill-down city → district → park → industry
→ enterprise, coverage and the unattributed residual, indicators (year, quarter, month),
uncertainty (IPCC approaches 1 and 2), the scope-2 basis (declared grid region and factor year
on every scope-2 figure, the city total under the other grid regions, market-based), the GPC
reporting table (BASIC, BASIC+, memo items), transport by mode (domestic vs international memo
items, aviation LTO vs cruise, water-borne harbour vs coastal) with each airport and port
reported as an entity, and the 能源平衡表 with its Excel download; and the JSON API
``/api/v1/inventory/...``. Reads only through :mod:`citycarbon.read.pages`."""

from __future__ import annotations

import dataclasses
import io
import math
import tempfile
from pathlib import Path as FsPath
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from citycarbon.read import access
from citycarbon.read import pages as pq
from citycarbon.read.access import Principal
from citycarbon.read.presentation import in_display_units
from citycarbon.reports.excel import write_excel
from citycarbon.reports.pdf import inventory_pdf
from citycarbon.reports.tables import write_tables
from citycarbon.runs.inventory import write_balance_xlsx
from citycarbon.runs.reporting_tables import GUIDELINE_BASIS, layout, reporting_tables
from citycarbon.runs.reports import inventory_report
from citycarbon.web import auth
from citycarbon.web.app import (
    XLSX,
    attachment,
    lang_of,
    records,
    render,
    scope_label,
    table_download,
)
from citycarbon.web.i18n import Translator
from citycarbon.web.routes.api import FileLang, Format, Limit, Offset, Page, file_basis, page

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.require_principal)]
Year = Annotated[int | None, Query(ge=1900, le=2200, description="inventory year (default latest)")]
Basis = Annotated[
    Literal["incl_net_imported_electricity", "territorial"],
    Query(description="accounting basis: territorial (scope 1) or incl. net imported electricity"),
]
Code = Annotated[str | None, Query(max_length=32)]
NOT_COMPUTED = "not yet computed: run `citycarbon inventory compute` (or `citycarbon demo`)"
PAGE_DRILL = 100


class Provenance(BaseModel):
    result: str
    run_id: str
    factor_profile: str
    method: str


class InventorySummary(BaseModel):
    """Inventory of one year and basis over the caller's scope."""

    year: int
    basis: str
    scope: str = Field(description="what the totals cover: the city or the caller's enterprises")
    total_tco2e: float
    by_sector: list[dict[str, Any]]
    by_gas: list[dict[str, Any]]
    by_scope: list[dict[str, Any]]
    provenance: Provenance | None


class Drilldown(BaseModel):
    level: str = Field(description="the level listed: district, park, industry or enterprise")
    year: int
    basis: str
    filters: dict[str, str | None]
    total_tco2e: float | None
    total: int
    limit: int
    offset: int
    items: list[dict[str, Any]]


def _year(principal: Principal, year: int | None) -> int:
    years = pq.inventory_years(principal)
    if not years:
        raise HTTPException(404, NOT_COMPUTED)
    if year is None:
        return years[-1]
    if year not in years:
        raise HTTPException(404, f"no inventory for {year}; computed years: {years}")
    return year


# --------------------------------------------------------------------------- charts
def _charts(principal: Principal, year: int, basis: str, summary: dict, t: Translator) -> dict:
    trend = pq.inventory_trend(principal, basis, t.lang)
    sectors = [c for c in trend.columns if c not in ("year", "total")]
    stacked = {
        "legend": {"type": "scroll", "bottom": 0},
        "grid": {"left": 80, "right": 20, "top": 30, "bottom": 60},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "xAxis": {"type": "category", "data": [str(y) for y in trend["year"]]},
        "yAxis": {"type": "value", "name": "tCO₂e"},
        "series": [
            {"name": s, "type": "bar", "stack": "sector", "data": trend[s].round(1).tolist()}
            for s in sectors
        ]
        + [
            {"name": t("inventory.total"), "type": "line", "data": trend["total"].round(1).tolist()}
        ],
    }
    gas = summary["by_gas"].dropna(subset=["emissions_tco2e"])
    pie = {
        "tooltip": {"trigger": "item"},
        "legend": {"bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["35%", "65%"],
                "label": {"formatter": "{b}: {d}%"},
                "data": [
                    {"name": g, "value": round(float(v), 1)}
                    for g, v in zip(gas["gas"], gas["emissions_tco2e"], strict=True)
                ],
            }
        ],
    }
    sec = summary["by_sector"].dropna(subset=["emissions_tco2e"])
    bars = {
        "grid": {"left": 150, "right": 30, "top": 10, "bottom": 30},
        "tooltip": {"trigger": "axis", "axisPointer": {"type": "shadow"}},
        "xAxis": {"type": "value", "name": "tCO₂e"},
        "yAxis": {
            "type": "category",
            "inverse": True,
            "data": [
                f"{n} (S{s})"
                for n, s in zip(pq.sector_label(sec, t.lang), sec["scope"], strict=True)
            ],
        },
        "series": [
            {
                "type": "bar",
                "name": t("inventory.emissions"),
                "data": sec["emissions_tco2e"].round(1).tolist(),
            }
        ],
    }
    return {"stacked": stacked, "pie": pie, "bars": bars}


def _indicator_views(principal: Principal, period: str, t: Translator) -> dict[str, Any]:
    ind = pq.indicators(principal, period)
    if ind.empty:
        return {"table": None, "chart": None}
    if period == "year":
        wide = (
            in_display_units(ind, t.lang)
            .pivot_table(
                index=["indicator", "unit", "basis"],
                columns="year",
                values="value",
                aggfunc="first",
                sort=False,
            )
            .reset_index()
        )
        wide.columns = [str(c) for c in wide.columns]
        years = [c for c in wide.columns if c.isdigit()]
        inten = ind[ind["indicator"] == "intensity_tco2e_per_10k_cny"]
        total = ind[ind["indicator"] == "total_ghg_tco2e"]
        chart = {
            "legend": {"top": 0},
            "grid": {"left": 80, "right": 80, "top": 40, "bottom": 30},
            "xAxis": {"type": "category", "data": years},
            "yAxis": [
                {"type": "value", "name": "tCO₂e"},
                {"type": "value", "name": "tCO₂e/万元", "splitLine": {"show": False}},
            ],
            "series": [
                {
                    "name": t("inventory.total"),
                    "type": "bar",
                    "data": total["value"].round(1).tolist(),
                },
                {
                    "name": t("inventory.ind.intensity_tco2e_per_10k_cny"),
                    "type": "line",
                    "yAxisIndex": 1,
                    "data": inten["value"].round(4).tolist(),
                },
            ],
        }
        return {"table": wide, "years": years, "chart": chart}
    wide = ind.pivot_table(
        index=["year", "period"], columns="indicator", values="value", aggfunc="first"
    ).reset_index()
    wide = wide.rename_axis(columns=None)
    label = "M" if period == "month" else "Q"
    x = [
        f"{y}-{label}{p:02d}" if period == "month" else f"{y}-Q{p}"
        for y, p in zip(wide["year"], wide["period"], strict=True)
    ]
    series = [
        {
            "name": t(f"inventory.ind.{c}"),
            "type": "line",
            "smooth": True,
            "data": wide[c].round(1).tolist(),
        }
        for c in ("total_ghg_tco2e", "total_ghg_tco2e_territorial")
        if c in wide
    ]
    chart = {
        "legend": {"top": 0},
        "grid": {"left": 80, "right": 20, "top": 40, "bottom": 50},
        "xAxis": {"type": "category", "data": x},
        "yAxis": {"type": "value", "name": "tCO₂e"},
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 16, "bottom": 8}],
        "series": series,
    }
    return {"table": wide, "chart": chart}


def _crumbs(principal: Principal, filters: dict, t: Translator) -> list[dict[str, str]]:
    """The drill-down path; a park is named only when the user may see it (else its code as
    typed, so a hand-edited URL tells nothing about a hidden park)."""
    reg = access.registry()
    visible = access.visible_park_codes(principal)
    parks = (
        reg.parks["name_zh"]
        if visible is None
        else reg.parks["name_zh"].loc[reg.parks.index.isin(visible)]
    )
    crumbs = [{"label": t("inventory.city"), "href": "/inventory?"}]
    params: dict[str, str] = {}
    for key, names in (
        ("district", reg.regions["name_zh"]),
        ("park", parks),
        ("industry", None),
    ):
        v = filters.get(key)
        if not v:
            continue
        params[key] = v
        name = (names.get(v) if names is not None else None) or (
            pq.pseudo_entity_name(v, t.lang) if v == pq.NO_PARK else v
        )
        crumbs.append(
            {
                "label": str(name),
                "href": "/inventory?" + urlencode(params),
            }
        )
    return crumbs


# --------------------------------------------------------------------------- page
@router.get("/inventory", response_class=HTMLResponse, include_in_schema=False)
def inventory_page(
    request: Request,
    principal: PrincipalDep,
    year: Year = None,
    basis: Basis = "incl_net_imported_electricity",
    district: Code = None,
    park: Code = None,
    industry: Code = None,
    period: Literal["year", "quarter", "month"] = "year",
    tce_basis: Literal["calorific", "coal_equivalent"] = "calorific",
) -> HTMLResponse:
    lang = lang_of(request)
    t = Translator(lang)
    years = pq.inventory_years(principal)
    ctx: dict[str, Any] = {
        "active": "inventory",
        "years": years,
        "basis": basis,
        "period": period,
        "tce_basis": tce_basis,
        "scope": scope_label(principal, lang),
        "city_wide": principal.can("read_city"),
    }
    if not years:
        return render(request, "inventory.html", ctx)
    year = year if year in years else years[-1]
    summary = pq.inventory_summary(principal, year, basis)
    other = "territorial" if basis != "territorial" else "incl_net_imported_electricity"
    totals = {
        basis: summary["total_tco2e"],
        other: float(pq.inventory_rows(principal, year, other)["emissions_tco2e"].sum(min_count=1)),
    }
    drill = pq.drilldown(
        principal, year, basis, district=district, park=park, industry=industry, lang=lang
    )
    ctx.update(
        year=year,
        summary={k: (records(v) if isinstance(v, pd.DataFrame) else v) for k, v in summary.items()},
        totals=totals,
        charts=_charts(principal, year, basis, summary, t),
        drill=drill,
        no_city_total=principal.can("read_city") and math.isnan(summary["total_tco2e"]),
        drill_rows=records(drill["rows"].head(PAGE_DRILL)),
        drill_total_rows=len(drill["rows"]),
        crumbs=_crumbs(principal, drill["filters"], t),
        drill_query=urlencode({k: v for k, v in drill["filters"].items() if v}),
        provenance=pq.provenance("city_inventory"),
        scope2=records(pq.scope2_basis(principal, year)),
    )
    if principal.can("read_city"):
        rec = pq.reconciliation(principal, year)
        views = _indicator_views(principal, period, t)
        unc = pq.uncertainty(principal, year)
        bal = pq.energy_balance(principal, year, tce_basis, lang)
        transport = pq.transport(principal, year)
        facilities = pq.transport_facilities(principal, year)
        ctx.update(
            reconciliation=records(rec),
            indicators=views,
            indicator_rows=records(views["table"]) if views["table"] is not None else [],
            uncertainty=records(unc),
            balance={
                "physical": bal["physical"],
                "tce": bal["tce"],
                "flags": bal["flags"],
                "residual": records(bal.get("residual", pd.DataFrame())),
            },
            balance_years=pq.balance_years(principal),
            gpc=records(pq.gpc_table(principal, year)),
            gpc_totals=pq.gpc_totals(principal, year),
            sinks=records(pq.sinks(principal, year)),
            net=pq.net_totals(principal, year, basis),
            transport=records(transport),
            transport_totals={r["mode"]: r for r in records(pq.transport_totals(transport))},
            facilities=records(facilities),
            facility_totals={
                r["facility"]: r for r in records(pq.transport_totals(facilities, by="facility"))
            },
        )
    return render(request, "inventory.html", ctx)


# --------------------------------------------------------------------------- API
@router.get("/api/v1/inventory/years", response_model=list[int], tags=["inventory"])
def api_years(principal: PrincipalDep) -> list[int]:
    """Years of the computed city inventory (empty when not computed)."""
    return pq.inventory_years(principal)


@router.get("/api/v1/inventory/summary", response_model=InventorySummary, tags=["inventory"])
def api_summary(
    principal: PrincipalDep, year: Year = None, basis: Basis = "incl_net_imported_electricity"
) -> dict:
    """Emissions [tCO2e] by sector (with scope), gas and scope and the total, for a year and
    basis. City-wide roles get the city (top-down); scoped roles the sum of their enterprises."""
    y = _year(principal, year)
    s = pq.inventory_summary(principal, y, basis)
    return {
        "year": y,
        "basis": basis,
        "scope": "city"
        if principal.can("read_city")
        else f"enterprises of {scope_label(principal, 'en')}",
        "total_tco2e": s["total_tco2e"],
        "by_sector": records(s["by_sector"]),
        "by_gas": records(s["by_gas"]),
        "by_scope": records(s["by_scope"]),
        "provenance": pq.provenance("city_inventory"),
    }


@router.get("/api/v1/inventory/rows", response_model=Page, tags=["inventory"])
def api_rows(
    principal: PrincipalDep,
    year: Year = None,
    basis: Annotated[
        Literal["incl_net_imported_electricity", "territorial"] | None, Query()
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Inventory rows (year, sector, gas, scope, basis, emissions, notation key) of the scope."""
    y = _year(principal, year) if year is not None else None
    frame = pq.inventory_rows(principal, y, basis)
    if format != "json" and lang:
        about = pq.inventory_basis(principal, y, basis, lang)
        return table_download(frame, "inventory_rows", format, lang, about)
    return page(frame, limit, offset, format, "inventory_rows")


@router.get("/api/v1/inventory/trend", tags=["inventory"])
def api_trend(
    principal: PrincipalDep,
    basis: Basis = "incl_net_imported_electricity",
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Emissions by year and sector (wide) with the total."""
    frame = pq.inventory_trend(principal, basis, lang or "zh")
    if format == "json":
        return records(frame)
    about = pq.inventory_basis(principal, None, basis, lang) if lang else None
    sectors = {str(c): "tCO2e" for c in frame.columns if c != "year"}  # one column a sector
    return table_download(frame, "inventory_trend", format, lang, about, sectors)


@router.get("/api/v1/inventory/drilldown", response_model=Drilldown, tags=["inventory"])
def api_drilldown(
    principal: PrincipalDep,
    year: Year = None,
    basis: Basis = "incl_net_imported_electricity",
    district: Code = None,
    park: Annotated[
        str | None, Query(max_length=32, description="park code; '-' = no park")
    ] = None,
    industry: Annotated[str | None, Query(max_length=8, description="GB/T 4754 class")] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The level below the filters (district → park → industry → enterprise) with emissions and
    shares; at the city level city-wide roles also get the unattributed residual."""
    y = _year(principal, year)
    d = pq.drilldown(
        principal, y, basis, district=district, park=park, industry=industry, lang=lang or "zh"
    )
    if format != "json":
        about = pq.inventory_basis(principal, y, basis, lang) if lang else None
        return table_download(d["rows"], f"inventory_{d['level']}", format, lang, about)
    return {
        "level": d["level"],
        "year": y,
        "basis": basis,
        "filters": d["filters"],
        "total_tco2e": d["total_tco2e"],
        "total": len(d["rows"]),
        "limit": limit,
        "offset": offset,
        "items": records(d["rows"].iloc[offset : offset + limit]),
    }


@router.get("/api/v1/inventory/indicators", response_model=Page, tags=["inventory"])
def api_indicators(
    principal: PrincipalDep,
    period: Literal["year", "quarter", "month"] = "year",
    limit: Limit = 500,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """City indicators: totals, intensity per GDP and its decline vs the base year, per capita,
    energy intensity, non-fossil and coal shares (city-wide roles)."""
    frame = pq.indicators(principal, period)
    about = pq.table_basis(principal, lang, result_name="city_indicators") if lang else None
    return page(frame, limit, offset, format, f"indicators_{period}", lang, about)


@router.get("/api/v1/inventory/scope2", response_model=Page, tags=["inventory"])
def api_scope2(
    principal: PrincipalDep,
    year: Year = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The scope-2 basis: the declared grid region, factor and the year it was published for;
    for city-wide roles also the city total under the other grid regions (sensitivity) and
    market-based scope 2 (certificates and contracts counted once, residual factor)."""
    frame = pq.scope2_basis(principal, year)
    about = file_basis(principal, lang, frame, "city_scope2")
    return page(frame, limit, offset, format, "inventory_scope2", lang, about)


@router.get("/api/v1/inventory/gpc", response_model=Page, tags=["inventory"])
def api_gpc(
    principal: PrincipalDep,
    year: Year = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The GPC v1.1 reporting table of a year: tCO2e per reference number with scope, notation
    key and BASIC / BASIC+ / memo flags (city-wide roles)."""
    y = _year(principal, year)
    frame = pq.gpc_table(principal, y)
    if format != "json" and lang:
        about = pq.inventory_basis(principal, y, "incl_net_imported_electricity", lang)
        return table_download(frame, "inventory_gpc", format, lang, about)
    return page(frame, limit, offset, format, f"inventory_gpc_{y}")


@router.get("/api/v1/inventory/transport", response_model=Page, tags=["inventory"])
def api_transport(
    principal: PrincipalDep,
    year: Year = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Transport of a year by mode, kind of trip and flight phase (LTO / cruise of aviation with
    the airport's LTO statistics): energy, CO2, CH4, N2O and tCO2e; international trips are memo
    items outside every total (city-wide roles)."""
    y = _year(principal, year)
    frame = pq.transport(principal, y)
    about = file_basis(principal, lang, frame, "city_transport", year=y)
    return page(frame, limit, offset, format, "inventory_transport", lang, about)


@router.get("/api/v1/inventory/transport/facilities", response_model=Page, tags=["inventory"])
def api_transport_facilities(
    principal: PrincipalDep,
    year: Year = None,
    facility: Annotated[
        str | None, Query(max_length=100, description="one airport or port (default all)")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """The entity reports of the airports and ports of a year (or of one ``facility``): per
    facility, mode, kind of navigation, trip, flight phase (LTO / cruise) and fuel, energy,
    CO2, CH4, N2O and tCO2e; international trips are memo rows outside every total (city-wide
    roles)."""
    y = _year(principal, year)
    frame = pq.transport_facilities(principal, y, facility)
    if facility is not None and frame.empty:
        raise HTTPException(404, f"no facility {facility!r} reports transport fuel in {y}")
    about = file_basis(principal, lang, frame, "city_transport", year=y)
    return page(frame, limit, offset, format, "inventory_transport_facilities", lang, about)


@router.get("/api/v1/inventory/uncertainty", response_model=Page, tags=["inventory"])
def api_uncertainty(
    principal: PrincipalDep,
    year: Year = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """95 % ranges of the city total, IPCC 2006 Vol. 1 Ch. 3 approach 1 (error propagation)
    and approach 2 (Monte Carlo), per basis (city-wide roles)."""
    frame = pq.uncertainty(principal, year)
    about = file_basis(principal, lang, frame, "inventory_uncertainty")
    return page(frame, limit, offset, format, "inventory_uncertainty", lang, about)


@router.get("/api/v1/inventory/reconciliation", response_model=Page, tags=["inventory"])
def api_reconciliation(
    principal: PrincipalDep,
    year: Year = None,
    limit: Limit = 200,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Top-down city vs bottom-up enterprises by sector: coverage share and unattributed
    residual (city-wide roles)."""
    frame = pq.reconciliation(principal, year)
    about = file_basis(principal, lang, frame, "inventory_reconciliation")
    return page(frame, limit, offset, format, "inventory_reconciliation", lang, about)


@router.get("/api/v1/inventory/balance", response_model=Page, tags=["inventory"])
def api_balance(
    principal: PrincipalDep,
    year: Year = None,
    tce_basis: Literal["calorific", "coal_equivalent"] = "calorific",
    limit: Limit = 500,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """能源平衡表 rows (item × fuel): physical quantity, unit, tce and consistency flag
    (city-wide roles); the file's 口径 names the standard-coal basis (当量值/等价值)."""
    years = pq.balance_years(principal)
    if not years:
        raise HTTPException(404, NOT_COMPUTED)
    y = year if year is not None else years[-1]
    frame = pq.energy_balance(principal, y, tce_basis)["long"]
    about = (
        pq.table_basis(principal, lang, year=y, result_name="energy_balance", energy=tce_basis)
        if lang
        else None
    )
    name = "energy_balance" if lang else f"energy_balance_{y}"  # a file for people: 口径 year
    return page(frame, limit, offset, format, name, lang, about)


@router.get(
    "/api/v1/inventory/balance.xlsx",
    tags=["inventory"],
    response_class=Response,
    responses={
        200: {"content": {"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {}}}
    },
)
def api_balance_xlsx(principal: PrincipalDep, year: Year = None, lang: FileLang = None) -> Response:
    """The 能源平衡表 of a year in the statistical bureaus' layout (实物量, 标准量 当量值/等价值,
    检查), as Excel (city-wide roles); with ``lang`` labelled in that language with a 说明 sheet
    (the 口径: city, year, 当量值 and 等价值) and a Chinese/English file name."""

    access.require(principal, "read_city")
    bal = pq.result("energy_balance")
    if bal is None:
        raise HTTPException(404, NOT_COMPUTED)
    y = year if year is not None else int(bal["year"].max())
    if y not in set(bal["year"].astype(int)):
        raise HTTPException(
            404, f"no energy balance for {y}; computed years: {pq.balance_years(principal)}"
        )
    about = (
        pq.table_basis(principal, lang, year=y, result_name="energy_balance", energy="both")
        if lang
        else None
    )
    with tempfile.TemporaryDirectory(prefix="cc-balance-") as tmp:  # private (0700)
        body = write_balance_xlsx(
            bal,
            FsPath(tmp) / "energy_balance.xlsx",
            year=y,
            lang=lang or "zh",
            about=about.frame(lang) if about else None,
        ).read_bytes()
    shown = about.file_name("energy_balance", "xlsx", lang) if about else None
    return Response(body, media_type=XLSX, headers=attachment(f"energy_balance_{y}.xlsx", shown))


@router.get(
    "/api/v1/inventory/report",
    tags=["inventory"],
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}}},
)
def api_report(
    principal: PrincipalDep,
    year: Year = None,
    format: Literal["pdf", "xlsx"] = "pdf",
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """The inventory report of a year (PDF or Excel, from the reports module, in Chinese or
    English; city-wide roles)."""

    access.require(principal, "read_city")
    y = _year(principal, year)
    data = inventory_report(y)
    return _stream_report(
        data, f"inventory-{data.period}", format, inventory_pdf, write_excel, lang
    )


#: The reporting-table workbooks: sheets, the basis of their figures and their file title.
TABLE_FILES = {
    "guideline": (
        [f"guideline_{k}" for k in ("summary", *layout()["guideline"])],
        GUIDELINE_BASIS,
        "guideline_tables",
    ),
    "gpc": (["gpc_ciris"], "", "gpc_ciris"),
}
XLSX_RESPONSE = {200: {"content": {XLSX: {}}}}


@router.get(
    "/api/v1/inventory/tables/{workbook}.xlsx",
    tags=["inventory"],
    response_class=Response,
    responses=XLSX_RESPONSE,
)
def api_reporting_tables(
    principal: PrincipalDep,
    workbook: Literal["guideline", "gpc"],
    year: Year = None,
    lang: Literal["zh", "en"] = "zh",
) -> Response:
    """The reporting tables of a year as Excel (city-wide roles): ``guideline`` = the
    provincial guideline's 总表 and sector tables (energy, IPPU, agriculture, LUCF, waste;
    territorial), ``gpc`` = GPC BASIC / BASIC+ in a CIRIS-like layout (sub-sectors x scopes,
    notation keys, data-quality marks). Sheets, labels and file name in ``lang``."""
    access.require(principal, "read_city")
    y = _year(principal, year)
    names, basis, title = TABLE_FILES[workbook]
    t = Translator(lang)
    about = dataclasses.replace(
        pq.inventory_basis(principal, y, basis, lang),
        scope=t(f"inventory.tables_scope_{workbook}"),
        source=layout()["source"][lang],
    )
    body = write_tables(reporting_tables(y), names, about, io.BytesIO(), lang)
    return Response(
        body.getvalue(),
        media_type=XLSX,
        headers=attachment(f"{title}_{y}.xlsx", about.file_name(title, "xlsx", lang)),
    )


def _stream_report(
    data: Any, stem: str, fmt: str, pdf: Any, excel: Any, lang: str = "zh"
) -> Response:
    """A report written into memory and sent as a download (no file on the server), named
    after its title (``厦门市温室气体排放清单报告_2024.pdf``, ASCII ``stem`` as fallback)."""
    body = io.BytesIO()
    if fmt == "pdf":
        pdf(data, body, lang)
        media = "application/pdf"
    else:
        excel(data, body, lang)
        media = XLSX
    name = "_".join(data.title_in(lang).split()) + f".{fmt}"
    return Response(body.getvalue(), media_type=media, headers=attachment(f"{stem}.{fmt}", name))
