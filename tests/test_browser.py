"""Browser tests (Playwright, Debian chromium, headless): sign in, open every page, upload a bad
file and see its errors, switch the language. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import pandas as pd
import pytest

from tests.web_fixtures import SHOTS, demo_copy, live_server


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    """uvicorn (a second process) serving a copy of the small demo city and its demo users."""
    home = demo_copy(small_demo_dir, tmp_path_factory, "browser")
    with live_server(home) as base:
        yield base, home


def _sign_in(browser, base: str, user: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    outside: list[str] = []
    page.on(
        "request",
        lambda r: outside.append(r.url) if not r.url.startswith((base, "data:", "blob:")) else None,
    )
    page.goto(f"{base}/")
    assert "/login" in page.url
    page.fill("#username", user)
    page.fill("#password", f"{user}-demo")
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    return page, errors, outside


def test_sign_in_and_open_every_page(server, browser):
    base, _ = server
    page, errors, outside = _sign_in(browser, base, "admin")
    assert page.url == f"{base}/"
    page.wait_for_function("window.ccCharts && window.ccCharts.length >= 3")
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "overview-zh.png"), full_page=True)
    navs = page.eval_on_selector_all(".mainnav a", "els => els.map(e => e.getAttribute('href'))")
    assert {"/", "/enterprises", "/data", "/factors", "/admin"} <= set(navs)
    for href in navs:
        page.click(f".mainnav a[href='{href}']")
        page.wait_for_load_state("networkidle")
        assert page.url.startswith(base + href), href
        assert page.locator(".error-card").count() == 0, href
        name = href.strip("/") or "overview"
        page.wait_for_timeout(300)
        page.screenshot(path=str(SHOTS / f"page-{name}.png"), full_page=False)
    # an enterprise from the list: its charts draw
    page.goto(f"{base}/enterprises")
    page.click("#enterprise-table tbody tr:first-child a")
    page.wait_for_load_state("networkidle")
    page.wait_for_function("window.ccCharts && window.ccCharts.length >= 2")
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "enterprise.png"), full_page=True)
    assert page.locator("#enterprise-name").inner_text()
    # the accounting basis of its CO2: the 核算指南 guideline mode of the city config
    assert page.locator("#account-mode").get_attribute("data-mode") == "guideline"
    assert "核算指南模式" in page.locator("#account-mode").inner_text()
    # a factor set and a comparison
    page.goto(f"{base}/factors?a=ipcc-ar5-gwp100&b=ipcc-ar6-gwp100")
    assert page.locator("#factor-diff tbody tr").count() > 0
    assert errors == [], errors
    assert outside == [], outside  # no CDN, nothing outside the platform


def test_upload_a_bad_file_and_see_its_errors(server, browser, tmp_path):
    base, home = server
    frame = pd.read_parquet(home / "demo-input" / "energy_monthly.parquet").head(4).copy()
    frame.loc[1, "fuel"] = "天燃气"  # misspelt 天然气
    frame.loc[2, "period"] = "2024-13-01"  # no such month
    bad = tmp_path / "205-1 能源月报.csv"
    frame.to_csv(bad, index=False)
    page, errors, _ = _sign_in(browser, base, "analyst")
    page.goto(f"{base}/data")
    page.select_option("#upload-kind", "energy_monthly")
    page.set_input_files("#upload-file", str(bad))
    page.click("#upload-submit")
    page.wait_for_url(f"{base}/data/jobs/*")  # the upload is queued; its job page polls
    page.wait_for_selector("#rows-quarantined", timeout=90_000)  # reloaded when done
    assert page.locator("#job-status").inner_text() == "已完成"
    assert page.locator("#job-links a[href='/map']").count() == 1
    assert page.locator("#rows-quarantined").inner_text() == "2"
    assert page.locator("#rows-accepted").inner_text() == "2"
    rows = page.locator("#problem-rows").inner_text()
    assert "天燃气" in rows and "天然气" in rows  # the suggestion of the close spelling
    page.screenshot(path=str(SHOTS / "upload-report.png"), full_page=True)
    page.click("#report a[href^='/data/batches/']")
    page.wait_for_load_state("networkidle")
    assert page.locator("#quarantine-table tbody tr").count() >= 2
    assert errors == []


def test_switch_language(server, browser):
    base, _ = server
    page, errors, _ = _sign_in(browser, base, "siming")
    assert page.locator(".mainnav a[data-nav='overview']").inner_text() == "总览"
    page.click("#lang-switch")
    page.wait_for_load_state("networkidle")
    assert page.locator(".mainnav a[data-nav='overview']").inner_text() == "Overview"
    assert page.locator("html").get_attribute("lang") == "en"
    assert "思明区" not in page.locator("#scope-note").inner_text()  # English district name
    page.wait_for_function("window.ccCharts && window.ccCharts.length >= 3")
    page.wait_for_timeout(400)
    page.screenshot(path=str(SHOTS / "overview-en-district.png"), full_page=True)
    page.goto(f"{base}/enterprises")  # the choice is remembered
    assert page.locator(".mainnav a[data-nav='enterprises']").inner_text() == "Enterprises"
    assert page.locator(".mainnav a[data-nav='admin']").count() == 0
    assert errors == []
