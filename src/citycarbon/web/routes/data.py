"""数据: upload a file of any ingest kind (queued as a background job; its page shows the steps,
progress and errors, then the validation report: accepted/quarantined counts and the problem
rows), recent jobs, the batch ledger and the quarantine browser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse

from citycarbon.errors import CitycarbonError, InputError
from citycarbon.read import access
from citycarbon.read import jobs as job_reads
from citycarbon.read.access import Principal
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render
from citycarbon.web.routes.api import UPLOAD_KINDS, submit_retract, submit_upload

router = APIRouter(include_in_schema=False)
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
PAGE_SIZE = 100
RECENT_JOBS = 20


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
        },
    )


@router.get("/data/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request,
    principal: PrincipalDep,
    batch_id: Annotated[int, Path(ge=1, le=2**31)],
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    info = access.batch(principal, batch_id)
    rows = access.quarantine(principal, batch_id)
    return render(
        request,
        "quarantine.html",
        {
            "active": "data",
            "batch": info,
            "rows": records(rows.iloc[offset : offset + PAGE_SIZE]),
            "total": len(rows),
            "offset": offset,
            "limit": PAGE_SIZE,
            "api_href": f"/api/v1/quarantine?batch_id={batch_id}",
            "can_retract": principal.can("retract") and info.status == "committed",
        },
    )


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


@router.get("/data/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request,
    principal: PrincipalDep,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> HTMLResponse:
    rows = access.quarantine(principal)
    return render(
        request,
        "quarantine.html",
        {
            "active": "data",
            "batch": None,
            "rows": records(rows.iloc[offset : offset + PAGE_SIZE]),
            "total": len(rows),
            "offset": offset,
            "limit": PAGE_SIZE,
            "api_href": "/api/v1/quarantine",
        },
    )
