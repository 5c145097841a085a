"""The 碳效 page and API: grades of the visible enterprises, distributions of readable groups,
movement counts, the enterprise page's own grade (small demo city)."""

from __future__ import annotations

import pytest

from citycarbon.contract.results import CARBON_EFFICIENCY
from citycarbon.read import access
from citycarbon.store import results
from tests.web_fixtures import sign_in


@pytest.fixture(scope="module")
def clients(app):
    return {u: sign_in(app, u) for u in ("viewer", "siming", "park", "enterprise")}


@pytest.fixture(scope="module")
def annual(web_home):
    g = results.current(CARBON_EFFICIENCY)
    g = g[g["period_type"] == "year"]
    return g[g["year"] == g["year"].max()]


def test_grades_are_those_of_the_visible_enterprises(clients, annual):
    for name, client in clients.items():
        items = client.get("/api/v1/rating/grades", params={"limit": 1000}).json()["items"]
        principal = access.Principal.of(_user(name))
        visible = access.visible_enterprise_codes(principal)
        expected = annual if visible is None else annual[annual["enterprise_code"].isin(visible)]
        assert sorted(i["enterprise_code"] for i in items) == sorted(expected["enterprise_code"])
        grades = [i["grade"] for i in items if i["grade"] > 0]
        assert grades == sorted(grades)  # best grade first


def test_city_distribution_counts_every_graded_enterprise(clients, annual):
    dist = clients["viewer"].get("/api/v1/rating/distribution").json()["items"]
    assert sum(d["enterprises"] for d in dist) == int((annual["grade"] > 0).sum())
    assert sum(d["share"] for d in dist) == pytest.approx(1.0)
    by_district = (
        clients["viewer"]
        .get("/api/v1/rating/distribution", params={"dimension": "district"})
        .json()["items"]
    )
    names = {d["group_code"]: d["group_name"] for d in by_district}
    assert names.get("350203", "思明区") == "思明区"  # registry names beside the codes
    assert all(n for n in names.values())


def test_scoped_roles_read_only_their_own_groups(clients, world_codes):
    park = clients["park"].get("/api/v1/rating/distribution", params={"dimension": "park"})
    assert {d["group_code"] for d in park.json()["items"]} <= {world_codes["park"]}
    for dim in ("city", "district", "industry"):
        r = clients["park"].get("/api/v1/rating/distribution", params={"dimension": dim})
        assert r.json()["total"] == 0
        r = clients["enterprise"].get("/api/v1/rating/distribution", params={"dimension": dim})
        assert r.json()["total"] == 0
    siming = clients["siming"].get("/api/v1/rating/distribution", params={"dimension": "district"})
    assert {d["group_code"] for d in siming.json()["items"]} <= {world_codes["siming"]}


def test_the_page_shows_counts_movement_and_kouj(clients, annual):
    r = clients["viewer"].get("/rating")
    assert r.status_code == 200
    graded = annual[annual["grade"] > 0]
    for g in range(1, 6):
        assert f'data-grade="{g}"><div class="label">' in r.text
    ups = int((graded["movement"] == "up").sum())
    assert f'data-movement="up">{ups}<' in r.text
    assert 'href="/methods/carbon_efficiency_grade"' in r.text
    assert 'href="/methods/carbon_intensity_l"' in r.text
    en = clients["viewer"].get("/rating", params={"lang": "en", "period_type": "month"})
    assert "Grade movement" in en.text and "等级变动" not in en.text


def test_an_enterprise_user_sees_their_grade_on_their_page(clients, annual):
    me = clients["enterprise"].get("/api/v1/me").json()["scope_code"]
    own = annual[annual["enterprise_code"] == me]
    r = clients["enterprise"].get(f"/enterprises/{me}")
    if own.empty or int(own["grade"].iat[0]) == 0:
        assert 'id="rating-panel"' not in r.text
    else:
        assert f'id="own-grade" data-grade="{int(own["grade"].iat[0])}"' in r.text
    other = annual.loc[annual["enterprise_code"] != me, "enterprise_code"].iat[0]
    assert clients["enterprise"].get(f"/api/v1/rating/enterprises/{other}").status_code == 404


@pytest.fixture(scope="module")
def world_codes(web_home):
    return {"park": _user("park").scope_code, "siming": _user("siming").scope_code}


def _user(name):
    from citycarbon.store import users

    return users.get_user_by_name(name)
