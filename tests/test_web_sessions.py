"""Sessions in the catalog, API tokens and sign-in throttling (issue 14): regression tests that
failed on the signed-cookie sessions, eternal tokens and racing failure counter they replace.

SQLite catalog, one process (TestClient); the same flows across two server processes on
PostgreSQL are in tests/test_web_postgres.py."""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.config.settings import get_settings
from citycarbon.demo.users import demo_password
from citycarbon.errors import InputError
from citycarbon.store import catalog, sessions, throttle, users
from citycarbon.store.models import ApiToken, User, UserSession, utcnow
from citycarbon.web.app import create_app
from citycarbon.web.auth import SESSION_COOKIE, WebSettings, client_address
from tests.web_fixtures import SETTINGS, csrf_of, page_csrf, sign_in

PROXY = ipaddress.ip_network("10.0.0.0/8")


def client_at(app, address: str) -> TestClient:
    """A TestClient whose requests come from ``address`` (the TCP peer)."""
    return TestClient(app, client=(address, 50000), raise_server_exceptions=False)


def log_in(client: TestClient, username: str, password: str, **kw):
    token = csrf_of(client.get("/login", **kw).text)
    return client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": token},
        follow_redirects=False,
        **kw,
    )


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def make_token(client: TestClient, **body) -> tuple[int, str]:
    r = client.post(
        "/api/v1/tokens",
        json={"name": "t", **body},
        headers={"X-CSRF-Token": page_csrf(client)},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], r.json()["token"]


def _session_row(cookie: str) -> UserSession | None:
    with catalog.session_scope() as s:
        return s.get(UserSession, hashlib.sha256(cookie.encode()).hexdigest())


def _set(model, key, **values) -> None:
    """Change a row behind the app's back (time travel), then drop the cached look-ups.
    Pending last-seen writes land first, so none of them undoes the change afterwards."""
    users.flush_touches()
    with catalog.session_scope() as s:
        row = s.get(model, key)
        for k, v in values.items():
            setattr(row, k, v)
    users.forget_cached_users()


# --------------------------------------------------------------------------- sessions
def test_the_cookie_carries_only_a_random_id_and_the_catalog_only_its_hash(app):
    client = sign_in(app, "viewer")
    cookie = client.cookies[SESSION_COOKIE]
    assert sessions.ID_RE.match(cookie)  # 43 url-safe characters = 256 bits
    row = _session_row(cookie)
    assert row is not None and row.revoked_at is None
    assert cookie not in row.id_hash
    assert row.user_id == users.get_user_by_name("viewer").id
    assert row.address == "testclient" and row.user_agent
    # absolute expiry: CITYCARBON_SESSION_MAX_HOURS after sign-in
    lifetime = row.expires_at - row.created_at
    assert lifetime == timedelta(hours=get_settings().session_max_hours)


