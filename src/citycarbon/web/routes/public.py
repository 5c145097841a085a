"""公众视图: the public citizen page ``/public`` and ``/api/public/...`` (no sign-in).

Only aggregates (:mod:`citycarbon.read.public`): city emissions and trend, dual-control
progress, 碳普惠 totals, open-data CSV downloads with their licence and 口径, and the 电碳 map at
district level (district outlines and :data:`citycarbon.runs.map_layers.PUBLIC_DISTRICT_VALUES`
from the map cube; drawn by the map page's own ``map.js`` and vendored ECharts). Answers are
cacheable (``Cache-Control: public``) and every client address is limited to
:data:`RATE_LIMIT` requests per :data:`RATE_WINDOW_S` seconds (429 with ``Retry-After``; per
process — a deployment with several workers puts the same limit at its reverse proxy).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Annotated, Any, Literal

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from citycarbon.config import load_city
from citycarbon.errors import InputError
from citycarbon.read import public
from citycarbon.read.presentation import Basis, in_display_units
from citycarbon.runs import map_layers as ml
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
            "url_for_people": f"/api/public/data/{d.name}.csv?lang={t.lang}",
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
async def public_dataset(
    request: Request, key: Dataset, lang: Literal["zh", "en"] | None = None
) -> Response:
    """One open-data table as CSV. Without ``lang``: the API's field names (for programs; licence
    in the headers and in /api/public/datasets). With ``lang``: for people, labelled columns with
    units and the 口径 and licence as constant columns after the table's."""
    d = public.DATASETS[key]
    frame = await run_in_threadpool(d.rows)
    basis = None if lang is None else _basis(d, lang)
    response = table_download(frame, key, "csv", lang=lang, basis=basis)
    response.headers.update(CACHE)
    response.headers["X-Data-Licence"] = public.LICENCE["id"]
    response.headers["Link"] = f'<{public.LICENCE["url"]}>; rel="license"'
    return response


def _basis(d: public.Dataset, lang: str) -> Basis:
    """The 口径 and licence lines of a public dataset in ``lang``."""
    t = Translator(lang)
    licence = f"{public.LICENCE['id']} {public.LICENCE['url']}"
    if public.LICENCE["assumption"]:
        licence += f" ({t('common.assumption')}: {t('public.licence_assumption')})"
    return Basis(
        city=getattr(load_city().name, lang),
        year=t("public.all_years"),
        basis=t(d.basis_key),
        source=t("public.source"),
        licence=licence,
    )


# --------------------------------------------------------------------------- district map
async def _map() -> ml.MapData:
    data = ml.map_data(build=False)
    return data if data is not None else await run_in_threadpool(ml.map_data)


@router.get("/api/public/map/boundaries")
async def public_map_boundaries() -> JSONResponse:
    """District outlines (GeoJSON, ``properties.code`` the GB/T 2260 code)."""
    return JSONResponse((await _map()).boundaries, headers=CACHE)


@router.get("/api/public/map/periods")
async def public_map_periods() -> JSONResponse:
    """The years and months the district map can show, with each year's grid factor."""
    return JSONResponse(ml.public_periods(await _map()), headers=CACHE)


@router.get("/api/public/map/districts")
async def public_map_districts(
    period: Annotated[
        str | None,
        Query(description="YYYY or YYYY-MM; default the latest month", pattern=r"^\d{4}(-\d{2})?$"),
    ] = None,
) -> JSONResponse:
    """District totals of a period: metered electricity [MWh], its CO2 [t] and, for a year, the
    inventory's district roll-up [tCO2e]. District aggregates only."""
    data = await _map()
    try:
        p = ml.parse_period(period or (data.months or data.years or ["0000"])[-1])
        ml.check_period(data, p)
    except InputError as err:
        raise HTTPException(404, detail=err.message) from None
    rows = await run_in_threadpool(ml.public_district_layer, data, p)
    return JSONResponse({"period": p.text, "kind": p.kind, "districts": rows}, headers=CACHE)


#: UI strings map.js needs on the public page (i18n keys map.<key>).
MAP_JS_KEYS = (
    "metric_co2", "metric_energy", "metric_electricity", "metric_electricity_co2", "metric_ghg",
    "layer_districts", "layer_parks", "layer_enterprises", "layer_nodes", "area", "loading",
    "error", "no_data", "mapped", "not_in_scope",
)  # fmt: skip


@router.get("/public", include_in_schema=False)
async def public_page(request: Request) -> Response:
    summary = await run_in_threadpool(_summary)
    lang = lang_of(request)
    trend = pd.DataFrame(summary["emissions_trend"])
    if len(trend):  # 万吨 where tonnes run to eight digits, units in the page's language
        trend = trend.assign(value=trend["emissions_tco2e"], unit="tCO2e")
    response = render(
        request,
        "public.html",
        {
            "summary": summary,
            "trend": records(in_display_units(trend, lang)) if len(trend) else [],
            "dual_control": records(in_display_units(pd.DataFrame(summary["dual_control"]), lang))
            if summary["dual_control"]
            else [],
            "datasets": list(public.DATASETS.values()),
            "active": "public",
            "map_strings": {k: Translator(lang_of(request))(f"map.{k}") for k in MAP_JS_KEYS},
        },
    )
    return response  # no-store (render): the page may set the visitor's cookie
