"""数据: the monthly routine of a data analyst. Download the template of any ingest kind (Excel
with a 说明 sheet, CSV; the 205-1表 form), upload a file (queued as a background job; its page
shows the steps, progress and errors, then the validation report and links to the pages whose
results the job refreshed), recent jobs, the batch ledger, the quarantine as a table (filtered
by batch, kind and status; a row is *superseded* once a later batch covers its key), a rejected
row corrected in place (a new one-row batch through the same pipeline, audited), the failed
rows of a batch as a workbook to fix and upload again, and the retraction of a batch after a
confirmation page."""

from __future__ import annotations

from typing import Annotated

import pandas as pd
from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from citycarbon.contract.inputs import get_schema
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.read import access
from citycarbon.read import jobs as job_reads
from citycarbon.read import quarantine as quarantine_reads
from citycarbon.read.access import NotVisible, Principal
from citycarbon.runs import corrections
from citycarbon.runs.pipeline import results_written
from citycarbon.web import auth
from citycarbon.web.app import XLSX, download_name, lang_of, records, render
from citycarbon.web.routes.api import UPLOAD_KINDS, submit_retract, submit_upload

router = APIRouter(include_in_schema=False)
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
PAGE_SIZE = 100
RECENT_JOBS = 20
#: The pages that show each result (i18n key nav.<key>, path): where a finished job sends users.
RESULT_PAGES: dict[str, tuple[tuple[str, str], ...]] = {
    "enterprise_month_fuel_emissions": (("overview", "/"), ("enterprises", "/enterprises")),
    "enterprise_month_electricity_emissions": (("enterprises", "/enterprises"),),
    "enterprise_month_sector_gas_emissions": (("enterprises", "/enterprises"),),
    "energy_balance": (("inventory", "/inventory"),),
    "city_inventory": (("overview", "/"), ("inventory", "/inventory"), ("map", "/map")),
    "city_indicators": (("inventory", "/inventory"),),
    "inventory_uncertainty": (("inventory", "/inventory"),),
    "inventory_reconciliation": (("inventory", "/inventory"),),
    "city_scope2": (("inventory", "/inventory"),),
    "city_sinks": (("inventory", "/inventory"),),
    "city_transport": (("inventory", "/inventory"),),
    "gpc_inventory": (("inventory", "/inventory"),),
    "nowcast": (("power", "/power"),),
    "nowcast_backtest": (("power", "/power"),),
    "nowcast_city_backtest": (("power", "/power"),),
    "meter_quality": (("power", "/power"),),
    "power_indicators": (("power", "/power"),),
    "load_anomalies": (("power", "/power"),),
    "grid_node_intensity": (("map", "/map"),),
    "hourly_scope2": (("map", "/map"), ("power", "/power")),
    "target_progress": (("targets", "/targets"),),
    "dual_control_indicators": (("targets", "/targets"),),
    "target_status": (("targets", "/targets"),),
    "carbon_efficiency": (("rating", "/rating"),),
    "carbon_efficiency_distribution": (("rating", "/rating"),),
    "green_project_reduction": (("projects", "/techmap/projects"), ("map", "/map")),
    "green_project_eligibility": (("projects", "/techmap/projects"),),
}
#: Pages a registry or data change shows at once, without a recompute (the batch ledger).
DATA_PAGE = (("data", "/data"),)


def refreshed_pages(step_names: list[str]) -> list[tuple[str, str]]:
    """The pages showing what the named (finished) steps wrote, each once, in pipeline order."""
    pages = [p for name in results_written(step_names) for p in RESULT_PAGES.get(name, ())]
    return list(dict.fromkeys(pages)) or list(DATA_PAGE)


def _kind(kind: str) -> str:
    """A declared ingest kind; 404 for anything else (no name is ever built from the request)."""
    if kind not in UPLOAD_KINDS:
        raise NotVisible(f"ingest kind {kind!r} not found")
    return kind


def _page(
    request: Request, principal: Principal, status_code: int = 200, **extra: object
) -> HTMLResponse:
    frame = access.batches(principal)
    return render(
        request,
        "data.html",
        {
            "active": "data",
            "kinds": UPLOAD_KINDS,
            "template_formats": {k: corrections.template_formats(k) for k in UPLOAD_KINDS},
            "can_upload": principal.can("upload"),
            "batches": records(frame.head(200)),
            "jobs": job_reads.jobs(principal, limit=RECENT_JOBS)[0],
            "batches_total": len(frame),
            **extra,
        },
        status_code=status_code,
    )


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return _page(request, principal)


