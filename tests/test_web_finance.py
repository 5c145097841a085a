"""Banks see an enterprise only while its consent is valid: the enterprise user grants and
revokes on its own page (form POST with CSRF, then a redirect), the 绿色金融 page and
``/api/v1/finance`` list the consenting enterprises, every bank read is audited, a ``rating``
consent does not open the enterprise's emission pages, revocation and expiry close everything."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from citycarbon.demo.users import demo_password
from citycarbon.store import catalog, consents, users
from citycarbon.store.models import AuditLog, utcnow
from tests.web_fixtures import page_csrf, sign_in


@pytest.fixture(scope="module")
def bank(web_home, app):
    users.create_user("bank1", demo_password("bank1"), "bank", display_name="厦门某银行")
    return sign_in(app, "bank1")


@pytest.fixture(scope="module")
def ent(app):
    client = sign_in(app, "enterprise")
    return client, client.get("/api/v1/me").json()["scope_code"]


def _grant(client, code, scope="rating", days=30):
    token = page_csrf(client, f"/enterprises/{code}")
    return client.post(
        f"/enterprises/{code}/consents",
        data={
            "csrf_token": token,
            "grantee": "bank1",
            "scope": scope,
            "purpose": "授信审查",
            "days": days,
        },
        follow_redirects=False,
    )


def _bank_reads() -> int:
    """Audited reads of enterprise grades (reads of their green projects, also on the 绿色金融
    page, are audited as entries of their own: tests/test_web_green_projects.py)."""
    with catalog.session_scope() as s:
        return s.scalar(
            sa.select(sa.func.count()).where(
                AuditLog.actor == "bank1",
                AuditLog.action == "read",
                AuditLog.entity_id != "green projects",
            )
        )


def test_without_consent_a_bank_sees_no_enterprise(bank, ent):
    _, code = ent
    assert bank.get("/api/v1/finance/enterprises").json()["total"] == 0
    assert "no-consents" in bank.get("/finance").text
    assert bank.get(f"/enterprises/{code}").status_code == 404
    assert bank.get(f"/api/v1/finance/enterprises/{code}").status_code == 404
    assert bank.get("/api/v1/enterprises").json()["total"] == 0


def test_grant_needs_csrf_and_the_own_enterprise(ent, app):
    client, code = ent
    r = client.post(
        f"/enterprises/{code}/consents",
        data={"grantee": "bank1", "scope": "rating", "purpose": "x", "days": 5},
        follow_redirects=False,
    )
    assert r.status_code == 403  # no CSRF token
    other = catalog.registry_frame("enterprises")["credit_code"]
    other = sorted(set(other) - {code})[0]
    assert _grant(client, other).status_code == 404
    park = sign_in(app, "park")
    token = page_csrf(park)
    r = park.post(
        f"/enterprises/{code}/consents",
        data={
            "csrf_token": token,
            "grantee": "bank1",
            "scope": "rating",
            "purpose": "x",
            "days": 5,
        },
        follow_redirects=False,
    )
    assert r.status_code == 403


def test_a_rating_consent_opens_the_finance_views_only_and_is_audited(bank, ent):
    client, code = ent
    r = _grant(client, code, "rating")
    assert r.status_code == 303 and r.headers["location"].startswith(f"/enterprises/{code}")
    page = client.get(f"/enterprises/{code}").text
    assert 'id="consents"' in page and "授信审查" in page
    before = _bank_reads()
    listed = bank.get("/api/v1/finance/enterprises").json()["items"]
    assert [i["enterprise_code"] for i in listed] == [code]
    assert listed[0]["consent_scope"] == "rating"
    assert bank.get(f"/api/v1/finance/enterprises/{code}").status_code == 200
    assert code in bank.get("/finance").text
    assert _bank_reads() == before + 3
    assert bank.get(f"/enterprises/{code}").status_code == 404  # not a 'full' consent


def test_a_full_consent_opens_the_enterprise_page_and_revocation_closes_all(bank, ent):
    client, code = ent
    assert _grant(client, code, "full").status_code == 303
    before = _bank_reads()
    assert bank.get(f"/enterprises/{code}").status_code == 200
    assert _bank_reads() > before
    before = _bank_reads()
    assert bank.get("/api/v1/enterprises").json()["total"] == 1  # listings are audited too
    assert _bank_reads() == before + 1
    ids = consents.of_enterprise(code).query("valid")["id"].tolist()
    token = page_csrf(client, f"/enterprises/{code}")
    for cid in ids:
        r = client.post(
            f"/enterprises/{code}/consents/{cid}/revoke",
            data={"csrf_token": token},
            follow_redirects=False,
        )
        assert r.status_code == 303
    assert bank.get("/api/v1/finance/enterprises").json()["total"] == 0
    assert bank.get(f"/enterprises/{code}").status_code == 404
    assert bank.get(f"/api/v1/finance/enterprises/{code}").status_code == 404


def test_a_consent_counts_from_its_grant_until_its_expiry(ent):
    _, code = ent
    cid = consents.grant(code, "bank1", scope="rating", purpose="贷后管理", days=30, actor="t")
    uid = users.get_user_by_name("bank1").id
    now = utcnow()
    assert consents.valid_for(uid, at=now + timedelta(days=29)) == {code: "rating"}
    assert consents.valid_for(uid, at=now + timedelta(days=30, seconds=1)) == {}
    assert consents.valid_for(uid, at=now - timedelta(seconds=5)) == {}
    consents.revoke(cid, enterprise_code=code, actor="t")
    assert consents.valid_for(uid) == {}
    with pytest.raises(Exception, match="no consent"):
        consents.revoke(cid, enterprise_code="X" * 18, actor="t")


def test_the_city_sees_class_and_explainable_score(app):
    viewer = sign_in(app, "viewer")
    items = viewer.get("/api/v1/finance/enterprises", params={"limit": 5}).json()["items"]
    assert items
    for i in items:
        parts = sum(
            i[f"contribution_{c}"] for c in ("grade", "trend", "classification", "data_quality")
        )
        assert i["green_credit_score"] == pytest.approx(parts)
        assert i["carbon_class"] in ("negative", "zero", "low", "")
    page = viewer.get("/finance").text
    assert 'id="score-note"' in page and "0.4" in page


def test_only_enterprises_consenting_to_publication_are_listed(app, ent):
    client, code = ent
    viewer = sign_in(app, "viewer")
    assert viewer.get("/api/v1/finance/published").json()["total"] == 0
    token = page_csrf(client, f"/enterprises/{code}")
    r = client.post(
        f"/enterprises/{code}/consents",
        data={"csrf_token": token, "scope": "publication", "purpose": "名单公开", "days": 365},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert consents.publishing() == {code}
    scored = viewer.get("/api/v1/finance/enterprises", params={"limit": 1000}).json()["items"]
    own = next((i for i in scored if i["enterprise_code"] == code), None)
    listed = viewer.get("/api/v1/finance/published").json()["items"]
    expected = [code] if own is not None and own["carbon_class"] else []
    assert [i["enterprise_code"] for i in listed] == expected
    low = next(i["enterprise_code"] for i in scored if i["carbon_class"] == "low")
    consents.grant(low, None, scope="publication", purpose="名单公开", days=30, actor="t")
    listed = viewer.get("/api/v1/finance/published").json()["items"]
    assert low in [i["enterprise_code"] for i in listed]
    assert all(i["carbon_class"] for i in listed)
    assert sign_in(app, "park").get("/api/v1/finance/published").status_code == 403
    assert "市主管部门" in client.get(f"/enterprises/{code}").text


def test_offsets_and_sinks_enter_the_class_with_their_evidence(app):
    """The demo's offsets (enterprise_offsets): a CCER retirement and an own forest sink are
    netted, a VER retirement is not (only CCER is accepted); the class follows the rule on
    the netted figures, and the evidence lists each accepted instrument once."""
    from citycarbon.rating import classification as cl
    from citycarbon.store import lake

    offsets = lake.read_current("enterprise_offsets").set_index("instrument")
    analyst = sign_in(app, "analyst")
    rows = {r["enterprise_code"]: r for r in _all_rows(analyst, "/api/v1/finance/enterprises")}
    ccer, forest, ver = (offsets.loc[i] for i in ("CCER", "forest", "VER"))
    r = rows[ccer["enterprise_code"]]
    assert r["offsets_t"] == pytest.approx(ccer["tco2"]) and r["sinks_t"] == 0
    assert r["net_after_offsets_t"] == pytest.approx(r["net_co2_t"] - ccer["tco2"])
    r = rows[forest["enterprise_code"]]
    assert r["sinks_t"] == pytest.approx(forest["tco2"])
    assert r["net_after_removals_t"] == pytest.approx(r["net_co2_t"] - forest["tco2"])
    assert rows[ver["enterprise_code"]]["offsets_t"] == 0  # VER is not an accepted type
    decimals = cl.classification_rules().decimals
    for r in rows.values():  # the class is the rule applied to the netted figures
        if r["net_co2_t"] is None:
            continue  # consented, not graded
        removals = round(r["net_after_removals_t"], decimals)
        after = round(r["net_after_offsets_t"], decimals)
        want = (
            "negative"
            if removals < 0
            else "zero"
            if after <= 0
            else ("low" if r["level"] == "low" else "")
        )
        assert (r["carbon_class"] or "") == want
    proof = _all_rows(analyst, "/api/v1/finance/evidence")
    refs = {(e["kind"], e["reference"]) for e in proof}
    assert ("offset", ccer["reference"]) in refs and ("sink", forest["reference"]) in refs
    assert all(e["instrument"] != "VER" for e in proof)
    page = analyst.get("/finance", params={"lang": "zh"}).text
    if any(r["carbon_class"] for r in rows.values()):
        assert 'id="evidence-table"' in page


def _all_rows(client, url):
    out, offset = [], 0
    while True:
        body = client.get(url, params={"limit": 1000, "offset": offset}).json()
        out += body["items"]
        offset += len(body["items"])
        if offset >= body["total"] or not body["items"]:
            return out
