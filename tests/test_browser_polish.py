"""Page polish walked in a real browser (Debian chromium, headless, via Playwright), one role
each: 目标与预警 filtered to its yellow lamps (analyst), 因子库 searched by a Chinese name
(viewer), a token made on 管理 and the page reloaded (admin), the park's nowcast on 电碳监测
(park manager), 清单's notation keys (analyst). No script errors, no console errors, no failed
requests; screenshots are saved to ``test-artifacts/screenshots/``."""

from __future__ import annotations

import pytest

from citycarbon.demo.users import demo_password
from tests.web_fixtures import BROWSER_MARKS, demo_copy, live_server
from tests.web_fixtures import SHOTS as ARTIFACTS

pytestmark = BROWSER_MARKS


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    """uvicorn serving the app over a copy of the small demo city (demo users, one per role)."""
    with live_server(demo_copy(small_demo_dir, tmp_path_factory, "polish-browser")) as base:
        yield base


class Walk:
    """A signed-in page that records script errors, console errors and failed requests."""

    def __init__(self, browser, base: str, user: str) -> None:
        self.base = base
        self.page = browser.new_page(viewport={"width": 1400, "height": 950})
        self.problems: list[str] = []
        self.page.on("pageerror", lambda e: self.problems.append(f"script: {e}"))
        self.page.on(
            "console",
            lambda m: self.problems.append(f"console: {m.text}") if m.type == "error" else None,
        )
        self.page.on("requestfailed", lambda r: self.problems.append(f"request: {r.url}"))
        self.page.on(
            "response",
            lambda r: self.problems.append(f"{r.status}: {r.url}") if r.status >= 400 else None,
        )
        self.page.goto(f"{base}/login?lang=zh")
        self.page.fill("input[name=username]", user)
        self.page.fill("input[name=password]", demo_password(user))
        self.page.click("button[type=submit]")
        self.page.wait_for_load_state("networkidle")

    def open(self, path: str, shot: str) -> None:
        self.page.goto(self.base + path)
        self.page.wait_for_load_state("networkidle")
        self.page.wait_for_timeout(300)
        self.page.screenshot(path=str(ARTIFACTS / f"{shot}.png"), full_page=True)

    def close(self) -> None:
        self.page.close()
        assert self.problems == []


@pytest.fixture(autouse=True)
def _artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


def test_targets_filtered_to_yellow(server, browser):
    w = Walk(browser, server, "analyst")
    w.open("/targets", "polish_targets_zh")
    w.page.select_option("#targets-filter select[name=lamp]", "yellow")
    w.page.click("#targets-filter button[type=submit]")
    w.page.wait_for_load_state("networkidle")
    w.page.screenshot(path=str(ARTIFACTS / "polish_targets_yellow_zh.png"), full_page=True)
    rows = w.page.locator("#status-table tbody tr[data-lamp]")
    assert rows.count() > 0
    assert set(rows.evaluate_all("rs => rs.map(r => r.dataset.lamp)")) == {"yellow"}
    count = w.page.inner_text("#lamps [data-count=yellow] .count")
    assert int(count) == rows.count()
    w.close()


def test_factor_search_by_chinese_name(server, browser):
    w = Walk(browser, server, "viewer")
    w.open("/factors", "polish_factors_zh")
    a, b = (w.page.input_value(f"#compare-form select[name={n}]") for n in ("a", "b"))
    assert a != b
    w.page.goto(server + "/factors/cn-mee-grid")
    w.page.fill("input[name=q]", "福建")
    w.page.click("form.filters button[type=submit]")
    w.page.wait_for_load_state("networkidle")
    w.page.screenshot(path=str(ARTIFACTS / "polish_factor_search_zh.png"), full_page=True)
    keys = w.page.locator("#factor-values tbody tr").evaluate_all(
        "rs => rs.map(r => r.dataset.key)"
    )
    assert keys and set(keys) == {"fujian"}
    w.close()


def test_admin_token_then_reload(server, browser):
    w = Walk(browser, server, "admin")
    w.open("/admin", "polish_admin_zh")
    assert w.page.input_value("#add-user select[name=role]") == "enterprise_user"
    w.page.fill("#new-token-form input[name=name]", "能耗在线监测")
    w.page.click("#new-token-form button[type=submit]")
    w.page.wait_for_load_state("networkidle")
    assert w.page.locator("#new-token .token").count() == 1
    w.page.reload()
    w.page.wait_for_load_state("networkidle")
    assert w.page.locator("#new-token").count() == 0
    names = w.page.locator("#tokens tbody tr").all_inner_texts()
    assert sum("能耗在线监测" in n for n in names) == 1  # the reload made no second token
    w.page.screenshot(path=str(ARTIFACTS / "polish_admin_after_reload_zh.png"), full_page=True)
    w.close()


def test_park_manager_sees_the_park(server, browser):
    w = Walk(browser, server, "park")
    w.open("/", "polish_park_overview_zh")
    named = w.page.inner_text("#nowcast-panel p")
    assert named and "示例企业" not in named  # a park, not one enterprise in it
    w.open("/power", "polish_park_power_zh")
    assert w.page.input_value("select[name=level]") == "park"
    w.close()


def test_inventory_notation_keys(server, browser):
    w = Walk(browser, server, "analyst")
    w.open("/inventory", "polish_inventory_zh")
    titles = w.page.locator("span.nk").evaluate_all("ss => ss.map(s => s.title)")
    assert titles and all(t for t in titles)
    w.close()
