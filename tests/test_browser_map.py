"""The map page in a real browser (Debian chromium, headless, via Playwright): the six districts
are drawn, layers load, a click on a district opens its summary; screenshots are saved to
``test-artifacts/screenshots/``."""

from __future__ import annotations

import pytest

from citycarbon.store import catalog, users
from tests.web_fixtures import SHOTS as ARTIFACTS
from tests.web_fixtures import demo_copy, live_server

PASSWORD = "browser-map-password"


@pytest.fixture(scope="module")
def server(small_demo_dir, tmp_path_factory):
    """uvicorn serving the app over a copy of the small demo city with two users."""
    home = demo_copy(small_demo_dir, tmp_path_factory, "map-browser")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(home))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        users.create_user("b_admin", PASSWORD, "admin")
        users.create_user("b_dist", PASSWORD, "district_manager", scope_code="350211")
        catalog.dispose_engines()
    with live_server(home) as base:
        yield base


def _sign_in(browser, base: str, user: str, lang: str = "zh"):
    page = browser.new_page(viewport={"width": 1400, "height": 950})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{base}/login?lang={lang}")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")
    page.goto(f"{base}/map?lang={lang}")
    page.wait_for_selector("#cc-map[data-ready='1']", timeout=20_000)
    page.wait_for_timeout(300)  # let the canvas paint before screenshots
    return page, errors