def test_a_copied_cookie_is_refused_after_sign_out(app):
    client = sign_in(app, "viewer")
    thief = TestClient(app, raise_server_exceptions=False)
    thief.cookies.set(SESSION_COOKIE, client.cookies[SESSION_COOKIE])
    assert thief.get("/api/v1/me").status_code == 200
    r = client.post("/logout", data={"csrf_token": page_csrf(client)}, follow_redirects=False)
    assert r.status_code == 303
    assert thief.get("/api/v1/me").status_code == 401
    r = thief.get("/", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login")
    assert client.get("/api/v1/me").status_code == 401


def test_signing_in_changes_the_id_and_the_csrf_token(app):
    client = TestClient(app)
    anonymous_token = csrf_of(client.get("/login").text)
    anonymous_id = client.cookies[SESSION_COOKIE]
    r = client.post(
        "/login",
        data={
            "username": "viewer",
            "password": demo_password("viewer"),
            "csrf_token": anonymous_token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert client.cookies[SESSION_COOKIE] != anonymous_id  # no session fixation
    assert _session_row(anonymous_id) is None  # a visitor's id is never stored
    assert page_csrf(client) != anonymous_token
    r = client.post("/logout", data={"csrf_token": anonymous_token})
    assert r.status_code == 403  # the old token does not sign anyone out


@pytest.mark.parametrize("action", ["set_password", "deactivate", "role_change", "admin_ends"])
def test_sessions_end_with_password_change_deactivation_role_change_and_admin_action(app, action):
    name = f"s-{action}".replace("_", "-")
    users.create_user(name, "first-password", "viewer", actor="test")
    client = sign_in(app, name, "first-password")
    other = sign_in(app, name, "first-password")
    assert client.get("/api/v1/me").status_code == 200
    if action == "set_password":
        users.set_password(name, "second-password", actor="test")
    elif action == "deactivate":
        users.update_user(name, active=False, actor="test")
    elif action == "role_change":
        users.update_user(name, role="city_analyst", actor="test")
    else:
        admin = sign_in(app, "admin")
        r = admin.post(
            f"/admin/users/{name}/sessions/end",
            data={"csrf_token": page_csrf(admin, "/admin")},
            follow_redirects=False,
        )
        assert r.status_code == 303
    assert client.get("/api/v1/me").status_code == 401
    assert other.get("/api/v1/me").status_code == 401
    with catalog.session_scope() as s:
        uid = s.scalars(sa.select(User.id).where(User.username == name)).one()
        open_ = s.scalars(
            sa.select(UserSession).where(
                UserSession.user_id == uid, UserSession.revoked_at.is_(None)
            )
        ).all()
    assert open_ == []


def test_idle_and_absolute_timeouts(app):
    client = sign_in(app, "viewer")
    digest = hashlib.sha256(client.cookies[SESSION_COOKIE].encode()).hexdigest()
    idle = timedelta(minutes=get_settings().session_idle_minutes)
    _set(UserSession, digest, last_seen_at=utcnow() - idle + timedelta(minutes=1))
    assert client.get("/api/v1/me").status_code == 200  # idle, but not long enough
    _set(UserSession, digest, last_seen_at=utcnow() - idle - timedelta(seconds=1))
    assert client.get("/api/v1/me").status_code == 401

    client = sign_in(app, "viewer")
    digest = hashlib.sha256(client.cookies[SESSION_COOKIE].encode()).hexdigest()
    _set(UserSession, digest, expires_at=utcnow() - timedelta(seconds=1))  # busy, but too old
    assert client.get("/api/v1/me").status_code == 401


def test_admin_page_shows_open_sessions(app):
    sign_in(app, "park")
    frame = users.list_users().set_index("username")
    assert frame.loc["park", "sessions"] >= 1
    admin = sign_in(app, "admin")
    assert 'action="/admin/users/park/sessions/end"' in admin.get("/admin").text


# --------------------------------------------------------------------------- API tokens
def test_a_token_cannot_make_or_revoke_tokens(app):
    client = sign_in(app, "analyst")
    token_id, token = make_token(client)
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    r = api.post("/api/v1/tokens", json={"name": "child"}, headers=bearer(token))
    assert r.status_code == 403
    assert "token" in r.json()["detail"]
    r = api.post("/account/tokens", data={"name": "child", "days": "1"}, headers=bearer(token))
    assert r.status_code == 403
    assert api.post(f"/api/v1/tokens/{token_id}/revoke", headers=bearer(token)).status_code == 403
    mine = users.list_tokens(username="analyst")
    assert "child" not in set(mine["name"])
    assert "manage_tokens" not in api.get("/api/v1/me", headers=bearer(token)).json()["permissions"]


@pytest.mark.parametrize("how", ["set_password", "deactivate"])
def test_a_token_stops_with_a_password_reset_or_deactivation(app, how):
    name = f"t-{how}".replace("_", "-")
    users.create_user(name, "first-password", "viewer", actor="test")
    _, token = make_token(sign_in(app, name, "first-password"))
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    if how == "set_password":
        users.set_password(name, "second-password", actor="test")
    else:
        users.update_user(name, active=False, actor="test")
        users.update_user(name, active=True, actor="test")  # reactivation does not revive it
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert set(users.list_tokens(username=name)["status"]) == {"revoked"}


def test_token_expiry_default_maximum_and_end(app):
    client = sign_in(app, "viewer")
    settings = get_settings()
    token_id, token = make_token(client)
    with catalog.session_scope() as s:
        row = s.get(ApiToken, token_id)
        lifetime = row.expires_at - row.created_at
    assert abs(lifetime - timedelta(days=settings.token_days)) < timedelta(seconds=5)
    r = client.post(
        "/api/v1/tokens",
        json={"name": "too long", "days": settings.token_max_days + 1},
        headers={"X-CSRF-Token": page_csrf(client)},
    )
    assert r.status_code == 422 and "CITYCARBON_TOKEN_MAX_DAYS" in r.json()["detail"]
    with pytest.raises(InputError, match="1 to 365 days"):
        users.create_token("viewer", "x", days=366)
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    _set(ApiToken, token_id, expires_at=utcnow() - timedelta(seconds=1))
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 401
    assert users.list_tokens(username="viewer").set_index("id").loc[token_id, "status"] == "expired"


def test_last_used_at_is_written_at_most_once_a_minute(app):
    token_id, token = make_token(sign_in(app, "viewer"))

    def last_used():
        with catalog.session_scope() as s:
            return s.get(ApiToken, token_id).last_used_at

    assert last_used() is None
    api = TestClient(app)
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    deadline = time.monotonic() + 10
    while last_used() is None and time.monotonic() < deadline:
        time.sleep(0.05)  # written by the background thread
    first = last_used()
    assert first is not None and utcnow() - first < timedelta(seconds=30)
    for _ in range(3):
        users.forget_cached_users()
        assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    time.sleep(0.3)
    assert last_used() == first  # throttled: not rewritten within TOUCH_INTERVAL_S


def test_a_read_only_token_only_reads_and_no_token_exceeds_its_user(app):
    analyst = sign_in(app, "analyst")
    _, read_token = make_token(analyst, scope="read")
    _, full_token = make_token(analyst)
    api = TestClient(app)
    # a valid kind (the schema refuses unknown kinds with 422 first); the role check refuses it
    upload = {"data": {"kind": "energy_monthly"}, "files": {"file": ("x.csv", b"a\n1\n")}}
    assert api.get("/api/v1/enterprises", headers=bearer(read_token)).status_code == 200
    me = api.get("/api/v1/me", headers=bearer(read_token)).json()
    assert "upload" not in me["permissions"] and "read" in me["permissions"]
    assert api.post("/api/v1/uploads", headers=bearer(read_token), **upload).status_code == 403
    # the full token may upload: the job is accepted (the file's rows are checked by the job)
    assert api.post("/api/v1/uploads", headers=bearer(full_token), **upload).status_code == 202
    # a viewer's full token has only the viewer's rights
    _, viewer_token = make_token(sign_in(app, "viewer"))
    assert api.post("/api/v1/uploads", headers=bearer(viewer_token), **upload).status_code == 403


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_my_tokens_page_lists_makes_and_revokes_own_tokens(app, lang):
    owner = sign_in(app, "enterprise")
    page = owner.get(f"/account/tokens?lang={lang}")
    assert page.status_code == 200
    title, other = ("我的 API 令牌", "My API tokens") if lang == "zh" else ("My API tokens", "我的")
    assert title in page.text and other not in page.text
    r = owner.post(
        "/account/tokens",
        data={
            "name": f"erp-{lang}",
            "days": "30",
            "scope": "read",
            "csrf_token": csrf_of(page.text),
        },
    )
    assert r.status_code == 200
    shown = r.text.split('class="token mono">')[1].split("<")[0]
    assert shown.startswith(users.TOKEN_PREFIX)
    mine = users.list_tokens(username="enterprise").set_index("name").loc[f"erp-{lang}"]
    assert (mine["scope"], mine["status"]) == ("read", "active")
    assert TestClient(app).get("/api/v1/me", headers=bearer(shown)).status_code == 200
    # another user's token is not theirs to revoke
    foreign_id, foreign = make_token(sign_in(app, "viewer"))
    r = owner.post(
        f"/account/tokens/{foreign_id}/revoke",
        data={"csrf_token": page_csrf(owner, "/account/tokens")},
    )
    assert r.status_code == 422
    assert (f"没有编号为 {foreign_id} 的令牌" if lang == "zh" else "There is no token") in r.text
    assert TestClient(app).get("/api/v1/me", headers=bearer(foreign)).status_code == 200
    r = owner.post(
        "/account/tokens",
        data={"name": "long", "days": "400", "csrf_token": page_csrf(owner, "/account/tokens")},
    )
    assert r.status_code == 422
    assert ("有效期最长 365 天" if lang == "zh" else "at most 365 days") in r.text
    r = owner.post(
        f"/account/tokens/{int(mine['id'])}/revoke",
        data={"csrf_token": page_csrf(owner, "/account/tokens")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert TestClient(app).get("/api/v1/me", headers=bearer(shown)).status_code == 401
    listed = owner.get("/api/v1/tokens").json()
    assert {t["username"] for t in listed} == {"enterprise"}
    # the admin sees and manages everyone's
    admin = sign_in(app, "admin")
    assert {"enterprise", "viewer"} <= {t["username"] for t in admin.get("/api/v1/tokens").json()}
    r = admin.post(
        f"/admin/tokens/{foreign_id}/revoke",
        data={"csrf_token": page_csrf(admin, "/admin")},
        follow_redirects=False,
    )
    assert r.status_code == 303
    assert TestClient(app).get("/api/v1/me", headers=bearer(foreign)).status_code == 401


# --------------------------------------------------------------------------- throttling
def test_concurrent_wrong_guesses_are_checked_at_most_the_limit(web_home):
    """20 simultaneous wrong passwords for one user from one address: the counter is taken
    before the argon2 check, atomically, so at most CITYCARBON_LOGIN_USER_LIMIT are checked
    (the old read-count-then-insert let all 20 through)."""
    start = threading.Barrier(20)
    outcomes: list[str] = []

    def guess() -> None:
        start.wait()
        try:
            users.authenticate("viewer", "wrong-guess", "203.0.113.20")
        except users.RateLimited:
            outcomes.append("refused")
        except InputError:
            outcomes.append("checked")

    threads = [threading.Thread(target=guess) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(outcomes) == 20
    assert outcomes.count("checked") == get_settings().login_user_limit
    # the real user, elsewhere, is not locked out
    assert (
        users.authenticate("viewer", demo_password("viewer"), "203.0.113.21").username == "viewer"
    )


def test_one_address_cannot_spray_user_names(web_home, monkeypatch):
    """The per-address limit counts every user name, known or not, before any hash."""
    monkeypatch.setenv("CITYCARBON_LOGIN_ADDRESS_LIMIT", "4")
    for n in range(4):
        with pytest.raises(InputError, match="wrong user name or password"):
            users.authenticate(f"nobody-{n}", "guess", "203.0.113.30")
    with pytest.raises(users.RateLimited) as refused:  # a new name: refused before any hash
        users.authenticate("nobody-new", "guess", "203.0.113.30")
    assert refused.value.retry_after_s == 30
    with pytest.raises(users.RateLimited):  # even the right password waits at this address
        users.authenticate("viewer", demo_password("viewer"), "203.0.113.30")
    assert users.authenticate("viewer", demo_password("viewer"), "203.0.113.31")


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_back_off_answers_429_with_retry_after_and_spares_other_addresses(app, lang):
    users.create_user(f"target-{lang}", "the-right-password", "viewer", actor="test")
    attacker = client_at(app, f"198.51.100.{7 if lang == 'zh' else 8}")
    params = {"params": {"lang": lang}}
    for _ in range(get_settings().login_user_limit):
        assert log_in(attacker, f"target-{lang}", "bad-guess", **params).status_code == 401
    r = log_in(attacker, f"target-{lang}", "the-right-password", **params)
    assert r.status_code == 429
    # 30 s from the attempt that started the wait (a slow argon2 check may have used a second)
    wait = int(r.headers["retry-after"])
    assert 25 <= wait <= 30
    text = f"登录尝试过多，请 {wait} 秒后再试" if lang == "zh" else f"try again in {wait} seconds"
    assert text in r.text
    # the same user from another address: no lock-out
    owner = client_at(app, f"192.0.2.{7 if lang == 'zh' else 8}")
    assert log_in(owner, f"target-{lang}", "the-right-password", **params).status_code == 303
    # another user from the attacker's address is not slowed by that user's back-off
    assert log_in(attacker, "viewer", demo_password("viewer")).status_code == 303


def test_waits_double_up_to_the_cap_and_streaks_are_forgotten(web_home):
    policy = throttle.Policy(3)
    assert [policy.wait_after(n).total_seconds() for n in range(1, 11)] == [
        0, 0, 30, 60, 120, 240, 480, 900, 900, 900
    ]  # fmt: skip
    t = utcnow()
    key = "test:waits"
    assert throttle.reserve([(key, policy)], now=t) is None
    # an attempt stamped a moment earlier that counts later (another process) is not refused
    assert throttle.reserve([(key, policy)], now=t - timedelta(milliseconds=5)) is None
    assert throttle.reserve([(key, policy)], now=t) is None  # the 3rd: next waits 30 s
    assert throttle.reserve([(key, policy)], now=t + timedelta(seconds=10)) == 20
    assert throttle.reserve([(key, policy)], now=t + timedelta(seconds=30)) is None
    assert throttle.reserve([(key, policy)], now=t + timedelta(seconds=31)) == 59
    assert throttle.reserve([(key, policy)], now=t + timedelta(hours=2)) is None  # forgotten
    assert throttle.reserve([(key, policy)], now=t + timedelta(hours=2)) is None


def test_forwarded_for_is_believed_only_from_trusted_proxies(web_home):
    app = create_app(WebSettings(SETTINGS.secret_key, trusted_proxies=(PROXY,)))
    via_proxy = client_at(app, "10.1.2.3")
    xff = {"X-Forwarded-For": "6.6.6.6, 198.51.100.50"}
    assert log_in(via_proxy, "viewer", demo_password("viewer"), headers=xff).status_code == 303
    assert _session_row(via_proxy.cookies[SESSION_COOKIE]).address == "198.51.100.50"
    direct = client_at(app, "192.0.2.60")
    assert log_in(direct, "viewer", demo_password("viewer"), headers=xff).status_code == 303
    assert _session_row(direct.cookies[SESSION_COOKIE]).address == "192.0.2.60"


addresses = st.one_of(
    st.ip_addresses(v=4, network="10.0.0.0/8"),
    st.ip_addresses(v=6, network="fd00::/8"),
    st.ip_addresses(v=4),
    st.ip_addresses(v=6),
).map(str)


@given(peer=addresses, hops=st.lists(addresses, max_size=4), spoof=st.lists(st.text(max_size=20)))
def test_client_address_properties(peer, hops, spoof):
    trusted = (PROXY, ipaddress.ip_network("fd00::/8"))
    is_trusted = [any(ipaddress.ip_address(a) in n for n in trusted) for a in [peer, *hops]]
    header = ", ".join([*spoof, *hops])
    # no trusted proxies: the peer, whatever the header says
    assert client_address(peer, header, ()) == peer
    got = client_address(peer, header, trusted)
    if not is_trusted[0]:
        assert got == peer
    # the nearest untrusted hop is the client; what the client prepends does not matter when
    # the proxies' own entries contain an untrusted address
    chain = [peer, *reversed(hops)]
    flags = [is_trusted[0], *reversed(is_trusted[1:])]
    if not all(flags):
        assert got == chain[flags.index(False)]
        assert got == client_address(peer, ", ".join(hops), trusted)


def test_address_buckets():
    assert throttle.address_bucket("2001:db8:1:2:aaaa::1") == "2001:db8:1:2::/64"
    assert throttle.address_bucket("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert throttle.address_bucket("::ffff:198.51.100.1") == "198.51.100.1"
    assert throttle.address_bucket("198.51.100.1") == "198.51.100.1"
    assert throttle.address_bucket("testclient") == "testclient"


# --------------------------------------------------------------------------- migration
@pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
)
def test_migration_keeps_users_and_gives_old_tokens_a_grace_period(backend, tmp_path, request):
    url = (
        f"sqlite:///{tmp_path / 'c.sqlite'}"
        if backend == "sqlite"
        else request.getfixturevalue("fresh_postgres_url")
    )
    try:
        catalog.upgrade(url, "0002_access")
        with catalog.get_engine(url).begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (username, password_hash, role, active, session_epoch, "
                    "created_at) VALUES ('old', 'x', 'viewer', true, 3, '2026-01-02 03:04:05')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO api_tokens (user_id, name, token_hash, prefix, created_at) "
                    "SELECT id, 'legacy', :h, 'cc_legacy', '2026-01-02 03:04:05' FROM users"
                ),
                {"h": "f" * 64},
            )
        catalog.upgrade(url)
        frame = users.list_tokens(url=url)
        assert list(frame["username"]) == ["old"]  # the user's tokens survived the migration
        expires = frame["expires_at"].iloc[0] - utcnow()
        assert timedelta(days=29) < expires <= timedelta(days=30)
        assert frame["scope"].iloc[0] == "full"
    finally:
        catalog.dispose_engines()


# --------------------------------------------------------------------------- settings
def test_trusted_proxies_and_token_lifetimes_are_checked_settings():
    given = get_settings({"CITYCARBON_TRUSTED_PROXIES": " 10.0.0.0/8, 127.0.0.1 ,::1 "})
    assert given.trusted_proxies == (
        ipaddress.ip_network("10.0.0.0/8"),
        ipaddress.ip_network("127.0.0.1/32"),
        ipaddress.ip_network("::1/128"),
    )
    assert get_settings({}).trusted_proxies == ()
    with pytest.raises(InputError, match=r"CITYCARBON_TRUSTED_PROXIES: .*addresses or networks"):
        get_settings({"CITYCARBON_TRUSTED_PROXIES": "10.0.0.300"})
    with pytest.raises(InputError, match=r"CITYCARBON_TOKEN_DAYS: .*CITYCARBON_TOKEN_MAX_DAYS"):
        get_settings({"CITYCARBON_TOKEN_DAYS": "400"})


def test_processes_starting_together_share_one_stored_secret_key(tmp_path):
    """Workers of one server make the key on first use at the same moment: all must read the
    same whole key (the old create-exclusive-then-write let one fail or read an empty file)."""
    from citycarbon.web.auth import _stored_secret

    start = threading.Barrier(8)
    keys: list[str] = []

    def read() -> None:
        start.wait()
        keys.append(_stored_secret(tmp_path / "home"))

    threads = [threading.Thread(target=read) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(keys) == 8 and len(set(keys)) == 1 and len(keys[0]) >= 64
    assert [p.name for p in (tmp_path / "home").iterdir()] == ["secret_key"]
    assert (tmp_path / "home" / "secret_key").stat().st_mode & 0o777 == 0o600
