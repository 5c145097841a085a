"""Review of held 碳普惠 events on the /credits page (issue 17): city analysts release a held
event (credited through the ledger's usual path, once) or refuse it with a reason, by CSRF-
protected forms; other roles cannot; events in = credited + held + refused stays true."""

from __future__ import annotations

import pandas as pd
import pytest

from citycarbon.config import load_city
from citycarbon.runs import credits as credit_runs
from citycarbon.store import credits as ledger
from citycarbon.store import users
from tests.web_fixtures import page_csrf, sign_in


@pytest.fixture(scope="module")
def held(web_home):
    at = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=3)
    events = pd.DataFrame(
        [
            {"event_id": f"h{i}", "account": "r9", "method": "recyclables", "at": at, "quantity": 2}
            for i in range(3)
        ]
    )  # the same account, method and start three times: the second and third are held
    ledger.record_consent("recycler", "r9")  # the resident consents to the recycler
    out = credit_runs.credit_partner_events("recycler", events, city=load_city())
    assert out["status"].tolist() == ["credited", "held", "held"]
    return ledger.held_events().set_index("event_id")["id"].astype(int).to_dict()


def test_queue_is_listed_for_analysts_in_one_language(app, held):
    client = sign_in(app, "analyst")
    zh = client.get("/credits?lang=zh").text
    section = zh.split('id="credits-held"')[1].split("</section>")[0]
    assert "与另一事件重复" in section and "放行入账" in section and "驳回理由" in section
    assert f'action="/credits/held/{held["h1"]}/release"' in section
    assert "credits." not in section and "r9" not in section
    en = client.get("/credits?lang=en").text
    section = en.split('id="credits-held"')[1].split("</section>")[0]
    assert "Duplicate of another event" in section and "Release and credit" in section
    assert "放行" not in en
    # a viewer sees the count, not the forms
    viewer = sign_in(app, "viewer").get("/credits").text
    assert 'id="credits-held-count">2<' in viewer and "/release" not in viewer


def test_only_reviewers_with_a_csrf_token_may_review(app, held):
    path = f"/credits/held/{held['h1']}/release"
    for user in ("viewer", "siming"):
        client = sign_in(app, user)
        r = client.post(path, data={"csrf_token": page_csrf(client)}, follow_redirects=False)
        assert r.status_code == 403, user
    analyst = sign_in(app, "analyst")
    assert analyst.post(path, data={}, follow_redirects=False).status_code == 403  # no CSRF
    assert len(ledger.held_events()) == 2


def test_release_credits_once_and_refusal_needs_a_reason(app, held):
    client = sign_in(app, "analyst")
    token = page_csrf(client, "/credits")
    before = ledger.reconciliation()["issued"]
    r = client.post(
        f"/credits/held/{held['h1']}/release", data={"csrf_token": token}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"].startswith("/credits?reviewed=released")
    assert ledger.reconciliation()["issued"] == before + 1000  # 2 kg x 0.5 kg/kg = 1 kg
    again = client.post(f"/credits/held/{held['h1']}/release", data={"csrf_token": token})
    assert again.status_code == 409 and "已不在待复核队列中" in again.text
    assert ledger.reconciliation()["issued"] == before + 1000
    blank = client.post(
        f"/credits/held/{held['h2']}/refuse", data={"csrf_token": token, "reason": "   "}
    )
    assert blank.status_code == 409 and "驳回须填写理由" in blank.text
    r = client.post(
        f"/credits/held/{held['h2']}/refuse",
        data={"csrf_token": token, "reason": "同一袋回收物重复上报"},
    )
    assert r.status_code == 200 and "事件已驳回" in r.text  # followed the redirect
    assert 'id="credits-held-count">0<' in r.text
    statuses = ledger.export_account("recycler", "r9")["events"]
    assert sorted(e["status"] for e in statuses) == ["credited", "credited", "refused"]
    assert ledger.reconciliation()["balanced"]
    audit, total = users.audit_frame(entity="credit_event")
    assert total == 2 and set(audit["actor"]) == {"analyst"}
