"""Residents on the platform's pages (碳普惠, issue 17): after a resident with opt-in contact
fields is credited, no page or API answer a city user can reach shows the resident — only
aggregates; the 碳普惠 page shows the ledger's daily reconciliation to city-wide roles (zh and en)
and ``citycarbon credits reconcile`` prints it."""

from __future__ import annotations

import pandas as pd
import pytest
from typer.testing import CliRunner

from citycarbon.cli import app as cli_app
from citycarbon.config import load_city
from citycarbon.runs import credits as credit_runs
from citycarbon.store import credits as ledger
from citycarbon.web.app import route_table
from tests.web_fixtures import sign_in

SUBJECT, RESIDENT = "acct-5d1e-private", "city-id-88c2-private"
CONTACT = {"contact_name": "欧阳晓岚", "contact_phone": "13912345678"}
PRIVATE = (SUBJECT, RESIDENT, *CONTACT.values())


@pytest.fixture(scope="module")
def credited(web_home):
    ledger.record_consent("bikes", SUBJECT, resident=RESIDENT, contact=CONTACT)
    at = pd.Timestamp.now(tz="UTC").floor("h") - pd.Timedelta(hours=3)
    events = pd.DataFrame(
        [
            {
                "event_id": "p1",
                "account": SUBJECT,
                "method": "recyclables",
                "at": at,
                "quantity": 4,
                "district_code": "350203",
            },
            {
                "event_id": "p2",
                "account": SUBJECT,
                "method": "recyclables",
                "at": at,
                "quantity": 1,
            },
        ]
    )
    out = credit_runs.credit_partner_events("bikes", events, city=load_city())
    assert out["status"].tolist() == ["credited", "held"]  # p2: same start as p1
    return out


def _pages(app) -> list[str]:
    return sorted(
        r.path
        for r in route_table(app)
        if "GET" in r.methods and "{" not in r.path and not r.path.startswith("/api/partner")
    )


@pytest.mark.parametrize("user", ["admin", "siming"])
def test_no_page_shows_a_resident(app, credited, user):
    client = sign_in(app, user)
    paths = _pages(app)
    assert "/credits" in paths and "/public" in paths
    for path in paths:
        r = client.get(path)
        assert r.status_code < 500, (user, path)
        assert not any(p in r.text for p in PRIVATE), (user, path)


def test_credits_page_shows_the_daily_reconciliation(app, credited):
    client = sign_in(app, "admin")
    zh = client.get("/credits?lang=zh").text
    section = zh.split('id="credits-reconciliation"')[1].split("</section>")[0]
    assert "积分账本每日对账" in section and "已发放" in section and "未使用余额" in section
    issued = int(credited["points"].sum())
    assert f'<td class="num">{issued:,}</td>' in section and "不平衡" not in section
    assert "<td>是</td>" in section and "credits." not in section
    assert 'id="credits-held-count">1<' in section
    en = client.get("/credits?lang=en").text
    section = en.split('id="credits-reconciliation"')[1].split("</section>")[0]
    assert "Daily reconciliation" in section and "Outstanding" in section
    assert "<td>yes</td>" in section and "credits." not in section
    assert "已发放" not in en
    # a district role sees its district's credits, not the city's ledger
    assert 'id="credits-reconciliation"' not in sign_in(app, "siming").get("/credits").text


def test_cli_prints_the_daily_reconciliation(credited):
    result = CliRunner().invoke(cli_app, ["credits", "reconcile", "--days", "2"])
    assert result.exit_code == 0, result.output
    issued = int(credited["points"].sum())
    assert f"{issued:,}" in result.output and "yes" in result.output
    held = CliRunner().invoke(cli_app, ["credits", "held"])
    assert held.exit_code == 0 and "1 held" in held.output
    assert "p2" in held.output and SUBJECT not in held.output


def test_cli_reviews_held_events(credited):
    queue = ledger.held_events().set_index("event_id")
    row = str(int(queue.loc["p2", "id"]))
    denied = CliRunner().invoke(cli_app, ["credits", "release", row, "--as", "viewer"])
    assert denied.exit_code != 0 and "review credits" in denied.output
    refused = CliRunner().invoke(
        cli_app, ["credits", "refuse", row, "--reason", "same bag twice", "--as", "analyst"]
    )
    assert refused.exit_code == 0 and f"held event {row} refused" in refused.output
    again = CliRunner().invoke(cli_app, ["credits", "release", row])
    assert again.exit_code != 0 and "no held event" in again.output
    assert "0 held" in CliRunner().invoke(cli_app, ["credits", "held"]).output
