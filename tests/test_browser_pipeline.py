"""An upload reaches every page (issue: one pipeline): a 205-1 file of a new month uploaded on
数据 in the browser is validated and computed by a background job, then 总览, 企业, 清单 and the
map show that month; the same through the API with a token. Screenshots go to
test-artifacts/screenshots/."""

from __future__ import annotations

import time

import httpx
import pandas as pd
import pytest

from citycarbon.store import catalog, users
from tests.web_fixtures import SHOTS, demo_copy, live_server

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    home = demo_copy(small_demo_dir, tmp_path_factory, "browser-pipeline")
    with live_server(home) as base:
        yield base, home


def _month_file(home, path, months_on: int) -> tuple[str, str]:
    """The last month's 205-1 returns moved ``months_on`` months on; (month, an enterprise)."""
    energy = pd.read_parquet(home / "demo-input" / "energy_monthly.parquet")
    period = pd.to_datetime(energy["period"])
    last = energy[period == period.max()].copy()
    new = (period.max() + pd.offsets.MonthBegin(months_on)).strftime("%Y-%m-01")
    last["period"] = new
    last.to_csv(path, index=False)
    return new[:7], str(last["enterprise_code"].iat[0])


def _until(check, seconds: float = 30.0):
    deadline = time.monotonic() + seconds
    while True:
        got = check()
        if got or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def test_a_new_month_uploaded_in_the_browser_reaches_every_page(server, browser, tmp_path):
    base, home = server
    month, code = _month_file(home, tmp_path / "205-1 新月份.csv", 1)
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("#username", "analyst")
    page.fill("#password", "analyst-demo")
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    page.goto(f"{base}/data")
    page.select_option("#upload-kind", "energy_monthly")
    page.set_input_files("#upload-file", str(tmp_path / "205-1 新月份.csv"))
    page.click("#upload-submit")
    page.wait_for_url(f"{base}/data/jobs/*")
    page.wait_for_selector("#rows-accepted", timeout=180_000)  # the job page reloads when done
    assert page.locator("#job-status").inner_text() == "已完成"
    steps = page.locator("#job-steps").inner_text()
    for step in ("enterprise_results", "inventory", "nowcast", "targets"):
        assert step in steps or "企业核算" in steps, steps
    page.screenshot(path=str(SHOTS / "pipeline-job-done.png"), full_page=True)

    # 总览: the monthly series ends at the new month
    months = page.request.get(f"{base}/api/v1/overview/months").json()
    assert f"{months[-1]['year']}-{months[-1]['month']:02d}" == month
    page.goto(f"{base}/")
    page.wait_for_load_state("networkidle")
    assert month in page.content()
    page.screenshot(path=str(SHOTS / "pipeline-overview.png"), full_page=True)
    # 企业: the enterprise's own monthly table has the month
    page.goto(f"{base}/enterprises/{code}")
    page.wait_for_load_state("networkidle")
    assert month in page.content()
    page.screenshot(path=str(SHOTS / "pipeline-enterprise.png"), full_page=True)
    # 清单: the year of the month is an inventory year (bottom-up where no balance exists yet)
    year = int(month[:4])
    inv_years = page.request.get(f"{base}/api/v1/inventory/years").json()
    assert year in inv_years, inv_years
    page.goto(f"{base}/inventory?year={year}")
    page.wait_for_load_state("networkidle")
    assert page.locator("#no-balance").count() == 1  # no city total yet: said, not zero
    drill = page.locator("table", has_text="思明区").first.inner_text()
    assert "未归属" not in drill  # no residual against a total that does not exist
    page.screenshot(path=str(SHOTS / "pipeline-inventory.png"), full_page=True)
    # the map: its months include the new one (the layer cube is rebuilt after a commit)
    got = _until(
        lambda: month in page.request.get(f"{base}/api/v1/map/periods").json()["months"], 60
    )
    assert got, "the map did not pick up the new month"
    page.goto(f"{base}/map?period={month}")
    page.wait_for_load_state("networkidle")
    page.screenshot(path=str(SHOTS / "pipeline-map.png"), full_page=True)
    assert errors == [], errors


def test_the_same_through_the_api_with_a_token(server, tmp_path, monkeypatch):
    base, home = server
    month, _ = _month_file(home, tmp_path / "api.csv", 2)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    token = users.create_token("analyst", "browser-pipeline", actor="test")[1]  # as 管理 does
    catalog.dispose_engines()
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=base, timeout=60, headers=auth) as c:
        with (tmp_path / "api.csv").open("rb") as f:
            r = c.post(
                "/api/v1/uploads",
                data={"kind": "energy_monthly"},
                files={"file": ("api.csv", f, "text/csv")},
            )
        assert r.status_code == 202, r.text
        url = r.json()["status_url"]
        job = _until(lambda: (j := c.get(url).json())["status"] in ("done", "failed") and j, 180)
        assert job and job["status"] == "done", job
        assert [s["name"] for s in job["steps"]][:2] == ["ingest", "enterprise_results"]
        months = c.get("/api/v1/overview/months").json()
        assert f"{months[-1]['year']}-{months[-1]['month']:02d}" == month
