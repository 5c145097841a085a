"""碳普惠 page for city roles: credited reductions by methodology, district and month, shown as
behaviour-driven reductions already inside the measured emissions (never subtracted again);
for city-wide roles the ledger's daily reconciliation and the events held for review, which
city analysts release (credited through the ledger's usual path) or refuse with a reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citycarbon.config import load_city
from citycarbon.errors import InputError
from citycarbon.read import access
from citycarbon.read import credits as read_credits
from citycarbon.read.access import Principal
from citycarbon.runs import credits as credit_runs
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render
from citycarbon.web.i18n import Translator

router = APIRouter()
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
#: Held events listed on the page (oldest first; the CLI lists them all).
QUEUE_SHOWN = 50
RowId = Annotated[int, Path(ge=1, le=2**62)]


async def reviewer(principal: PrincipalDep) -> Principal:
    """Dependency: the signed-in user, when they may review held events (checked before the
    form is read: others get 403 whatever they send)."""
    access.require(principal, "review_credits")
    return principal


ReviewerDep = Annotated[Principal, Depends(reviewer)]


def _page(
    request: Request, principal: Principal, *, error: str | None = None, status_code: int = 200
) -> HTMLResponse:
    tables = read_credits.credited_by(principal)
    city = load_city()
    city_wide = principal.can("read_city")
    held = read_credits.held_for_review(principal) if city_wide else None
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
            "held": None if held is None else len(held),
            "queue": records(held.head(QUEUE_SHOWN))
            if held is not None and principal.can("review_credits")
            else None,
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/credits", response_class=HTMLResponse, include_in_schema=False)
def credits_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return _page(request, principal)


def _reviewed(
    request: Request, principal: Principal, review: str, act: Callable[[], object]
) -> Response:
    try:
        act()
    except InputError as err:  # no reason given, or reviewed meanwhile / no such held event
        t = Translator(lang_of(request))
        error = t("credits.reason_needed") if err.field == "reason" else t("credits.not_held")
        return _page(request, principal, error=error, status_code=409)
    return RedirectResponse(f"/credits?reviewed={review}#credits-held", status_code=303)


@router.post("/credits/held/{row_id}/release", include_in_schema=False)
def release(request: Request, principal: ReviewerDep, row_id: RowId) -> Response:
    return _reviewed(
        request,
        principal,
        "released",
        lambda: credit_runs.release_held(row_id, actor=principal.username, city=load_city()),
    )


@router.post("/credits/held/{row_id}/refuse", include_in_schema=False)
def refuse(
    request: Request,
    principal: ReviewerDep,
    row_id: RowId,
    reason: Annotated[str, Form(min_length=1, max_length=80)],
) -> Response:
    return _reviewed(
        request,
        principal,
        "refused",
        lambda: credit_runs.refuse_held(row_id, reason, actor=principal.username),
    )
