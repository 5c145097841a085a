"""Partner API ``/api/partner`` (碳普惠): partner apps push residents' behaviour events.

No session and no user: every request is HMAC-signed by the partner
(:mod:`citycarbon.runs.partners`). ``POST /api/partner/events`` takes ``{"events": [...]}``
(``event_id``, ``account`` = the partner's pseudonymous id of the resident, ``method``, ``at``,
``quantity``, ``ended_at`` for trips) and answers the status of every event: credited, held for
review or refused, with the reason — events in = credited + held + refused. Only accounts that
granted consent to the partner (``POST /api/partner/consents``) are credited. Merchant
partners redeem residents' points (``POST /api/partner/redemptions``); residents give points
to the donation pool through a partner (``POST /api/partner/donations``).
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


#: What every signed request may answer besides 200 (the operations add their own).
SIGNED_RESPONSES: dict[int | str, dict[str, str]] = {
    403: {"description": "signature, timestamp, nonce or key refused"},
    422: {"description": "not JSON, or not the body the operation takes"},
    429: {"description": "over the partner's quota (Retry-After)"},
}


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
    responses={**SIGNED_RESPONSES, 413: {"description": "too many events in one request"}},
)
async def post_events(request: Request) -> JSONResponse:
    """Credit a batch of events (signed request; see the module docstring)."""
    partner, payload, database_url = await _signed_json(request)
    events = payload.get("events")
    if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
        raise HTTPException(422, detail='body must be {"events": [{...}, ...]}')
    if len(events) > MAX_EVENTS:
        raise HTTPException(413, detail=f"at most {MAX_EVENTS} events per request")
    try:
        await run_in_threadpool(partners.check_quota, partner, len(events), url=database_url)
    except partners.QuotaExceededError as err:
        return _over_quota(err)
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


def _over_quota(err: partners.QuotaExceededError) -> JSONResponse:
    return JSONResponse(
        {"error": "quota exceeded", "detail": err.reason, "retry_after_s": err.retry_after_s},
        status_code=429,
        headers={"Retry-After": str(err.retry_after_s)},
    )


async def _signed_json(request: Request) -> tuple[str, dict[str, Any], str]:
    """The partner of a signed JSON request, its body (an object) and the catalog URL; 403 when
    the signature is refused, 422 when the body is not a JSON object."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(422, detail="send the body as application/json")
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
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        raise HTTPException(422, detail="body must be a JSON object")
    return partner, payload, database_url


def _account(payload: dict[str, Any]) -> str:
    account = payload.get("account")
    if not isinstance(account, str) or not account:
        raise HTTPException(422, detail='body must be {"account": "<your id of the resident>"}')
    return account


@router.post(
    "/consents",
    responses=SIGNED_RESPONSES,
)
async def post_consents(request: Request) -> JSONResponse:
    """Record or withdraw residents' consents (PIPL art. 14-15): ``{"consents": [{"account",
    "action": "grant" | "withdraw", "resident"?, "contact_name"?, "contact_phone"?}]}``.
    ``resident`` is the city-wide pseudonymous id (cross-partner duplicates); the contact fields
    only when the resident opts in. A withdrawal stops new credits from this partner."""
    partner, payload, database_url = await _signed_json(request)
    items = payload.get("consents")
    if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
        raise HTTPException(422, detail='body must be {"consents": [{...}, ...]}')
    if len(items) > MAX_EVENTS:
        raise HTTPException(413, detail=f"at most {MAX_EVENTS} consents per request")
    outcome = await run_in_threadpool(partners.record_consents, partner, items, url=database_url)
    return JSONResponse(
        {
            "consents": [
                {"account": i.get("account"), "outcome": o}
                for i, o in zip(items, outcome, strict=True)
            ]
        }
    )


@router.post(
    "/residents/export",
    responses={**SIGNED_RESPONSES, 404: {"description": "nothing is kept about this account"}},
)
async def export_resident(request: Request) -> JSONResponse:
    """A resident's own data on request (PIPL art. 45): ``{"account"}`` -> the account and
    balance, its ledger entries, its consent and its raw events."""
    partner, payload, database_url = await _signed_json(request)
    data = await run_in_threadpool(
        partners.export_resident, partner, _account(payload), url=database_url
    )
    if data is None:
        raise HTTPException(404, detail="nothing is kept about this account")
    return JSONResponse(data)


