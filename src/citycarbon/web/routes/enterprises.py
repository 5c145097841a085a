"""企业: the enterprise list (search, filters, downloads) and one enterprise's page (monthly
energy and CO2 chart, fuel mix, rank in its industry). Reads only through the access layer."""

from __future__ import annotations

from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.reports.excel import write_excel
from citycarbon.runs import enterprise_energy
from citycarbon.runs.reports import enterprise_account_report
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render
from citycarbon.web.i18n import Translator
from citycarbon.web.routes.finance import consent_panel
from citycarbon.web.routes.inventory import _stream_report
from citycarbon.web.routes.power import enterprise_panel
from citycarbon.web.routes.rating import enterprise_panel as rating_panel

router = APIRouter(include_in_schema=False)
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
PAGE_SIZE = 50


#: columns the list can be sorted by (the table's columns)
SORTABLE = (
    "name",
    "credit_code",
    "industry_code",
    "district_code",
    "is_key",
    "energy_tce",
    "co2_t",
)


@router.get("/enterprises", response_class=HTMLResponse)
def enterprise_list_page(
    request: Request,
    principal: PrincipalDep,
    q: Annotated[str | None, Query(max_length=100)] = None,
    district: Annotated[str | None, Query(max_length=6)] = None,
    park: Annotated[str | None, Query(max_length=32)] = None,
    industry: Annotated[str | None, Query(max_length=5)] = None,
    key_only: bool = False,
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
    sort: Annotated[Literal[SORTABLE] | None, Query()] = None,  # type: ignore[valid-type]
    desc: bool = True,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    lang = lang_of(request)
    frame = access.enterprises(
        principal,
        q=q,
        district=district or None,
        park=park or None,
        industry=industry or None,
        key_only=key_only,
        year=year,
    )
    if sort:
        frame = frame.sort_values(
            [sort, "credit_code"], ascending=[not desc, True], na_position="last", kind="stable"
        )
    reg = access.registry()
    visible = access.visible_district_codes(principal)
    districts = reg.regions[reg.regions["level"] == "district"]
    if visible is not None:
        districts = districts[districts["code"].isin(visible)]
    parks = reg.parks
    visible_parks = access.visible_park_codes(principal)
    if visible_parks is not None:
        parks = parks[parks["code"].isin(visible_parks)]
    params = {
        "q": q,
        "district": district,
        "park": park,
        "industry": industry,
        "key_only": "true" if key_only else None,
        "year": year,
    }
    query = urlencode({k: v for k, v in params.items() if v})
    return render(
        request,
        "enterprises.html",
        {
            "active": "enterprises",
            "rows": records(frame.iloc[offset : offset + PAGE_SIZE]),
            "total": len(frame),
            "offset": offset,
            "limit": PAGE_SIZE,
            "year": int(frame["year"].iloc[0]) if "year" in frame and len(frame) else None,
            "years": access.result_years(),
            "q": q or "",
            "district": district or "",
            "park": park or "",
            "industry": industry or "",
            "key_only": key_only,
            "sort": sort or "",
            "desc": desc,
            "districts": records(districts[["code", "name_zh", "name_en"]]),
            "parks": records(parks[["code", "name_zh"]]),
            "industries": records(access.industry_divisions(principal, lang)),
            "api_href": "/api/v1/enterprises" + (f"?{query}" if query else ""),
        },
    )


@router.get("/enterprises/{credit_code}", response_class=HTMLResponse)
def enterprise_page(
    request: Request,
    principal: PrincipalDep,
    credit_code: Annotated[str, Path(max_length=18)],
) -> HTMLResponse:
    t = Translator(lang_of(request))
    ent = access.enterprise(principal, credit_code)
    monthly = access.enterprise_monthly(principal, credit_code)
    rank = access.enterprise_rank(principal, credit_code)
    mix = enterprise_energy.fuel_mix(credit_code, rank["year"])
    labels = [f"{y}-{m:02d}" for y, m in zip(monthly["year"], monthly["month"], strict=True)]
    chart = {
        "legend": {"top": 0},
        "grid": {"left": 70, "right": 70, "top": 40, "bottom": 50},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": [
            {"type": "value", "name": "t CO₂"},
            {"type": "value", "name": "tce", "splitLine": {"show": False}},
        ],
        "dataZoom": [{"type": "inside"}, {"type": "slider", "height": 16, "bottom": 8}],
        "series": [
            {
                "name": t("overview.scope1"),
                "type": "bar",
                "stack": "co2",
                "data": monthly["scope1_co2_t"].round(2).tolist(),
            },
            {
                "name": t("overview.scope2"),
                "type": "bar",
                "stack": "co2",
                "data": monthly["scope2_co2_t"].round(2).tolist(),
            },
            {
                "name": t("overview.energy"),
                "type": "line",
                "yAxisIndex": 1,
                "data": monthly["energy_tce"].round(2).tolist(),
            },
        ],
    }
    mix_ok = mix.dropna(subset=["energy_tce"])
    pie = {
        "tooltip": {"trigger": "item"},
        "legend": {"type": "scroll", "bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["35%", "65%"],
                "data": [
                    {"name": str(n or f), "value": round(float(v), 2)}
                    for f, n, v in zip(
                        mix_ok["fuel"], mix_ok["name_zh"], mix_ok["energy_tce"], strict=True
                    )
                ],
            }
        ],
    }
    return render(
        request,
        "enterprise.html",
        {
            "active": "enterprises",
            "e": ent,
            "rank": rank,
            "mix": records(mix),
            "monthly": records(monthly),
            "monthly_chart": chart,
            "pie": pie,
            "basis": access.enterprise_basis(principal),
            "power_panel": _power_panel(request, principal, credit_code),
            "rating": _rating_panel(request, principal, credit_code),
            "consent": _consent_panel(request, principal, credit_code),
        },
    )


@router.get("/enterprises/{credit_code}/account.xlsx")
def enterprise_account_download(
    request: Request,
    principal: PrincipalDep,
    credit_code: Annotated[str, Path(max_length=18)],
    year: Annotated[int | None, Query(ge=1990, le=2100)] = None,
) -> Response:
    """The enterprise's account report (Excel) in the page's language: the 核算指南 report
    tables in the guideline mode, emissions by gas in the inventory mode, every line with its
    factors."""
    access.enterprise(principal, credit_code)  # visible, else 404
    data = enterprise_account_report(credit_code, year)
    stem = f"account-{credit_code}-{data.period}"
    return _stream_report(data, stem, "xlsx", None, write_excel, lang_of(request))


def _power_panel(request: Request, principal: Principal, code: str) -> object:
    """The 电-碳-能 panel of the power module (None when absent or not computed)."""
    if "power" not in request.app.state.route_modules:
        return None

    return enterprise_panel(request, principal, code)


def _rating_panel(request: Request, principal: Principal, code: str) -> object:
    """The 碳效 section of the rating module (None when absent or not graded)."""
    if "rating" not in request.app.state.route_modules:
        return None
    return rating_panel(principal, code, request.app.state.settings.secret_key)


def _consent_panel(request: Request, principal: Principal, code: str) -> object:
    """The consent section of the finance module (its own enterprise user only)."""
    if "finance" not in request.app.state.route_modules:
        return None
    return consent_panel(principal, code)
