"""数据: upload a file of any ingest kind (validation report: accepted/quarantined counts and the
problem rows), the batch ledger and the quarantine browser."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse

from citycarbon.contract.inputs import get_schema
from citycarbon.errors import CitycarbonError
from citycarbon.read import access
from citycarbon.read.access import Principal
from citycarbon.web import auth
from citycarbon.web.app import records, render
from citycarbon.web.routes.api import UPLOAD_KINDS, ingest_upload

router = APIRouter(include_in_schema=False)
PrincipalDep = Annotated[Principal, Depends(auth.principal_dep)]
PAGE_SIZE = 100


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
            "kind_titles": {k: get_schema(k).title for k in UPLOAD_KINDS},
            "can_upload": principal.can("upload"),
            "batches": records(frame.head(200)),
            "batches_total": len(frame),
            **extra,
        },
        status_code=status_code,
    )


@router.get("/data", response_class=HTMLResponse)
def data_page(request: Request, principal: PrincipalDep) -> HTMLResponse:
    return _page(request, principal)


@router.post("/data/upload", response_class=HTMLResponse)
def data_upload(
    request: Request,
    principal: PrincipalDep,
    kind: Annotated[str, Form(max_length=32)],
    file: Annotated[UploadFile, File()],
) -> HTMLResponse:
    access.require(principal, "upload")
    try:
        report = ingest_upload(principal, kind, file)
    except CitycarbonError as err:
        return _page(request, principal, upload_error=str(err), kind=kind, status_code=422)
    warning = None
    if report["status"] == "committed":  # targets, warnings (and nowcast) anew; never fails
        from types import SimpleNamespace

        from citycarbon.runs.targets import after_ingest

        if after_ingest(SimpleNamespace(**report)) is None:
            warning = "recompute failed"
        access.invalidate()
    return _page(request, principal, report=report, kind=kind, recompute_warning=warning)


@router.get("/data/batches/{batch_id}", response_class=HTMLResponse)
def batch_page(
    request: Request,
    principal: PrincipalDep,
    batch_id: Annotated[int, Path(ge=1)],
    offset: Annotated[int, Query(ge=0)] = 0,
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
        },
    )


@router.get("/data/quarantine", response_class=HTMLResponse)
def quarantine_page(
    request: Request, principal: PrincipalDep, offset: Annotated[int, Query(ge=0)] = 0
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
