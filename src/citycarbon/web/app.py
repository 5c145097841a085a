"""The citycarbon web platform (FastAPI): pages (Jinja2, server-rendered, ECharts charts) and
the JSON API ``/api/v1`` (OpenAPI at ``/docs`` and ``/openapi.json``).

Pages and API endpoints live in ``citycarbon/web/routes/<name>.py``, each exposing ``router``
(a FastAPI ``APIRouter``); :data:`ROUTE_MODULES` lists them and :func:`create_app` includes the
ones that exist, so a team adds a page by adding its module (and its name here). The navigation
(:data:`NAV`) shows an entry only when its module is present and the user's role may open it.

Every read goes through :mod:`citycarbon.read.access` (scope by role); sessions and CSRF are in
:mod:`citycarbon.web.auth`. Errors are pages (or JSON under ``/api``), never tracebacks.

Run it with ``citycarbon serve`` (uvicorn).
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import io
import json
import logging
import math
import re
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pandas as pd
from fastapi import Depends, FastAPI, HTTPException, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from markupsafe import Markup, escape
from starlette.formparsers import MultiPartException

from citycarbon import __version__
from citycarbon.config.home import make_private, without_server_paths
from citycarbon.config.settings import get_settings
from citycarbon.contract.codes import industry_names
from citycarbon.contract.exports import spreadsheet_ready, write_csv
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.read import access
from citycarbon.read import methods as read_methods
from citycarbon.read.access import AccessDenied, NotVisible, Principal
from citycarbon.read.presentation import Basis, present, table_title, value_label
from citycarbon.runs import jobs
from citycarbon.runs.actions import unit_labels
from citycarbon.web import auth
from citycarbon.web.i18n import (
    DEFAULT_LANG,
    LANGS,
    Translator,
    reason_text,
    record_html,
    record_text,
)

log = logging.getLogger("citycarbon.web")
WEB_DIR = Path(__file__).parent
TEMPLATES_DIR = WEB_DIR / "templates"
STATIC_DIR = WEB_DIR / "static"

#: Route modules under citycarbon.web.routes, included when present, in this order. A request
#: is matched against the routes in order (a regular expression each, ~1.5 µs): the signed
#: partner API, the hot path (merchants' tills redeeming), comes first, so its requests are
#: not matched against the ~150 routes of the pages first (0.2 ms each); none of its paths is
#: another module's (tested), so the order changes no answer.
ROUTE_MODULES = (
    "partner",
    "login",
    "overview",
    "map",
    "power",
    "enterprises",
    "rating",
    "finance",
    "badge",
    "inventory",
    "scenarios",
    "targets",
    "data",
    "factors",
    "methods",
    "admin",
    "account",
    "api",
    "public",
    "credits",
    "techmap",
)


@dataclass(frozen=True)
class NavItem:
    key: str  # i18n key nav.<key>, and the page's ``active`` name
    path: str
    module: str
    permission: str = "read"


NAV = (
    NavItem("overview", "/", "overview", "read_emissions"),
    NavItem("map", "/map", "map", "read_emissions"),
    NavItem("power", "/power", "power", "read_emissions"),
    NavItem("enterprises", "/enterprises", "enterprises", "read_emissions"),
    NavItem("rating", "/rating", "rating", "read_emissions"),
    NavItem("finance", "/finance", "finance", "read_finance"),
    NavItem("inventory", "/inventory", "inventory", "read_emissions"),
    NavItem("scenarios", "/scenarios", "scenarios", "read_emissions"),
    NavItem("targets", "/targets", "targets", "read_emissions"),
    NavItem("techmap", "/techmap", "techmap"),
    NavItem("actions", "/actions", "techmap"),
    NavItem("credits", "/credits", "credits", "read_emissions"),
    NavItem("data", "/data", "data", "read_emissions"),
    NavItem("factors", "/factors", "factors"),
    NavItem("methods", "/methods", "methods"),
    NavItem("admin", "/admin", "admin", "manage_users"),
)

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def scope_label(principal: Principal, lang: str) -> str:
    """What the principal sees, for page headers: :func:`citycarbon.read.access.scope_label`,
    and for a 责任单位 user its unit's name (the action plan's units)."""
    if principal.role == "unit_user":
        unit = unit_labels().get(principal.scope_code or "")
        if unit:
            return unit[lang]
    return access.scope_label(principal, lang)


def _fmt_num(value: Any, digits: int = 1) -> str:
    """Thousands separators, ``digits`` decimals; '–' for missing values."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, int | float):
        return f"{value:,.{digits}f}"
    return str(value)


