"""Fixtures of the web platform tests: a writable copy of the small demo city (with its demo
users, one per role), signed-in TestClients, and for the browser tests a live uvicorn server
(:func:`live_server`) and Debian chromium driven by Playwright (fixture ``browser``)."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from citycarbon.demo.users import demo_password
from citycarbon.web.app import create_app
from citycarbon.web.auth import WebSettings

SETTINGS = WebSettings(secret_key="test-secret-key-not-for-production")
CHROMIUM = Path("/usr/bin/chromium")
#: Where browser tests save their screenshots (test artifacts, not committed).
SHOTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
#: Marks of every browser test module: ``pytestmark = BROWSER_MARKS``.
BROWSER_MARKS = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium not installed"),
]
CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(scope="module")
def web_home(small_demo_dir: Path, tmp_path_factory) -> Iterator[Path]:
    """A copy of the small demo home (sign-ins and uploads write to the catalog)."""
    from citycarbon.read import access

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


@pytest.fixture(scope="module")
def job_worker(web_home: Path) -> Iterator[object]:
    """The real job consumer (huey, SqliteHuey in the home, one worker thread) for a module."""
    from citycarbon.runs import jobs

    consumer = jobs.start_worker()
    yield consumer
    jobs.stop_worker(consumer)


def wait_job(client: TestClient, job_id: int, timeout_s: float = 120, **kw) -> dict:
    """Poll ``/api/v1/jobs/{id}`` (as a user would) until the job is done or failed."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        r = client.get(f"/api/v1/jobs/{job_id}", **kw)
        assert r.status_code == 200, r.text[:500]
        job = r.json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.2)
    pytest.fail(f"job {job_id} did not finish in {timeout_s} s")


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


# --------------------------------------------------------------------------- browser tests
def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def live_server(home: Path) -> Iterator[str]:
    """uvicorn in a second process serving the app over ``home`` (with the embedded job
    worker, as ``citycarbon serve`` runs it); yields its base URL."""
    env = {**os.environ, "CITYCARBON_HOME": str(home), "CITYCARBON_WORKER": "embedded"}
    env.pop("CITYCARBON_DATABASE_URL", None)
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "--factory", "citycarbon.web.app:create_app",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("the server did not start")
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def demo_copy(small_demo_dir: Path, tmp_path_factory, name: str) -> Path:
    """A private copy of the small demo home for one test module."""
    home = tmp_path_factory.mktemp(name) / "h"
    shutil.copytree(small_demo_dir, home)
    return home


@pytest.fixture(scope="session")
def browser():
    """Debian chromium, headless, launched once per test session (Playwright)."""
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield b
        b.close()
