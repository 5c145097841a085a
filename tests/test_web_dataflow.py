"""数据 page, the analyst's monthly routine: a template of every kind (generated from its
declaration) filled with valid rows is accepted; the quarantine as a table with statuses and
filters; a rejected row corrected in place (a new batch through the same pipeline, audited);
the failed rows of a batch as a workbook that goes round; retraction after a confirmation page;
and scoping (another user's batch is not found)."""

from __future__ import annotations

import io
import re

import openpyxl
import pandas as pd
import pytest
import sqlalchemy as sa

from citycarbon.contract.inputs import SCHEMAS
from citycarbon.ingest.loader import ingest
from citycarbon.ingest.templates import header_label
from citycarbon.store import catalog
from citycarbon.store.models import AuditLog
from citycarbon.web.i18n import reason_text
from tests.web_fixtures import page_csrf, sign_in, wait_job

ROWS = 3


def _demo_rows(web_home, kind: str) -> pd.DataFrame:
    """The first rows of the demo's own input of ``kind`` (valid values), as text."""
    folder = web_home / "demo-input"
    path = folder / f"{kind}.parquet"
    frame = (
        pd.read_parquet(path) if path.exists() else pd.read_csv(folder / f"{kind}.csv", dtype=str)
    )
    head = frame.head(ROWS).copy()
    for col in head.columns:
        head[col] = head[col].astype(str).where(head[col].notna(), None)
    return head


def _upload(client, kind: str, name: str, body: bytes) -> dict:
    r = client.post(
        "/api/v1/uploads",
        data={"kind": kind},
        files={"file": (name, body, "application/octet-stream")},
        headers={"X-CSRF-Token": page_csrf(client, "/data")},
    )
    assert r.status_code == 202, r.text[:500]
    job = wait_job(client, r.json()["job_id"], timeout_s=300)
    assert job["status"] == "done", job
    return job


def _batch(client, batch_id: int) -> dict:
    items = client.get("/api/v1/batches", params={"limit": 1000}).json()["items"]
    return next(b for b in items if b["id"] == batch_id)


