"""数据 page and API: upload → background job → validation report (accepted/quarantined counts,
problem rows), batch ledger, quarantine browser, CSV/Excel downloads, audit of the batch;
enterprise page."""

from __future__ import annotations

import io

import pandas as pd
import pytest
import sqlalchemy as sa

from citycarbon.read import access
from citycarbon.store import catalog
from citycarbon.store.models import AuditLog
from tests.web_fixtures import page_csrf, sign_in, wait_job

GOOD = "91350211MAKB5N0G4C"


def _bad_energy_csv(web_home) -> bytes:
    """Three rows of the demo's own returns (same values again), two of them broken."""
    frame = pd.read_parquet(web_home / "demo-input" / "energy_monthly.parquet").head(3).copy()
    frame.loc[1, "fuel"] = "天燃气X"  # unknown fuel
    frame.loc[2, "consumed_total"] = -5.0  # negative consumption
    return frame.to_csv(index=False).encode("utf-8")


def test_upload_shows_the_validation_report_and_is_audited(app, web_home, job_worker):
    client = sign_in(app, "analyst")
    body = _bad_energy_csv(web_home)
    r = client.post(
        "/data/upload",
        data={"kind": "energy_monthly", "csrf_token": page_csrf(client, "/data")},
        files={"file": ("能源月报-坏.csv", body, "text/csv")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    job_id = int(r.headers["location"].rsplit("/", 1)[1])
    assert r.headers["location"] == f"/data/jobs/{job_id}"
    job = wait_job(client, job_id)
    assert job["status"] == "done", job
    assert job["steps"][0]["name"] == "ingest"
    r = client.get(f"/data/jobs/{job_id}")
    assert r.status_code == 200, r.text[:500]
    assert 'id="rows-in">3<' in r.text
    assert 'id="rows-accepted">1<' in r.text
    assert 'id="rows-quarantined">2<' in r.text
    assert "天燃气X" in r.text  # the problem row's value is shown
    batches = client.get("/api/v1/batches", params={"kind": "energy_monthly"}).json()["items"]
    mine = batches[0]
    assert (mine["source_name"], mine["created_by"]) == ("能源月报-坏.csv", "analyst")
    assert mine["id"] == job["batch_id"]
    assert 'href="/inventory"' in r.text and 'href="/map"' in r.text  # the refreshed pages
    data_page = client.get("/data").text
    assert f'href="/data/jobs/{job_id}"' in data_page and "能源月报-坏.csv" in data_page
    rows = client.get("/api/v1/quarantine", params={"batch_id": mine["id"]}).json()
    # one quarantine row per problem; the two broken input rows (header = row 1)
    assert rows["total"] >= 2
    assert {r["source_row"] for r in rows["items"]} == {3, 4}
    with catalog.session_scope() as s:
        entry = s.scalars(
            sa.select(AuditLog).where(
                AuditLog.entity == "batch", AuditLog.entity_id == str(mine["id"])
            )
        ).one()
    assert (entry.actor, entry.action, entry.after["rows_quarantined"]) == ("analyst", "commit", 2)
    page = client.get(f"/data/batches/{mine['id']}")
    assert page.status_code == 200 and "天燃气X" in page.text
    # the same file again: nothing new, the job points at the earlier batch and says so
    r = client.post(
        "/api/v1/uploads",
        data={"kind": "energy_monthly"},
        files={"file": ("能源月报-坏.csv", body, "text/csv")},
        headers={"X-CSRF-Token": page_csrf(client)},
    )
    assert r.status_code == 202
    again = wait_job(client, r.json()["job_id"])
    assert (again["status"], again["batch_id"]) == ("done", mine["id"])
    assert [s["status"] for s in again["steps"]] == ["done"]  # nothing to recompute
    assert "unchanged" in again["steps"][0]["message"]
    page = client.get(f"/data/jobs/{again['id']}").text
    assert f"（批次 {mine['id']}）" in page


def test_upload_errors_are_messages_not_tracebacks(app, job_worker):
    client = sign_in(app, "admin")
    token = page_csrf(client, "/data")
    r = client.post(
        "/data/upload",
        data={"kind": "energy_monthly", "csrf_token": token},
        files={"file": ("x.csv", b"\x00\x01 not a table", "text/csv")},
    )
    assert r.status_code == 200 and 'id="job"' in r.text  # followed to the job page
    job_id = int(str(r.url).rsplit("/", 1)[1])
    job = wait_job(client, job_id, params={"lang": "en"})  # the API's default language is zh
    assert job["status"] == "failed" and job["error"].startswith("x.csv")
    r = client.get(f"/data/jobs/{job_id}")
    assert 'id="job-error"' in r.text and "Traceback" not in r.text
    r = client.post(
        "/data/upload",
        data={"kind": "energy_monthly", "csrf_token": token},
        files={"file": ("x.xls", b"old excel", "application/vnd.ms-excel")},
    )
    assert r.status_code == 422  # the file type is refused at once
    assert 'id="upload-error"' in r.text and ".xlsx" in r.text
    r = client.post(
        "/api/v1/uploads",
        data={"kind": "no_such_kind"},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
        headers={"X-CSRF-Token": token},
    )
    assert r.status_code == 422 and "energy_monthly" in str(r.json()["detail"])  # the kinds
    viewer = sign_in(app, "viewer")
    r = viewer.post(
        "/api/v1/uploads",
        data={"kind": "energy_monthly"},
        files={"file": ("x.csv", b"a,b\n1,2\n", "text/csv")},
        headers={"X-CSRF-Token": page_csrf(viewer)},
    )
    assert r.status_code == 403


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/enterprises",
        "/api/v1/batches",
        "/api/v1/quarantine",
        "/api/v1/overview/years",
        "/api/v1/overview/districts",
        "/api/v1/factor-sets/cn-mee-grid",
        "/api/v1/factor-diff?a=ipcc-ar5-gwp100&b=ipcc-ar6-gwp100",
        "/api/v1/users",
        "/api/v1/audit",
    ],
)
def test_tables_download_as_csv_and_excel(app, path):
    client = sign_in(app, "admin")
    sep = "&" if "?" in path else "?"
    data = client.get(path + sep + "limit=1000").json()
    rows = data["items"] if isinstance(data, dict) else data
    total = data["total"] if isinstance(data, dict) else len(data)
    csv = client.get(path + sep + "format=csv")
    assert csv.status_code == 200 and csv.content.startswith(b"\xef\xbb\xbf")  # BOM for Excel
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert len(frame) == total
    xlsx = client.get(path + sep + "format=xlsx")
    assert xlsx.headers["content-type"].startswith("application/vnd.openxmlformats")
    book = pd.read_excel(io.BytesIO(xlsx.content))
    assert len(book) == total
    if rows:
        assert list(frame.columns) == list(rows[0])


