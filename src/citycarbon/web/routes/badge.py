"""碳效码 badge: the public page (no sign-in) that verifies a badge link — grade, period and
issuer only; a tampered or outdated link is *not found*. Reads through
:mod:`citycarbon.read.badge`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse

from citycarbon.read import badge
from citycarbon.web.app import render

router = APIRouter(include_in_schema=False)


@router.get("/badge/{period}/{grade}/{subject}/{sig}", response_class=HTMLResponse)
def badge_page(
    request: Request,
    period: Annotated[str, Path(max_length=7)],
    grade: Annotated[int, Path(ge=1, le=9)],
    subject: Annotated[str, Path(max_length=badge.SUBJECT_HEX)],
    sig: Annotated[str, Path(max_length=64)],
) -> HTMLResponse:
    secret = request.app.state.settings.secret_key
    return render(request, "badge.html", {"b": badge.verify(period, grade, subject, sig, secret)})