@router.post("/data/upload", response_model=None)
def data_upload(
    request: Request,
    principal: PrincipalDep,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
) -> HTMLResponse | RedirectResponse:
    """Queue the upload and go to its job's page at once (the job runs in the worker)."""
    access.require(principal, "upload")
    try:
        job = submit_upload(principal, kind, file)
    except CitycarbonError as err:
        text = err.render(lang_of(request)) if isinstance(err, InputError) else str(err)
        return _page(request, principal, upload_error=text, kind=kind, status_code=422)
    return RedirectResponse(f"/data/jobs/{job.id}", status_code=303)


@router.get("/data/jobs/{job_id}", response_class=HTMLResponse)
def job_page(
    request: Request, principal: PrincipalDep, job_id: Annotated[int, Path(ge=1, le=2**31)]
) -> HTMLResponse:
    """A job's status, steps, progress and error; when finished its validation report."""
    job = job_reads.job(principal, job_id)
    batch, rows = None, []
    if job.finished and job.batch_id:
        batch = access.batch(principal, job.batch_id)
        if batch.rows_quarantined:
            rows = records(access.quarantine(principal, job.batch_id).head(200))
    steps = ",".join(f"{s['name']}={s['status']}" for s in job.steps)
    done = [s["name"] for s in job.steps if s["status"] == "done"]
    return render(
        request,
        "job.html",
        {
            "active": "data",
            "job": job,
            "job_error": job.error_in(lang_of(request)),
            "job_steps": job.steps_in(lang_of(request)),
            "state": f"{job.status}:{steps}",
            "batch": batch,
            "rows": rows,
            # the same file again: the job points at the earlier batch, loaded before it
            "unchanged": batch is not None and batch.created_at < job.created_at,
            "refreshed": refreshed_pages(done) if job.status == "done" else [],
        },
    )