def test_map_draws_six_districts_and_layers(server, browser):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, errors = _sign_in(browser, server, "b_admin")
    info = page.evaluate(
        """() => {
            const o = window.ccMapChart.getOption();
            return {
                features: echarts.getMap('cc-city').geoJSON.features.length,
                districts: o.series[0].data.length,
                coloured: o.series[0].data.filter(d => d.value !== null).length,
                parks: o.series[1].data.length,
                enterprises: o.series[2].data.length,
                period: document.getElementById('cc-map-period').textContent,
            };
        }"""
    )
    assert info["features"] == 6 and info["districts"] == 6 and info["coloured"] == 6
    assert info["parks"] > 0 and info["enterprises"] == 150
    assert len(info["period"]) == 7  # YYYY-MM: the latest month by default
    page.screenshot(path=str(ARTIFACTS / "map_admin_zh.png"), full_page=True)

    # click 同安区 (the largest district) at its label point: the side panel shows its summary
    point = page.evaluate(
        """() => {
            const f = echarts.getMap('cc-city').geoJSON.features
                .find(f => f.properties.code === '350212');
            return window.ccMapChart.convertToPixel({geoIndex: 0}, f.properties.cp);
        }"""
    )
    box = page.locator("#cc-map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_selector("#cc-map-panel h3", timeout=10_000)
    assert "同安区" in page.inner_text("#cc-map-panel h3")

    # the grid-node layer (off by default) toggles on from the legend
    nodes = page.evaluate(
        """() => {
            window.ccMapChart.dispatchAction({type: 'legendSelect', name: '电网节点'});
            const o = window.ccMapChart.getOption();
            return {selected: o.legend[0].selected['电网节点'], n: o.series[3].data.length};
        }"""
    )
    assert nodes == {"selected": True, "n": 24}
    page.wait_for_timeout(200)
    page.screenshot(path=str(ARTIFACTS / "map_admin_nodes_zh.png"))

    # switch to days: the slider covers every day, districts show metered electricity
    page.select_option("#cc-map-kind", "day")
    page.wait_for_selector("#cc-map[data-kind='day']", timeout=10_000)
    assert page.input_value("#cc-map-metric") == "electricity_co2_t"
    page.screenshot(path=str(ARTIFACTS / "map_admin_day_zh.png"))

    # years offer the city inventory's district roll-up (GHG incl. imported electricity)
    page.select_option("#cc-map-kind", "year")
    page.wait_for_selector("#cc-map[data-kind='year']", timeout=10_000)
    page.select_option("#cc-map-metric", "ghg_tco2e")
    page.wait_for_timeout(800)
    shown = page.evaluate(
        """() => {
            const s = window.ccMapChart.getOption().series;
            return {
                coloured: s[0].data.filter(d => d.value !== null).length,
                sized: s[2].data.filter(d => Number.isFinite(d.value[2])).length,
            };
        }"""
    )
    assert shown == {"coloured": 6, "sized": 150}
    page.screenshot(path=str(ARTIFACTS / "map_admin_year_ghg_zh.png"))
    assert errors == []
    page.close()


def test_district_manager_map_in_english(server, browser):
    page, errors = _sign_in(browser, server, "b_dist", lang="en")
    info = page.evaluate(
        """() => {
            const o = window.ccMapChart.getOption();
            return {
                coloured: o.series[0].data.filter(d => d.value !== null).map(d => d.name),
                enterprises: o.series[2].data.map(d => d.item.district_code),
                legend: o.legend[0].data,
            };
        }"""
    )
    assert info["coloured"] == ["350211"]
    assert info["enterprises"] and set(info["enterprises"]) == {"350211"}
    assert "Enterprises" in info["legend"]
    page.screenshot(path=str(ARTIFACTS / "map_district_en.png"), full_page=True)
    assert errors == []
    page.close()


def test_map_keeps_the_period_and_names_what_it_maps(server, browser):
    """Switching 月 → 年 → 月 → 日 stays on the latest period (2024-12 → 2024 → 2024-12 →
    a day of 2024-12, not January); the legend names indicator, unit and period; district
    names are a label layer above the enterprise dots; the side panel names the mapped
    indicator."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page, errors = _sign_in(browser, server, "b_admin")

    def period() -> str:
        return page.inner_text("#cc-map-period")

    latest_month = period()
    for kind, expected in (
        ("year", latest_month[:4]),
        ("month", latest_month),
    ):
        page.select_option("#cc-map-kind", kind)
        page.wait_for_selector(f"#cc-map[data-kind='{kind}']", timeout=10_000)
        assert period() == expected, kind
    page.select_option("#cc-map-kind", "day")
    page.wait_for_selector("#cc-map[data-kind='day']", timeout=10_000)
    assert period().startswith(latest_month), period()
    page.select_option("#cc-map-kind", "month")
    page.wait_for_selector("#cc-map[data-kind='month']", timeout=10_000)
    page.wait_for_timeout(300)
    info = page.evaluate(
        """() => {
            const o = window.ccMapChart.getOption();
            return {
                legend: o.visualMap[0].text[0],
                geoLabel: o.geo[0].label.show,
                labels: o.series[4].data.map(d => d.name),
                labelZ: o.series[4].z,
                dotZ: Math.max(o.series[1].z, o.series[2].z, o.series[3].z),
            };
        }"""
    )
    metric = page.evaluate(
        "() => { const s = document.getElementById('cc-map-metric');"
        " return s.options[s.selectedIndex].text; }"
    )  # the day view chose metered electricity CO2; it stays chosen back in months
    assert info["legend"] == f"{metric} (t) · {latest_month}"
    assert not info["geoLabel"] and len(info["labels"]) == 6 and "同安区" in info["labels"]
    assert info["labelZ"] > info["dotZ"]
    page.screenshot(path=str(ARTIFACTS / "map_labels_legend_zh.png"))
    point = page.evaluate(
        """() => {
            const f = echarts.getMap('cc-city').geoJSON.features
                .find(f => f.properties.code === '350211');
            return window.ccMapChart.convertToPixel({geoIndex: 0}, f.properties.cp);
        }"""
    )
    box = page.locator("#cc-map").bounding_box()
    page.mouse.click(box["x"] + point[0], box["y"] + point[1])
    page.wait_for_selector("#cc-map-panel .cc-map-indicator", timeout=10_000)
    line = page.inner_text("#cc-map-panel .cc-map-indicator")
    assert line.startswith("地图指标") and latest_month in line and "(t)" in line
    page.screenshot(path=str(ARTIFACTS / "map_panel_indicator_zh.png"))
    assert errors == []
    page.close()


def test_green_projects_are_a_layer_scoped_like_the_api(server, browser):
    """The project reserve's pins: every demo project for the admin, the district's for a
    district manager (the layer reads /api/v1/techmap/projects, which applies the scope); the
    demonstration projects among them starred (series 7, a legend entry of its own)."""
    for user, expected in (("b_admin", None), ("b_dist", {"350211"})):
        page, errors = _sign_in(browser, server, user)
        page.wait_for_selector("#cc-map[data-projects]", timeout=20_000)
        info = page.evaluate(
            """() => {
                const o = window.ccMapChart.getOption();
                const s = o.series[5], stars = o.series[7];
                return {name: s.name, districts: s.data.map(d => d.item.district_code),
                        legend: o.legend[0].data, starName: stars.name,
                        starred: stars.data.map(d => d.item.project_id),
                        count: document.getElementById("cc-map").dataset.demoProjects};
            }"""
        )
        assert info["name"] == "绿色低碳项目" and "绿色低碳项目" in info["legend"]
        # demonstration projects (示范项目) starred in a layer of their own, in the legend
        assert info["starName"] == "示范项目" and "示范项目" in info["legend"]
        assert info["count"] == str(len(info["starred"]))
        if expected is None:
            assert len(info["districts"]) == 8
            assert sorted(info["starred"]) == ["GP-001", "GP-006", "GP-007"]
            page.screenshot(path=str(ARTIFACTS / "map_green_projects.png"), full_page=True)
        else:
            assert info["districts"] and set(info["districts"]) == expected
        assert errors == []
        page.close()