@router.post(
    "/residents/erase",
    responses={**SIGNED_RESPONSES, 404: {"description": "nothing is kept about this account"}},
)
async def erase_resident(request: Request) -> JSONResponse:
    """Delete a resident's data on request (PIPL art. 47): ``{"account"}``. The consent, the
    resident mapping, opt-in contact fields and raw events are deleted; the ledger account is
    anonymised (its entries stay, balanced)."""
    partner, payload, database_url = await _signed_json(request)
    done = await run_in_threadpool(
        partners.erase_resident, partner, _account(payload), url=database_url
    )
    if not done:
        raise HTTPException(404, detail="nothing is kept about this account")
    return JSONResponse({"erased": True})


#: HTTP status of each refusal of a debit (:class:`citycarbon.runs.partners.DebitRefusedError`):
#: a withdrawn (or never recorded) consent is 409 like a short balance: the request was
#: authenticated, the resident's state refuses it (403 stays "your signature or key").
DEBIT_STATUS = {
    "bad body": 422,
    "unknown account": 404,
    "no consent": 409,
    "insufficient balance": 409,
    "id reused": 422,
}


def _debit_body(kind: str) -> dict[str, Any]:
    """The OpenAPI request body of a debit of ``kind``."""
    properties: dict[str, Any] = {
        "account": {"type": "string", "minLength": 1, "maxLength": 128},
        "points": {"type": "integer", "minimum": 1, "maximum": partners.MAX_POINTS},
        partners.DEBIT_ID_FIELDS[kind]: {
            "type": "string",
            "minLength": 1,
            "maxLength": partners.MAX_REQUEST_ID,
        },
    }
    if kind == "redemption":
        properties["merchant"] = {"type": "string", "maxLength": 100}
    required = ["account", "points", partners.DEBIT_ID_FIELDS[kind]]
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {
                    "schema": {"type": "object", "required": required, "properties": properties}
                }
            },
        }
    }


DEBIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    **SIGNED_RESPONSES,
    200: {
        "description": "posted (new) or, for an id sent before, the first entry (not new)",
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["entry", "new", "balance"],
                    "properties": {
                        "entry": {"type": "integer"},
                        "new": {"type": "boolean"},
                        "balance": {"type": "integer"},
                    },
                }
            }
        },
    },
    404: {"description": "the partner has no resident account with this id"},
    409: {"description": "insufficient balance, or no valid consent to the partner (error)"},
    422: {"description": "not the body the operation takes, or the id names another debit"},
}


async def _debit(request: Request, kind: str) -> JSONResponse:
    """A signed debit: one call of the use case (signature, nonce, quota, posting share one
    transaction), its refusals as HTTP answers."""
    if not request.headers.get("content-type", "").startswith("application/json"):
        raise HTTPException(422, detail="send the body as application/json")
    body = await request.body()
    try:
        debit = await run_in_threadpool(
            partners.signed_debit,
            kind,
            {h: request.headers.get(h, "") for h in partners.HEADERS},
            request.method,
            request.url.path,
            body,
            url=get_settings().database_url,
        )
    except partners.PartnerAuthError as err:
        raise HTTPException(status_code=403, detail=err.reason) from None
    except partners.QuotaExceededError as err:
        return _over_quota(err)
    except partners.DebitRefusedError as err:
        return JSONResponse(
            {"error": err.refusal, "detail": err.reason}, status_code=DEBIT_STATUS[err.refusal]
        )
    return JSONResponse({"entry": debit.entry_id, "new": debit.created, "balance": debit.balance})


@router.post("/redemptions", openapi_extra=_debit_body("redemption"), responses=DEBIT_RESPONSES)
async def post_redemption(request: Request) -> JSONResponse:
    """A resident redeems points at a partner merchant: ``{"account", "points",
    "redemption_id", "merchant"?}`` -> ``{"entry", "new", "balance"}``. ``redemption_id`` is
    the idempotency key (unique per partner): sent again, the first entry is answered (``new``
    false) and nothing is debited twice. Refused, nothing posted: 404 unknown account (of this
    partner); 409 ``insufficient balance``, or ``no consent`` (the resident withdrew, or never
    gave, consent to this partner); 422 an id used before for another debit. Counts 1 against
    the partner's quota (429). The ledger entry is the record (``merchant`` is its note)."""
    return await _debit(request, "redemption")


@router.post("/donations", openapi_extra=_debit_body("donation"), responses=DEBIT_RESPONSES)
async def post_donation(request: Request) -> JSONResponse:
    """A resident gives points to the donation pool: ``{"account", "points", "donation_id"}``,
    answered and refused as ``POST /api/partner/redemptions``."""
    return await _debit(request, "donation")
