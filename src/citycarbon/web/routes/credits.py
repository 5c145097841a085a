"""碳普惠 page for city roles: credited reductions by methodology, district and month, shown as
behaviour-driven reductions already inside the measured emissions (never subtracted again);
for city-wide roles the ledger's daily reconciliation and the count of events held for review."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from citycarbon.config import load_city
from citycarbon.read import credits as read_credits
from citycarbon.read.access import Principal
from citycarbon.web import auth
from citycarbon.web.app import records, render

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]


@router.get("/credits", response_class=HTMLResponse, include_in_schema=False)
def credits_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    tables = read_credits.credited_by(principal)
    city = load_city()
    city_wide = principal.can("read_city")
    return render(
        request,
        "credits.html",
        {
            "active": "credits",
            "by": {k: records(v) for k, v in tables.items()},
            "total_kg": float(tables["method"]["credited_kgco2e"].sum()),
            "districts": {d.code: {"zh": d.zh, "en": d.en} for d in city.districts},
            "reconciliation": records(read_credits.daily_reconciliation(principal))
            if city_wide
            else None,
            "held": len(read_credits.held_for_review(principal)) if city_wide else None,
        },
    )
