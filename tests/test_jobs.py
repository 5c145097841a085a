"""Background jobs with the real queue (huey, SqliteHuey in the home) and the real consumer
thread: uploads run one after the other, a failing ingest fails its job with a clear message,
the API answers 202 and is polled to the end with a token, jobs are scoped, pages answer while
a job runs."""

from __future__ import annotations

import io
import time

import pandas as pd
import pytest

from citycarbon.config.settings import get_settings
from citycarbon.runs import jobs as job_runs
from citycarbon.runs.pipeline import stale_steps
from citycarbon.store import jobs as store
from citycarbon.store import users
from tests.web_fixtures import sign_in, wait_job


def _energy_csv(web_home, rows: slice, scale: float = 1.0) -> bytes:
    """Rows of the demo's own 205-1 returns (values scaled: new content for a new batch)."""
    frame = pd.read_parquet(web_home / "demo-input" / "energy_monthly.parquet").iloc[rows].copy()
    numbers = frame.select_dtypes("number").columns  # all scaled: the checks' sums still hold
    frame[numbers] = frame[numbers] * scale
    return frame.to_csv(index=False).encode("utf-8")


def _wait_store(job_id: int, timeout_s: float = 120) -> store.JobInfo:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        job = store.get_job(job_id)
        if job is not None and job.finished:
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not finish")


def test_two_uploads_queued_back_to_back_run_one_after_the_other(web_home, job_worker, monkeypatch):
    monkeypatch.setenv("CITYCARBON_INGEST_PAUSE", "staged:1.5")  # each ingest takes ≥ 1.5 s
    a = job_runs.submit_ingest(
        "energy_monthly", io.BytesIO(_energy_csv(web_home, slice(0, 5), 1.1)), "a.csv",
        created_by="analyst",
    )  # fmt: skip
    b = job_runs.submit_ingest(
        "energy_monthly", io.BytesIO(_energy_csv(web_home, slice(5, 10), 1.1)), "b.csv",
        created_by="analyst",
    )  # fmt: skip
    assert (a.status, b.status) == ("queued", "queued")
    a, b = _wait_store(a.id), _wait_store(b.id)
    assert (a.status, b.status) == ("done", "done"), (a.error, b.error)
    assert a.finished_at <= b.started_at  # one worker: b started after a ended
    names = [s["name"] for s in a.steps]
    assert names == ["ingest", *(s.name for s in stale_steps({"energy_monthly"}))]
    assert all(s["status"] in ("done", "skipped") for s in a.steps) and a.progress == 1.0
    assert a.batch_id and b.batch_id and a.batch_id != b.batch_id
    assert not any(get_settings().uploads.iterdir())  # the private copies are gone


def test_a_failing_ingest_marks_the_job_failed_with_a_clear_message(web_home, job_worker):
    bad = b"enterprise_code,year\n91350211MAKB5N0G4C,2024\n"  # required columns missing
    job = job_runs.submit_ingest("energy_monthly", io.BytesIO(bad), "月报.csv", created_by="x")
    job = _wait_store(job.id)
    assert job.status == "failed" and job.batch_id is None
    assert job.error.startswith("月报.csv") and "missing required column" in job.error
    assert str(get_settings().home) not in job.error  # never a server path
    assert job.steps[0]["name"] == "ingest" and job.steps[0]["status"] == "failed"
    assert job.steps[0]["message"] == job.error
    assert not any(get_settings().uploads.iterdir())


def test_uploaded_copy_is_private_and_not_named_by_the_user(web_home):
    path = job_runs.save_upload(io.BytesIO(b"a,b\n"), ".csv")
    try:
        assert path.parent == get_settings().uploads and path.suffix == ".csv"
        assert path.stat().st_mode & 0o777 == 0o600
        assert path.parent.stat().st_mode & 0o777 == 0o700
    finally:
        path.unlink()
    with pytest.raises(Exception, match="larger than"):
        job_runs.save_upload(io.BytesIO(b"x" * 3000), ".csv", max_bytes=1024)
    assert not any(get_settings().uploads.iterdir())


