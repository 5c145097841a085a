"""Scope rules on every route: an enterprise user reads only their enterprise, a park manager
their park, a district manager their district. Parametrised over the app's route table, so a
new route is checked as soon as it exists."""

from __future__ import annotations

import re

import pytest

from citycarbon.read import access
from citycarbon.store import catalog
from citycarbon.web.app import create_app, route_table
from tests.web_fixtures import SETTINGS, sign_in

ROUTES = route_table(create_app(SETTINGS))
GET_ROUTES = [r for r in ROUTES if "GET" in r.methods]
POST_ROUTES = [r for r in ROUTES if "POST" in r.methods and r.path not in ("/login", "/logout")]
SCOPED = ("enterprise", "park", "siming")
ADMIN_ONLY = {"/admin", "/api/v1/users", "/api/v1/audit"}
PARAM_RE = re.compile(r"{(\w+)}")


@pytest.fixture(scope="module")
def world(web_home):
    """Registry facts of the small demo: per scoped user what is inside and outside."""
    ents = catalog.registry_frame("enterprises").set_index("credit_code")
    users = {u: access.Principal.of(_user(u)) for u in (*SCOPED, "viewer", "admin")}
    out = {}
    for name in SCOPED:
        visible = access.visible_enterprise_codes(users[name])
        districts = access.visible_district_codes(users[name])
        parks = access.visible_park_codes(users[name])
        inside = sorted(visible)
        outside = sorted(set(ents.index) - visible)
        other_district = sorted(set(ents["district_code"]) - set(districts))[0]
        other_park = sorted(set(ents["park_code"].dropna()) - set(parks))[0]
        out[name] = {
            "inside": inside,
            "outside": outside,
            "own": {
                "credit_code": inside[0],
                "code_district": sorted(districts)[0],
                "code_park": sorted(parks)[0] if parks else None,
            },
            "other": {
                "credit_code": outside[0],
                "code_district": other_district,
                "code_park": other_park,
            },
            "names_outside": set(ents.loc[outside, "name"]),
        }
    return out


def _user(name):
    from citycarbon.store import users

    return users.get_user_by_name(name)


ALL_USERS = ("admin", "analyst", "siming", "park", "enterprise", "viewer", "bank")


@pytest.fixture(scope="module")
def bank_world(web_home):
    """A bank user with a ``full`` consent of one enterprise and a ``rating`` consent of
    another; every other enterprise is outside."""
    from citycarbon.demo.users import demo_password
    from citycarbon.store import consents, users

    users.create_user("bank", demo_password("bank"), "bank", display_name="银行")
    codes = sorted(catalog.registry_frame("enterprises")["credit_code"])
    full, rating = codes[0], codes[1]
    consents.grant(full, "bank", scope="full", purpose="授信", days=30, actor="test")
    consents.grant(rating, "bank", scope="rating", purpose="授信", days=30, actor="test")
    return {
        "full": full,
        "rating": rating,
        "outside": codes[2:],
        "own": {"credit_code": full, "code_district": "350203", "code_park": None},
        "other": {"credit_code": codes[2], "code_district": "350203", "code_park": "none"},
    }


@pytest.fixture(scope="module")
def clients(app, bank_world):
    return {name: sign_in(app, name) for name in ALL_USERS}


def _fill(path: str, facts: dict, which: str) -> str:
    values = dict(facts[which])
    values["code"] = values["code_park"] if "/parks/" in path else values["code_district"]
    values.update(
        consent_id="1",
        period="2024",
        grade="1",
        subject="0" * 16,
        sig="0" * 64,
        batch_id="1",
        job_id="1",
        row_id="1",
        set_id="cn-mee-grid",
        username="viewer",
        token_id="1",
        key="enterprise_co2",
        number="1",
        task_id="a1_pv",
        fmt="xlsx",
        kind="energy_monthly",
        source_row="2",
        application_id="DEMO-LOAN-1",
        workbook="guideline",
        project_id="DEMO-PV-1",
    )
    return PARAM_RE.sub(lambda m: str(values[m.group(1)]), path)


def _query(path: str) -> dict:
    q = {}
    if path.startswith("/api/v1/map/") and path != "/api/v1/map/boundaries":
        q["period"] = "2024"
    if path == "/api/v1/factor-diff":
        q.update(a="ipcc-ar5-gwp100", b="ipcc-ar6-gwp100")
    return q


def _no_foreign_codes(body: str, outside: list[str]) -> list[str]:
    found = set(re.findall(r"[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}", body))
    return sorted(found & set(outside))


@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: f"GET {r.path}")
def test_get_routes_show_nothing_outside_the_scope(route, clients, world):
    for name in SCOPED:
        facts = world[name]
        path = _fill(route.path, facts, "own")
        r = clients[name].get(path, params=_query(route.path))
        assert r.status_code < 500, (name, path, r.text[:300])
        if route.path in ADMIN_ONLY:
            assert r.status_code == 403, (name, path)
        if (
            route.path.startswith("/api/v1/enterprises/{")
            or route.path == "/enterprises/{credit_code}"
        ):
            assert r.status_code == 200, (name, path)
        assert not _no_foreign_codes(r.text, facts["outside"]), (name, path)
        if route.path.startswith("/api/v1/") and r.status_code == 200:
            csv = clients[name].get(path, params={**_query(route.path), "format": "csv"})
            if csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv"):
                assert not _no_foreign_codes(csv.text, facts["outside"]), (name, path, "csv")


OBJECT_ROUTES = [r for r in GET_ROUTES if "{credit_code}" in r.path or "{code}" in r.path]