def test_pagination_and_filters(app):
    client = sign_in(app, "viewer")
    full = client.get("/api/v1/enterprises", params={"limit": 1000}).json()
    a = client.get("/api/v1/enterprises", params={"limit": 7, "offset": 0}).json()
    b = client.get("/api/v1/enterprises", params={"limit": 7, "offset": 7}).json()
    assert a["total"] == b["total"] == full["total"] == 150
    assert a["items"] + b["items"] == full["items"][:14]
    co2 = [e["co2_t"] for e in full["items"] if e["co2_t"] is not None]
    assert co2 == sorted(co2, reverse=True)
    siming = client.get("/api/v1/enterprises", params={"district": "350203", "limit": 1000}).json()
    assert siming["total"] > 0 and {e["district_code"] for e in siming["items"]} == {"350203"}
    one = client.get("/api/v1/enterprises", params={"q": GOOD.lower()}).json()
    assert [e["credit_code"] for e in one["items"]] == [GOOD]


def test_enterprise_page_fuel_mix_adds_up_to_its_energy(app):
    """The fuel mix (energy_monthly x GB/T 2589 coefficients, per fuel) and the results run
    (the enterprise_month_fuel_emissions query) are two paths to the same annual energy."""
    client = sign_in(app, "viewer")
    detail = client.get(f"/api/v1/enterprises/{GOOD}").json()
    year = detail["rank"]["year"]
    mix = client.get(f"/api/v1/enterprises/{GOOD}/fuel-mix", params={"year": year}).json()
    monthly = client.get(f"/api/v1/enterprises/{GOOD}/monthly").json()
    energy = sum(m["energy_tce"] for m in monthly if m["year"] == year)
    assert sum(f["energy_tce"] for f in mix) == pytest.approx(energy, rel=1e-9)
    assert 1 <= detail["rank"]["rank"] <= detail["rank"]["of"]
    page = client.get(f"/enterprises/{GOOD}")
    assert page.status_code == 200 and "chart-monthly" in page.text and "chart-fuelmix" in page.text
    assert detail["enterprise"]["name"] in page.text


