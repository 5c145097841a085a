"""Partner API redemptions and donations (/api/partner/redemptions, /donations) on SQLite and on
a real PostgreSQL server: signed, idempotent per partner's id (a repeated id answers the first
entry and never debits twice), refused without a trace (404 unknown account, 409 insufficient
balance or no consent, 422 bad body or an id of another debit), counted in the quota, 200
concurrent redemptions against one account spend exactly its balance, and concurrent requests
under one id debit once."""

from __future__ import annotations

import asyncio
import itertools
import json

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citycarbon.credits import policy
from citycarbon.store import catalog
from citycarbon.store import credits as ledger
from citycarbon.web.app import create_app
from tests.test_web_partner import _signed
from tests.web_fixtures import SETTINGS

REDEEM, DONATE = "/api/partner/redemptions", "/api/partner/donations"
EXAMPLES = itertools.count()  # a fresh account per hypothesis example


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def backend(request, tmp_path, monkeypatch) -> str:
    """CITYCARBON_HOME in ``tmp_path``, its catalog on each backend (SQLite in the home)."""
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path))
    if request.param == "postgresql":
        monkeypatch.setenv("CITYCARBON_DATABASE_URL", request.getfixturevalue("fresh_postgres_url"))
    else:
        monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    yield request.param
    catalog.dispose_engines()


@pytest.fixture
def app(backend):
    return create_app(SETTINGS)


@pytest.fixture
def client(app) -> TestClient:
    return TestClient(app)


def _funded(partner: str, subject: str, points: int, *, consent: bool = True) -> int:
    """A resident account of ``partner`` holding ``points``, with a valid consent."""
    account = ledger.open_account(partner, subject)
    ledger.post("issuance", account, points, key=f"{partner}:fund:{subject}")
    if consent:
        ledger.record_consent(partner, subject)
    return account


def _send(client, key, path: str, body: dict, partner: str = "shop") -> httpx.Response:
    raw = json.dumps(body).encode()
    return client.post(path, content=raw, headers=_signed(key, raw, partner=partner, path=path))


def test_redemption_is_posted_once_per_id(client):
    key = ledger.add_partner_key("shop")
    account = _funded("shop", "u-1", 500)
    body = {"account": "u-1", "points": 120, "redemption_id": "r-1", "merchant": "Zhongshan Rd"}
    first = _send(client, key, REDEEM, body)
    assert first.status_code == 200, first.text
    assert first.json() == {"entry": first.json()["entry"], "new": True, "balance": 380}
    again = _send(client, key, REDEEM, body)  # a new nonce, the same redemption_id
    assert again.json() == {"entry": first.json()["entry"], "new": False, "balance": 380}
    assert ledger.balance(account) == 380
    # the id names this redemption: another amount or kind under it is refused
    other = _send(client, key, REDEEM, {**body, "points": 1})
    assert other.status_code == 422 and other.json()["error"] == "id reused"
    gift = _send(client, key, DONATE, {"account": "u-1", "points": 80, "donation_id": "r-1"})
    assert gift.json()["new"] and gift.json()["balance"] == 300  # its own id space
    rec = ledger.reconciliation()
    assert (rec["redeemed"], rec["donated"], rec["outstanding"]) == (120, 80, 380)
    assert rec["balanced"] and rec["drifted_accounts"] == 0
    entry = ledger.export_account("shop", "u-1")["entries"]
    assert [(e["kind"], e["points"]) for e in entry] == [
        ("issuance", 500),
        ("redemption", -120),
        ("donation", -80),
    ]


