"""The map API (/api/v1/map/...): scoping by role, schemas, errors, and the page."""

from __future__ import annotations

import json
import shutil
import warnings

import pytest

from citycarbon import geo
from citycarbon.runs import map_layers as ml
from citycarbon.store import catalog, users

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

PASSWORD = "map-test-password"


@pytest.fixture(scope="module")
def web(small_demo_dir, tmp_path_factory):
    """A copy of the small demo city with an admin, an enterprise user and a district manager
    (API tokens), and a TestClient of the app."""
    home = tmp_path_factory.mktemp("map-web") / "h"
    shutil.copytree(small_demo_dir, home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(home))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        from citycarbon.read import access
        from citycarbon.web.app import create_app

        access.invalidate()
        ml.clear_cache()
        ent = catalog.registry_frame("enterprises")
        own = ent.sort_values("credit_code").iloc[0]
        users.create_user("m_admin", PASSWORD, "admin")
        users.create_user("m_ent", PASSWORD, "enterprise_user", scope_code=own["credit_code"])
        users.create_user("m_dist", PASSWORD, "district_manager", scope_code="350205")
        tokens = {u: users.create_token(u, "test")[1] for u in ("m_admin", "m_ent", "m_dist")}
        client = TestClient(create_app())
        yield {"client": client, "tokens": tokens, "own": own, "enterprises": ent, "home": home}
        ml.clear_cache()
        access.invalidate()
        catalog.dispose_engines()


def get(web, user: str, path: str, status: int = 200) -> dict:
    r = web["client"].get(path, headers={"Authorization": f"Bearer {web['tokens'][user]}"})
    assert r.status_code == status, r.text
    return r.json()


def latest_month(web) -> str:
    return get(web, "m_admin", "/api/v1/map/periods")["months"][-1]


def test_admin_sees_every_layer(web):
    month = latest_month(web)
    d = get(web, "m_admin", f"/api/v1/map/districts?period={month}")
    assert len(d["districts"]) == 6 and all(x["visible"] for x in d["districts"])
    assert sum(x["enterprises"] or 0 for x in d["districts"]) > 0
    pts = get(web, "m_admin", f"/api/v1/map/points?period={month}")
    assert len(pts["enterprises"]["rows"]) == len(web["enterprises"])
    assert pts["parks"] and pts["nodes"]


def test_enterprise_user_sees_only_own_point(web):
    month = latest_month(web)
    own = web["own"]
    pts = get(web, "m_ent", f"/api/v1/map/points?period={month}")
    assert [r[0] for r in pts["enterprises"]["rows"]] == [own["credit_code"]]
    assert pts["parks"] == [] and pts["nodes"] == []
    d = get(web, "m_ent", f"/api/v1/map/districts?period={month}")
    assert not any(x["visible"] or x["co2_t"] is not None for x in d["districts"])
    # other objects are "not found", whether they exist or not
    get(web, "m_ent", f"/api/v1/map/districts/{own['district_code']}?period={month}", 404)
    park = web["enterprises"]["park_code"].dropna().iloc[0]
    get(web, "m_ent", f"/api/v1/map/parks/{park}?period={month[:4]}", 404)


def test_district_manager_sees_only_own_district(web):
    month = latest_month(web)
    ent = web["enterprises"]
    pts = get(web, "m_dist", f"/api/v1/map/points?period={month}")
    codes = {r[0] for r in pts["enterprises"]["rows"]}
    assert codes == set(ent.loc[ent["district_code"] == "350205", "credit_code"])
    assert {p["district_code"] for p in pts["parks"]} <= {"350205"}
    d = get(web, "m_dist", f"/api/v1/map/districts?period={month}")
    assert [x["code"] for x in d["districts"] if x["visible"]] == ["350205"]
    s = get(web, "m_dist", f"/api/v1/map/districts/350205?period={month}")
    assert s["co2_t"] > 0
    assert {e["district_code"] for e in s["top_enterprises"]} == {"350205"}
    get(web, "m_dist", f"/api/v1/map/districts/350203?period={month}", 404)


def test_day_period_and_errors(web):
    periods = get(web, "m_admin", "/api/v1/map/periods")
    day = periods["days"]["last"]
    d = get(web, "m_admin", f"/api/v1/map/districts?period={day}")
    assert d["kind"] == "day"
    assert sum(x["electricity_mwh"] or 0 for x in d["districts"]) > 0
    assert all(x["co2_t"] is None for x in d["districts"])  # fuel returns are monthly
    err = get(web, "m_admin", "/api/v1/map/districts?period=2031-01", 404)  # no data: not found
    assert "available" in err["detail"]
    get(web, "m_admin", "/api/v1/map/districts?period=June", 422)
    get(web, "m_admin", f"/api/v1/map/points?period={day}&layers=roads", 422)
    r = web["client"].get(f"/api/v1/map/districts?period={day}")
    assert r.status_code == 401


def test_boundaries_and_openapi(web):
    fc = get(web, "m_ent", "/api/v1/map/boundaries")
    assert fc["type"] == "FeatureCollection" and len(fc["features"]) == 6
    assert {f["properties"]["name"] for f in fc["features"]} == {
        "350203", "350205", "350206", "350211", "350212", "350213",
    }  # fmt: skip
    spec = web["client"].get("/openapi.json").json()
    paths = [p for p in spec["paths"] if p.startswith("/api/v1/map/")]
    assert len(paths) == 6
    schema = spec["paths"]["/api/v1/map/districts"]["get"]["responses"]["200"]["content"]
    assert schema["application/json"]["schema"]["$ref"].endswith("/DistrictsOut")


