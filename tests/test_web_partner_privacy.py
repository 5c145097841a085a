"""Partner API, residents' rights and partner limits (碳普惠, issue 17): consent per partner
(only accounts that granted it are credited; withdrawal stops new credits), export and erasure
on request (PIPL arts. 15, 45, 47), retention of raw events, per-partner quotas (429 +
Retry-After), encrypted and rotatable keys, duplicates across partners held for review (events
in = credited + held + refused)."""

from __future__ import annotations

import json
import time
import uuid

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citycarbon.config import load_city
from citycarbon.runs import credits as credit_runs
from citycarbon.runs.partners import signature
from citycarbon.store import catalog
from citycarbon.store import credits as ledger
from citycarbon.web.app import create_app
from tests.web_fixtures import SETTINGS

EVENTS, CONSENTS = "/api/partner/events", "/api/partner/consents"
EXPORT, ERASE = "/api/partner/residents/export", "/api/partner/residents/erase"


@pytest.fixture
def client(tmp_path, monkeypatch) -> TestClient:
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    yield TestClient(create_app(SETTINGS))
    catalog.dispose_engines()


def _post(client, key, path: str, payload: dict, *, partner: str):
    body = json.dumps(payload).encode()
    stamp, nonce = str(int(time.time())), uuid.uuid4().hex
    headers = {
        "x-partner-id": partner,
        "x-key-id": key[0],
        "x-timestamp": stamp,
        "x-nonce": nonce,
        "x-signature": signature(key[1], "POST", path, stamp, nonce, body),
        "content-type": "application/json",
    }
    return client.post(path, content=body, headers=headers)


def _trip(event_id: str, account: str, start: str, minutes: int = 20, km: float = 10) -> dict:
    at = pd.Timestamp(start, tz="UTC")
    return {
        "event_id": event_id,
        "account": account,
        "method": "travel_metro",
        "at": at.isoformat(),
        "ended_at": (at + pd.Timedelta(minutes=minutes)).isoformat(),
        "quantity": km,
    }


def _recent(hours: int = 3) -> str:
    return (pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=hours)).isoformat()


def test_withdrawn_consent_stops_new_credits(client):
    key = ledger.add_partner_key("metro")
    grant = {"account": "u-1", "action": "grant", "resident": "R-1"}
    r = _post(
        client,
        key,
        CONSENTS,
        {"consents": [grant, {"account": "", "action": "grant"}]},
        partner="metro",
    )
    assert r.json()["consents"][0]["outcome"] == "granted"
    assert r.json()["consents"][1]["outcome"].startswith("refused")
    first = _post(client, key, EVENTS, {"events": [_trip("a", "u-1", _recent(5))]}, partner="metro")
    assert first.json()["credited"] == 1
    r = _post(
        client,
        key,
        CONSENTS,
        {"consents": [{"account": "u-1", "action": "withdraw"}]},
        partner="metro",
    )
    assert r.json()["consents"][0]["outcome"] == "withdrawn"
    later = _post(client, key, EVENTS, {"events": [_trip("b", "u-1", _recent(3))]}, partner="metro")
    assert later.json()["refused"] == 1
    assert later.json()["events"][0]["reason"] == "consent withdrawn"
    # granting again makes the account creditable again
    _post(client, key, CONSENTS, {"consents": [grant]}, partner="metro")
    again = _post(client, key, EVENTS, {"events": [_trip("c", "u-1", _recent(2))]}, partner="metro")
    assert again.json()["credited"] == 1