@pytest.mark.parametrize("route", OBJECT_ROUTES, ids=lambda r: f"GET {r.path}")
def test_objects_outside_the_scope_are_not_found(route, clients, world):
    for name in SCOPED:
        facts = world[name]
        path = _fill(route.path, facts, "other")
        if (
            "/parks/" in route.path
            and world[name]["own"]["code_park"] == facts["other"]["code_park"]
        ):
            continue
        r = clients[name].get(path, params=_query(route.path))
        assert r.status_code in (403, 404), (name, path, r.status_code)
        assert not any(n in r.text for n in facts["names_outside"]), (name, path)
    # a city-wide viewer reads the same objects
    r = clients["viewer"].get(
        _fill(route.path, world["siming"], "other"), params=_query(route.path)
    )
    assert r.status_code == 200


@pytest.mark.parametrize("route", POST_ROUTES, ids=lambda r: f"POST {r.path}")
def test_scoped_users_cannot_change_anything(route, clients, world):
    from tests.web_fixtures import page_csrf

    for name in SCOPED:
        client = clients[name]
        token = page_csrf(client)
        path = _fill(route.path, world[name], "own")
        if route.path.startswith(("/api/v1/tokens", "/account/tokens")):
            continue  # any user manages their own tokens (tested in test_web_sessions)
        if "/consents" in route.path and name == "enterprise":
            continue  # an enterprise user grants its own consents (tested in test_web_finance)
        r = client.post(
            path,
            data={
                "csrf_token": token,
                "kind": "enterprises",
                "username": "x",
                "password": "y" * 9,
                "role": "admin",
                "name": "x",
            },
            files={"file": ("e.csv", b"credit_code,name\n", "text/csv")}
            if "upload" in path
            else None,
            headers={"X-CSRF-Token": token},
        )
        assert r.status_code in (403, 422), (name, path, r.status_code, r.text[:200])
        if r.status_code == 422:  # refused by validation before the role check: try valid JSON
            r = client.post(
                path,
                json={"username": "xx", "password": "y" * 9, "role": "admin", "name": "x"},
                headers={"X-CSRF-Token": token},
            )
            assert r.status_code == 403, (name, path, r.status_code)


def test_totals_are_those_of_the_scope(clients, world):
    res = access.results()
    latest = int(res.annual["year"].max())
    for name in SCOPED:
        years = clients[name].get("/api/v1/overview/years").json()
        mine = res.annual[res.annual["enterprise_code"].isin(world[name]["inside"])]
        expected = mine[mine["year"] == latest]["co2_t"].sum()
        got = next(y for y in years if y["year"] == latest)["co2_t"]
        assert got == pytest.approx(expected, rel=1e-12)
        listed = clients[name].get("/api/v1/enterprises", params={"limit": 1000}).json()
        assert sorted(e["credit_code"] for e in listed["items"]) == world[name]["inside"]
    city = clients["viewer"].get("/api/v1/overview/years").json()
    expected = res.annual[res.annual["year"] == latest]["co2_t"].sum()
    assert next(y for y in city if y["year"] == latest)["co2_t"] == pytest.approx(expected)


@pytest.mark.parametrize("user", ALL_USERS)
def test_every_page_opens_for_every_role(clients, user):
    client = clients[user]
    home = client.get("/")
    assert home.status_code == 200
    navs = re.findall(r'data-nav="(\w+)"', home.text)
    assert ("admin" in navs) is (user == "admin")
    assert {"overview", "enterprises", "data", "factors"} <= set(navs)
    for path in [
        "/",
        "/enterprises",
        "/data",
        "/data/quarantine",
        "/factors",
        "/factors/cn-mee-grid",
        "/factors?a=ipcc-ar5-gwp100&b=ipcc-ar6-gwp100",
        "/admin",
        "/map",
    ]:
        r = client.get(path)
        assert r.status_code == (403 if path == "/admin" and user != "admin" else 200), (user, path)
        assert "Traceback" not in r.text


@pytest.mark.parametrize("route", GET_ROUTES, ids=lambda r: f"GET {r.path}")
def test_a_bank_sees_nothing_outside_its_consents(route, clients, bank_world):
    client = clients["bank"]
    path = _fill(route.path, bank_world, "own")
    r = client.get(path, params=_query(route.path))
    assert r.status_code < 500, (path, r.text[:300])
    if route.path in ADMIN_ONLY:
        assert r.status_code == 403
    assert not _no_foreign_codes(r.text, bank_world["outside"]), path
    if route.path.startswith("/api/v1/") and r.status_code == 200:
        csv = client.get(path, params={**_query(route.path), "format": "csv"})
        if csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv"):
            assert not _no_foreign_codes(csv.text, bank_world["outside"]), (path, "csv")
    if "{credit_code}" in route.path:  # outside consent: not found
        other = client.get(_fill(route.path, bank_world, "other"), params=_query(route.path))
        assert other.status_code in (403, 404), (route.path, other.status_code)


def test_a_rating_consent_shows_only_the_finance_views(clients, bank_world):
    client = clients["bank"]
    listed = client.get("/api/v1/finance/enterprises", params={"limit": 1000}).json()["items"]
    assert sorted(i["enterprise_code"] for i in listed) == sorted(
        [bank_world["full"], bank_world["rating"]]
    )
    assert client.get(f"/enterprises/{bank_world['rating']}").status_code == 404
    assert client.get(f"/enterprises/{bank_world['full']}").status_code == 200
    ents = client.get("/api/v1/enterprises", params={"limit": 1000}).json()["items"]
    assert [e["credit_code"] for e in ents] == [bank_world["full"]]
