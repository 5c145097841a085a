"""清单, 目标与预警 and 情景分析 in a real browser (Debian chromium, headless, via Playwright):
every chart is drawn without script errors, the drill-down link opens the district level, the
city-only sections are hidden from a district manager; screenshots are saved to
``test-artifacts/screenshots/``."""

from __future__ import annotations

import pytest

from citycarbon.demo.users import demo_password
from tests.web_fixtures import SHOTS as ARTIFACTS
from tests.web_fixtures import demo_copy, live_server


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    """uvicorn serving the app over a copy of the small demo city (demo users, one per role)."""
    with live_server(demo_copy(small_demo_dir, tmp_path_factory, "analysis-browser")) as base:
        yield base


def _page(browser, base: str, user: str):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", demo_password(user))
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    return page, errors


def _open(page, url: str) -> dict:
    page.goto(url)
    page.wait_for_load_state("networkidle")
    page.wait_for_timeout(400)  # let the canvases paint
    return page.evaluate(
        """() => ({
            charts: document.querySelectorAll('.chart[data-chart]').length,
            drawn: document.querySelectorAll('.chart[data-chart] canvas').length,
        })"""
    )


@pytest.mark.parametrize(
    ("path", "shot", "min_charts"),
    [
        ("/inventory", "inventory_analyst_zh.png", 4),
        ("/targets", "targets_analyst_zh.png", 1),
        ("/scenarios?draws=200", "scenarios_analyst_zh.png", 4),
    ],
)
def test_pages_draw_every_chart(server, browser, path, shot, min_charts):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, errors = _page(browser, server, "analyst")
    info = _open(page, server + path)
    assert info["charts"] >= min_charts
    assert info["drawn"] == info["charts"], info
    assert not errors, errors
    page.screenshot(path=str(ARTIFACTS / shot), full_page=True)
    page.close()


def test_drilldown_and_district_scope(server, browser):
    page, errors = _page(browser, server, "analyst")
    _open(page, f"{server}/inventory")
    first = page.locator("#drill-table tbody tr:not(.residual) a").first
    name = first.inner_text()
    first.click()
    page.wait_for_load_state("networkidle")
    assert name in page.locator(".crumbs").inner_text()
    assert "district=" in page.url
    page.close()
    page, errors = _page(browser, server, "siming")
    info = _open(page, f"{server}/inventory")
    assert info["drawn"] == info["charts"] >= 3
    assert page.locator("#city-only").count() == 1
    assert page.locator("#balance").count() == 0 and page.locator("#indicators").count() == 0
    assert not errors, errors
    page.screenshot(path=str(ARTIFACTS / "inventory_district_zh.png"), full_page=True)
    page.close()
