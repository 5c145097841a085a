"""The web platform after the penetration test (issue 14): every finding of its inputs and
outputs, kept closed — no request parameter reaches a file path, bounded numbers, NUL refused,
upload names sanitised, no internal exception text, unknown and hidden parks alike, batches
owned by user id, no caching of API answers, HSTS over HTTPS, a private home, absurd values
quarantined while every page opens, and no start with demo passwords in production.

The tests share one copy of the small demo city; the last one changes a password."""

from __future__ import annotations

import importlib
import io
import re
import stat
import typing
from pathlib import Path
from types import SimpleNamespace

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from citycarbon.cli import app as cli
from citycarbon.contract.inputs import SCHEMAS
from citycarbon.demo.users import demo_password, users_with_demo_password
from citycarbon.ingest.excel205 import write_template
from citycarbon.read import access
from citycarbon.runs.jobs import upload_name
from citycarbon.store import catalog, lake, users
from citycarbon.web.app import create_app
from citycarbon.web.auth import WebSettings
from tests.web_fixtures import SETTINGS, page_csrf, sign_in, wait_job

ALL_USERS = ("admin", "analyst", "siming", "park", "enterprise", "viewer")
_NO_PARAMS = SimpleNamespace(query_params=[], path_params=[], dependencies=[])
OWN_PARK, HIDDEN_PARK = "XM-SOFTPARK", "XM-TORCH-HULI"  # siming manages 思明区 (350203)


@pytest.fixture(scope="module")
def clients(app) -> dict[str, TestClient]:
    return {name: sign_in(app, name) for name in ALL_USERS}


def _upload(client: TestClient, name: str, body: bytes, kind: str = "energy_monthly"):
    return client.post(
        "/api/v1/uploads",
        data={"kind": kind},
        files={"file": (name, body, "application/octet-stream")},
        headers={"X-CSRF-Token": page_csrf(client)},
    )


# --------------------------------------------------------------------------- paths
def test_a_report_period_never_reaches_a_file_path(clients, tmp_path):
    """A viewer's ``period=../../../../tmp/x-2025`` wrote the report anywhere the server could
    write; the period is validated against its pattern and reports stream from memory."""
    target = tmp_path / "x-2025.xlsx"
    viewer = clients["viewer"]
    for period in (f"../../../..{tmp_path}/x-2025", "../../../../tmp/x-2025", "2021-2025/../x"):
        r = viewer.get("/api/v1/targets/report", params={"format": "xlsx", "period": period})
        assert r.status_code == 422, (period, r.text)
    assert not target.exists() and not Path("/tmp/x-2025.xlsx").exists()
    r = viewer.get("/api/v1/targets/report", params={"format": "xlsx", "period": "2021-2025"})
    assert r.status_code == 200 and r.content[:2] == b"PK"
    disposition = r.headers["content-disposition"]  # ASCII name, then the UTF-8 one
    assert disposition.startswith('attachment; filename="targets-2021-2025.xlsx"; filename*=')
    assert "%2F" not in disposition and ".." not in disposition
    assert r.headers["cache-control"] == "no-store"
    r = viewer.get("/api/v1/targets/report", params={"period": "2031-2035"})
    assert r.status_code == 404  # well-formed, no such targets: not found


# --------------------------------------------------------------------------- no 500s
def _params(dependant) -> list:
    """The query and path parameters of a route and of its dependencies."""
    own = [*dependant.query_params, *dependant.path_params]
    return own + [p for d in dependant.dependencies for p in _params(d)]


def test_every_number_parameter_has_an_upper_bound(app):
    """``/admin?offset=99999999999999999999`` overflowed the database driver (500)."""
    unbounded = []
    for name in sorted(app.state.route_modules):
        for route in importlib.import_module(f"citycarbon.web.routes.{name}").router.routes:
            for p in _params(getattr(route, "dependant", None) or _NO_PARAMS):
                kinds = typing.get_args(p.field_info.annotation) or (p.field_info.annotation,)
                bounded = any(
                    getattr(m, "le", None) is not None or getattr(m, "lt", None) is not None
                    for m in p.field_info.metadata
                )
                if {int, float} & set(kinds) and not bounded:
                    unbounded.append(f"{route.path} {p.name}")
    assert not unbounded, unbounded


