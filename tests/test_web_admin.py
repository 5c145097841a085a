"""管理 and 我的令牌: every form answers its POST with a redirect (303), so reloading the page
never submits it again (a reload used to make a second token); a new token is shown once on
the page the redirect leads to; a new user's role defaults to the least privileged one; the
table columns say what they hold."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from citycarbon.read import access
from citycarbon.store import users
from citycarbon.store.models import USER_ROLES
from citycarbon.web.routes.admin import NEW_TOKEN_COOKIE
from tests import web_fixtures
from tests.web_fixtures import page_csrf, sign_in

app, web_home = web_fixtures.app, web_fixtures.web_home  # shared fixtures
TOKEN_RE = re.compile(r'<div class="token mono">([^<]+)</div>')


@pytest.fixture(scope="module")
def admin(app):
    return sign_in(app, "admin")


def _post(client: TestClient, page: str, action: str, **data) -> object:
    data = {"csrf_token": page_csrf(client, page), **data}
    return client.post(action, data=data, follow_redirects=False)


@pytest.mark.parametrize("page", ["/admin", "/account/tokens"])
def test_a_new_token_is_shown_once_after_a_redirect(app, admin, page):
    name = f"reload-{page.strip('/').replace('/', '-')}"
    data = {"name": name, "days": "7"} | ({"username": "admin"} if page == "/admin" else {})
    r = _post(admin, page, f"{page.rstrip('/')}" if page != "/admin" else "/admin/tokens", **data)
    assert r.status_code == 303 and r.headers["location"] == f"{page}?saved=token"
    assert NEW_TOKEN_COOKIE in r.headers["set-cookie"] and "HttpOnly" in r.headers["set-cookie"]
    shown = admin.get(r.headers["location"])
    (token,) = TOKEN_RE.findall(shown.text)
    api = TestClient(app)
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = admin.get(r.headers["location"])  # the reload: no second token, no token shown
    assert not TOKEN_RE.search(again.text)
    made = users.list_tokens(username="admin")
    assert (made["name"] == name).sum() == 1


def test_every_admin_form_redirects_after_post(admin):
    r = _post(admin, "/admin", "/admin/users", username="newcomer", password="a-long-pass-123",
              role="viewer")  # fmt: skip
    assert r.status_code == 303, r.text[:300]
    r = _post(admin, "/admin", "/admin/users/newcomer", role="viewer", active="on")
    assert r.status_code == 303
    r = _post(admin, "/admin", "/admin/users/newcomer/password", password="another-pass-456")
    assert r.status_code == 303
    r = _post(admin, "/admin", "/admin/users/newcomer/sessions/end")
    assert r.status_code == 303
    token_id = int(users.list_tokens(username="admin")["id"].max())
    r = _post(admin, "/admin", f"/admin/tokens/{token_id}/revoke")
    assert r.status_code == 303
    assert r.headers["location"].startswith("/admin")


def test_a_new_user_defaults_to_the_least_privileged_role(admin):
    order = access.ROLES_BY_PRIVILEGE
    assert sorted(order) == sorted(USER_ROLES)  # every role has its place
    # never more permissions before fewer (granting consent acts on one's own enterprise only)
    perms = {k: v for k, v in access.PERMISSIONS.items() if k != "grant_consent"}
    n = [sum(r in roles for roles in perms.values()) for r in order]
    assert n == sorted(n)
    assert order[0] == "enterprise_user" and order[-1] == "admin"
    html = admin.get("/admin", params={"lang": "zh"}).text
    form = html.split('id="add-user"', 1)[1].split("</form>", 1)[0]
    options = re.findall(r'<option value="(\w+)" ?(selected)?', form)
    assert [o for o, _ in options] == list(order)
    assert [o for o, sel in options if sel] == ["enterprise_user"]


def test_table_columns_say_what_they_hold(admin):
    html = admin.get("/admin", params={"lang": "zh"}).text
    heads = re.findall(r"<th(?:\s[^>]*)?>(.*?)</th>", html)
    assert "" not in heads and "#" not in heads
    assert {"编号", "令牌开头（用于辨认）", "操作", "在线会话数"} <= set(heads)
    en = admin.get("/admin", params={"lang": "en"}).text
    assert "Token begins with (to recognise it)" in en
