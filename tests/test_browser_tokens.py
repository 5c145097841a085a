"""Browser test (Playwright, Debian chromium): a user who is not an admin opens 我的令牌 from the
header, makes a read-only token (shown once), sees it listed and revokes it; the admin page
shows open sessions and everyone's tokens. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import httpx
import pytest

from tests.web_fixtures import BROWSER_MARKS, SHOTS, demo_copy, live_server

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    home = demo_copy(small_demo_dir, tmp_path_factory, "browser-tokens")
    with live_server(home) as base:
        yield base


def _sign_in(browser, base: str, user: str):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    page.goto(f"{base}/login")
    page.fill("#username", user)
    page.fill("#password", f"{user}-demo")
    page.click("#login-submit")
    page.wait_for_load_state("networkidle")
    return page


def test_make_and_revoke_my_token(server, browser):
    page = _sign_in(browser, server, "siming")
    page.click("#my-tokens")
    page.wait_for_load_state("networkidle")
    assert page.url == f"{server}/account/tokens"
    assert page.locator("h1").inner_text() == "我的 API 令牌"
    page.fill("#new-token-form input[name=name]", "能耗在线监测")
    page.fill("#new-token-form input[name=days]", "30")
    page.select_option("#new-token-form select[name=scope]", "read")
    page.click("#new-token-form button[type=submit]")
    page.wait_for_load_state("networkidle")
    token = page.locator("#new-token .token").inner_text().strip()
    row = page.locator("#tokens tbody tr", has_text="能耗在线监测")
    assert "只读" in row.inner_text() and "有效" in row.inner_text()
    page.screenshot(path=str(SHOTS / "account-tokens.png"), full_page=True)
    api = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server}/api/v1/me", headers=api).json()["username"] == "siming"
    row.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "已吊销" in page.locator("#tokens tbody tr", has_text="能耗在线监测").inner_text()
    assert page.locator("#new-token").count() == 0  # shown once only
    assert httpx.get(f"{server}/api/v1/me", headers=api).status_code == 401

    admin = _sign_in(browser, server, "admin")
    admin.goto(f"{server}/admin?lang=en")
    assert "siming" in admin.locator("#tokens").inner_text()
    sessions = admin.locator("#users tbody tr", has_text="siming").locator(".num")
    assert int(sessions.inner_text()) >= 1
    admin.screenshot(path=str(SHOTS / "admin-sessions-tokens-en.png"), full_page=True)
