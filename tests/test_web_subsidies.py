"""补贴测算 page: budgets with committed and paid amounts (city-wide roles), the calculator
(form POST with CSRF; hand-computed schedule, refusals with reasons), the demo applications
computed by the pipeline step ``subsidies``, scoping (an enterprise or a bank sees no other
enterprise's application: 404), zh and en."""

from __future__ import annotations

import pytest

from citycarbon.demo.users import demo_password
from citycarbon.store import consents, users
from tests.web_fixtures import page_csrf, sign_in, wait_job

LOAN = "2024-11-01, 1000\n2025-03-01, 1000\n2026-06-30, -500\n"


@pytest.fixture(scope="module")
def analyst(app):
    return sign_in(app, "analyst")


def _apps(client) -> dict[str, dict]:
    return {a["application_id"]: a for a in client.get("/api/v1/finance/subsidies").json()["items"]}


def test_demo_applications_and_budgets(analyst):
    apps = _apps(analyst)
    assert apps["DEMO-LOAN-1"]["eligible"] and apps["DEMO-LOAN-1"]["committed_10k_cny"] > 0
    assert apps["DEMO-LOAN-2"]["refusals"] == "investment_below_minimum"
    assert apps["DEMO-LOAN-3"]["refusals"] == "bank_not_cooperating"
    assert apps["DEMO-ZJTX-1"]["entitlement_10k_cny"] == 50.0
    assert apps["DEMO-ZJTX-3"]["committed_10k_cny"] == 0.0  # submitted, not approved
    budgets = {
        b["programme"]: b for b in analyst.get("/api/v1/finance/subsidies/budgets").json()["items"]
    }
    assert budgets["renovation_loan"]["budget_10k_cny"] == 10000.0
    assert budgets["zhuanjingtexin"]["budget_10k_cny"] == 8000.0
    assert budgets["zhuanjingtexin"]["committed_10k_cny"] == 70.0  # 50 + 20 approved
    assert budgets["zhuanjingtexin"]["paid_10k_cny"] == 50.0
    assert budgets["renovation_loan"]["committed_10k_cny"] == pytest.approx(
        apps["DEMO-LOAN-1"]["entitlement_10k_cny"]
    )
    zh = analyst.get("/finance/subsidies?lang=zh").text
    assert 'id="budget-table"' in zh and "技改项目融资贴息" in zh and "8,000" in zh
    assert "Allocation" not in zh
    en = analyst.get("/finance/subsidies?lang=en").text
    assert "Technical-renovation loan interest subsidy" in en and "贴息（万元）" not in en
    detail = analyst.get("/finance/subsidies/DEMO-LOAN-3?lang=zh").text
    assert "贷款银行不是合作银行" in detail


def test_calculator_by_hand_and_refusals(analyst):
    token = page_csrf(analyst, "/finance/subsidies")
    form = {"programme": "renovation_loan", "investment": "3000", "bank": "兴业银行"}
    r = analyst.post("/finance/subsidies", data={**form, "schedule": LOAN, "csrf_token": token})
    assert r.status_code == 200
    assert 'data-eligible="yes"' in r.text and "100.0274" in r.text  # 36,510 / 365
    assert "36.7671" in r.text  # 2025: 671,000 万元·天 x 2 % / 365
    bad = {**form, "investment": "1500", "bank": "某银行", "schedule": LOAN + "2025-13-01, 5\n"}
    r = analyst.post("/finance/subsidies?lang=en", data={**bad, "csrf_token": token})
    assert 'data-eligible="no"' in r.text
    assert 'data-code="investment_below_minimum"' in r.text
    assert "Lender is not a cooperating bank" in r.text and "Line 4" in r.text
    r = analyst.post(
        "/finance/subsidies?lang=zh", data={**form, "csrf_token": token}
    )  # no schedule
    assert 'data-code="no_disbursement"' in r.text and "无实际放款" in r.text
    award = {"programme": "zhuanjingtexin", "recognition": "national_little_giant"}
    award |= {"year": "2025", "recognition_year": "2025"}
    r = analyst.post("/finance/subsidies", data={**award, "csrf_token": token})
    assert 'data-eligible="yes"' in r.text and ">50.0000<" in r.text
    # recognised in 2023, applied for in 2025: not new, refused with the reason in zh and en
    old = {**award, "recognition_year": "2023", "csrf_token": token}
    r = analyst.post("/finance/subsidies?lang=zh", data=old)
    assert 'data-code="recognition_not_new"' in r.text and "不是新认定" in r.text
    r = analyst.post("/finance/subsidies?lang=en", data=old)
    assert "Not a new recognition" in r.text
    r = analyst.post(
        "/finance/subsidies?lang=en", data={**award, "recognition_year": ""} | {"csrf_token": token}
    )
    assert 'data-code="no_recognition_year"' in r.text
    assert analyst.post("/finance/subsidies", data={**form, "schedule": LOAN}).status_code == 403