def _fill_xlsx(body: bytes, kind: str, lang: str, rows: pd.DataFrame) -> bytes:
    book = openpyxl.load_workbook(io.BytesIO(body))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    by_label = {header_label(c, lang): c.name for c in SCHEMAS[kind].columns}
    for r, (_, row) in enumerate(rows.iterrows(), start=2):
        for c, header in enumerate(headers, start=1):
            value = row.get(by_label[header])
            if value is not None:
                sheet.cell(r, c, value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_the_data_page_offers_a_template_of_every_kind(app):
    client = sign_in(app, "analyst")
    page = client.get("/data").text
    for kind in SCHEMAS:
        assert f'href="/data/templates/{kind}?format=xlsx"' in page
        assert f'href="/data/templates/{kind}?format=csv"' in page
    assert 'href="/data/templates/energy_monthly?format=205-1"' in page
    english = client.get("/data", params={"lang": "en"}).text
    assert "Templates" in english and "填报模板" not in english


@pytest.mark.parametrize("kind", list(SCHEMAS))
def test_a_filled_template_of_every_kind_is_accepted(app, web_home, tmp_path, kind):
    """Downloaded from the page, filled with valid rows, read by the ingest every upload goes
    through: every row accepted (the upload → job → pipeline path: the tests below)."""
    client = sign_in(app, "analyst")
    rows = _demo_rows(web_home, kind)
    # Chinese: the Excel template (data sheet + 说明 sheet), filled in
    r = client.get(f"/data/templates/{kind}", params={"format": "xlsx", "lang": "zh"})
    assert r.status_code == 200 and r.headers["content-type"].startswith(
        "application/vnd.openxmlformats"
    )
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    assert [s.title for s in book.worksheets] == ["数据", "说明"]
    readme = list(book["说明"].values)
    assert readme[0][:4] == ("表头", "类型", "单位", "必填")
    assert len(readme) == 1 + len(SCHEMAS[kind].columns)
    xlsx = tmp_path / f"{kind}-模板.xlsx"
    xlsx.write_bytes(_fill_xlsx(r.content, kind, "zh", rows))
    # English: the CSV template's header line, with the same rows under it
    r = client.get(f"/data/templates/{kind}", params={"format": "csv", "lang": "en"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    headers = r.content.decode("utf-8-sig").strip().split(",")
    assert headers == [c.name for c in SCHEMAS[kind].columns]
    csv = tmp_path / f"{kind}-template.csv"
    csv.write_bytes(rows.reindex(columns=headers).to_csv(index=False).encode("utf-8"))
    for path in (xlsx, csv):
        result = ingest(kind, path, created_by="analyst")
        assert (result.rows_accepted, result.rows_quarantined) == (ROWS, 0), (path, result)


def test_templates_of_unknown_kinds_and_formats_are_not_found(app):
    client = sign_in(app, "analyst")
    assert client.get("/data/templates/nope").status_code == 404
    assert client.get("/data/templates/..%2F..%2Fetc%2Fpasswd").status_code == 404
    assert client.get("/data/templates/parks", params={"format": "205-1"}).status_code == 404
    assert client.get("/data/templates/parks", params={"format": "pdf"}).status_code == 404
    r = client.get("/data/templates/energy_monthly", params={"format": "205-1"})
    assert r.status_code == 200
    assert "205-1表" in openpyxl.load_workbook(io.BytesIO(r.content)).sheetnames


def _bad_upload(client, web_home, start: int) -> tuple[dict, pd.DataFrame]:
    """Three rows of the demo's own returns from ``start`` on (a new file for each ``start``),
    rows 3 and 4 (header = 1) broken: an unknown fuel (in the key), a negative consumption."""
    frame = pd.read_parquet(web_home / "demo-input" / "energy_monthly.parquet")
    good = frame.iloc[start : start + 3]
    bad = good.copy()
    bad.iloc[1, bad.columns.get_loc("fuel")] = "天燃气X"
    bad.iloc[2, bad.columns.get_loc("consumed_total")] = -5.0
    job = _upload(client, "energy_monthly", "坏.csv", bad.to_csv(index=False).encode("utf-8"))
    return _batch(client, job["batch_id"]), good.reset_index(drop=True)


def test_correcting_a_row_makes_a_batch_and_the_row_leaves_the_open_quarantine(
    app, web_home, job_worker
):
    client = sign_in(app, "analyst")
    batch, good = _bad_upload(client, web_home, 10)
    assert batch["rows_quarantined"] == 2
    problems = client.get("/api/v1/quarantine", params={"batch_id": batch["id"]}).json()
    assert {(r["source_row"], r["status"]) for r in problems["items"]} == {(3, "open"), (4, "open")}
    page = client.get(f"/data/batches/{batch['id']}").text
    assert page.count('data-status="open"') == problems["total"]
    assert f'href="/data/batches/{batch["id"]}/rows/3"' in page
    assert "未知" in page and "is unknown" not in page  # the reason in the page's language
    form = client.get(f"/data/batches/{batch['id']}/rows/3")
    assert form.status_code == 200 and 'value="天燃气X"' in form.text
    values = {f"col_{c}": str(v) for c, v in good.iloc[1].items()}
    r = client.post(
        f"/data/batches/{batch['id']}/rows/3",
        data={**values, "csrf_token": page_csrf(client, "/data")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    job = wait_job(client, int(r.headers["location"].rsplit("/", 1)[1]), timeout_s=300)
    assert job["status"] == "done", job
    fixed = _batch(client, job["batch_id"])
    assert (fixed["rows_accepted"], fixed["rows_quarantined"]) == (1, 0)
    assert fixed["source_name"].startswith("correction-energy_monthly")
    rows = client.get("/api/v1/quarantine", params={"batch_id": batch["id"], "limit": 100}).json()[
        "items"
    ]
    status = {(r["source_row"], r["status"], r["superseded_by"]) for r in rows}
    assert status == {(3, "resolved", fixed["id"]), (4, "open", None)}
    open_rows = client.get(f"/data/batches/{batch['id']}", params={"status": "open"}).text
    assert 'data-status="resolved"' not in open_rows and 'data-status="open"' in open_rows
    assert 'href="/data/batches/' + str(batch["id"]) + '/rows/3"' not in open_rows
    with catalog.session_scope() as s:
        entry = s.scalars(
            sa.select(AuditLog).where(
                AuditLog.entity == "quarantine_row", AuditLog.entity_id == f"{batch['id']}:3"
            )
        ).one()
    assert (entry.actor, entry.action) == ("analyst", "correct")
    assert entry.after["fuel"] == good.iloc[1]["fuel"]
    # no CSRF token: refused, nothing queued
    r = client.post(f"/data/batches/{batch['id']}/rows/4", data=values, follow_redirects=False)
    assert r.status_code == 403


def test_the_failed_rows_workbook_goes_round(app, web_home, job_worker):
    client = sign_in(app, "analyst")
    batch, good = _bad_upload(client, web_home, 20)
    r = client.get(f"/data/batches/{batch['id']}/failed.xlsx")
    assert r.status_code == 200
    book = openpyxl.load_workbook(io.BytesIO(r.content))
    sheet = book["数据"]
    table = list(sheet.values)
    headers = list(table[0])
    labels = [header_label(c, "zh") for c in SCHEMAS["energy_monthly"].columns]
    assert headers == [*labels, "原文件行号", "问题原因"]
    assert [row[-2] for row in table[1:]] == [3, 4]
    assert "天燃气X" in table[1][-1] and "consumed_total" in table[2][-1]
    assert "未知" in table[1][-1] and "is unknown" not in table[1][-1]  # reasons in Chinese
    en = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/data/batches/{batch['id']}/failed.xlsx?lang=en").content)
    )["data"]
    reasons = [row[-1] for row in list(en.values)[1:]]
    assert "is unknown" in reasons[0] and "未知" not in reasons[0]
    # fix the two rows in the workbook and upload it again: both accepted
    fuel, total = labels.index("代码") + 1, labels.index("消费量合计") + 1
    sheet.cell(2, fuel, good.iloc[1]["fuel"])
    sheet.cell(3, total, float(good.iloc[2]["consumed_total"]))
    out = io.BytesIO()
    book.save(out)
    job = _upload(client, "energy_monthly", "失败行-已改.xlsx", out.getvalue())
    again = _batch(client, job["batch_id"])
    assert (again["rows_accepted"], again["rows_quarantined"]) == (2, 0), again
    # row 4 (its key as written) is covered by the new batch; row 3's key held the unknown
    # fuel, so no later row has that key: it stays open (correct it in place to resolve it)
    rows = client.get("/api/v1/quarantine", params={"batch_id": batch["id"]}).json()["items"]
    status = {(r["source_row"], r["status"], r["superseded_by"]) for r in rows}
    assert status == {(3, "open", None), (4, "superseded", again["id"])}
    listed = client.get(
        "/data/quarantine", params={"kind": "energy_monthly", "status": "superseded"}
    ).text
    assert f'href="/data/batches/{batch["id"]}"' in listed
    assert 'data-status="open"' not in listed and 'data-status="superseded"' in listed
    # the filter form as a browser sends it: an empty batch number, or one
    form = {"kind": "energy_monthly", "batch": "", "status": "open"}
    listed = client.get("/data/quarantine", params=form)
    assert listed.status_code == 200 and 'data-status="open"' in listed.text
    r = client.get("/data/quarantine", params={**form, "batch": str(batch["id"])})
    assert r.status_code == 200 and r.url.path == f"/data/batches/{batch['id']}"


def test_retracting_a_batch_asks_first(app, web_home, job_worker):
    client = sign_in(app, "analyst")
    batch, _ = _bad_upload(client, web_home, 30)
    page = client.get(f"/data/batches/{batch['id']}").text
    assert f'href="/data/batches/{batch["id"]}/retract"' in page
    assert 'id="retract-form"' not in page  # the form is on the confirmation page
    confirm = client.get(f"/data/batches/{batch['id']}/retract")
    assert confirm.status_code == 200 and 'id="retract-form"' in confirm.text
    r = client.post(
        f"/data/batches/{batch['id']}/retract",
        data={"reason": "测试撤回", "csrf_token": page_csrf(client, "/data")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    job = wait_job(client, int(r.headers["location"].rsplit("/", 1)[1]), timeout_s=300)
    assert job["status"] == "done", job
    assert _batch(client, batch["id"])["status"] == "retracted"
    again = client.get(f"/data/batches/{batch['id']}/retract")
    assert 'id="retract-refused"' in again.text and 'id="retract-form"' not in again.text


def test_another_users_batch_is_not_found(app, web_home, job_worker):
    analyst = sign_in(app, "analyst")
    batch, _ = _bad_upload(analyst, web_home, 40)
    enterprise = sign_in(app, "enterprise")
    for path in (
        f"/data/batches/{batch['id']}",
        f"/data/batches/{batch['id']}/failed.xlsx",
    ):
        assert enterprise.get(path).status_code == 404, path
    assert enterprise.get(f"/api/v1/quarantine?batch_id={batch['id']}").status_code == 404
    listed = enterprise.get("/data/quarantine").text
    assert f'href="/data/batches/{batch["id"]}"' not in listed
    # the functions the role lacks: 403 before anything about the batch is said
    assert enterprise.get(f"/data/batches/{batch['id']}/rows/3").status_code == 403
    assert enterprise.get(f"/data/batches/{batch['id']}/retract").status_code == 403
    # a row that is not in the quarantine: not found, also for the analyst
    assert analyst.get(f"/data/batches/{batch['id']}/rows/99").status_code == 404


def test_job_page_links_the_pages_its_results_refreshed(app, web_home, job_worker):
    client = sign_in(app, "analyst")
    _bad_upload(client, web_home, 50)
    jobs = client.get("/api/v1/jobs", params={"limit": 1}).json()["items"]
    page = client.get(f"/data/jobs/{jobs[0]['id']}").text
    links = page.split('id="job-links"')[1].split("</section>")[0]
    hrefs = re.findall(r'href="([^"]*)" class="refreshed-link"', links)
    assert len(hrefs) == len(set(hrefs))  # each page once
    assert {"/", "/enterprises", "/inventory", "/map", "/rating"} <= set(hrefs)


def test_reasons_are_said_in_the_pages_language():
    assert reason_text("is negative", "zh") == "为负数"
    assert reason_text("is negative", "en") == "is negative"
    said = reason_text("fuel code 'X' is unknown (did you mean '0100 原煤'?)", "zh")
    assert said == "fuel code “X” 未知（是否为 '0100 原煤'？）"
    assert reason_text("something new", "zh") == "something new"