def test_export_then_erase_keeps_the_ledger_balanced(client):
    key = ledger.add_partner_key("metro")
    consent = {
        "account": "u-9",
        "action": "grant",
        "resident": "R-9",
        "contact_name": "林小明",
        "contact_phone": "13900001111",
    }
    _post(client, key, CONSENTS, {"consents": [consent]}, partner="metro")
    out = _post(client, key, EVENTS, {"events": [_trip("e1", "u-9", _recent())]}, partner="metro")
    points = out.json()["events"][0]["points"]
    exported = _post(client, key, EXPORT, {"account": "u-9"}, partner="metro")
    assert exported.status_code == 200
    data = exported.json()
    assert data["account"] == "u-9" and data["balance_points"] == points > 0
    assert data["consent"]["contact_name"] == "林小明" and data["consent"]["resident"] == "R-9"
    assert [(e["kind"], e["points"]) for e in data["entries"]] == [("issuance", points)]
    assert [e["event_id"] for e in data["events"]] == ["e1"]
    # another partner cannot read this partner's resident
    bikes = ledger.add_partner_key("bikes")
    assert _post(client, bikes, EXPORT, {"account": "u-9"}, partner="bikes").status_code == 404

    before = ledger.reconciliation()
    assert _post(client, key, ERASE, {"account": "u-9"}, partner="metro").json() == {"erased": True}
    assert _post(client, key, EXPORT, {"account": "u-9"}, partner="metro").status_code == 404
    assert _post(client, key, ERASE, {"account": "u-9"}, partner="metro").status_code == 404
    after = ledger.reconciliation()
    assert after == before and after["balanced"] and after["drifted_accounts"] == 0
    engine = catalog.get_engine()
    with engine.connect() as conn:
        text = json.dumps(
            [
                list(map(str, r))
                for t in ("credit_accounts", "credit_consents", "credit_events")
                for r in conn.execute(sa.text(f"SELECT * FROM {t}")).all()
            ],
            ensure_ascii=False,
        )
        entries = conn.execute(sa.text("SELECT count(*) FROM credit_entries")).scalar_one()
    assert "u-9" not in text and "林小明" not in text and "13900001111" not in text
    assert "R-9" not in text and entries == 1  # the entry stays, on the anonymised account


def test_retention_aggregates_then_deletes_old_raw_events(client):
    key = ledger.add_partner_key("metro")
    grant = {"account": "u-2", "action": "grant"}
    _post(client, key, CONSENTS, {"consents": [grant]}, partner="metro")
    _post(
        client,
        key,
        EVENTS,
        {"events": [_trip("old", "u-2", _recent()), {"event_id": "x"}]},
        partner="metro",
    )
    kept, _, rule = credit_runs.purge_raw_events()
    assert kept == 0 and rule.raw_event_months == 6
    later = pd.Timestamp.now(tz="UTC") + pd.DateOffset(months=rule.raw_event_months, days=1)
    gone, cutoff, _ = credit_runs.purge_raw_events(now=later)
    assert gone == 2 and cutoff > pd.Timestamp.now(tz="UTC")
    with catalog.get_engine().connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM credit_events")).scalar_one() == 0
        counts = conn.execute(
            sa.text("SELECT method, status, events FROM credit_event_counts ORDER BY status")
        ).all()
    assert [tuple(r) for r in counts] == [("travel_metro", "credited", 1), ("", "refused", 1)]
    assert ledger.reconciliation()["issued"] > 0  # the ledger is not touched by retention


def test_quota_answers_429_with_retry_after(client):
    key = ledger.add_partner_key("recycler")  # 2,000 events per minute (partner_quotas.yaml)
    at = _recent()
    many = [
        {"event_id": f"r{i}", "account": f"a{i}", "method": "recyclables", "at": at, "quantity": 1}
        for i in range(2001)
    ]
    r = _post(client, key, EVENTS, {"events": many}, partner="recycler")
    assert r.status_code == 429
    assert r.headers["retry-after"] == "60" and r.json()["retry_after_s"] == 60
    assert r.json()["error"] == "quota exceeded" and "2000 events per minute" in r.json()["detail"]
    ok = _post(client, key, EVENTS, {"events": many[:2000]}, partner="recycler")
    assert ok.status_code == 200 and ok.json()["received"] == 2000
    # the minute's quota is used up now
    one = _post(client, key, EVENTS, {"events": many[:1]}, partner="recycler")
    assert one.status_code == 429 and one.headers["retry-after"] == "60"