def test_enterprise_page_shows_the_account_mode_and_its_report(app):
    """The page says in which account mode its CO2 was computed (the results' method), and the
    account report of the year (Excel) is the 核算指南's: CO2 only, the guide's tables, the
    same CO2 as the results (same factor priority and mode)."""
    client = sign_in(app, "viewer")
    zh = client.get(f"/enterprises/{GOOD}").text
    assert 'data-mode="guideline"' in zh and "核算指南模式" in zh and "xiamen:enterprise[" in zh
    en = client.get(f"/enterprises/{GOOD}?lang=en").text
    assert "Guideline mode" in en and "核算" not in en
    year = client.get(f"/api/v1/enterprises/{GOOD}").json()["rank"]["year"]
    r = client.get(f"/enterprises/{GOOD}/account.xlsx", params={"year": year, "lang": "en"})
    assert r.status_code == 200, r.text[:300]
    sheets = pd.read_excel(io.BytesIO(r.content), sheet_name=None)  # labelled, in English
    assert set(sheets["Account lines"]["Gas"]) == {"CO2"}
    assert sheets["About"]["Value"].astype(str).str.startswith("account mode: guideline").any()
    monthly = client.get(f"/api/v1/enterprises/{GOOD}/monthly").json()
    co2 = sum(m["co2_t"] for m in monthly if m["year"] == year)
    emissions = sheets["Emissions"]["Total (tCO2)"]  # rounded to 0.1 t for people
    assert emissions.sum() == pytest.approx(co2, abs=0.05 * len(emissions))
    assert client.get("/enterprises/000000000000000000/account.xlsx").status_code == 404


def test_overview_in_both_languages(app):
    client = sign_in(app, "viewer")
    zh = client.get("/")
    assert 'lang="zh-CN"' in zh.text and "二氧化碳排放" in zh.text
    assert "尚未计算" in zh.text or "panel-targets" in zh.text
    en = client.get("/?lang=en")
    assert 'lang="en"' in en.text and "Reporting enterprises" in en.text and "CO₂" in en.text
    assert "cc_lang=en" in en.headers["set-cookie"]
    assert 'lang="en"' in client.get("/enterprises").text  # remembered
    res = access.results()
    latest = int(res.annual["year"].max())
    total = res.annual[res.annual["year"] == latest]["co2_t"].sum()
    assert f"{total:,.0f}" in zh.text


def test_downloads_do_not_carry_spreadsheet_formulas(app):
    """A registry text that starts like a formula (=, +, -, @) is written as text (OWASP CSV
    injection), in CSV and Excel alike."""
    ents = catalog.registry_frame("enterprises")
    code = ents["credit_code"].iloc[-1]
    catalog.upsert_registry(
        "enterprises", pd.DataFrame({"credit_code": [code], "name": ['=HYPERLINK("x","y")']})
    )
    access.invalidate()
    client = sign_in(app, "viewer")
    csv = client.get("/api/v1/enterprises", params={"q": code, "format": "csv"})
    frame = pd.read_csv(io.BytesIO(csv.content), encoding="utf-8-sig")
    assert frame["name"].tolist() == ['\'=HYPERLINK("x","y")']
    xlsx = client.get("/api/v1/enterprises", params={"q": code, "format": "xlsx"})
    assert pd.read_excel(io.BytesIO(xlsx.content))["name"].tolist() == frame["name"].tolist()
    # the JSON API gives the value as stored
    assert client.get("/api/v1/enterprises", params={"q": code}).json()["items"][0]["name"] == (
        '=HYPERLINK("x","y")'
    )
