"""登录 / 退出: sign-in (argon2 check after the throttle: per address and per user name at
an address, exponential back-off; 429 with Retry-After) and sign-out (ends the session)."""

from __future__ import annotations

import math
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from citycarbon.errors import InputError
from citycarbon.store import users
from citycarbon.web import auth
from citycarbon.web.app import lang_of, render
from citycarbon.web.i18n import Translator

router = APIRouter(include_in_schema=False)


def _safe_next(target: str | None) -> str:
    """Only local paths (no scheme, no //host) are followed after sign-in."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _wait_text(t: Translator, seconds: float) -> str:
    """'30 秒', '8 分钟' / '30 seconds', '8 minutes' (whole minutes from one minute up)."""
    if seconds < 60:
        return t("login.wait_seconds", n=math.ceil(seconds))
    return t("login.wait_minutes", n=math.ceil(seconds / 60))


@router.get("/login")
def login_page(request: Request, next: str = "/") -> Response:
    if auth.current_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next_url": _safe_next(next), "active": "login"})


@router.post("/login")
def login(
    request: Request,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    t = Translator(lang_of(request))
    try:
        user = users.authenticate(username, password, auth.client_ip(request))
    except users.RateLimited as err:
        response = render(
            request,
            "login.html",
            {
                "error": t("login.limited", wait=_wait_text(t, err.retry_after_s)),
                "next_url": _safe_next(next),
                "username": username,
            },
            status_code=429,
        )
        response.headers["Retry-After"] = str(math.ceil(err.retry_after_s))
        return response
    except InputError:
        return render(
            request,
            "login.html",
            {"error": t("login.failed"), "next_url": _safe_next(next), "username": username},
            status_code=401,
        )
    auth.sign_in(request, user)
    return RedirectResponse(_safe_next(next), status_code=303)


@router.post("/logout")
def logout(request: Request) -> Response:
    auth.sign_out(request)
    return RedirectResponse("/login", status_code=303)