def test_page_renders_in_both_languages(web):
    c = web["client"]
    page = c.get("/login")
    token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    r = c.post(
        "/login",
        data={"username": "m_admin", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    assert r.status_code in (302, 303)
    zh = c.get("/map?lang=zh")
    assert zh.status_code == 200 and "电碳生态地图" in zh.text and "/static/js/map.js" in zh.text
    en = c.get("/map?lang=en")
    assert "Electricity-carbon eco map" in en.text and "Grid nodes" in en.text
    # the strings map.js draws the demonstration projects' layer and tooltips with
    for r, lang, layer, city in (
        (zh, "zh", "示范项目", "市级示范"),
        (en, "en", "Demonstration projects", "City demonstration"),
    ):
        strings = json.loads(r.text.split('id="cc-map-i18n"')[1].split(">", 1)[1].split("</")[0])
        assert (strings["layer_demo_projects"], strings["demo_city"]) == (layer, city), lang
        assert {"demo_district", "demo_provincial", "demo_national"} <= set(strings)
    c.get("/map?lang=zh")  # leave the language cookie at the default for other tests


def test_concurrent_requests_for_a_new_layer_build_it_once(web, monkeypatch):
    """Twenty clients asking for the same layer of a fresh cube wait for one build (the layer
    endpoints are async; a new results run would otherwise cost one build per waiting client)."""
    import asyncio
    import concurrent.futures

    import httpx

    from citycarbon.web.routes import map as map_routes

    month = latest_month(web)
    ml.map_data(wait=True)  # check the cube now: no refresh swaps in a new one mid-test
    built = []
    real = ml.district_layer

    def counting(*args, **kwargs):
        built.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(ml, "district_layer", counting)
    map_routes._ENCODED.clear()
    app = web["client"].app
    headers = {"Authorization": f"Bearer {web['tokens']['m_admin']}"}

    async def many() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            url = f"/api/v1/map/districts?period={month}"
            return await asyncio.gather(*(client.get(url, headers=headers) for _ in range(20)))

    # in a thread of its own: an earlier test (Playwright's sync API) may leave an event loop
    # running in this one
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        answers = pool.submit(asyncio.run, many()).result()
    assert {r.status_code for r in answers} == {200}
    assert len({r.content for r in answers}) == 1
    assert len(built) == 1


def test_blue_carbon_layer_has_each_sites_annual_sink(web):
    """蓝碳 layer: every positioned blue_carbon_sites site of the year with its annual sink from
    city_sinks (sum of its pools); city-wide roles only."""
    from citycarbon.contract.results import CITY_SINKS
    from citycarbon.store import results

    year = get(web, "m_admin", "/api/v1/map/periods")["years"][-1]
    pts = get(web, "m_admin", f"/api/v1/map/points?period={year}&layers=blue_carbon")
    sites = pts["blue_carbon"]
    assert sites and pts["enterprises"]["rows"] == [] and pts["parks"] == []
    sinks = results.current(CITY_SINKS, lake=web["home"] / "lake")
    blue = sinks[(sinks["sector"] == "3.B.4") & (sinks["year"] == int(year))]
    expected = blue.groupby("source")["co2_t"].sum()
    assert {s["site_id"] for s in sites} == set(expected.index)
    for s in sites:
        assert s["co2_t"] == pytest.approx(expected[s["site_id"]], rel=1e-3)
        assert s["co2_t"] < 0 and s["year"] == int(year)  # a removal
        assert 117 < s["lon"] < 119 and 24 < s["lat"] < 25  # Xiamen
        assert s["ecosystem"] in {"mangrove", "salt_marsh", "seagrass"}
        # its boundary (the demo's synthetic outline) with the declared area, and the method
        assert s["geometry"]["type"] == "Polygon" and not geo.validity_problems(s["geometry"])
        assert geo.area_km2(s["geometry"]) * 100 == pytest.approx(s["area_ha"], rel=1e-3)
        assert geo.contains(s["geometry"], [s["lon"]], [s["lat"]])[0]
        assert "sediment" in s["method"] and "Table 4.12" in s["method"]
    month = get(web, "m_admin", "/api/v1/map/periods")["months"][-1]
    by_month = get(web, "m_admin", f"/api/v1/map/points?period={month}")["blue_carbon"]
    assert {s["year"] for s in by_month} == {int(month[:4])}  # a month shows its year's sink
    for user in ("m_ent", "m_dist"):  # city-wide figures: scoped users get no sites
        assert get(web, user, f"/api/v1/map/points?period={year}")["blue_carbon"] == []
    get(web, "m_admin", f"/api/v1/map/points?period={year}&layers=sinks", 422)


def test_the_projects_layer_json_marks_demonstration_projects(web):
    """The projects layer (map.js series 5, the demonstration stars series 7) reads
    /api/v1/techmap/projects: every project has a position and a demonstration level, the
    starred ones (level above none) have the year they were recognised."""
    items = get(web, "m_admin", "/api/v1/techmap/projects?limit=1000")["items"]
    assert items and all(p["lon"] is not None and p["lat"] is not None for p in items)
    demos = {p["project_id"]: p for p in items if p["demonstration_level"] != "none"}
    assert set(demos) == {"GP-001", "GP-006", "GP-007"}
    assert all(isinstance(p["demonstration_year"], int) for p in demos.values())
    assert {p["demonstration_level"] for p in items} == {"none", "district", "city", "provincial"}
    mine = get(web, "m_dist", "/api/v1/techmap/projects?demonstration=true")["items"]
    assert {p["project_id"] for p in mine} == {"GP-006"}  # 海沧区 (350205): GP-004 to GP-006
