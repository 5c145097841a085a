"""Partner API /api/partner/events: HMAC-signed requests (timestamp, nonce, replay refused,
key rotation), the same event twice credits once, only residents with consent to the partner
are credited, and every event gets a status."""

from __future__ import annotations

import json
import time
import uuid

import pytest
from fastapi.testclient import TestClient

from citycarbon.runs.partners import signature
from citycarbon.store import catalog
from citycarbon.store import credits as ledger
from citycarbon.web.app import create_app
from tests.web_fixtures import SETTINGS

PATH, CONSENTS = "/api/partner/events", "/api/partner/consents"


@pytest.fixture
def client(tmp_path, monkeypatch) -> TestClient:
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    yield TestClient(create_app(SETTINGS))
    catalog.dispose_engines()


def _signed(
    key: tuple[str, str], body: bytes, *, partner="metro", stamp=None, nonce=None, path=PATH
):
    stamp = str(int(time.time()) if stamp is None else stamp)
    nonce = nonce or uuid.uuid4().hex
    return {
        "x-partner-id": partner,
        "x-key-id": key[0],
        "x-timestamp": stamp,
        "x-nonce": nonce,
        "x-signature": signature(key[1], "POST", path, stamp, nonce, body),
        "content-type": "application/json",
    }


def _body(*events: dict) -> bytes:
    return json.dumps({"events": list(events)}).encode()


TRIP = {
    "event_id": "t1",
    "account": "u-1",
    "method": "travel_metro",
    "at": "2026-03-02T01:00:00Z",
    "ended_at": "2026-03-02T01:20:00Z",
    "quantity": 10,
}


def _grant(client, key: tuple[str, str], *accounts: str) -> None:
    body = json.dumps({"consents": [{"account": a, "action": "grant"} for a in accounts]}).encode()
    r = client.post(CONSENTS, content=body, headers=_signed(key, body, path=CONSENTS))
    assert [c["outcome"] for c in r.json()["consents"]] == ["granted"] * len(accounts)


def test_signed_batch_is_credited_once(client):
    key = ledger.add_partner_key("metro")
    # before the resident grants metro consent, the trip is refused (and nothing issued)
    before = client.post(PATH, content=_body(TRIP), headers=_signed(key, _body(TRIP))).json()
    assert [(e["status"], e["reason"]) for e in before["events"]] == [("refused", "no consent")]
    _grant(client, key, "u-1")
    body = _body(
        TRIP,
        {
            **TRIP,
            "event_id": "t2",
            "at": "2026-03-02T02:00:00Z",
            "ended_at": "2026-03-02T02:01:00Z",
        },
        {**TRIP, "event_id": "t3", "method": "taxi"},
    )
    r = client.post(PATH, content=body, headers=_signed(key, body))
    assert r.status_code == 200, r.text
    out = r.json()
    # 10 km in 1 minute = 600 km/h: held; taxi: refused
    assert (out["received"], out["credited"], out["held"], out["refused"]) == (3, 1, 1, 1)
    assert [e["status"] for e in out["events"]] == ["credited", "held", "refused"]
    assert out["events"][0]["points"] > 0 and out["events"][0]["new"]
    # the same events again (a new nonce): nothing new is issued
    again = client.post(PATH, content=body, headers=_signed(key, body)).json()
    assert again["events"][0]["new"] is False
    assert again["events"][0]["points"] == out["events"][0]["points"]
    rec = ledger.reconciliation()
    assert rec["issued"] == out["events"][0]["points"] and rec["balanced"]


def test_replay_and_bad_signatures_are_refused(client):
    key = ledger.add_partner_key("metro")
    _grant(client, key, "u-1")
    body = _body(TRIP)
    headers = _signed(key, body)
    assert client.post(PATH, content=body, headers=headers).status_code == 200
    replay = client.post(PATH, content=body, headers=headers)
    assert replay.status_code == 403 and "replay" in replay.json()["detail"]
    tampered = _body({**TRIP, "quantity": 1000})
    assert client.post(PATH, content=tampered, headers=_signed(key, body)).status_code == 403
    old = _signed(key, body, stamp=int(time.time()) - 3600)
    assert "window" in client.post(PATH, content=body, headers=old).json()["detail"]
    other = ledger.add_partner_key("bikes")  # another partner's key
    assert client.post(PATH, content=body, headers=_signed(other, body)).status_code == 403
    missing = {k: v for k, v in _signed(key, body).items() if k != "x-nonce"}
    assert client.post(PATH, content=body, headers=missing).status_code == 403


def test_key_rotation(client):
    old = ledger.add_partner_key("metro")
    new = ledger.add_partner_key("metro")
    body = _body(TRIP)
    assert client.post(PATH, content=body, headers=_signed(new, body)).status_code == 200
    assert client.post(PATH, content=body, headers=_signed(old, body)).status_code == 200
    ledger.revoke_partner_key(old[0])
    assert client.post(PATH, content=body, headers=_signed(old, body)).status_code == 403
    assert client.post(PATH, content=body, headers=_signed(new, body)).status_code == 200


def test_malformed_body_is_refused(client):
    key = ledger.add_partner_key("metro")
    for body in (b"not json", b'{"events": 3}', b"{}"):
        assert client.post(PATH, content=body, headers=_signed(key, body)).status_code == 422


def test_partner_routes_are_matched_first_and_shadow_nothing(client):
    """The partner API is included first (its requests skip matching the pages' routes); only
    its own route matches any of its paths, so the order changes no answer."""
    from starlette.routing import Match

    from citycarbon.web.app import available_route_modules, route_table

    assert available_route_modules()[0] == "partner"
    routes = client.app.router.routes
    partner = [r for r in route_table(client.app) if r.module == "partner"]
    assert {r.path for r in partner} >= {"/api/partner/redemptions", "/api/partner/donations"}
    for info in partner:
        for method in info.methods:
            scope = {"type": "http", "method": method, "path": info.path, "root_path": ""}
            matched = [r for r in routes if r.matches(dict(scope))[0] != Match.NONE]
            assert len(matched) == 1, info.path