def test_secrets_are_encrypted_at_rest_and_rotation_keeps_two_live_keys(client):
    first = ledger.add_partner_key("metro")
    with catalog.get_engine().connect() as conn:
        stored = conn.execute(sa.text("SELECT secret FROM credit_partner_keys")).scalar_one()
    assert first[1] not in stored and ledger.decrypt_secret(stored) == first[1]
    second = ledger.rotate_partner_key("metro")
    body = {"events": [_trip("k1", "u-3", _recent())]}
    assert _post(client, first, EVENTS, body, partner="metro").status_code == 200
    assert _post(client, second, EVENTS, body, partner="metro").status_code == 200
    third = ledger.rotate_partner_key("metro")  # the first key goes, the second stays
    assert _post(client, first, EVENTS, body, partner="metro").status_code == 403
    assert _post(client, second, EVENTS, body, partner="metro").status_code == 200
    assert _post(client, third, EVENTS, body, partner="metro").status_code == 200


def test_the_same_trip_claimed_by_two_partners_is_held(client):
    metro, bikes = ledger.add_partner_key("metro"), ledger.add_partner_key("bikes")
    _post(
        client,
        metro,
        CONSENTS,
        {"consents": [{"account": "m-1", "action": "grant", "resident": "R-5"}]},
        partner="metro",
    )
    _post(
        client,
        bikes,
        CONSENTS,
        {"consents": [{"account": "b-1", "action": "grant", "resident": "R-5"}]},
        partner="bikes",
    )
    start = _recent()
    assert (
        _post(
            client, metro, EVENTS, {"events": [_trip("m", "m-1", start)]}, partner="metro"
        ).json()["credited"]
        == 1
    )
    overlapping = _trip("b", "b-1", (pd.Timestamp(start) + pd.Timedelta(minutes=10)).isoformat())
    separate = _trip("b2", "b-1", (pd.Timestamp(start) + pd.Timedelta(hours=1)).isoformat())
    out = _post(client, bikes, EVENTS, {"events": [overlapping, separate]}, partner="bikes").json()
    assert [(e["status"], e["reason"]) for e in out["events"]] == [
        ("held", "claimed by another partner"),
        ("credited", ""),
    ]


@settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["metro", "bikes"]),
            st.sampled_from(["p-1", "p-2", "p-3", ""]),
            st.integers(0, 48),  # start, in 10-minute steps
            st.sampled_from([1, 20, 60]),  # minutes
            st.sampled_from(["travel_metro", "travel_bus", "taxi"]),
        ),
        min_size=1,
        max_size=25,
    )
)
def test_events_in_equal_credited_plus_held_plus_refused(client, draws):
    city = load_city()
    run = uuid.uuid4().hex[:6]
    for partner in ("metro", "bikes"):
        for account in ("p-1", "p-2", "p-3"):
            ledger.record_consent(partner, f"{run}{account}", resident=f"{run}{account[-1]}")
    base = pd.Timestamp.now(tz="UTC").floor("D") - pd.Timedelta(days=1)
    total = {"in": 0, "out": 0}
    for partner in ("metro", "bikes"):
        mine = [d for d in draws if d[0] == partner]
        events = pd.DataFrame(
            [
                {
                    **_trip(
                        f"{run}-{i}",
                        f"{run}{account}" if account else "",
                        (base + pd.Timedelta(minutes=10 * step)).isoformat(),
                        minutes,
                        5,
                    ),
                    "method": method,
                }
                for i, (_, account, step, minutes, method) in enumerate(mine)
            ],
            columns=["event_id", "account", "method", "at", "ended_at", "quantity"],
        )
        out = credit_runs.credit_partner_events(partner, events, city=city)
        counts = out["status"].value_counts()
        assert set(counts.index) <= {"credited", "held", "refused"}
        assert len(events) == sum(int(counts.get(s, 0)) for s in ("credited", "held", "refused"))
        total["in"] += len(events)
    with catalog.get_engine().connect() as conn:
        logged = conn.execute(
            sa.text("SELECT count(*) FROM credit_events WHERE event_id LIKE :r"), {"r": f"{run}-%"}
        ).scalar_one()
    assert logged == total["in"]