def test_refusals_post_nothing(client):
    key = ledger.add_partner_key("shop")
    account = _funded("shop", "u-1", 100)
    _funded("shop", "u-2", 100, consent=False)
    _funded("bikes", "u-3", 100)  # another partner's resident
    short = _send(client, key, REDEEM, {"account": "u-1", "points": 101, "redemption_id": "a"})
    assert short.status_code == 409 and short.json()["error"] == "insufficient balance"
    for account_id, status in (("u-3", 404), ("nobody", 404), ("u-2", 409)):
        r = _send(client, key, REDEEM, {"account": account_id, "points": 1, "redemption_id": "b"})
        assert r.status_code == status, r.text
    assert (
        _send(client, key, REDEEM, {"account": "u-2", "points": 1, "redemption_id": "b"}).json()[
            "error"
        ]
        == "no consent"
    )
    ledger.withdraw_consent("shop", "u-1")
    gone = _send(client, key, DONATE, {"account": "u-1", "points": 1, "donation_id": "c"})
    assert (gone.status_code, gone.json()["error"]) == (409, "no consent")
    assert ledger.balance(account) == 100
    rec = ledger.reconciliation()
    assert (rec["redeemed"], rec["donated"], rec["outstanding"]) == (0, 0, 300)
    # the refused id is free: once the resident consents again, it redeems
    ledger.record_consent("shop", "u-1")
    ok = _send(client, key, REDEEM, {"account": "u-1", "points": 100, "redemption_id": "a"})
    assert ok.json()["balance"] == 0


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"account": "u-1", "points": 0, "redemption_id": "a"},
        {"account": "u-1", "points": 1.5, "redemption_id": "a"},
        {"account": "u-1", "points": True, "redemption_id": "a"},
        {"account": "u-1", "points": "5", "redemption_id": "a"},
        {"account": "u-1", "points": 5},
        {"account": "u-1", "points": 5, "redemption_id": "x" * 101},
        {"account": "", "points": 5, "redemption_id": "a"},
        {"account": "u-1", "points": 5, "redemption_id": "a", "merchant": 7},
    ],
)
def test_bad_bodies_are_422(client, body):
    key = ledger.add_partner_key("shop")
    assert _send(client, key, REDEEM, body).status_code == 422


def test_signature_is_checked_first(client):
    key = ledger.add_partner_key("shop")
    _funded("shop", "u-1", 100)
    raw = json.dumps({"account": "u-1", "points": 10, "redemption_id": "a"}).encode()
    headers = _signed(key, raw, partner="shop", path=REDEEM)
    assert client.post(REDEEM, content=raw, headers=headers).status_code == 200
    replay = client.post(REDEEM, content=raw, headers=headers)
    assert replay.status_code == 403 and "replay" in replay.json()["detail"]
    to_other_path = _signed(key, raw, partner="shop", path=DONATE)
    assert client.post(REDEEM, content=raw, headers=to_other_path).status_code == 403
    assert ledger.reconciliation()["redeemed"] == 10


def test_a_refused_request_uses_up_its_nonce(client):
    """The posting is refused in a savepoint: the nonce stays recorded, a replay is refused."""
    key = ledger.add_partner_key("shop")
    _funded("shop", "u-1", 5)
    raw = json.dumps({"account": "u-1", "points": 10, "redemption_id": "a"}).encode()
    headers = _signed(key, raw, partner="shop", path=REDEEM)
    assert client.post(REDEEM, content=raw, headers=headers).status_code == 409
    replay = client.post(REDEEM, content=raw, headers=headers)
    assert replay.status_code == 403 and "replay" in replay.json()["detail"]


def test_quota_counts_redemptions(client, monkeypatch):
    key = ledger.add_partner_key("shop")
    _funded("shop", "u-1", 100)
    quota = policy.partner_quota("shop")
    tight = type(quota)(**{**quota.__dict__, "events_per_minute": 2})
    monkeypatch.setattr(policy, "partner_quota", lambda partner: tight)
    codes = [
        _send(client, key, REDEEM, {"account": "u-1", "points": 1, "redemption_id": f"q{i}"})
        for i in range(3)
    ]
    assert [r.status_code for r in codes] == [200, 200, 429]
    assert codes[2].headers["retry-after"] == "60"
    assert ledger.reconciliation()["redeemed"] == 2