def test_api_upload_answers_202_and_is_polled_to_done_with_a_token(app, web_home, job_worker):
    token = users.create_token("analyst", "jobs-test", actor="test")[1]
    auth = {"Authorization": f"Bearer {token}"}
    client = sign_in(app, "viewer")  # any client; the token decides who calls
    client.cookies.clear()
    r = client.post(
        "/api/v1/uploads",
        data={"kind": "energy_monthly"},
        files={"file": ("api.csv", _energy_csv(web_home, slice(10, 14), 1.2), "text/csv")},
        headers=auth,
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "queued" and body["status_url"] == f"/api/v1/jobs/{body['job_id']}"
    job = wait_job(client, body["job_id"], headers=auth)
    assert job["status"] == "done" and job["created_by"] == "analyst", job
    assert job["source_name"] == "api.csv" and job["progress"] == 1.0
    batch = client.get(job["batch_url"], headers=auth).json()
    assert (batch["source_name"], batch["rows_accepted"]) == ("api.csv", 4)
    listed = client.get("/api/v1/jobs", headers=auth).json()
    assert body["job_id"] in [j["id"] for j in listed["items"]]


def test_jobs_are_scoped_to_their_owner_and_city_roles(app, web_home, job_worker):
    analyst = users.get_user_by_name("analyst")
    job = job_runs.submit_ingest(
        "energy_monthly", io.BytesIO(_energy_csv(web_home, slice(14, 16), 1.3)), "own.csv",
        created_by="analyst", created_by_id=analyst.id,
    )  # fmt: skip
    _wait_store(job.id)
    for user in ("siming", "enterprise", "viewer"):
        other = sign_in(app, user)
        assert other.get(f"/api/v1/jobs/{job.id}").status_code == 404
        assert other.get(f"/data/jobs/{job.id}").status_code == 404
        assert job.id not in [j["id"] for j in other.get("/api/v1/jobs").json()["items"]]
    for user in ("analyst", "admin"):
        ok = sign_in(app, user)
        assert ok.get(f"/api/v1/jobs/{job.id}").json()["source_name"] == "own.csv"
        assert job.id in [j["id"] for j in ok.get("/api/v1/jobs?limit=1000").json()["items"]]


def test_pages_answer_while_a_job_runs(app, web_home, job_worker, monkeypatch):
    monkeypatch.setenv("CITYCARBON_INGEST_PAUSE", "staged:4")
    client = sign_in(app, "analyst")
    job = job_runs.submit_ingest(
        "energy_monthly", io.BytesIO(_energy_csv(web_home, slice(16, 18), 1.4)), "slow.csv",
        created_by="analyst", created_by_id=users.get_user_by_name("analyst").id,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while store.get_job(job.id).status == "queued" and time.monotonic() < deadline:
        time.sleep(0.05)
    t0 = time.monotonic()
    page = client.get(f"/data/jobs/{job.id}")
    overview = client.get("/")
    elapsed = time.monotonic() - t0
    assert store.get_job(job.id).status == "running"  # still running: answered meanwhile
    assert page.status_code == overview.status_code == 200 and elapsed < 3
    assert 'id="job-waiting"' in page.text and "/static/js/job.js" in page.text
    assert _wait_store(job.id).status == "done"


def test_retracting_a_batch_through_the_api_recomputes_and_keeps_history(app, web_home, job_worker):
    token = users.create_token("analyst", "retract-test", actor="test")[1]
    auth = {"Authorization": f"Bearer {token}"}
    client = sign_in(app, "viewer")
    client.cookies.clear()
    r = client.post(
        "/api/v1/uploads",
        data={"kind": "energy_monthly"},
        files={"file": ("x3.csv", _energy_csv(web_home, slice(20, 24), 3.0), "text/csv")},
        headers=auth,
    )
    batch_id = wait_job(client, r.json()["job_id"], headers=auth)["batch_id"]
    viewer = sign_in(app, "viewer")  # may read, may not retract
    assert viewer.post(f"/api/v1/batches/{batch_id}/retract").status_code in (403, 404)
    r = client.post(
        f"/api/v1/batches/{batch_id}/retract", data={"reason": "×3 by mistake"}, headers=auth
    )
    assert r.status_code == 202, r.text
    job = wait_job(client, r.json()["job_id"], headers=auth)
    assert job["status"] == "done", job
    names = [s["name"] for s in job["steps"]]
    assert names[0] == "enterprise_results" and "targets" in names
    batch = client.get(f"/api/v1/batches/{batch_id}", headers=auth).json()
    assert batch["status"] == "retracted"  # history kept, rows no longer counted
    again = client.post(f"/api/v1/batches/{batch_id}/retract", headers=auth)
    assert again.status_code == 422 and "retracted" in again.text
    assert client.post("/api/v1/batches/999999/retract", headers=auth).status_code == 404
