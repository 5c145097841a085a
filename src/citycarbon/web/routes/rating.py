"""碳效: carbon-efficiency grades (碳效码) of the enterprises a user sees in a period, their
distribution by city, district, park and industry class, the movement since the period before,
with the 口径 of L and K; and the JSON API ``/api/v1/rating/...``. Reads only through
:mod:`citycarbon.read.rating`."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from citycarbon.read import badge
from citycarbon.read import rating as rq
from citycarbon.read.access import Principal
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render, scope_label
from citycarbon.web.i18n import Translator
from citycarbon.web.routes.api import (
    CreditCode,
    FileLang,
    Format,
    Limit,
    Offset,
    Page,
    file_basis,
    page,
)

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.require_principal)]
PeriodType = Annotated[Literal["year", "month"], Query(description="annual or monthly grades")]
Dimension = Annotated[Literal["city", "district", "park", "industry"], Query()]
YearQ = Annotated[int | None, Query(ge=1990, le=2100, description="year (default newest)")]
MonthQ = Annotated[int, Query(ge=0, le=12, description="month of monthly grades")]
PAGE_SIZE = 50
METHODS = ("carbon_intensity_l", "carbon_efficiency_grade", "energy_benchmark")


def _distribution_chart(dist: pd.DataFrame, t: Translator) -> dict[str, Any]:
    """Stacked bars: enterprises per grade (1-5) for each group."""
    table = dist.pivot_table(
        index="group_name", columns="grade", values="enterprises", aggfunc="sum", fill_value=0
    ).reindex(columns=range(1, 6), fill_value=0)
    return {
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 0},
        "grid": {"left": 60, "right": 20, "top": 40, "bottom": 60},
        "xAxis": {"type": "category", "data": [str(c) for c in table.index]},
        "yAxis": {"type": "value", "name": t("rating.enterprises")},
        "series": [
            {
                "name": t("rating.grade_n", grade=g),
                "type": "bar",
                "stack": "grades",
                "data": table[g].astype(int).tolist(),
            }
            for g in range(1, 6)
        ],
    }


@router.get("/rating", response_class=HTMLResponse, include_in_schema=False)
def rating_page(
    request: Request,
    principal: PrincipalDep,
    period_type: PeriodType = "year",
    period: Annotated[str | None, Query(pattern=r"^\d{4}-\d{1,2}$")] = None,
    dimension: Dimension = "district",
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
) -> HTMLResponse:
    lang = lang_of(request)
    t = Translator(lang)
    periods = rq.periods(principal)
    periods = periods[periods["period_type"] == period_type]
    chosen = tuple(map(int, period.split("-"))) if period else None
    offered = set(zip(periods["year"], periods["month"], strict=True))
    year, month = (
        chosen if chosen in offered else (rq.latest_period(principal, period_type) or (None, 0))
    )
    graded = rq.grades(principal, period_type=period_type, year=year, month=month)
    dist = rq.distribution(
        principal,
        dimension=dimension,
        period_type=period_type,
        year=year,
        month=month,
        lang=lang,
    )
    bench = rq.energy_benchmarks(principal)
    bench_year = int(bench["year"].iat[0]) if len(bench) else None
    name_col = "product_name_zh" if lang == "zh" else "product_name_en"
    return render(
        request,
        "rating.html",
        {
            "bench": records(bench.head(PAGE_SIZE)),
            "bench_year": bench_year,
            "bench_summary": records(rq.energy_benchmark_summary(principal, bench_year))
            if bench_year
            else [],
            "bench_names": dict(zip(bench["product_id"], bench[name_col], strict=True)),
            "active": "rating",
            "computed": rq.computed(),
            "hint": rq.HINT,
            "scope": scope_label(principal, lang),
            "period_type": period_type,
            "year": year,
            "month": month,
            "dimension": dimension,
            "periods": records(periods),
            "counts": rq.grade_counts(graded),
            "movement": rq.movement(graded),
            "dist": records(dist),
            "dist_chart": _distribution_chart(dist, t) if len(dist) else None,
            "rows": records(graded.iloc[offset : offset + PAGE_SIZE]),
            "total": len(graded),
            "offset": offset,
            "limit": PAGE_SIZE,
            "methods": METHODS,
        },
    )


# --------------------------------------------------------------------------- API
@router.get("/api/v1/rating/grades", response_model=Page, tags=["rating"])
def api_grades(
    principal: PrincipalDep,
    period_type: PeriodType = "year",
    year: YearQ = None,
    month: MonthQ = 0,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Carbon-efficiency grades (L, level, K, grade, movement) of the enterprises the caller
    sees in one period (default the newest), best grade first."""
    frame = rq.grades(principal, period_type=period_type, year=year, month=month)
    about = file_basis(principal, lang, frame, "carbon_efficiency")
    return page(frame, limit, offset, format, "carbon_efficiency", lang, about)


@router.get("/api/v1/rating/distribution", response_model=Page, tags=["rating"])
def api_distribution(
    principal: PrincipalDep,
    dimension: Dimension = "city",
    period_type: PeriodType = "year",
    year: YearQ = None,
    month: MonthQ = 0,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Enterprises per grade by group of a dimension in one period, over the groups the caller
    may read (city-wide roles: all; district and park managers: their own)."""
    frame = rq.distribution(
        principal, dimension=dimension, period_type=period_type, year=year, month=month
    )
    about = file_basis(principal, lang, frame, "carbon_efficiency_distribution", year)
    return page(frame, limit, offset, format, "carbon_efficiency_distribution", lang, about)


@router.get("/api/v1/rating/enterprises/{credit_code}", response_model=Page, tags=["rating"])
def api_enterprise_grades(
    principal: PrincipalDep,
    credit_code: CreditCode,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Every graded period of one enterprise the caller sees, newest first."""
    frame = rq.grades(principal, enterprise=credit_code)
    about = file_basis(principal, lang, frame, "carbon_efficiency")
    return page(frame, limit, offset, format, f"carbon_efficiency_{credit_code}", lang, about)


def enterprise_panel(principal: Principal, credit_code: str, secret: str) -> dict[str, Any] | None:
    """The enterprise page's 碳效 section: the newest annual grade, the monthly grades of that
    year and the 碳效码 badge link (None when the enterprise has no grade)."""
    frame = rq.grades(principal, enterprise=credit_code)
    annual = frame[(frame["period_type"] == "year") & (frame["grade"] > 0)]
    if annual.empty:
        return None
    latest = annual.iloc[0]
    monthly = frame[(frame["period_type"] == "month") & (frame["year"] == latest["year"])]
    return {
        "annual": records(annual.head(1))[0],
        "monthly": records(monthly.sort_values("month")),
        "badge": badge.badge_path(principal, credit_code, secret),
    }