def _qr_svg(url: str) -> Markup:
    """An inline SVG QR code of ``url`` (ISO/IEC 18004, error correction level M), drawn by
    segno; the SVG is segno's own output of a URL the platform made (no user text)."""
    import segno  # heavy-ish third-party import, only on the pages with a badge

    return Markup(segno.make(url, error="m").svg_inline(scale=4, title="QR"))


#: Marks in a data text (a factor note, a set's description): a cited document's title in 《》
#: or its number (``发改办气候〔2015〕1722号``, ``公告2024年第12号``), shown as published in
#: either language; an identifier in backticks (`` `ncv` ``).
DATA_TEXT_MARKS = re.compile(
    r"(?P<cite>《[^《》]*》|[\u4e00-\u9fff]*〔\d{4}〕\d+号|公告\d{4}年第\d+号)|`(?P<code>[^`]+)`"
)


def data_text_html(text: str | None) -> Markup:
    """A data text as HTML: cited documents (:data:`DATA_TEXT_MARKS`) in ``<cite>``,
    identifiers in ``<code>``, everything else escaped."""
    text = text or ""
    parts, end = [], 0
    for m in DATA_TEXT_MARKS.finditer(text):
        tag = m.lastgroup
        parts += [escape(text[end : m.start()]), Markup(f"<{tag}>{escape(m[tag])}</{tag}>")]
        end = m.end()
    return Markup("").join([*parts, escape(text[end:])])


@functools.cache  # GB/T 4754 has about 1,400 codes; a lookup costs ~2 ms the first time
def _industry_name(code: str | None, lang: str = "zh") -> str:
    """The GB/T 4754-2017 name of an industry code ('' for an unknown code)."""
    return str(industry_names(pd.Series([code]), lang).iloc[0] or "")


templates.env.filters["num"] = _fmt_num
templates.env.filters["industry_name"] = _industry_name
templates.env.filters["data_text"] = data_text_html
templates.env.filters["qr_svg"] = _qr_svg
templates.env.globals["method"] = read_methods.method  # 口径 links and 方法说明 panels
templates.env.globals["record_text"] = record_text  # method records in the page's language
templates.env.globals["record_html"] = lambda record, lang: Markup(record_html(record, lang))
templates.env.globals["value_label"] = value_label  # coded values in the page's language


def lang_of(request: Request) -> str:
    """The request's language: ``?lang=`` (remembered in a cookie), the cookie, else Chinese."""
    q = request.query_params.get("lang")
    if q in LANGS:
        return q
    c = request.cookies.get(auth.LANG_COOKIE)
    return c if c in LANGS else DEFAULT_LANG


def url_with(request: Request, **params: Any) -> str:
    """The current URL with some query parameters replaced (None removes one)."""
    query = dict(request.query_params)
    for k, v in params.items():
        if v is None:
            query.pop(k, None)
        else:
            query[k] = str(v)
    qs = "&".join(f"{quote(k)}={quote(v)}" for k, v in query.items())
    return request.url.path + (f"?{qs}" if qs else "")


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status_code: int = 200
) -> HTMLResponse:
    """Render a page template with the common context: ``t`` (translations), ``lang``,
    ``principal``, ``nav`` (entries the user may open), ``csrf_token``, ``active``, ``url_with``."""
    lang = lang_of(request)
    principal = auth.current_principal(request)
    present = request.app.state.route_modules
    nav = [
        n
        for n in NAV
        if n.module in present and principal is not None and principal.can(n.permission)
    ]
    ctx = {
        "request": request,
        "t": Translator(lang),
        "lang": lang,
        "principal": principal,
        "nav": nav,
        "csrf_token": auth.csrf_token(request),
        "active": None,
        "version": __version__,
        "url_with": lambda **kw: url_with(request, **kw),
        "reason": lambda text, key=None: reason_text(text, lang, key),  # quarantine, page language
    }
    ctx.update(context or {})
    response = templates.TemplateResponse(request, template, ctx, status_code=status_code)
    response.headers["Cache-Control"] = "no-store"
    return response


