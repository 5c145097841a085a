"""Fixtures of the web platform tests: a writable copy of the small demo city (with its demo
users, one per role) and signed-in TestClients."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from citycarbon.demo.users import demo_password
from citycarbon.web.app import create_app
from citycarbon.web.auth import WebSettings

SETTINGS = WebSettings(secret_key="test-secret-key-not-for-production")
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def web_home(small_demo_dir: Path, tmp_path_factory) -> Iterator[Path]:
    """A copy of the small demo home (sign-ins and uploads write to the catalog)."""
    from citycarbon.data import access

    home = tmp_path_factory.mktemp("web") / "home"
    shutil.copytree(small_demo_dir, home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(home))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        access.invalidate()
        yield home
    access.invalidate()


@pytest.fixture(scope="module")
def app(web_home: Path):
    return create_app(SETTINGS)


def csrf_of(html: str) -> str:
    m = CSRF_RE.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def sign_in(app, username: str, password: str | None = None) -> TestClient:
    """A TestClient signed in as a user (demo password by default)."""
    client = TestClient(app, raise_server_exceptions=False)
    token = csrf_of(client.get("/login").text)
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": password or demo_password(username),
            "csrf_token": token,
        },
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text[:500]
    return client


def page_csrf(client: TestClient, path: str = "/") -> str:
    return csrf_of(client.get(path).text)
