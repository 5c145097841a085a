"""清单, 目标与预警 and 情景分析 in a real browser (Debian chromium, headless, via Playwright):
every chart is drawn without script errors, the drill-down link opens the district level, the
city-only sections are hidden from a district manager; screenshots are saved to
``test-artifacts/screenshots/``."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from citycarbon.demo.users import demo_password

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    """uvicorn serving the app over a copy of the small demo city (demo users, one per role)."""
    home = tmp_path_factory.mktemp("analysis-browser") / "h"
    shutil.copytree(small_demo_dir, home)
    env = {**os.environ, "CITYCARBON_HOME": str(home)}
    env.pop("CITYCARBON_DATABASE_URL", None)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "citycarbon.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()


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