@router.get("/data/templates/{kind}", response_model=None)
def template_download(
    request: Request,
    principal: PrincipalDep,
    kind: Annotated[str, Path(max_length=32)],
    format: Annotated[str, Query(max_length=8)] = "xlsx",
) -> Response:
    """The template of a declared kind, generated from its declaration, in the page's language."""
    access.require(principal, "read")
    kind = _kind(kind)
    if format not in corrections.template_formats(kind):
        raise NotVisible(f"no {format!r} template for {kind}")
    body, name, media = corrections.template_file(kind, format, lang_of(request))
    return Response(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


def _quarantine_context(
    principal: Principal, rows: pd.DataFrame, offset: int, **extra: object
) -> dict[str, object]:
    return {
        "active": "data",
        "rows": records(rows.iloc[offset : offset + PAGE_SIZE]),
        "total": len(rows),
        "offset": offset,
        "limit": PAGE_SIZE,
        "can_correct": principal.can("upload"),
        "statuses": quarantine_reads.STATUSES,
        **extra,
    }


@router.get("/data/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request,
    principal: PrincipalDep,
    batch_id: Annotated[int, Path(ge=1, le=2**31)],
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    status: Annotated[str | None, Query(max_length=16)] = None,
) -> HTMLResponse:
    """A batch: its counts, its quarantined rows with their status, the failed-rows workbook,
    the correction of a row and the retraction."""
    info = access.batch(principal, batch_id)
    status = status if status in quarantine_reads.STATUSES else None
    rows = quarantine_reads.rows(principal, batch_id=batch_id, status=status)
    return render(
        request,
        "quarantine.html",
        _quarantine_context(
            principal,
            rows,
            offset,
            batch=info,
            status=status,
            kind=None,
            api_href=f"/api/v1/quarantine?batch_id={batch_id}",
            can_retract=principal.can("retract") and info.status == "committed",
        ),
    )


@router.get("/data/batches/{batch_id}/failed.xlsx", response_model=None)
def failed_rows(
    request: Request, principal: PrincipalDep, batch_id: Annotated[int, Path(ge=1, le=2**31)]
) -> Response:
    """The failed rows of a batch in its kind's template layout, with a reason column."""
    info = access.batch(principal, batch_id)
    body = corrections.failed_rows_workbook(
        info, access.quarantine(principal, batch_id), lang_of(request)
    )
    name = download_name(f"{info.kind}-batch{info.id}-failed")
    return Response(
        body,
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'},
    )


def _rejected_row(principal: Principal, batch_id: int, source_row: int) -> str:
    """The rejected ``source_row`` of a visible batch as written (404 otherwise)."""
    rows = access.quarantine(principal, batch_id)
    hit = rows[(rows["source_row"] == source_row).to_numpy()]
    if hit.empty:
        raise NotVisible(f"row {source_row} of batch {batch_id} is not in the quarantine")
    return str(hit["raw"].iloc[0])


def _correct_page(
    request: Request,
    principal: Principal,
    batch_id: int,
    source_row: int,
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    info = access.batch(principal, batch_id)
    raw = _rejected_row(principal, batch_id, source_row)
    problems = quarantine_reads.rows(principal, batch_id=batch_id)
    problems = problems[(problems["source_row"] == source_row).to_numpy()]
    return render(
        request,
        "correct.html",
        {
            "active": "data",
            "batch": info,
            "source_row": source_row,
            "fields": corrections.correction_fields(info.kind, raw, lang_of(request)),
            "problems": records(problems),
            "error": error,
        },
        status_code=status_code,
    )


@router.get("/data/batches/{batch_id}/rows/{source_row}", response_class=HTMLResponse)
def correct_form(
    request: Request,
    principal: PrincipalDep,
    batch_id: Annotated[int, Path(ge=1, le=2**31)],
    source_row: Annotated[int, Path(ge=0, le=2**40)],
) -> HTMLResponse:
    """A rejected row as written, in a form to correct it."""
    access.require(principal, "upload")
    return _correct_page(request, principal, batch_id, source_row)


@router.post("/data/batches/{batch_id}/rows/{source_row}", response_model=None)
async def correct_submit(
    request: Request,
    principal: PrincipalDep,
    batch_id: Annotated[int, Path(ge=1, le=2**31)],
    source_row: Annotated[int, Path(ge=0, le=2**40)],
) -> HTMLResponse | RedirectResponse:
    """Send the corrected row through the ingest pipeline as a new batch; go to its job."""
    access.require(principal, "upload")
    info = access.batch(principal, batch_id)
    raw = _rejected_row(principal, batch_id, source_row)
    form = await request.form()
    values = {
        c.name: str(form.get(f"col_{c.name}") or "")[:500] for c in get_schema(info.kind).columns
    }
    try:
        job = corrections.submit_correction(
            info,
            source_row,
            raw,
            values,
            created_by=principal.username,
            created_by_id=principal.user_id,
        )
    except CitycarbonError as err:
        return _correct_page(request, principal, batch_id, source_row, str(err), 422)
    return RedirectResponse(f"/data/jobs/{job.id}", status_code=303)


@router.get("/data/batches/{batch_id}/retract", response_class=HTMLResponse)
def retract_confirm(
    request: Request, principal: PrincipalDep, batch_id: Annotated[int, Path(ge=1, le=2**31)]
) -> HTMLResponse:
    """The confirmation step of a retraction: what the batch holds, a reason, confirm/cancel."""
    access.require(principal, "retract")
    info = access.batch(principal, batch_id)
    return render(request, "retract.html", {"active": "data", "batch": info})


@router.post("/data/batches/{batch_id}/retract", response_model=None)
def batch_retract(
    request: Request,
    principal: PrincipalDep,
    batch_id: Annotated[int, Path(ge=1, le=2**31)],
    reason: Annotated[str, Form(max_length=500)] = "",
) -> HTMLResponse | RedirectResponse:
    """Queue the retraction of a batch and go to its job's page."""
    access.require(principal, "retract")  # 403 before anything else
    try:
        job = submit_retract(principal, batch_id, reason)
    except CitycarbonError as err:
        return _page(request, principal, upload_error=str(err), status_code=422)
    return RedirectResponse(f"/data/jobs/{job.id}", status_code=303)


@router.get("/data/quarantine", response_model=None)
def quarantine_page(
    request: Request,
    principal: PrincipalDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    status: Annotated[str | None, Query(max_length=16)] = None,
    batch: Annotated[str | None, Query(max_length=10, pattern=r"^\d*$")] = None,
) -> HTMLResponse | RedirectResponse:
    """Every visible quarantined row, filtered by kind and status (a batch: its own page; the
    filter form sends an empty batch number when none is given)."""
    if batch:
        return RedirectResponse(f"/data/batches/{int(batch)}", status_code=303)
    kind = kind if kind in UPLOAD_KINDS else None
    status = status if status in quarantine_reads.STATUSES else None
    rows = quarantine_reads.rows(principal, kind=kind, status=status)
    query = "&".join(f"{k}={v}" for k, v in (("kind", kind),) if v)
    return render(
        request,
        "quarantine.html",
        _quarantine_context(
            principal,
            rows,
            offset,
            batch=None,
            kind=kind,
            status=status,
            kinds=UPLOAD_KINDS,
            api_href="/api/v1/quarantine" + (f"?{query}" if query else ""),
        ),
    )
