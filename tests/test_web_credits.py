"""The 碳普惠 page for city roles (/credits): credited reductions by methodology, district and
month, labelled as already inside the measured emissions; district roles see their district."""

from __future__ import annotations

import pandas as pd
import pytest

from citycarbon.config import load_city
from citycarbon.runs import credits as credit_runs
from citycarbon.store import credits as ledger
from tests.web_fixtures import sign_in


@pytest.fixture(scope="module")
def credited(web_home):
    at = pd.Timestamp.now(tz="UTC") - pd.Timedelta(hours=2)
    events = pd.DataFrame(
        [
            # recyclables: 4 kg x 0.5 = 2 kg in Siming; plastics: 5 x 0.02 = 0.1 kg in Huli
            {
                "event_id": "c1",
                "account": "r1",
                "method": "recyclables",
                "at": at,
                "quantity": 4,
                "district_code": "350203",
            },
            {
                "event_id": "c2",
                "account": "r2",
                "method": "plastics_avoided",
                "at": at,
                "quantity": 5,
                "district_code": "350206",
            },
        ]
    )
    for resident in ("r1", "r2"):  # the residents consent to the recycler
        ledger.record_consent("recycler", resident)
    out = credit_runs.credit_partner_events("recycler", events, city=load_city())
    assert out["status"].tolist() == ["credited", "credited"]
    return out


def test_city_role_sees_all_districts(app, credited):
    page = sign_in(app, "admin").get("/credits?lang=zh")
    assert page.status_code == 200
    text = page.text
    assert "已包含在上方实测排放中" in text and "碳普惠" in text
    assert 'id="credits-total">2.1<' in text
    assert "思明区" in text and "湖里区" in text
    assert "r1" not in text.split('id="credits-by-method"')[1].split("</section>")[0]


def test_district_role_sees_its_district(app, credited):
    client = sign_in(app, "siming")
    text = client.get("/credits?lang=en").text
    assert 'id="credits-total">2.0<' in text
    assert "Siming" in text and "Huli" not in text
    assert "already inside the measured emissions" in text


def test_anonymous_is_sent_to_sign_in(app):
    from fastapi.testclient import TestClient

    r = TestClient(app).get("/credits", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