# --------------------------------------------------------------------------- tables out
def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready rows: NaN/NaT → None, timestamps → ISO 8601, numpy → Python (pandas' C
    JSON writer, 15 significant digits)."""
    if frame.empty:
        return []
    return json.loads(
        frame.to_json(orient="records", date_format="iso", double_precision=15, force_ascii=False)
    )


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV = "text/csv; charset=utf-8"


def download_name(name: str) -> str:
    """A file name for Content-Disposition: ASCII letters, digits, '-' and '_' only."""
    return (
        "".join(ch if ch.isascii() and (ch.isalnum() or ch in "-_") else "_" for ch in name)
        or "table"
    )


def attachment(ascii_name: str, name: str | None = None) -> dict[str, str]:
    """A Content-Disposition header (RFC 6266): ``filename`` an ASCII fallback
    (:func:`download_name` of its stem), ``filename*`` the UTF-8 name (RFC 5987), e.g.
    ``厦门市_2024_清单明细_含调入电力.csv``."""
    stem, _, ext = ascii_name.rpartition(".")
    value = f'attachment; filename="{download_name(stem)}.{ext}"'
    if name:
        value += f"; filename*=UTF-8''{quote(name, safe='')}"
    return {"Content-Disposition": value}


def table_download(
    frame: pd.DataFrame,
    name: str,
    fmt: str,
    lang: str | None = None,
    basis: Basis | None = None,
    units: dict[str, str] | None = None,
) -> Response:
    """A table as a CSV (UTF-8 with BOM, opens in Excel) or an Excel file; no cell is a
    spreadsheet formula (:func:`citycarbon.contract.exports.spreadsheet_ready`).

    Without ``lang`` the file has the API's field names and values (for programs). With
    ``lang`` (``zh``/``en``) it is for people (:func:`citycarbon.read.presentation.present`):
    labelled headers with units, figures in 万吨 / 亿千瓦时 where they reach eight digits,
    fractions as percentages, rounded; and the 口径 (``basis``): in a CSV as constant columns
    after the table's (one rectangular table, that Excel and programs open alike), in Excel on
    a 说明 sheet after the data sheet; and in the file name (``filename*``).
    """
    if lang is not None:
        frame = present(frame, lang, units, table=name)
        shown = basis.file_name(name, fmt, lang) if basis else f"{table_title(name, lang)}.{fmt}"
        if basis is not None and fmt == "csv":
            extra = {k: v for k, v in basis.columns(lang).items() if k not in frame.columns}
            frame = frame.assign(**extra)  # a column the table has already stays as it is
    headers = attachment(f"{name}.{fmt}", shown if lang is not None else None)
    frame = spreadsheet_ready(frame)
    if fmt == "csv":
        body = write_csv(frame, index=False).encode("utf-8-sig")
        return Response(body, media_type=CSV, headers=headers)
    if fmt == "xlsx":
        buf = io.BytesIO()
        sheet = table_title(name, lang)[:31] if lang else download_name(name)[:31]
        with pd.ExcelWriter(buf, engine="xlsxwriter") as writer:
            frame.to_excel(writer, index=False, sheet_name=sheet)
            if lang is not None and basis is not None:
                about = spreadsheet_ready(basis.frame(lang))
                about.to_excel(writer, index=False, sheet_name=table_title("summary", lang))
        return Response(buf.getvalue(), media_type=XLSX, headers=headers)
    raise HTTPException(422, f"unknown format {fmt!r}: use json, csv or xlsx")


# --------------------------------------------------------------------------- requests in
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: ``\u0000`` in JSON text (a NUL once decoded), not preceded by an escaping backslash.
_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")


def _declared(dependant: Any) -> frozenset[str]:
    """Names of the query parameters and body fields a route (and its dependencies) reads."""
    names = {p.alias for p in (*dependant.query_params, *dependant.body_params)}
    return frozenset(names.union(*(_declared(d) for d in dependant.dependencies)))


async def refuse_nul(request: Request) -> None:
    """App-wide dependency: a NUL character in the path, a declared query parameter or form
    field, or a JSON body is refused (422) before the route runs (databases and file APIs
    below would fail on it). Undeclared parameters never reach a route and are not looked at.
    A form that cannot be parsed is a 400."""
    route = request.scope.get("route")
    declared = _declared(route.dependant) if isinstance(route, APIRoute) else frozenset()
    texts = [request.url.path]
    texts += [v for k, v in request.query_params.multi_items() if k in declared]
    ctype = request.headers.get("content-type", "")
    if request.method in auth.UNSAFE_METHODS and ctype.startswith(FORM_TYPES):
        try:
            form = await request.form()
        except (MultiPartException, ValueError):
            raise HTTPException(400, "the form data cannot be parsed") from None
        texts += [v for k, v in form.multi_items() if k in declared and isinstance(v, str)]
    elif request.method in auth.UNSAFE_METHODS and ctype.startswith("application/json"):
        if _JSON_NUL.search(await request.body()):
            texts.append("\x00")
    if any("\x00" in t for t in texts):
        raise HTTPException(422, "nul")  # translated by the error handler


# --------------------------------------------------------------------------- errors
def _is_api(request: Request) -> bool:
    return request.url.path.startswith("/api/")


def _error(
    request: Request, status: int, message: str, error: dict[str, Any] | None = None
) -> Response:
    """An error answer: JSON ``{"detail": message}`` (and ``error``: the place, value, reason
    and way forward of an input error) for the API, the error page otherwise."""
    message = without_server_paths(message)  # e.g. a configuration file named in an error
    if _is_api(request):
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        body: dict[str, Any] = {"detail": message}
        if error is not None:
            body["error"] = error
        return JSONResponse(body, status_code=status, headers=headers)
    return render(request, "error.html", {"status": status, "message": message}, status_code=status)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(auth.LoginRequired)
    async def _login(request: Request, exc: auth.LoginRequired) -> Response:
        if _is_api(request):
            return _error(request, 401, "not signed in: use a session or an API token")
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}", status_code=303)

    @app.exception_handler(AccessDenied)
    async def _denied(request: Request, exc: AccessDenied) -> Response:
        if _is_api(request) or not exc.permission:
            return _error(request, 403, str(exc))
        t = Translator(lang_of(request))
        action = t(f"permissions.{exc.permission}")
        return _error(request, 403, t("error.denied", role=t(f"roles.{exc.role}"), action=action))

    @app.exception_handler(NotVisible)
    async def _not_visible(request: Request, exc: NotVisible) -> Response:
        return _error(request, 404, str(exc))

    @app.exception_handler(InputError)
    async def _input(request: Request, exc: InputError) -> Response:
        lang = lang_of(request)  # the page's language; for the API ?lang= or the cookie
        error = {
            k: without_server_paths(v) if isinstance(v, str) else v
            for k, v in exc.public(lang).items()
        }
        return _error(request, 422, exc.render(lang), error)

    @app.exception_handler(CitycarbonError)
    async def _cc(request: Request, exc: CitycarbonError) -> Response:
        return _error(request, 422, str(exc))

    @app.exception_handler(HTTPException)
    async def _http(request: Request, exc: HTTPException) -> Response:
        detail = exc.detail
        if detail in ("csrf", "nul"):
            detail = Translator(lang_of(request))(f"error.{detail}")
        if _is_api(request):
            if isinstance(detail, str):
                detail = without_server_paths(detail)
            return JSONResponse(
                {"detail": detail}, status_code=exc.status_code, headers=exc.headers
            )
        return _error(request, exc.status_code, str(detail))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if any(e.get("type") == "json_invalid" for e in exc.errors()):  # not JSON at all
            return _error(request, 400, "the request body is not valid JSON")
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg"), "type": e.get("type")}
            for e in exc.errors()
        ]
        if _is_api(request):
            return JSONResponse({"detail": errors}, status_code=422)
        text = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in errors)
        return _error(request, 422, text)

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return _error(request, 500, Translator(lang_of(request))("error.internal"))


# --------------------------------------------------------------------------- app
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; style-src 'self' 'unsafe-inline'; "
        "script-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'self'; "
        "form-action 'self'"
    ),
}
#: HSTS (RFC 6797) when the session cookies are Secure, i.e. the site is served over HTTPS.
HSTS = "max-age=31536000; includeSubDomains"
DOCS_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
    "script-src 'self' 'unsafe-inline'; frame-ancestors 'none'"
)


class WebMiddleware:
    """Pure ASGI middleware: puts the id the session cookie carries into ``request.state``
    (``cookie_id``; the session is looked up only when a route asks who is signed in), writes
    the cookie when :mod:`citycarbon.web.auth` changed it, remembers ``?lang=`` in a cookie and
    adds the security headers (no caching of API answers and downloads; HSTS when the
    cookies are Secure)."""

    def __init__(self, app: Any, settings: auth.WebSettings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        from starlette.datastructures import MutableHeaders
        from starlette.requests import HTTPConnection

        conn = HTTPConnection(scope)
        state = scope.setdefault("state", {})
        state["cookie_id"] = auth.valid_cookie_id(conn.cookies.get(auth.SESSION_COOKIE))
        state["cookie_out"] = None
        state["principal"] = None
        lang = conn.query_params.get("lang")
        set_lang = lang in LANGS and conn.cookies.get(auth.LANG_COOKIE) != lang
        path = scope["path"]

        async def send_wrapper(message: Any) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                cookies = Response()
                if state["cookie_out"] is not None:
                    value, max_age = state["cookie_out"]
                    cookies.set_cookie(
                        auth.SESSION_COOKIE,
                        value,
                        max_age=max_age,
                        path="/",
                        httponly=True,
                        samesite="lax",
                        secure=self.settings.secure_cookies,
                    )
                if set_lang:
                    cookies.set_cookie(
                        auth.LANG_COOKIE,
                        lang,
                        max_age=365 * 86400,
                        path="/",
                        samesite="lax",
                        secure=self.settings.secure_cookies,
                    )
                for k, v in cookies.raw_headers:
                    if k == b"set-cookie":
                        headers.append("set-cookie", v.decode("latin-1"))
                for k, v in SECURITY_HEADERS.items():
                    if k not in headers:
                        headers[k] = v
                if path.startswith("/api/") and "cache-control" not in headers:
                    headers["Cache-Control"] = "no-store"  # answers and downloads: not kept
                if self.settings.secure_cookies:  # served over HTTPS: browsers keep to it
                    headers["Strict-Transport-Security"] = HSTS
                if path == "/docs":
                    headers["Content-Security-Policy"] = DOCS_CSP
            await send(message)

        await self.app(scope, receive, send_wrapper)


def available_route_modules() -> list[str]:
    """The route modules of :data:`ROUTE_MODULES` that are installed."""
    return [m for m in ROUTE_MODULES if importlib.util.find_spec(f"citycarbon.web.routes.{m}")]


@dataclass(frozen=True)
class RouteInfo:
    """One route of a route module (for the access tests and docs)."""

    module: str
    path: str
    methods: frozenset[str]
    name: str
    in_schema: bool


def route_table(app: FastAPI) -> list[RouteInfo]:
    """Every route the app's route modules define (paths include the routers' prefixes)."""
    out = []
    for name in sorted(app.state.route_modules):
        router = importlib.import_module(f"citycarbon.web.routes.{name}").router
        for r in router.routes:
            if isinstance(r, APIRoute):
                out.append(
                    RouteInfo(name, r.path, frozenset(r.methods), r.name, r.include_in_schema)
                )
    return out


#: Media types of the files an endpoint's ``format`` parameter asks for.
FILE_TYPES = {"csv": "text/csv", "xlsx": XLSX, "pdf": "application/pdf"}


def _document_files(op: dict[str, Any]) -> None:
    """Add the file types an operation's ``format`` query parameter offers (csv, xlsx, pdf) to
    its 200 answer, next to JSON."""
    fmt = next((p for p in op.get("parameters", ()) if p["name"] == "format"), None)
    ok = op.get("responses", {}).get("200")
    if fmt is None or ok is None:
        return
    content = ok.setdefault("content", {})
    for value in fmt.get("schema", {}).get("enum", ()):
        if value in FILE_TYPES:
            content.setdefault(
                FILE_TYPES[value], {"schema": {"type": "string", "format": "binary"}}
            )


#: What :func:`refuse_nul` accepts in a text, as a JSON Schema pattern.
NO_NUL = "^[^\\u0000]*$"


def _no_nul(node: Any, components: dict[str, Any], seen: set[str]) -> None:
    """Give every free text of a request schema (a string without a pattern, an enum or a
    binary format), following references, the pattern :data:`NO_NUL`."""
    if isinstance(node, list):
        for value in node:
            _no_nul(value, components, seen)
        return
    if not isinstance(node, dict):
        return
    ref = node.get("$ref", "")
    if ref.startswith("#/components/schemas/") and ref not in seen:
        seen.add(ref)
        _no_nul(components.get(ref.rsplit("/", 1)[1]), components, seen)
    if node.get("type") == "string" and not {"pattern", "enum", "const", "format"} & set(node):
        node["pattern"] = NO_NUL
    for value in node.values():
        _no_nul(value, components, seen)


def _document_errors(app: FastAPI) -> None:
    """Say in the OpenAPI document what error answers look like: a 422 carries either the list
    of field errors (request validation) or one message (a value the data reject), every
    endpoint may answer 401/403/404 with ``{"detail": message}``, one with a body 400 (not
    JSON, or a form that cannot be parsed); which files ``format=csv|xlsx|pdf`` returns; and
    that no text may hold a NUL character."""
    from fastapi.openapi.utils import get_openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        if "HTTPValidationError" in schemas:
            prop = schemas["HTTPValidationError"]["properties"]["detail"]
            schemas["HTTPValidationError"]["properties"]["detail"] = {
                "anyOf": [prop, {"type": "string"}],
                "title": "Detail",
            }
        schemas["Message"] = {
            "type": "object",
            "properties": {
                "detail": {"type": "string"},
                "error": {
                    "type": "object",
                    "description": "an input error's place and reason (citycarbon.errors): "
                    "file, sheet, line (a CSV's line, header line 1; a workbook's Excel row), "
                    "field, value as written, code, reason, hint, message",
                },
            },
            "required": ["detail"],
        }
        ref = {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}
        }
        texts = {"401": "not signed in", "403": "not allowed", "404": "not found or out of scope"}
        seen: set[str] = set()
        for item in spec.get("paths", {}).values():
            for op in item.values():
                responses = op.setdefault("responses", {})
                for code, text in texts.items():
                    responses.setdefault(code, {"description": text, **ref})
                if "requestBody" in op:
                    responses.setdefault("400", {"description": "body not parseable", **ref})
                _document_files(op)
                # the API refuses a NUL character in any parameter or body (refuse_nul)
                _no_nul([op.get("parameters"), op.get("requestBody")], schemas, seen)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With ``CITYCARBON_WORKER=embedded`` the job consumer (one worker thread) runs in this
    process from start-up to shutdown; jobs never run on the event loop."""
    from starlette.concurrency import run_in_threadpool

    threading.Thread(target=access.warm, daemon=True, name="read-warm").start()
    consumer = None
    if get_settings().worker == "embedded":
        consumer = jobs.start_worker()
    try:
        yield
    finally:
        if consumer is not None:
            await run_in_threadpool(jobs.stop_worker, consumer)
        await run_in_threadpool(auth.write_pending_last_seen)


