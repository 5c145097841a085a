"""我的令牌 (every signed-in user): list, make and revoke one's own API tokens. A token is shown
once; it expires (``CITYCARBON_TOKEN_DAYS``, at most ``CITYCARBON_TOKEN_MAX_DAYS``) and may be
narrowed to reading. Only a signed-in person manages tokens: a request made with an API token
gets 403 (``manage_tokens`` is session-only in :mod:`citycarbon.read.access`)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citycarbon.config.settings import get_settings
from citycarbon.errors import InputError
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.store import users
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render
from citycarbon.web.i18n import Translator
from citycarbon.web.routes.admin import token_made, token_shown_once

router = APIRouter(include_in_schema=False)
PAGE = "/account/tokens"


def token_owner(principal: Annotated[Principal, Depends(auth.require_principal)]) -> Principal:
    access.require(principal, "manage_tokens")
    return principal


OwnerDep = Annotated[Principal, Depends(token_owner)]


def _page(
    request: Request,
    principal: Principal,
    *,
    error: str | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    settings = get_settings()
    return render(
        request,
        "account_tokens.html",
        {
            "active": "tokens",
            "tokens": records(users.list_tokens(username=principal.username)),
            "days": settings.token_days,
            "max_days": settings.token_max_days,
            "error": error,
            "new_token": new_token,
        },
        status_code=status_code,
    )


@router.get("/account/tokens", response_class=HTMLResponse)
def my_tokens(request: Request, principal: OwnerDep) -> Response:
    return token_shown_once(request, PAGE, lambda token: _page(request, principal, new_token=token))


@router.post("/account/tokens")
def new_token(
    request: Request,
    principal: OwnerDep,
    name: Annotated[str, Form(min_length=1, max_length=100)],
    days: Annotated[int, Form(ge=1, le=36_500)],
    scope: Annotated[Literal["full", "read"], Form()] = "full",
) -> Response:
    try:
        _, token = users.create_token(
            principal.username, name, days=days, scope=scope, actor=principal.username
        )
    except InputError:  # the lifetime is the one thing the form can get wrong
        t = Translator(lang_of(request))
        error = t("tokens.too_long", max_days=get_settings().token_max_days)
        return _page(request, principal, error=error, status_code=422)
    return token_made(request, PAGE, token)


@router.post("/account/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, principal: OwnerDep, token_id: Annotated[int, Path(ge=1, le=2**31)]
) -> Response:
    try:
        users.revoke_token(token_id, owner=principal.username, actor=principal.username)
    except InputError:  # not a token of theirs (answered as if it did not exist)
        error = Translator(lang_of(request))("tokens.not_found", id=token_id)
        return _page(request, principal, error=error, status_code=422)
    return RedirectResponse("/account/tokens?saved=1", status_code=303)
