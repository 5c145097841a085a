"""The 数据 page's monthly routine walked in a real browser as the city analyst, in Chinese and in
English: a template downloaded, a file with two broken rows uploaded, the job's page and its
links, the batch's quarantine table, one row corrected in place (a new batch, the row then
resolved), the failed rows downloaded, the quarantine filtered, the batch retracted after its
confirmation page. No script errors, no console errors, no failed requests; screenshots go to
``test-artifacts/screenshots/``."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from citycarbon.demo.users import demo_password
from tests.web_fixtures import BROWSER_MARKS, SHOTS, demo_copy, live_server

pytestmark = BROWSER_MARKS
TEXT = {
    "zh": {"done": "已完成", "resolved": "已更正", "sheet": "数据"},
    "en": {"done": "done", "resolved": "corrected", "sheet": "data"},
}


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    home = demo_copy(small_demo_dir, tmp_path_factory, "dataflow-browser")
    with live_server(home) as base:
        yield base, home


def _bad_file(home, path, start: int) -> pd.Series:
    """Three of the demo's own 205-1 rows, the second with an unknown fuel; its good values."""
    good = pd.read_parquet(home / "demo-input" / "energy_monthly.parquet").iloc[start : start + 3]
    bad = good.copy()
    bad.iloc[1, bad.columns.get_loc("fuel")] = "天燃气X"
    bad.iloc[2, bad.columns.get_loc("consumed_total")] = -5.0
    bad.to_csv(path, index=False)
    return good.iloc[1]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_monthly_routine_in_the_browser(server, browser, tmp_path, lang):
    base, home = server
    text = TEXT[lang]
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"script: {e}"))
    page.on(
        "console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None
    )
    page.on(  # a request the page's own navigation cancels (net::ERR_ABORTED) did not fail
        "requestfailed",
        lambda r: None if r.failure == "net::ERR_ABORTED" else problems.append(f"request: {r.url}"),
    )
    page.on(
        "response", lambda r: problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None
    )

    def shot(name: str) -> None:
        page.wait_for_load_state("networkidle")
        page.screenshot(path=str(SHOTS / f"dataflow_{name}_{lang}.png"), full_page=True)

    page.goto(f"{base}/login?lang={lang}")
    page.fill("input[name=username]", "analyst")
    page.fill("input[name=password]", demo_password("analyst"))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")

    # 1. the templates: one Excel and one CSV link per kind; the Excel one in the page's language
    page.goto(f"{base}/data")
    shot("data")
    href = page.get_attribute(
        "a.template-link[data-kind=city_statistics][data-format=xlsx]", "href"
    )
    r = page.request.get(base + href)
    assert r.status == 200
    assert openpyxl.load_workbook(io.BytesIO(r.body())).sheetnames[0] == text["sheet"]

    # 2. upload → the job's page → the pages it refreshed
    good = _bad_file(home, tmp_path / "205-1.csv", 20 if lang == "zh" else 40)
    page.select_option("#upload-kind", "energy_monthly")
    page.set_input_files("#upload-file", str(tmp_path / "205-1.csv"))
    page.click("#upload-submit")
    page.wait_for_url(f"{base}/data/jobs/*")
    page.wait_for_selector("#rows-accepted", timeout=240_000)
    assert page.inner_text("#job-status").lower() == text["done"]
    assert page.inner_text("#rows-quarantined") == "2"
    links = page.locator("#job-links a.refreshed-link")
    assert links.count() >= 3
    shot("job")

    # 3. the batch's quarantine as a table, each row with its status and a correction link
    page.click("#batch-link")
    page.wait_for_load_state("networkidle")
    batch_url = page.url
    rows = page.locator("#quarantine-table tbody tr")  # one per problem, two rows of the file
    assert rows.count() >= 2
    assert page.locator("#quarantine-table tbody tr[data-status=open]").count() == rows.count()
    shot("batch")
    failed = page.request.get(base + page.get_attribute("#failed-rows", "href"))
    assert failed.status == 200
    sheet = openpyxl.load_workbook(io.BytesIO(failed.body())).worksheets[0]
    assert sheet.max_row == 3  # header and the two failed rows

    # 4. correct the unknown fuel in place: a new batch, then the row is resolved
    page.locator("#quarantine-table tbody tr", has_text="天燃气X").locator("a.correct-link").click()
    page.wait_for_load_state("networkidle")
    assert page.input_value("#col_fuel") == "天燃气X"
    shot("correct")
    page.fill("#col_fuel", str(good["fuel"]))
    page.click("#correct-submit")
    page.wait_for_url(f"{base}/data/jobs/*")
    page.wait_for_selector("#rows-accepted", timeout=240_000)
    assert page.inner_text("#rows-accepted") == "1"
    page.goto(batch_url)
    resolved = page.locator("#quarantine-table tbody tr[data-status=resolved]")
    assert resolved.count() == 1 and text["resolved"] in resolved.inner_text()
    shot("batch_corrected")

    # 5. the whole quarantine, filtered to the open rows of the kind
    page.goto(f"{base}/data/quarantine")
    page.select_option("#filter-kind", "energy_monthly")
    page.select_option("#filter-status", "open")
    page.click("#quarantine-filter button[type=submit]")
    page.wait_for_load_state("networkidle")
    statuses = page.locator("#quarantine-table tbody tr").evaluate_all(
        "rs => rs.map(r => r.dataset.status)"
    )
    assert statuses and set(statuses) == {"open"}
    shot("quarantine")

    # 6. retract the batch after its confirmation page
    page.goto(batch_url)
    page.click("#retract-link")
    page.wait_for_load_state("networkidle")
    shot("retract_confirm")
    page.fill("#retract-reason", "browser test")
    page.click("#retract-submit")
    page.wait_for_url(f"{base}/data/jobs/*")
    page.wait_for_selector("#job[data-status=done]", timeout=240_000)
    shot("retract_done")
    page.goto(batch_url)
    assert page.locator("#retract-link").count() == 0
    page.close()
    assert problems == [], problems