def test_huge_numbers_and_nul_bytes_are_refused_not_crashes(clients):
    admin = clients["admin"]
    for url in ("/admin?offset=99999999999999999999", "/data/batches/1?offset=10000000000"):
        r = admin.get(url)
        assert r.status_code == 422 and "Traceback" not in r.text, url
    for url in (
        "/api/v1/enterprises?q=%00",
        "/api/v1/batches?kind=a%00b",
        "/api/v1/factor-sets/%00",
        "/api/v1/audit?entity=%00",
        "/enterprises?q=%00",
        "/inventory?park=%00",
    ):
        r = admin.get(url)
        assert r.status_code == 422, (url, r.text[:200])
    assert r.headers["content-type"].startswith("text/html") and "NUL 字符" in r.text
    assert "NUL" in admin.get("/api/v1/enterprises?q=%00").json()["detail"]
    token = page_csrf(admin, "/data")
    r = admin.post("/data/batches/1/retract", data={"reason": "a\x00b", "csrf_token": token})
    assert r.status_code == 422
    r = admin.post(
        "/api/v1/users",
        content=b'{"username": "nul-user", "password": "x\\u0000yyyyyyyy", "role": "viewer"}',
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert r.status_code == 422 and users.get_user_by_name("nul-user") is None
    r = admin.post(
        "/api/v1/users",
        content=b'{"username": ',
        headers={"X-CSRF-Token": token, "Content-Type": "application/json"},
    )
    assert r.status_code == 400 and r.json() == {"detail": "the request body is not valid JSON"}


def test_upload_names_are_sanitised(clients, job_worker):
    """The name a user gives is shown and recorded without directories, control characters or
    dots alone (the file itself is saved under a random name)."""
    assert upload_name("a\rb\n\x00\t.csv") == "ab.csv" and upload_name("./..") == "upload.csv"
    analyst = clients["analyst"]
    body = b"enterprise_code,period\n"  # refused by the job: no matter here
    expected = {
        "..": "upload.csv",
        "../../../etc/passwd.csv": "passwd.csv",
        "C:\\Users\\x\\evil.csv": "evil.csv",
        "a\rb\n.csv": None,  # the client may encode CR and LF; printable either way
    }
    for name, shown in expected.items():
        r = _upload(analyst, name, body)
        assert r.status_code == 202, (name, r.text)
        job = wait_job(analyst, r.json()["job_id"])
        assert job["source_name"].isprintable() and "/" not in job["source_name"], job
        assert shown is None or job["source_name"] == shown, (name, job["source_name"])


def test_internal_errors_show_no_exception_text_or_server_path(clients, job_worker, web_home):
    """A Parquet file whose column has a type the checks cannot cast: users read that an
    internal error happened in which step; the exception's text and the paths stay in the log."""
    table = pa.table(
        {
            "enterprise_code": pa.array([{"a": 1}]),
            "period": ["2024-01"],
            "fuel": ["diesel"],
            "unit": ["t"],
            "consumed_total": [1.0],
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf)
    analyst = clients["analyst"]
    job = wait_job(analyst, _upload(analyst, "月报.parquet", buf.getvalue()).json()["job_id"])
    assert job["status"] == "failed"
    assert "internal error (ArrowNotImplementedError)" in job["error"], job["error"]
    assert "Unsupported cast" not in job["error"] and str(web_home) not in job["error"]
    batch = access.batches(access.SYSTEM).iloc[0]
    assert batch["status"] == "failed" and "Unsupported cast" not in batch["message"]


def test_messages_name_no_server_directory(web_home):
    import tempfile

    from citycarbon.config.home import PACKAGE_DIR, without_server_paths

    text = (
        f"{web_home}/lake/results: no city_inventory result yet; "
        f"{PACKAGE_DIR}/config/xiamen.yaml, section targets; {tempfile.gettempdir()}/x.csv"
    )
    assert without_server_paths(text) == (
        "$CITYCARBON_HOME/lake/results: no city_inventory result yet; "
        "<citycarbon>/config/xiamen.yaml, section targets; <temp>/x.csv"
    )


def test_an_xlsx_bomb_upload_is_refused_with_a_message_in_both_languages(clients, job_worker):
    import zipfile

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        with z.open("xl/worksheets/sheet1.xml", "w") as f:
            for _ in range(32):
                f.write(b" " * (1 << 20))
    analyst = clients["analyst"]
    job_id = _upload(analyst, "炸弹.xlsx", buf.getvalue()).json()["job_id"]
    job = wait_job(analyst, job_id, params={"lang": "en"})
    assert job["status"] == "failed" and job["error"].startswith("炸弹.xlsx"), job
    assert "CITYCARBON_XLSX_MAX_RATIO" in job["error"] and "已拒收" not in job["error"]
    zh = wait_job(analyst, job_id, params={"lang": "zh"})["error"]
    assert zh.startswith("文件 炸弹.xlsx：已拒收") and "CITYCARBON_XLSX_MAX_RATIO" in zh, zh


# --------------------------------------------------------------------------- parks
def test_unknown_and_hidden_parks_answer_alike(clients):
    siming = clients["siming"]
    answers = []
    for code in (HIDDEN_PARK, "XM-NO-SUCH-PARK"):
        r = siming.get(f"/api/v1/map/parks/{code}", params={"period": "2024"})
        answers.append((r.status_code, r.json()["detail"].replace(code, "<code>")))
    assert answers[0] == answers[1] == (404, "park <code> not found")
    assert siming.get(f"/api/v1/map/parks/{OWN_PARK}", params={"period": "2024"}).status_code == 200


def test_breadcrumbs_never_name_a_hidden_park(clients):
    name = access.registry().parks.at[HIDDEN_PARK, "name_zh"]
    page = clients["siming"].get("/inventory", params={"park": HIDDEN_PARK})
    assert page.status_code == 200 and name not in page.text
    assert HIDDEN_PARK in page.text  # the code as typed
    own = access.registry().parks.at[OWN_PARK, "name_zh"]
    assert own in clients["siming"].get("/inventory", params={"park": OWN_PARK}).text
    assert name in clients["viewer"].get("/inventory", params={"park": HIDDEN_PARK}).text


# --------------------------------------------------------------------------- batches
def test_batches_belong_to_user_ids_not_names(app, clients, web_home, tmp_path):
    """Users named ``cli`` and ``demo`` saw the command line's and the demo's batches; now a
    batch is its owner's (by id), and a CLI batch its operator's, or a user's with ``--as``."""
    assert access.batches(access.SYSTEM)["created_by"].eq("demo").any()
    for name in ("cli", "demo"):
        users.create_user(name, f"{name}-password", "park_manager", scope_code=OWN_PARK)
    parks = tmp_path / "parks.csv"
    parks.write_text("code,name_zh,district_code\nXM-NEW,新园区,350203\n", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(cli, ["ingest", "parks", str(parks)])
    assert r.exit_code == 0, r.output
    parks.write_text("code,name_zh,district_code\nXM-NEW2,新园区二,350203\n", encoding="utf-8")
    r = runner.invoke(cli, ["ingest", "parks", str(parks), "--as", "siming"])
    assert r.exit_code == 0, r.output
    access.invalidate()
    for name in ("cli", "demo"):
        got = sign_in(app, name, f"{name}-password").get("/api/v1/batches").json()
        assert got["total"] == 0, (name, got)
    mine = clients["siming"].get("/api/v1/batches").json()["items"]
    assert [(b["source_name"], b["created_by"]) for b in mine] == [("parks.csv", "siming")]
    detail = clients["siming"].get(f"/api/v1/batches/{mine[0]['id']}").json()
    assert "created_by_id" not in detail
    everyone = clients["viewer"].get("/api/v1/batches", params={"limit": 1000}).json()["items"]
    assert any(b["created_by"].startswith("cli:") for b in everyone)


# --------------------------------------------------------------------------- headers
def test_api_answers_and_downloads_are_not_cached_and_https_is_kept(clients):
    viewer = clients["viewer"]
    for url in ("/api/v1/me", "/api/v1/enterprises?format=csv", "/api/v1/enterprises?format=xlsx"):
        assert viewer.get(url).headers["cache-control"] == "no-store", url
    assert "strict-transport-security" not in viewer.get("/api/v1/me").headers
    secure = create_app(WebSettings(secret_key=SETTINGS.secret_key, secure_cookies=True))
    r = TestClient(secure, base_url="https://testserver").get("/healthz")
    assert r.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


# --------------------------------------------------------------------------- the home
def test_the_home_is_private_and_what_the_server_writes_too(app, clients, job_worker, web_home):
    assert stat.S_IMODE(web_home.stat().st_mode) == 0o700  # closed by create_app
    before = {p for p in web_home.rglob("*")}
    frame = pd.read_parquet(web_home / "demo-input" / "energy_monthly.parquet").head(2).copy()
    frame.loc[0, "consumed_total"] = -5.0  # both rows quarantined: nothing to recompute
    frame.loc[1, "fuel"] = "=HYPERLINK(1)"  # an error report is written
    analyst = clients["analyst"]
    r = _upload(analyst, "private.csv", frame.to_csv(index=False).encode())
    job = wait_job(analyst, r.json()["job_id"])
    assert job["status"] == "done", job
    new = [p for p in web_home.rglob("*") if p not in before]
    assert any(p.name == "errors.csv" for p in new) and any(p.suffix == ".parquet" for p in new)
    open_to_others = [
        f"{oct(stat.S_IMODE(p.stat().st_mode))} {p.relative_to(web_home)}"
        for p in new
        if stat.S_IMODE(p.stat().st_mode) & 0o077
    ]
    assert not open_to_others, open_to_others
    assert stat.S_IMODE((web_home / "jobs.sqlite").stat().st_mode) & 0o077 == 0
    rows = analyst.get("/api/v1/quarantine", params={"batch_id": job["batch_id"], "format": "csv"})
    assert "'=HYPERLINK(1)" in rows.text  # the quarantine export neutralises the formula


# --------------------------------------------------------------------------- absurd values
def test_a_205_return_with_1e308_is_quarantined_and_every_page_opens(clients, job_worker, web_home):
    """A 205-1 workbook: one total of 1e308 (totals became inf and ``GET /`` answered 500 for
    every role), electricity of 2010 (before the first grid-factor year) and a month not over
    yet. Each is quarantined with its reason; the rest is accepted, the results stay finite,
    the latest year stays the latest complete one and every role's overview opens."""
    latest_before = clients["viewer"].get("/api/v1/overview").json()["latest_year"]
    demo = pd.read_parquet(web_home / "demo-input" / "energy_monthly.parquet")
    rows = demo[demo["fuel"] == "electricity"].head(4).copy()  # the last stays as it was
    rows["period"] = ["2024-06-01", "2010-06-01", "2099-01-01", str(rows["period"].iloc[3])]
    rows.iloc[0, rows.columns.get_loc("consumed_total")] = 1e308
    path = write_template(web_home.parent / "205-1.xlsx", rows=rows)
    analyst = clients["analyst"]
    r = _upload(analyst, "205-1表.xlsx", path.read_bytes())
    job = wait_job(analyst, r.json()["job_id"], timeout_s=600)
    assert job["status"] == "done", job
    q = analyst.get("/api/v1/quarantine", params={"batch_id": job["batch_id"]}).json()["items"]
    reasons = " | ".join(i["reason"] for i in q)
    assert "above the plausible maximum 1e+08" in reasons, reasons
    assert "no factor for this period" in reasons and "period in the future" in reasons
    assert [s["name"] for s in job["steps"]][:2] == ["ingest", "enterprise_results"]
    res = lake.read_current("energy_monthly")
    assert res["consumed_total"].max() < 1e8
    for name in ALL_USERS:
        page = clients[name].get("/")
        assert page.status_code == 200 and "Traceback" not in page.text, name
        assert not re.search(r"\binf\b|NaN", page.text), name
    assert clients["viewer"].get("/api/v1/overview").json()["latest_year"] == latest_before


def test_every_number_of_every_kind_has_a_declared_plausible_range():
    """Finite bounds for every number column of every ingest kind, declared in the schema
    (contract/inputs.py) with the reason of the upper bound; years may not be in the future."""
    for kind, schema in SCHEMAS.items():
        for col in schema.columns:
            if col.dtype == "float64":
                assert col.minimum is not None and col.maximum is not None, (kind, col.name)
                assert -1e12 <= col.minimum < col.maximum <= 1e12, (kind, col.name)
                assert col.plausible or col.name in ("lon", "lat"), (kind, col.name)
            if col.dtype == "int64":
                assert col.minimum is not None and col.latest == "finished", (kind, col.name)


# --------------------------------------------------------------------------- serve
def test_serve_refuses_demo_passwords_in_production(web_home):
    """Last: it changes a password."""
    assert users_with_demo_password() == [*ALL_USERS, "greenbank", "unit"]
    r = CliRunner().invoke(cli, ["serve", "--production", "--no-worker", "--no-schedule"])
    assert r.exit_code == 1, r.output
    assert "not starting with --production" in r.output and "admin" in r.output
    users.set_password("viewer", "a-real-password-now", actor="test")
    assert "viewer" not in users_with_demo_password()
    users.set_password("viewer", demo_password("viewer"), actor="test")
    catalog.dispose_engines()
