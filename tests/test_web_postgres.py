"""The web platform with PostgreSQL as the catalog and two server processes (issue 14).

The small demo city is built with its catalog on the session's PostgreSQL server
(tests/pgserver.py); two uvicorn processes then serve it, as ``citycarbon serve --workers 2``
does. Each listens on its own port, so that a test can say which process a request reaches
(behind one port the kernel picks). Both start together without ``CITYCARBON_SECRET_KEY``: they
must agree on the key kept in the home, or a form made by one would fail on the other.

What must hold across the processes: a session made on one is valid on the other and ends on
both (at once where it was ended, elsewhere within ``USER_CACHE_TTL_S``); throttling counts the
attempts of both in one atomic counter; cached users and tokens see the other's changes; the
role scopes read the same on PostgreSQL as on SQLite.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from citycarbon.demo.users import demo_password
from citycarbon.read import access
from citycarbon.store import catalog, users
from citycarbon.web.auth import SESSION_COOKIE
from tests.conftest import SMALL_DEMO
from tests.web_fixtures import CSRF_RE, _free_port

pytestmark = pytest.mark.postgres
#: Sign-in attempts one address may make at once (lower than the default, to keep this short).
ADDRESS_LIMIT = 8
TIMEOUT = httpx.Timeout(120.0)


@pytest.fixture(scope="module")
def pg_city(postgres_server, tmp_path_factory) -> Iterator[tuple[Path, str]]:
    """The small demo city (lake in a home, catalog on PostgreSQL), the environment pointed
    at it for the module."""
    from citycarbon.demo.pipeline import run_demo

    url = postgres_server.create_database("web_two_processes")
    home = tmp_path_factory.mktemp("pg-web") / "home"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(home))
        mp.setenv("CITYCARBON_DATABASE_URL", url)
        mp.delenv("CITYCARBON_SECRET_KEY", raising=False)
        access.invalidate()
        run_demo(**SMALL_DEMO)
        yield home, url
    access.invalidate()
    catalog.dispose_engines()


@pytest.fixture(scope="module")
def servers(pg_city) -> Iterator[tuple[str, str]]:
    """Two uvicorn processes over the city: their base URLs. 127.0.0.1 (this test) is a
    trusted proxy, so ``X-Forwarded-For`` picks the client address a request comes from."""
    home, url = pg_city
    env = {
        **os.environ,
        "CITYCARBON_HOME": str(home),
        "CITYCARBON_DATABASE_URL": url,
        "CITYCARBON_TRUSTED_PROXIES": "127.0.0.1",
        "CITYCARBON_LOGIN_ADDRESS_LIMIT": str(ADDRESS_LIMIT),
    }
    env.pop("CITYCARBON_SECRET_KEY", None)
    ports: list[int] = []
    while len(ports) < 2:
        ports += {_free_port()} - set(ports)
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--factory",
                "citycarbon.web.app:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--log-level",
                "warning",
                "--no-proxy-headers",
            ],
            env=env,
        )
        for port in ports
    ]
    bases = tuple(f"http://127.0.0.1:{p}" for p in ports)
    try:
        for base in bases:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                    pytest.fail("a server process did not start")
                time.sleep(0.2)
        yield bases
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def browser() -> httpx.Client:
    """One cookie jar for both processes (cookies do not depend on the port)."""
    return httpx.Client(timeout=TIMEOUT, follow_redirects=False)


def csrf(client: httpx.Client, base: str, path: str = "/login", **kw) -> str:
    match = CSRF_RE.search(client.get(f"{base}{path}", **kw).text)
    assert match, "no CSRF token in the page"
    return match.group(1)


def log_in(
    client: httpx.Client, base: str, username: str, password: str | None = None, address=None
) -> httpx.Response:
    headers = {"X-Forwarded-For": address} if address else {}
    token = csrf(client, base, headers=headers)
    form = {"username": username, "password": password or demo_password(username)}
    return client.post(f"{base}/login", data={**form, "csrf_token": token}, headers=headers)


def eventually(check: Callable[[], bool], within: float = users.USER_CACHE_TTL_S + 3.0) -> float:
    """Seconds until ``check()`` holds; fails after ``within``."""
    t0 = time.monotonic()
    while not check():
        if time.monotonic() - t0 > within:
            pytest.fail(f"not seen within {within} s")
        time.sleep(0.1)
    return time.monotonic() - t0


def status(client: httpx.Client, url: str, **kw) -> int:
    return client.get(url, **kw).status_code


# --------------------------------------------------------------------------- sessions
def test_a_session_made_on_one_process_works_and_ends_on_the_other(servers):
    a, b = servers
    user = browser()
    assert log_in(user, a, "viewer").status_code == 303
    assert user.get(f"{b}/api/v1/me").json()["username"] == "viewer"
    thief = httpx.Client(timeout=TIMEOUT, cookies={SESSION_COOKIE: user.cookies[SESSION_COOKIE]})
    assert status(thief, f"{a}/api/v1/me") == 200 and status(thief, f"{b}/api/v1/me") == 200
    # a form rendered by one process is accepted by the other (one secret key)
    token = csrf(user, b, "/")
    assert user.post(f"{a}/logout", data={"csrf_token": token}).status_code == 303
    assert status(thief, f"{a}/api/v1/me") == 401  # at once where it ended
    eventually(lambda: status(thief, f"{b}/api/v1/me") == 401)
    assert status(user, f"{b}/api/v1/me") == 401


def test_an_admin_ends_sessions_on_every_process(servers):
    a, b = servers
    park = browser()
    assert log_in(park, b, "park").status_code == 303
    assert status(park, f"{b}/api/v1/me") == 200
    admin = browser()
    assert log_in(admin, a, "admin").status_code == 303
    r = admin.post(
        f"{a}/admin/users/park/sessions/end", data={"csrf_token": csrf(admin, a, "/admin")}
    )
    assert r.status_code == 303
    eventually(lambda: status(park, f"{b}/api/v1/me") == 401)


# --------------------------------------------------------------------------- throttling
def test_throttling_counts_the_attempts_of_both_processes(servers):
    """20 simultaneous wrong passwords for one user from one address, half to each process:
    exactly CITYCARBON_LOGIN_USER_LIMIT (5) are checked, the rest wait (429, Retry-After)."""
    a, b = servers
    address = {"X-Forwarded-For": "203.0.113.9"}
    guessers = [(browser(), (a, b)[i % 2]) for i in range(20)]
    tokens = [csrf(c, base, headers=address) for c, base in guessers]
    start = threading.Barrier(20)
    answers: list[httpx.Response] = []

    def guess(client: httpx.Client, base: str, token: str) -> None:
        form = {"username": "analyst", "password": "wrong-guess", "csrf_token": token}
        start.wait()
        answers.append(client.post(f"{base}/login", data=form, headers=address))

    threads = [
        threading.Thread(target=guess, args=(c, base, t))
        for (c, base), t in zip(guessers, tokens, strict=True)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(r.status_code for r in answers)
    assert codes == [401] * 5 + [429] * 15
    assert all(int(r.headers["retry-after"]) >= 1 for r in answers if r.status_code == 429)
    # the analyst, from elsewhere, signs in: a wait, not a lock-out
    assert log_in(browser(), b, "analyst", address="192.0.2.99").status_code == 303
    # the address has used its ADDRESS_LIMIT attempts: another user name from it waits too
    assert log_in(browser(), a, "viewer", address="203.0.113.9").status_code == 429


# --------------------------------------------------------------------------- tokens, caches
def test_tokens_and_cached_users_across_processes(servers, pg_city):
    a, b = servers
    admin = browser()
    assert log_in(admin, a, "admin").status_code == 303
    form = {"username": "pg-token", "password": "first-password", "role": "viewer"}
    r = admin.post(f"{a}/admin/users", data={**form, "csrf_token": csrf(admin, a, "/admin")})
    assert r.status_code == 303
    owner = browser()
    assert log_in(owner, b, "pg-token", "first-password").status_code == 303
    r = owner.post(
        f"{b}/api/v1/tokens",
        json={"name": "integration"},
        headers={"X-CSRF-Token": csrf(owner, a, "/")},  # the form of the other process
    )
    assert r.status_code == 201
    token_id, token = r.json()["id"], r.json()["token"]
    api = httpx.Client(timeout=TIMEOUT, headers={"Authorization": f"Bearer {token}"})
    assert api.get(f"{a}/api/v1/me").json()["role"] == "viewer"
    assert api.post(f"{b}/api/v1/tokens", json={"name": "child"}).status_code == 403
    # last_used_at reaches the catalog
    eventually(
        lambda: pd.notna(
            users.list_tokens(username="pg-token").set_index("id").loc[token_id, "last_used_at"]
        ),
        within=10,
    )
    # a role change made through one process is seen by the other's cached look-up
    assert api.get(f"{b}/api/v1/me").json()["role"] == "viewer"
    form = {"role": "city_analyst", "scope_code": "", "active": "on"}
    r = admin.post(
        f"{a}/admin/users/pg-token", data={**form, "csrf_token": csrf(admin, a, "/admin")}
    )
    assert r.status_code == 303
    eventually(lambda: api.get(f"{b}/api/v1/me").json().get("role") == "city_analyst")
    assert status(owner, f"{b}/api/v1/me") == 401  # the role change ended the session
    # a password reset through one process revokes the token on the other
    r = admin.post(
        f"{b}/admin/users/pg-token/password",
        data={"password": "second-password", "csrf_token": csrf(admin, b, "/admin")},
    )
    assert r.status_code == 303
    eventually(lambda: status(api, f"{a}/api/v1/me") == 401)


def test_role_scopes_read_the_same_on_postgresql(servers):
    a, b = servers
    codes = set(catalog.registry_frame("enterprises")["credit_code"])
    for i, name in enumerate(("siming", "park", "enterprise")):
        base = (a, b)[i % 2]
        client = browser()
        assert log_in(client, base, name).status_code == 303
        principal = access.Principal.of(users.get_user_by_name(name))
        inside = access.visible_enterprise_codes(principal)
        listed = client.get(f"{base}/api/v1/enterprises", params={"limit": 1000}).json()
        assert {e["credit_code"] for e in listed["items"]} == inside
        outside = sorted(codes - inside)[0]
        other = (b, a)[i % 2]
        assert status(client, f"{other}/api/v1/enterprises/{outside}") == 404
        assert status(client, f"{other}/api/v1/enterprises/{sorted(inside)[0]}") == 200