def create_app(settings: auth.WebSettings | None = None) -> FastAPI:
    """The web application.

    Parameters
    ----------
    settings : WebSettings, optional
        Secret key, cookie flags and trusted proxies; default from the environment
        (``CITYCARBON_SECRET_KEY``, else a key stored in ``$CITYCARBON_HOME/secret_key``;
        ``CITYCARBON_SECURE_COOKIES``; ``CITYCARBON_TRUSTED_PROXIES``).
        ``CITYCARBON_WORKER=embedded`` also runs the background job worker in this process.
    """
    make_private()  # the home and every file this server writes: its account only
    settings = settings or auth.WebSettings.from_env()
    app = FastAPI(
        title="citycarbon API",
        version=__version__,
        description=(
            "碳达峰碳中和管理决策平台 — JSON API. Sign in on the web page (session cookie; "
            "unsafe methods then need the X-CSRF-Token header) or send `Authorization: Bearer "
            "<API token>` (every user makes their own on the 我的令牌 page, /account/tokens; "
            "a token expires, may be read-only, and cannot make tokens). Every endpoint "
            "applies the caller's role and scope."
        ),
        dependencies=[Depends(refuse_nul), Depends(auth.csrf_protect)],
        docs_url=None,  # served below from the vendored Swagger UI (no CDN)
        redoc_url=None,
        lifespan=_lifespan,
    )
    app.state.settings = settings

    app.add_middleware(WebMiddleware, settings=settings)

    _install_error_handlers(app)
    app.mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static")
    present = []
    for name in available_route_modules():
        module = importlib.import_module(f"citycarbon.web.routes.{name}")
        app.include_router(module.router)
        present.append(name)
    app.state.route_modules = frozenset(present)
    _document_errors(app)

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        from fastapi.openapi.docs import get_swagger_ui_html

        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="citycarbon API",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
        )

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