def test_an_enterprise_sees_only_its_own_applications(app):
    client = sign_in(app, "enterprise")
    own = client.get("/api/v1/me").json()["scope_code"]
    apps = _apps(client)
    assert all(a["enterprise_code"] == own for a in apps.values())
    others = [i for i, a in _apps(sign_in(app, "analyst")).items() if a["enterprise_code"] != own]
    for app_id in others:
        assert client.get(f"/finance/subsidies/{app_id}").status_code == 404
    assert 'id="budgets"' not in client.get("/finance/subsidies").text
    assert client.get("/api/v1/finance/subsidies/budgets").status_code == 403


def test_a_bank_sees_an_application_only_under_a_full_consent(app, analyst):
    users.create_user("bank2", demo_password("bank2"), "bank", display_name="示例银行")
    bank = sign_in(app, "bank2")
    apps = _apps(analyst)
    assert _apps(bank) == {}
    assert bank.get("/finance/subsidies/DEMO-LOAN-1").status_code == 404
    code = apps["DEMO-LOAN-1"]["enterprise_code"]
    consents.grant(code, "bank2", scope="rating", purpose="授信", days=5, actor="test")
    assert bank.get("/finance/subsidies/DEMO-LOAN-1").status_code == 404  # rating only
    consents.grant(code, "bank2", scope="full", purpose="授信", days=5, actor="test")
    assert list(_apps(bank)) == ["DEMO-LOAN-1"]
    assert bank.get("/finance/subsidies/DEMO-LOAN-1").status_code == 200
    assert bank.get("/finance/subsidies/DEMO-LOAN-2").status_code == 404


def test_an_upload_goes_through_the_pipeline_and_the_owner_sees_it(app, analyst, job_worker):
    """A loan of the enterprise user's own enterprise, 600 万 on 2024-12-01 and 400 万 on
    2025-01-31 (window 2024-12-01 .. 2027-12-01, 2 %, act/365):
    2024: 31 x 600 = 18,600; 2025: 30 x 600 + 335 x 1000 = 353,000; 2026: 365,000;
    2027: 334 x 1000 = 334,000; total 1,070,600 x 0.02 / 365 = 58.663014 万元."""
    ent = sign_in(app, "enterprise")
    own = ent.get("/api/v1/me").json()["scope_code"]
    before = analyst.get("/api/v1/finance/subsidies/budgets").json()["items"]
    before = {b["programme"]: b["committed_10k_cny"] for b in before}
    head = "申报编号,序号,统一社会信用代码,申报年度,政策,状态,贷款银行,技改投资万元,日期,金额万元"
    body = "\n".join(
        [
            head,
            f"E-LOAN-1,1,{own},2025,renovation_loan,approved,厦门银行,2500,2024-12-01,600",
            f"E-LOAN-1,2,{own},2025,renovation_loan,approved,厦门银行,2500,2025-01-31,400",
        ]
    ).encode()
    token = users.create_token("analyst", "subsidy-test", actor="test")[1]
    auth = {"Authorization": f"Bearer {token}"}
    r = analyst.post(
        "/api/v1/uploads",
        data={"kind": "subsidy_applications"},
        files={"file": ("补贴申报.csv", body, "text/csv")},
        headers=auth,
    )
    assert r.status_code == 202, r.text
    job = wait_job(analyst, r.json()["job_id"], headers=auth)
    assert job["status"] == "done", job
    steps = {s["name"]: s["status"] for s in job["steps"]}
    assert steps["subsidies"] == "done"
    got = _apps(analyst)["E-LOAN-1"]
    assert got["eligible"] and got["entitlement_10k_cny"] == pytest.approx(21_412 / 365)
    after = analyst.get("/api/v1/finance/subsidies/budgets").json()["items"]
    after = {b["programme"]: b["committed_10k_cny"] for b in after}
    assert after["renovation_loan"] == pytest.approx(before["renovation_loan"] + 21_412 / 365)
    mine = _apps(ent)
    assert "E-LOAN-1" in mine and {a["enterprise_code"] for a in mine.values()} == {own}
    page = ent.get("/finance/subsidies/E-LOAN-1?lang=zh")
    assert page.status_code == 200 and "58.6630" in page.text and "353,000" in page.text
