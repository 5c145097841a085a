"""HTTP API ``/api/v1`` (JSON; lists also as CSV or Excel with ``format=csv|xlsx``).

Authentication: the web session cookie (unsafe methods then need ``X-CSRF-Token``) or
``Authorization: Bearer <API token>``. Every endpoint reads through
:mod:`citycarbon.read.access`, so the caller's role and scope apply exactly as on the pages.
Lists are paginated (``limit``, ``offset``; the answer gives ``total``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import (
    APIRouter,
    Depends,
    File,
    Form,
    HTTPException,
    Path,
    Query,
    Request,
    UploadFile,
)
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from citycarbon import factors
from citycarbon.config import CONTEXTS, load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.inputs import SCHEMAS
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.read import access
from citycarbon.read import jobs as job_reads
from citycarbon.read import quarantine as quarantine_reads
from citycarbon.read.access import Principal
from citycarbon.read.pages import table_basis
from citycarbon.read.presentation import Basis
from citycarbon.runs import enterprise_energy
from citycarbon.runs import jobs as job_runs
from citycarbon.store import users
from citycarbon.store.jobs import JobInfo
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, table_download
from citycarbon.web.routes.overview import overview_data

router = APIRouter(prefix="/api/v1")
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
Limit = Annotated[int, Query(ge=1, le=1000, description="rows per page")]
Offset = Annotated[int, Query(ge=0, le=10_000_000, description="rows to skip")]
Format = Annotated[
    Literal["json", "csv", "xlsx"],
    Query(description="json (paginated) or a CSV/Excel file of all rows"),
]
#: Label a CSV/Excel file for people in this language (headers with units, 万吨, %, 口径).
FileLang = Annotated[
    Literal["zh", "en"] | None,
    Query(
        description="with format=csv|xlsx: a file for people in this language (labelled "
        "headers with units, 万吨 and %, the 口径); without it the API's field names"
    ),
]
CreditCode = Annotated[
    str, Path(min_length=18, max_length=18, description="统一社会信用代码 (18 characters)")
]
Year = Annotated[int | None, Query(ge=1900, le=2200, description="data year (default latest)")]
UPLOAD_KINDS = tuple(SCHEMAS)
UploadKind = Literal[UPLOAD_KINDS]  # type: ignore[valid-type]
#: An error answer's body (the ``Message`` schema of the OpenAPI document).
MESSAGE = {"application/json": {"schema": {"$ref": "#/components/schemas/Message"}}}


class Page(BaseModel):
    """One page of a list."""

    total: int = Field(description="rows matching the filters")
    limit: int
    offset: int
    items: list[dict[str, Any]]


class Me(BaseModel):
    username: str
    display_name: str | None
    role: str
    scope_code: str | None
    scope: str
    permissions: list[str]


class Overview(BaseModel):
    latest_year: int | None
    years: list[dict[str, Any]]
    districts: list[dict[str, Any]]
    top: list[dict[str, Any]]
    run_id: str | None
    factor_profile: str | None


class EnterpriseDetail(BaseModel):
    enterprise: dict[str, Any]
    rank: dict[str, Any]


class UploadQueued(BaseModel):
    """An accepted upload: its job runs in the background; poll ``status_url``."""

    job_id: int
    status: Literal["queued", "running", "done", "failed"]
    status_url: str = Field(description="GET it until status is done or failed")


class JobStep(BaseModel):
    name: str = Field(description="ingest, targets, ... in the order they ran")
    status: Literal["pending", "running", "done", "failed", "skipped"]
    seconds: float
    message: str


class JobOut(BaseModel):
    """A background job: an upload and the pipeline it runs."""

    id: int
    kind: str = Field(description="'ingest'")
    ingest_kind: str | None
    source_name: str | None = Field(description="the uploaded file's name")
    status: Literal["queued", "running", "done", "failed"]
    created_by: str
    created_at: str
    started_at: str | None
    finished_at: str | None
    steps: list[JobStep]
    progress: float = Field(ge=0, le=1)
    error: str | None = Field(description="why the job failed, in the request's language")
    error_detail: dict[str, Any] | None = Field(
        default=None,
        description="an input error's file, sheet, line, field, value as written, code, reason "
        "and hint (the Message schema's error)",
    )
    batch_id: int | None
    batch_url: str | None = Field(description="the batch's API resource, once there is one")


class JobPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[JobOut]


class NewUser(BaseModel):
    model_config = ConfigDict(strict=True)  # JSON types as the schema says (no "1" for 1)

    username: str = Field(pattern=users.USERNAME_RE.pattern)
    password: str = Field(min_length=8, max_length=1024)
    role: Literal[
        "admin",
        "city_analyst",
        "district_manager",
        "park_manager",
        "enterprise_user",
        "viewer",
        "bank",
    ]
    scope_code: str | None = Field(None, max_length=32)
    display_name: str | None = Field(None, max_length=200)


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=100)
    username: str | None = Field(None, description="owner (admins only; default yourself)")
    days: int | None = Field(
        None,
        ge=1,
        le=36_500,
        description="lifetime (default CITYCARBON_TOKEN_DAYS; more than "
        "CITYCARBON_TOKEN_MAX_DAYS is refused with 422)",
    )
    scope: Literal["full", "read"] = Field(
        "full", description="full: everything the owner may; read: reading only"
    )


class TokenOut(BaseModel):
    id: int
    token: str = Field(description="shown only in this answer; store it now")


def page(
    frame: pd.DataFrame,
    limit: int,
    offset: int,
    fmt: str,
    name: str,
    lang: str | None = None,
    about: Basis | None = None,
) -> Any:
    """A paginated JSON page, or the whole frame as a file (for people with ``lang``: labelled,
    with the 口径 ``about``; :func:`citycarbon.web.app.table_download`)."""
    if fmt != "json":
        return table_download(frame, name, fmt, lang, about)
    return JSONResponse(
        {
            "total": len(frame),
            "limit": limit,
            "offset": offset,
            "items": records(frame.iloc[offset : offset + limit]),
        }
    )


def file_basis(
    principal: Principal,
    lang: str | None,
    frame: pd.DataFrame,
    result_name: str | None = None,
    year: int | None = None,
) -> Basis | None:
    """The 口径 of a download for people in ``lang`` (None without ``lang``: the API's own
    file): :func:`citycarbon.read.pages.table_basis` with ``year`` or else the year of the
    rows when they hold one year, the run of ``result_name``."""
    if not lang:
        return None
    years = frame["year"].dropna().unique() if "year" in frame.columns else []
    if year is None and len(years) == 1:
        year = int(years[0])
    return table_basis(principal, lang, year=year, result_name=result_name)


def one(
    frame: pd.DataFrame, fmt: str, name: str, lang: str | None = None, about: Basis | None = None
) -> Any:
    """A whole table as JSON rows (already JSON-safe: sent as is) or as a file (for people
    with ``lang``)."""
    if fmt == "json":
        return JSONResponse(records(frame))
    return table_download(frame, name, fmt, lang, about)


# --------------------------------------------------------------------------- me, overview
@router.get("/me", response_model=Me, tags=["access"])
async def me(principal: PrincipalDep) -> dict:
    """Who the caller is, their role, scope and permissions."""
    return {
        "username": principal.username,
        "display_name": principal.display_name,
        "role": principal.role,
        "scope_code": principal.scope_code,
        "scope": access.scope_label(principal, "en"),
        "permissions": sorted(p for p in access.PERMISSIONS if principal.can(p)),
    }


@router.get("/overview", response_model=Overview, tags=["overview"])
async def overview(principal: PrincipalDep) -> Any:
    """Totals by year, by district (latest year) and the ten largest emitters, over the
    enterprises the caller sees (the city for city-wide roles)."""

    data = dict(overview_data(principal))  # the memoized answer is shared: copy
    data.pop("months", None)
    return JSONResponse(data)


@router.get("/overview/years", tags=["overview"])
async def overview_years(principal: PrincipalDep, format: Format = "json") -> Any:
    """Energy [tce], scope 1, scope 2 and total CO2 [t] and reporting enterprises by year."""
    return one(access.totals_by_year(principal), format, "totals_by_year")


@router.get("/overview/months", tags=["overview"])
async def overview_months(principal: PrincipalDep, format: Format = "json") -> Any:
    """Energy and CO2 by month."""
    return one(access.totals_by_month(principal), format, "totals_by_month")


@router.get("/overview/districts", tags=["overview"])
async def overview_districts(
    principal: PrincipalDep, year: Year = None, format: Format = "json"
) -> Any:
    """Energy and CO2 by district in a year (default the latest)."""
    return one(access.totals_by_district(principal, year), format, "totals_by_district")


@router.get("/overview/top", tags=["overview"])
async def overview_top(
    principal: PrincipalDep,
    year: Year = None,
    n: Annotated[int, Query(ge=1, le=500)] = 10,
    format: Format = "json",
) -> Any:
    """The largest CO2 emitters of a year among the enterprises the caller sees."""
    return one(access.top_emitters(principal, year, n), format, "top_emitters")


@router.get("/statistics", tags=["overview"])
def statistics(principal: PrincipalDep, format: Format = "json") -> Any:
    """City statistics (GDP, population, energy ...) by region, year and indicator."""
    return one(access.city_statistics(principal), format, "city_statistics")


# --------------------------------------------------------------------------- enterprises
@router.get("/enterprises", response_model=Page, tags=["enterprises"])
async def enterprise_list(
    principal: PrincipalDep,
    q: Annotated[str | None, Query(max_length=100, description="name or credit code")] = None,
    district: Annotated[str | None, Query(max_length=6)] = None,
    park: Annotated[str | None, Query(max_length=32)] = None,
    industry: Annotated[str | None, Query(max_length=5, description="GB/T 4754 prefix")] = None,
    key_only: bool = False,
    year: Year = None,
    limit: Limit = 50,
    offset: Offset = 0,
    format: Format = "json",
) -> Any:
    """Enterprises the caller sees with their energy and CO2 of a year, largest first."""
    frame = access.enterprises(
        principal,
        q=q,
        district=district,
        park=park,
        industry=industry,
        key_only=key_only,
        year=year,
    )
    return page(frame, limit, offset, format, "enterprises")


@router.get("/enterprises/{credit_code}", response_model=EnterpriseDetail, tags=["enterprises"])
def enterprise_detail(principal: PrincipalDep, credit_code: CreditCode, year: Year = None) -> dict:
    """One enterprise (404 outside the caller's scope) and its rank in its industry."""
    return {
        "enterprise": access.enterprise(principal, credit_code),
        "rank": access.enterprise_rank(principal, credit_code, year),
    }


@router.get("/enterprises/{credit_code}/monthly", tags=["enterprises"])
def enterprise_monthly(
    principal: PrincipalDep, credit_code: CreditCode, format: Format = "json"
) -> Any:
    """Monthly energy [tce] and CO2 [t] of one enterprise (latest results run)."""
    return one(access.enterprise_monthly(principal, credit_code), format, f"{credit_code}_monthly")


@router.get("/enterprises/{credit_code}/fuel-mix", tags=["enterprises"])
def enterprise_fuel_mix(
    principal: PrincipalDep, credit_code: CreditCode, year: Year = None, format: Format = "json"
) -> Any:
    """Energy use of one enterprise by fuel in a year: quantity and standard coal [tce]."""
    access.enterprise(principal, credit_code)  # visible, or 404
    frame = enterprise_energy.fuel_mix(credit_code, year)
    return one(frame, format, f"{credit_code}_fuel_mix")


# --------------------------------------------------------------------------- data
@router.get("/batches", response_model=Page, tags=["data"])
def batch_list(
    principal: PrincipalDep,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    status: Literal["running", "committed", "failed", "retracted"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
    format: Format = "json",
) -> Any:
    """Ingest batches (city-wide roles: all; others: their own), newest first."""
    return page(
        access.batches(principal, kind=kind, status=status), limit, offset, format, "batches"
    )


@router.get("/batches/{batch_id}", tags=["data"])
def batch_detail(principal: PrincipalDep, batch_id: Annotated[int, Path(ge=1, le=2**31)]) -> dict:
    """One batch."""
    info = access.batch(principal, batch_id)
    return records(pd.DataFrame([info.__dict__]).drop(columns="created_by_id"))[0]  # no user ids


@router.get("/quarantine", response_model=Page, tags=["data"])
def quarantine(
    principal: PrincipalDep,
    batch_id: Annotated[int | None, Query(ge=1, le=2**31)] = None,
    kind: Annotated[UploadKind | None, Query(description="ingest kind")] = None,
    status: Annotated[
        Literal[quarantine_reads.STATUSES] | None,  # type: ignore[valid-type]
        Query(description="open, or superseded by a later batch covering the row's key"),
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
) -> Any:
    """Quarantined (rejected) rows with the column, value, reason and status (open, or
    superseded by the later batch ``superseded_by``)."""
    rows = quarantine_reads.rows(principal, batch_id=batch_id, kind=kind, status=status)
    return page(rows, limit, offset, format, "quarantine")


def submit_upload(principal: Principal, kind: str, upload: UploadFile) -> JobInfo:
    """Queue the ingest of an uploaded file as the principal (uploaders only); its job."""
    access.require(principal, "upload")
    if kind not in UPLOAD_KINDS:
        raise InputError(
            code="unknown_kind", params={"known": ", ".join(UPLOAD_KINDS)}, field="kind", value=kind
        )
    return job_runs.submit_ingest(
        kind,
        upload.file,
        upload.filename,
        created_by=principal.username,
        created_by_id=principal.user_id,
    )


def submit_retract(principal: Principal, batch_id: int, reason: str) -> JobInfo:
    """Queue the retraction of a batch the principal sees (404 otherwise) and may retract."""
    access.require(principal, "retract")
    info = access.batch(principal, batch_id)
    if info.status != "committed":
        raise InputError(
            f"batch {batch_id} is {info.status}: only a committed batch can be retracted",
            field="batch",
            value=batch_id,
        )
    return job_runs.submit_retract(
        batch_id,
        created_by=principal.username,
        created_by_id=principal.user_id,
        reason=reason.strip(),
    )


def job_out(info: JobInfo, lang: str) -> dict[str, Any]:
    """A job as the API shows it (no user ids, no server paths), its error in ``lang``."""
    out = info.public()
    out.pop("created_by_id")
    out["error"], out["error_detail"] = info.error_in(lang), info.error_detail(lang)
    out["steps"] = info.steps_in(lang)
    out["batch_url"] = f"/api/v1/batches/{info.batch_id}" if info.batch_id else None
    return out


@router.post("/uploads", response_model=UploadQueued, status_code=202, tags=["data"])
def upload(
    principal: PrincipalDep,
    kind: Annotated[UploadKind, Form(description="ingest kind, e.g. energy_monthly")],
    file: Annotated[UploadFile, File(description="CSV, Excel (.xlsx) or Parquet")],
) -> dict:
    """Queue a file for validation and ingest (admins and city analysts). Answers at once
    (202) with the job; poll ``status_url`` for its steps, progress, errors and batch. The
    kind and the file type are checked at once (422)."""
    job = submit_upload(principal, kind, file)
    return {"job_id": job.id, "status": job.status, "status_url": f"/api/v1/jobs/{job.id}"}


@router.post(
    "/batches/{batch_id}/retract", response_model=UploadQueued, status_code=202, tags=["data"]
)
def retract(
    principal: PrincipalDep,
    batch_id: Annotated[int, Path(ge=1, le=2**31)],
    reason: Annotated[str, Form(max_length=500, description="why (kept in the audit log)")] = "",
) -> dict:
    """Retract a batch (admins and city analysts): its rows stop counting, its history stays;
    what it touched is recomputed by a background job (202; poll ``status_url``)."""
    job = submit_retract(principal, batch_id, reason)
    return {"job_id": job.id, "status": job.status, "status_url": f"/api/v1/jobs/{job.id}"}


@router.get("/jobs", response_model=JobPage, tags=["data"])
def job_list(
    request: Request,
    principal: PrincipalDep,
    status: Literal["queued", "running", "done", "failed"] | None = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> dict:
    """Background jobs, newest first (admins and city analysts: all; others: their own)."""
    items, total = job_reads.jobs(principal, status=status, limit=limit, offset=offset)
    return {
        "total": total,
        "limit": limit,
        "offset": offset,
        "items": [job_out(j, lang_of(request)) for j in items],
    }


@router.get("/jobs/{job_id}", response_model=JobOut, tags=["data"])
def job_detail(
    request: Request, principal: PrincipalDep, job_id: Annotated[int, Path(ge=1, le=2**31)]
) -> dict:
    """One job (404 outside the caller's scope): status, steps, progress, error (in the
    request's language, ``?lang=zh|en``), batch."""
    return job_out(job_reads.job(principal, job_id), lang_of(request))


# --------------------------------------------------------------------------- factors
def _factor_set(set_id: str) -> factors.FactorSet:
    extra = get_settings().factors_path
    if set_id not in factors.available_ids(extra):
        raise access.NotVisible(f"factor set {set_id!r} not found")
    return factors.load_factor_set(set_id, extra_paths=extra)


FACTOR_SET_COLUMNS = [
    "id",
    "version",
    "title",
    "title_zh",
    "title_en",
    "publisher",
    "values",
    "parameters",
    *(f"{c}_rank" for c in CONTEXTS),
]


def city_profiles() -> dict[str, factors.FactorProfile]:
    """The city's factor profile per context (its config's priority, overrides and GWP set)."""
    city = load_city()
    return {c: city.factor_profile(c) for c in CONTEXTS}


def factor_sets_frame() -> pd.DataFrame:
    """The library's sets with counts and, per context, the set's place in the city's priority
    (``inventory_rank``, ``enterprise_rank``: 1 = first looked up; empty when not used)."""
    ranks = {
        c: {s.id: i for i, s in enumerate(p.sets, start=1)} for c, p in city_profiles().items()
    }
    rows = [
        {
            "id": s.id,
            "version": s.version,
            "title": s.title,
            **{f"title_{lang}": s.text("title", lang) for lang in factors.LANGS},
            "publisher": s.publisher,
            "values": len(s.table),
            "parameters": ", ".join(sorted(s.table["parameter"].unique())),
            **{f"{c}_rank": ranks[c].get(s.id) for c in CONTEXTS},
        }
        for s in factors.list_factor_sets(get_settings().factors_path)
    ]
    return pd.DataFrame(rows, columns=FACTOR_SET_COLUMNS).astype(
        {f"{c}_rank": "Int64" for c in CONTEXTS}
    )


@router.get("/factor-sets", tags=["factors"])
def factor_set_list(principal: PrincipalDep, format: Format = "json", lang: FileLang = None) -> Any:
    """The factor sets of the library (id, version, title as recorded and in each language,
    publisher, counts); with ``lang`` the title in that language only."""
    access.require(principal, "read")
    frame = factor_sets_frame()
    if lang:
        frame = factors.in_language(frame, lang, ["title"])
    return one(frame, format, "factor_sets", lang)


#: a factor set's columns with the key's names after the key, and where the city uses the value
FactorValueColumns = [
    *factors.COLUMNS[:2],
    "name_zh",
    "name_en",
    *factors.COLUMNS[2:],
    *(f"used_{c}" for c in CONTEXTS),
]


def factor_values(set_id: str, parameter: str | None = None, q: str | None = None) -> pd.DataFrame:
    """Values of a set with the names of their keys (``福建`` finds ``fujian``, ``原煤``
    ``raw_coal``) and, per context, whether the city's profile takes this value
    (``used_inventory``, ``used_enterprise``: the set is in the city's priority and no set
    before it, nor an override, gives the same parameter, key, context and year; of the grid
    regions' values only the declared ``grid_region`` and, for the inventory, the regions of
    its sensitivity table)."""
    t = _factor_set(set_id).table
    names = factors.key_names().reindex(t["key"])
    t = t.assign(**{c: names[c].fillna("").to_numpy() for c in ("name_zh", "name_en", "aliases")})
    if parameter:
        t = t[t["parameter"] == parameter]
    if q:
        text = q.strip().lower()
        hay = t["key"].str.cat(t[["name_zh", "name_en", "aliases"]], sep="\t").str.lower()
        t = t[hay.str.contains(text, regex=False)]
    index = ["set_id", *factors.library.INDEX]
    choice = load_city().factors
    declared = {
        "inventory": {choice.grid_region, *choice.grid_sensitivity.values()},
        "enterprise": {choice.grid_region},
    }
    regions = factors.grid_regions().index
    for c, profile in city_profiles().items():
        chosen = profile.table[index].assign(**{f"used_{c}": True})
        t = t.merge(chosen, on=index, how="left")
        used = t[f"used_{c}"].astype("boolean").fillna(False).astype(bool)
        undeclared = t["key"].isin(regions) & ~t["key"].isin(declared[c])
        t[f"used_{c}"] = used & ~undeclared
    return t[[c for c in FactorValueColumns if c in t.columns]].reset_index(drop=True)


@router.get("/factor-sets/{set_id}", response_model=Page, tags=["factors"])
def factor_set_values(
    principal: PrincipalDep,
    set_id: Annotated[str, Path(max_length=100)],
    parameter: Annotated[str | None, Query(max_length=64)] = None,
    q: Annotated[
        str | None, Query(max_length=100, description="key or its Chinese/English name contains")
    ] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
    lang: FileLang = None,
) -> Any:
    """Values of a factor set with unit, source, clause and note (as recorded, ``note_zh``,
    ``note_en``); with ``lang`` the note in that language only."""
    access.require(principal, "read")
    frame = factor_values(set_id, parameter, q)
    if lang:
        frame = factors.in_language(frame, lang)
    return page(frame, limit, offset, format, f"factors_{set_id}", lang)


def factor_diff(a: str, b: str) -> pd.DataFrame:
    return factors.diff(_factor_set(a), _factor_set(b))


@router.get("/factor-diff", response_model=Page, tags=["factors"])
def factor_set_diff(
    principal: PrincipalDep,
    a: Annotated[str, Query(max_length=100)],
    b: Annotated[str, Query(max_length=100)],
    limit: Limit = 200,
    offset: Offset = 0,
    format: Format = "json",
) -> Any:
    """Values that differ between two factor sets (only in a, only in b, changed)."""
    access.require(principal, "read")
    return page(factor_diff(a, b), limit, offset, format, f"diff_{a}_{b}")


# --------------------------------------------------------------------------- admin
@router.get("/users", tags=["admin"])
def user_list(principal: PrincipalDep, format: Format = "json") -> Any:
    """Users (admins only; no password hashes)."""
    access.require(principal, "manage_users")
    return one(users.list_users(), format, "users")


@router.post(
    "/users",
    status_code=201,
    tags=["admin"],
    responses={409: {"description": "a user of that name exists", "content": MESSAGE}},
)
def user_create(principal: PrincipalDep, body: NewUser) -> dict:
    """Add a user (admins only; audited). A name already taken is a conflict (409)."""
    access.require(principal, "manage_users")
    if users.get_user_by_name(body.username) is not None:
        raise HTTPException(409, f"user {body.username!r} already exists")
    info = users.create_user(
        body.username,
        body.password,
        body.role,
        scope_code=body.scope_code,
        display_name=body.display_name,
        actor=principal.username,
    )
    return info.public()


@router.get("/tokens", tags=["admin"])
def token_list(principal: PrincipalDep, format: Format = "json") -> Any:
    """API tokens (admins: all; others: their own). The tokens themselves are never shown."""
    mine = None if principal.can("manage_users") else principal.username
    return one(users.list_tokens(username=mine), format, "api_tokens")


@router.post("/tokens", response_model=TokenOut, status_code=201, tags=["admin"])
def token_create(principal: PrincipalDep, body: NewToken) -> dict:
    """A new API token (for yourself; admins also for others), with an expiry and a scope.
    Shown once. Audited. Only a signed-in person may make one: a request made with an API
    token answers 403."""
    access.require(principal, "manage_tokens")
    owner = body.username or principal.username
    if owner != principal.username:
        access.require(principal, "manage_users")
    if principal.user_id is None:
        raise HTTPException(403, "only users can own tokens")
    token_id, token = users.create_token(
        owner, body.name, days=body.days, scope=body.scope, actor=principal.username
    )
    return {"id": token_id, "token": token}


@router.post("/tokens/{token_id}/revoke", status_code=204, tags=["admin"])
def token_revoke(
    principal: PrincipalDep, token_id: Annotated[int, Path(ge=1, le=2**31)]
) -> Response:
    """Revoke one of your API tokens (admins: anyone's). Audited."""
    access.require(principal, "manage_tokens")
    mine = None if principal.can("manage_users") else principal.username
    users.revoke_token(token_id, owner=mine, actor=principal.username)
    return Response(status_code=204)


@router.get("/audit", response_model=Page, tags=["admin"])
def audit(
    principal: PrincipalDep,
    entity: Annotated[str | None, Query(max_length=64)] = None,
    limit: Limit = 100,
    offset: Offset = 0,
    format: Format = "json",
) -> Any:
    """The audit log, newest first (admins only)."""
    access.require(principal, "read_audit")
    if format != "json":
        frame, _ = users.audit_frame(limit=1_000_000, offset=0, entity=entity)
        return table_download(frame.astype({"before": str, "after": str}), "audit_log", format)
    frame, total = users.audit_frame(limit=limit, offset=offset, entity=entity)
    return {"total": total, "limit": limit, "offset": offset, "items": records(frame)}


__all__ = ["CitycarbonError", "Response", "router"]
