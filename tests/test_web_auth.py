"""Web platform security: sign-in/out, argon2 hashes, session cookie flags, CSRF, API tokens,
audit entries of changes, error pages without tracebacks (sessions in the catalog, token expiry
and scope, sign-in throttling: tests/test_web_sessions.py)."""

from __future__ import annotations

import sqlalchemy as sa
from argon2 import PasswordHasher
from fastapi.testclient import TestClient

from citycarbon.store import catalog, users
from citycarbon.store.models import ApiToken, AuditLog, User
from citycarbon.web.app import create_app
from citycarbon.web.auth import SESSION_COOKIE, WebSettings
from tests.web_fixtures import csrf_of, page_csrf, sign_in


def test_pages_need_sign_in_and_api_answers_401(app):
    client = TestClient(app)
    r = client.get("/enterprises?q=x", follow_redirects=False)
    assert r.status_code == 303
    assert r.headers["location"] == "/login?next=/enterprises%3Fq%3Dx"
    r = client.get("/api/v1/enterprises")
    assert r.status_code == 401
    assert r.headers["www-authenticate"] == "Bearer"


def test_sign_in_and_out(app):
    client = sign_in(app, "analyst")
    r = client.get("/")
    assert r.status_code == 200
    assert "市级分析员" in r.text  # role shown in the header
    assert client.get("/api/v1/me").json()["role"] == "city_analyst"
    r = client.post("/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert client.get("/api/v1/me").status_code == 401


def test_wrong_password_is_refused_with_one_message(app):
    client = TestClient(app)
    token = csrf_of(client.get("/login").text)
    for name in ("viewer", "nobody-here"):
        r = client.post(
            "/login", data={"username": name, "password": "wrong-pass", "csrf_token": token}
        )
        assert r.status_code == 401
        assert "用户名或密码错误" in r.text


def test_password_is_stored_as_argon2id(web_home):
    users.create_user("hash-check", "correct horse battery", "viewer", actor="test")
    with catalog.session_scope() as s:
        stored = s.scalars(sa.select(User.password_hash).where(User.username == "hash-check")).one()
    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert PasswordHasher().verify(stored, "correct horse battery")


def test_session_cookie_flags(web_home):
    for secure in (False, True):
        app = create_app(WebSettings(secret_key="k" * 32, secure_cookies=secure))
        text = TestClient(app, base_url="https://testserver").get("/login").headers["set-cookie"]
        assert text.startswith(f"{SESSION_COOKIE}=")
        assert "HttpOnly" in text
        assert "SameSite=lax" in text
        assert ("Secure" in text) is secure


def test_csrf_is_required_on_every_state_change(app):
    anonymous = TestClient(app)
    anonymous.get("/login")
    r = anonymous.post("/login", data={"username": "admin", "password": "admin-demo"})
    assert r.status_code == 403
    admin = sign_in(app, "admin")
    form = {"username": "csrf-victim", "password": "long-enough-1", "role": "viewer"}
    assert admin.post("/admin/users", data=form).status_code == 403
    assert admin.post("/admin/users", data={**form, "csrf_token": "forged"}).status_code == 403
    assert users.get_user_by_name("csrf-victim") is None
    # the API with the session cookie needs the header; the same call with it succeeds
    assert admin.post("/api/v1/tokens", json={"name": "x"}).status_code == 403
    r = admin.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": page_csrf(admin)})
    assert r.status_code == 201
    # a CSRF page, not a traceback
    assert "CSRF" in admin.post("/logout").text


def test_password_change_ends_open_sessions(app):
    users.create_user("rotating", "first-password", "viewer", actor="test")
    client = sign_in(app, "rotating", "first-password")
    assert client.get("/api/v1/me").status_code == 200
    users.set_password("rotating", "second-password", actor="test")
    assert client.get("/api/v1/me").status_code == 401


def test_api_token_shown_once_stored_hashed_and_revocable(app):
    admin = sign_in(app, "admin")
    r = admin.post(
        "/api/v1/tokens",
        json={"name": "integration", "username": "siming"},
        headers={"X-CSRF-Token": page_csrf(admin)},
    )
    assert r.status_code == 201
    token, token_id = r.json()["token"], r.json()["id"]
    with catalog.session_scope() as s:
        row = s.get(ApiToken, token_id)
        assert row.token_hash != token and token not in row.token_hash
    api = TestClient(app)
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert (me["username"], me["role"]) == ("siming", "district_manager")
    # token listings never show the token
    assert token not in admin.get("/api/v1/tokens").text
    users.revoke_token(token_id, actor="admin")
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_changes_are_audited_with_before_and_after(app):
    admin = sign_in(app, "admin")
    form = {
        "username": "audited",
        "password": "long-enough-2",
        "role": "district_manager",
        "scope_code": "350205",
        "csrf_token": page_csrf(admin, "/admin"),
    }
    assert admin.post("/admin/users", data=form, follow_redirects=False).status_code == 303
    form = {"role": "viewer", "scope_code": "", "active": "on", "csrf_token": form["csrf_token"]}
    assert admin.post("/admin/users/audited", data=form, follow_redirects=False).status_code == 303
    with catalog.session_scope() as s:
        rows = s.scalars(
            sa.select(AuditLog).where(AuditLog.entity_id == "audited").order_by(AuditLog.id)
        ).all()
        entries = [(a.actor, a.action, a.before, a.after) for a in rows]
    assert entries[0][:3] == ("admin", "create", None)
    assert entries[0][3]["role"] == "district_manager"
    assert entries[1][1] == "update"
    assert (entries[1][2]["role"], entries[1][3]["role"]) == ("district_manager", "viewer")
    assert all("password" not in str(e[3]) or "***" in str(e[3]) for e in entries)
    # the admin page shows the log; other roles may not open it
    assert "audited" in admin.get("/admin").text
    assert sign_in(app, "analyst").get("/admin").status_code == 403
    assert sign_in(app, "analyst").get("/api/v1/audit").status_code == 403


def test_error_pages_have_no_traceback(app):
    @app.get("/boom-for-test", include_in_schema=False)
    def boom() -> None:
        raise RuntimeError("secret internals")

    client = sign_in(app, "viewer")
    r = client.get("/boom-for-test")
    assert r.status_code == 500
    assert "Traceback" not in r.text and "secret internals" not in r.text
    assert "服务器内部错误" in r.text
    r = client.get("/enterprises/000000000000000000")
    assert r.status_code == 404 and "<html" in r.text
    assert client.get("/api/v1/enterprises/000000000000000000").json()["detail"]
    r = client.get("/api/v1/enterprises?limit=0")
    assert r.status_code == 422 and isinstance(r.json()["detail"], list)


def test_security_headers(app):
    r = TestClient(app).get("/login")
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["x-content-type-options"] == "nosniff"
