"""公众视图: the public citizen page ``/public`` and ``/api/public/...`` (no sign-in).

Only city-level aggregates (:mod:`citycarbon.read.public`): emissions and trend, dual-control
progress, 碳普惠 totals and open-data CSV downloads with their licence and 口径. Answers are
cacheable (``Cache-Control: public``) and every client address is limited to
:data:`RATE_LIMIT` requests per :data:`RATE_WINDOW_S` seconds (429 with ``Retry-After``; per
process — a deployment with several workers puts the same limit at its reverse proxy).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from citycarbon.read import public
from citycarbon.web import auth
from citycarbon.web.app import lang_of, records, render, table_download
from citycarbon.web.i18n import Translator

RATE_LIMIT = 120
RATE_WINDOW_S = 60.0
_hits: dict[str, deque[float]] = {}
_hits_lock = threading.Lock()


def rate_limited(request: Request) -> None:
    """Dependency: at most :data:`RATE_LIMIT` requests per address per window."""
    now = time.monotonic()
    address = auth.client_ip(request)
    with _hits_lock:
        hits = _hits.setdefault(address, deque())
        while hits and now - hits[0] > RATE_WINDOW_S:
            hits.popleft()
        if len(hits) >= RATE_LIMIT:
            wait = max(1, int(RATE_WINDOW_S - (now - hits[0])) + 1)
            raise HTTPException(429, detail="too many requests", headers={"Retry-After": str(wait)})
        hits.append(now)


router = APIRouter(dependencies=[Depends(rate_limited)], tags=["public"])
CACHE = {"Cache-Control": f"public, max-age={public.CACHE_S}"}
Dataset = Literal["emissions", "emissions_by_sector", "dual_control", "credits"]


def _summary() -> dict[str, Any]:
    credits = public.credits_summary()
    return {
        "emissions_trend": records(public.emissions_trend()),
        "emissions_by_sector": records(public.emissions_by_sector()),
        "dual_control": records(public.dual_control()),
        "credits": {
            "credited_kgco2e": float(credits["credited_kgco2e"].sum()),
            "events": int(credits["events"].sum()),
            "by_month": records(
                credits.groupby("period", as_index=False)[["credited_kgco2e", "events"]].sum()
            ),
            "by_method": records(
                credits.groupby("method", as_index=False)[["credited_kgco2e", "events"]].sum()
            ),
        },
        "licence": public.LICENCE,
    }


@router.get("/api/public/summary")
async def public_summary() -> JSONResponse:
    """City emissions and trend, dual-control indicators and 碳普惠 totals (aggregates only)."""
    return JSONResponse(await run_in_threadpool(_summary), headers=CACHE)


@router.get("/api/public/datasets")
def public_datasets(request: Request) -> JSONResponse:
    """The open-data downloads with their licence and 口径."""
    t = Translator(lang_of(request))
    items = [
        {
            "name": d.name,
            "url": f"/api/public/data/{d.name}.csv",
            "basis": t(d.basis_key),
            "licence": public.LICENCE,
        }
        for d in public.DATASETS.values()
    ]
    return JSONResponse(items, headers=CACHE)


@router.get(
    "/api/public/data/{key}.csv",
    response_class=Response,
    responses={
        200: {
            "description": "the table as CSV (UTF-8 with BOM)",
            "content": {"text/csv": {"schema": {"type": "string", "format": "binary"}}},
        },
        429: {"description": "too many requests from this address"},
    },
)
async def public_dataset(request: Request, key: Dataset) -> Response:
    """One open-data table as CSV (licence and 口径 in the headers and in /api/public/datasets)."""
    d = public.DATASETS[key]
    frame = await run_in_threadpool(d.rows)
    response = table_download(frame, key, "csv")
    response.headers.update(CACHE)
    response.headers["X-Data-Licence"] = public.LICENCE["id"]
    response.headers["Link"] = f'<{public.LICENCE["url"]}>; rel="license"'
    return response


@router.get("/public", include_in_schema=False)
async def public_page(request: Request) -> Response:
    summary = await run_in_threadpool(_summary)
    response = render(
        request,
        "public.html",
        {"summary": summary, "datasets": list(public.DATASETS.values()), "active": "public"},
    )
    return response  # no-store (render): the page may set the visitor's cookie
