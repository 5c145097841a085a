"""Partner API ``/api/partner`` (碳普惠): partner apps push residents' behaviour events.

No session and no user: every request is HMAC-signed by the partner
(:mod:`citycarbon.runs.partners`). ``POST /api/partner/events`` takes ``{"events": [...]}``
(``event_id``, ``account`` = the partner's pseudonymous id of the resident, ``method``, ``at``,
``quantity``, ``ended_at`` for trips) and answers the status of every event: credited, held for
review or refused, with the reason — events in = credited + held + refused.
"""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from citycarbon.config import load_city
from citycarbon.config.settings import get_settings
from citycarbon.runs import credits as credit_runs
from citycarbon.runs import partners

router = APIRouter(prefix="/api/partner", tags=["partner"])
#: Events per request.
MAX_EVENTS = 5000
FIELDS = ("event_id", "account", "method", "at", "ended_at", "quantity", "district_code")


@router.post(
    "/events",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["events"],
                        "properties": {"events": {"type": "array", "items": {"type": "object"}}},
                    }
                }
            },
        }
    },
    responses={
        403: {"description": "signature, timestamp, nonce or key refused"},
        413: {"description": "too many events in one request"},
        422: {"description": "not JSON, or not {events: [...]}"},
    },
)
async def post_events(request: Request) -> JSONResponse:
    """Credit a batch of events (signed request; see the module docstring)."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(422, detail="send the events as application/json")
    body = await request.body()
    database_url = get_settings().database_url
    try:
        partner = await run_in_threadpool(
            partners.verify,
            {h: request.headers.get(h, "") for h in partners.HEADERS},
            request.method,
            request.url.path,
            body,
            url=database_url,
        )
    except partners.PartnerAuthError as err:
        raise HTTPException(status_code=403, detail=err.reason) from None
    try:
        payload: Any = json.loads(body)
        events = payload["events"]
        if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise HTTPException(422, detail='body must be {"events": [{...}, ...]}') from None
    if len(events) > MAX_EVENTS:
        raise HTTPException(413, detail=f"at most {MAX_EVENTS} events per request")
    frame = pd.DataFrame.from_records(events, columns=list(FIELDS))
    out = await run_in_threadpool(
        credit_runs.credit_partner_events, partner, frame, city=load_city(), url=database_url
    )
    counts = out["status"].value_counts()
    items = out[["event_id", "status", "reason", "points", "issued"]].rename(
        columns={"issued": "new"}
    )
    items["event_id"] = items["event_id"].astype(object).where(items["event_id"].notna(), None)
    return JSONResponse(
        {
            "received": len(out),
            **{s: int(counts.get(s, 0)) for s in ("credited", "held", "refused")},
            "events": items.to_dict("records"),
        }
    )
