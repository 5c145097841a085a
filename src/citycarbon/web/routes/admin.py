"""管理 (admins only): users and roles, passwords, open sessions (end them all), API tokens
(shown once; expiry and scope), the audit log."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citycarbon.config.settings import get_settings
from citycarbon.errors import CitycarbonError
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.store import users
from citycarbon.store.models import USER_ROLES
from citycarbon.web import auth
from citycarbon.web.app import records, render

router = APIRouter(include_in_schema=False)
PAGE_SIZE = 50
#: Carries a new API token from the POST that made it to the page that shows it once (the
#: catalog keeps only its hash): HttpOnly, SameSite=strict, on the page's path, two minutes.
NEW_TOKEN_COOKIE = "cc_new_token"
#: The add-user form's roles, least privileged first (the one preselected).
ROLE_CHOICES = access.ROLES_BY_PRIVILEGE


def token_made(request: Request, page: str, token: str) -> RedirectResponse:
    """Redirect (303) to ``page`` after making a token, so reloading it makes no second one;
    the token rides along in :data:`NEW_TOKEN_COOKIE` (see :func:`token_shown_once`)."""
    response = RedirectResponse(f"{page}?saved=token", status_code=303)
    response.set_cookie(
        NEW_TOKEN_COOKIE,
        token,
        max_age=120,
        path=page,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.secure_cookies,
    )
    return response


def token_shown_once(request: Request, page: str, render_page) -> Response:
    """``render_page(new_token)`` with the token of :func:`token_made` (if any), deleting its
    cookie so that a reload does not show it again."""
    token = request.cookies.get(NEW_TOKEN_COOKIE)
    response = render_page(token)
    if token is not None:
        response.delete_cookie(NEW_TOKEN_COOKIE, path=page)
    return response


def admin_principal(principal: Annotated[Principal, Depends(auth.require_principal)]) -> Principal:
    access.require(principal, "manage_users")
    return principal


AdminDep = Annotated[Principal, Depends(admin_principal)]


def _page(
    request: Request,
    offset: int = 0,
    *,
    error: str | None = None,
    notice: str | None = None,
    new_token: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    audit, total = users.audit_frame(limit=PAGE_SIZE, offset=offset)
    settings = get_settings()
    audit = audit.assign(
        before=audit["before"].map(lambda v: json.dumps(v, ensure_ascii=False) if v else ""),
        after=audit["after"].map(lambda v: json.dumps(v, ensure_ascii=False) if v else ""),
    )
    return render(
        request,
        "admin.html",
        {
            "active": "admin",
            "users": records(users.list_users()),
            "tokens": records(users.list_tokens()),
            "audit": records(audit),
            "total": total,
            "offset": offset,
            "limit": PAGE_SIZE,
            "roles": USER_ROLES,
            "new_user_roles": ROLE_CHOICES,
            "token_days": settings.token_days,
            "token_max_days": settings.token_max_days,
            "error": error,
            "notice": notice,
            "new_token": new_token,
        },
        status_code=status_code,
    )


@router.get("/admin", response_class=HTMLResponse)
def admin_page(
    request: Request, principal: AdminDep, offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0
) -> Response:
    return token_shown_once(
        request, "/admin", lambda token: _page(request, offset, new_token=token)
    )


def _done(request: Request, fn, *args, **kwargs) -> Response:
    try:
        fn(*args, **kwargs)
    except CitycarbonError as err:
        return _page(request, error=str(err), status_code=422)
    return RedirectResponse("/admin?saved=1", status_code=303)


@router.post("/admin/users")
def add_user(
    request: Request,
    principal: AdminDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    role: Annotated[str, Form(max_length=32)],
    scope_code: Annotated[str, Form(max_length=32)] = "",
    display_name: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    return _done(
        request,
        users.create_user,
        username,
        password,
        role,
        scope_code=scope_code or None,
        display_name=display_name or None,
        actor=principal.username,
    )


@router.post("/admin/users/{username}")
def update_user(
    request: Request,
    principal: AdminDep,
    username: str,
    role: Annotated[str, Form(max_length=32)],
    scope_code: Annotated[str, Form(max_length=32)] = "",
    active: Annotated[str, Form(max_length=5)] = "",
) -> Response:
    return _done(
        request,
        users.update_user,
        username,
        role=role,
        scope_code=scope_code or "",
        active=active == "on",
        actor=principal.username,
    )


@router.post("/admin/users/{username}/password")
def set_password(
    request: Request,
    principal: AdminDep,
    username: str,
    password: Annotated[str, Form(max_length=1024)],
) -> Response:
    return _done(request, users.set_password, username, password, actor=principal.username)


@router.post("/admin/users/{username}/sessions/end")
def end_sessions(request: Request, principal: AdminDep, username: str) -> Response:
    return _done(request, users.end_sessions, username, actor=principal.username)


@router.post("/admin/tokens")
def new_token(
    request: Request,
    principal: AdminDep,
    username: Annotated[str, Form(max_length=64)],
    name: Annotated[str, Form(max_length=100)],
    days: Annotated[int, Form(ge=1, le=36_500)],
    scope: Annotated[Literal["full", "read"], Form()] = "full",
) -> Response:
    access.require(principal, "manage_tokens")
    try:
        _, token = users.create_token(
            username, name, days=days, scope=scope, actor=principal.username
        )
    except CitycarbonError as err:
        return _page(request, error=str(err), status_code=422)
    return token_made(request, "/admin", token)


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(
    request: Request, principal: AdminDep, token_id: Annotated[int, Path(ge=1, le=2**31)]
) -> Response:
    return _done(request, users.revoke_token, token_id, actor=principal.username)
