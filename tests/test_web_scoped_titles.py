"""Scoped users' pages are titled by their scope: the 总览 bar of an enterprise or park user
names the enterprise or park (it is not the district total); a district manager's statistics
table is titled by the district."""

from __future__ import annotations

import pytest

from citycarbon.read import access
from citycarbon.store import users
from tests import web_fixtures
from tests.web_fixtures import sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures


@pytest.fixture(scope="module")
def clients(app):
    return {u: sign_in(app, u) for u in ("analyst", "siming", "park", "enterprise")}


def _title(html: str) -> str:
    return html.split('id="by-district-title">', 1)[1].split("</h2>", 1)[0]


@pytest.mark.parametrize("user", ["park", "enterprise"])
def test_the_overview_bar_names_the_scope(clients, user):
    scope = access.scope_label(access.Principal.of(users.get_user_by_name(user)), "zh")
    title = _title(clients[user].get("/", params={"lang": "zh"}).text)
    assert title.startswith(f"{scope}的排放") and "不是该区合计" in title
    en = _title(clients[user].get("/", params={"lang": "en"}).text)
    assert "not the district total" in en


def test_city_and_district_users_keep_the_district_chart(clients):
    for user in ("analyst", "siming"):
        assert _title(clients[user].get("/", params={"lang": "zh"}).text).startswith("分区排放")
    stats = clients["siming"].get("/", params={"lang": "zh"}).text
    assert "<h2>思明区统计指标</h2>" in stats and "城市统计指标" not in stats