def test_concurrent_redemptions_spend_exactly_the_balance(app):
    """200 signed redemptions of 7 points at once over the ASGI app against one account of
    1,000 points: floor(1000 / 7) = 142 are posted, 58 are refused (409), 6 points remain."""
    key = ledger.add_partner_key("shop")
    account = _funded("shop", "hot", 1000)

    async def run() -> list[int]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:

            async def redeem(i: int) -> int:
                raw = json.dumps({"account": "hot", "points": 7, "redemption_id": f"c{i}"})
                headers = _signed(key, raw.encode(), partner="shop", path=REDEEM)
                return (await client.post(REDEEM, content=raw, headers=headers)).status_code

            return await asyncio.gather(*(redeem(i) for i in range(200)))

    codes = asyncio.run(run())
    assert (codes.count(200), codes.count(409)) == (142, 58)
    assert ledger.balance(account) == 6
    rec = ledger.reconciliation()
    assert (rec["redeemed"], rec["outstanding"]) == (994, 6)
    assert rec["balanced"] and rec["drifted_accounts"] == 0


@pytest.mark.parametrize("path", [REDEEM, DONATE])
def test_concurrent_requests_under_one_id_debit_once(app, path):
    """60 signed requests at once under one id (a partner retrying, each with its own nonce):
    one posts, every other answers that first entry (``new`` false), the balance is debited
    once (on PostgreSQL the later ones meet the first's entry after their own debit, roll back
    and answer it)."""
    key = ledger.add_partner_key("shop")
    account = _funded("shop", "twice", 1000)
    field = "redemption_id" if path == REDEEM else "donation_id"
    raw = json.dumps({"account": "twice", "points": 7, field: "same"}).encode()

    async def run() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            sends = (
                client.post(path, content=raw, headers=_signed(key, raw, partner="shop", path=path))
                for _ in range(60)
            )
            return await asyncio.gather(*sends)

    answers = [r.json() for r in asyncio.run(run())]
    assert {a["entry"] for a in answers} == {answers[0]["entry"]}
    assert sorted(a["new"] for a in answers) == [False] * 59 + [True]
    assert {a["balance"] for a in answers} == {993} and ledger.balance(account) == 993
    rec = ledger.reconciliation()
    assert rec["redeemed"] + rec["donated"] == 7 and rec["donated"] == (7 if path == DONATE else 0)
    assert rec["balanced"] and rec["drifted_accounts"] == 0


@settings(max_examples=15, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    requests=st.lists(
        st.tuples(st.sampled_from([REDEEM, DONATE]), st.integers(0, 5), st.integers(1, 60)),
        min_size=1,
        max_size=12,
    )
)
def test_balance_is_the_ledger_of_the_answers(client, requests):
    """Whatever the sequence of redemptions and donations (ids repeated, amounts past the
    balance): every answer is what a model of the account says, and the stored balance is the
    start less the points of the distinct posted ids."""
    subject = f"p-{next(EXAMPLES)}"
    key = ledger.add_partner_key("shop")
    account = _funded("shop", subject, 100)
    balance, posted = 100, {}
    for path, n, points in requests:
        field = "redemption_id" if path == REDEEM else "donation_id"
        r = _send(
            client, key, path, {"account": subject, "points": points, field: f"{subject}-{n}"}
        )
        if (path, n) in posted:
            first, amount = posted[(path, n)]
            assert r.status_code == (200 if amount == points else 422)
            if r.status_code == 200:
                assert r.json() == {"entry": first, "new": False, "balance": balance}
        elif points > balance:
            assert (r.status_code, r.json()["error"]) == (409, "insufficient balance")
        else:
            balance -= points
            assert r.status_code == 200 and r.json()["new"] and r.json()["balance"] == balance
            posted[(path, n)] = (r.json()["entry"], points)
    assert ledger.balance(account) == balance
