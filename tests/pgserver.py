"""pytest plugin: a real, throw-away PostgreSQL server for the test session.

Fixtures
--------
postgres_server      session: the running server (``.url(db)``, ``.create_database()``)
postgres_url         session: ``postgresql+psycopg://`` URL of the database ``citycarbon_test``
fresh_postgres_url   function: URL of a new, empty database for one test

The server is initialised with ``initdb`` into a temporary directory, listens on a free
localhost port (its Unix socket in the same directory), trusts local connections, runs with
fsync off (it holds nothing worth keeping) and is stopped and deleted at the end of the session.
PostgreSQL refuses to run as root; as root the server runs as the ``postgres`` system user if
there is one, else ``nobody``. Without PostgreSQL binaries the fixtures fail (they do not skip):
``make test`` installs them (``scripts/install-system-deps.sh``, Debian package ``postgresql``).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SEARCH_DIRS = (
    "/usr/lib/postgresql/*/bin",
    "/usr/local/bin",
    "/usr/local/pgsql/bin",
    "/usr/pgsql-*/bin",
    "/opt/homebrew/bin",
)
SUPERUSER = "postgres"
HOST = "127.0.0.1"
SERVER_SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
    "shared_buffers": "32MB",
}
_started: list[PostgresServer] = []


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(p) for p in Path(path).parent.name.split(".") if p.isdigit()) or (0,)


def find_bindir() -> Path | None:
    """Directory holding ``initdb``, ``pg_ctl`` and ``postgres`` (PATH first, newest version)."""
    on_path = shutil.which("pg_ctl")
    candidates = [str(Path(on_path).resolve().parent)] if on_path else []
    for pattern in SEARCH_DIRS:
        candidates += sorted(glob.glob(pattern), key=_version_key, reverse=True)
    for directory in candidates:
        if all(os.access(Path(directory, b), os.X_OK) for b in ("initdb", "pg_ctl", "postgres")):
            return Path(directory)
    return None


def _run_as() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a 'postgres' nor a 'nobody' user exists")


def _reachable_tmp(account: pwd.struct_passwd | None) -> str | None:
    """A temp parent another account can traverse and whose socket path stays short."""
    base = Path(tempfile.gettempdir())
    ok = len(str(base)) < 60 and (
        account is None or all(os.stat(p).st_mode & 0o001 for p in (base, *base.parents))
    )
    return None if ok else "/tmp"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@dataclass
class PostgresServer:
    """A PostgreSQL server in its own directory, started and stopped by this plugin."""

    bindir: Path
    root: Path
    account: pwd.struct_passwd | None
    port: int = 0
    startup_s: float = float("nan")
    version: str = ""
    _counter: itertools.count = field(default_factory=itertools.count)

    @property
    def datadir(self) -> Path:
        return self.root / "data"

    def _run(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C", HOME=str(self.root))
        owner = {}
        if self.account is not None:
            owner = {"user": self.account.pw_uid, "group": self.account.pw_gid, "extra_groups": []}
        return subprocess.run(
            args, cwd=self.root, env=env, capture_output=True, text=True, check=check, **owner
        )

    def start(self) -> None:
        """initdb, configure, start on a free port (retrying if the port was taken)."""
        t0 = time.perf_counter()
        if self.account is not None:
            os.chown(self.root, self.account.pw_uid, self.account.pw_gid)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.datadir),
            "-U",
            SUPERUSER,
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
        )
        for _attempt in range(5):
            self.port = _free_port()
            settings = {
                **SERVER_SETTINGS,
                "port": str(self.port),
                "unix_socket_directories": f"'{self.root}'",
            }
            with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
                conf.writelines(f"{k} = {v}\n" for k, v in settings.items())
            done = self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.root / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
                check=False,
            )
            if done.returncode == 0:
                break
        else:
            raise RuntimeError(
                f"PostgreSQL did not start:\n{done.stdout}{done.stderr}\n{self.log_tail()}"
            )
        self.startup_s = time.perf_counter() - t0
        self.version = self._run(str(self.bindir / "postgres"), "--version").stdout.strip()

    def stop(self) -> None:
        """Stop the server (fast shutdown: disconnects clients) and delete its directory."""
        if self.port:
            self._run(
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-m",
                "fast",
                "-w",
                "stop",
                check=False,
            )
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n: int = 30) -> str:
        log = self.root / "server.log"
        return (
            "".join(log.read_text(errors="replace").splitlines(True)[-n:]) if log.exists() else ""
        )

    def url(self, dbname: str = "postgres") -> str:
        """SQLAlchemy URL of a database on this server (psycopg 3 driver)."""
        return f"postgresql+psycopg://{SUPERUSER}@{HOST}:{self.port}/{dbname}"

    def create_database(self, name: str | None = None) -> str:
        """Create an empty database (default name ``t<n>``) and return its URL."""
        import psycopg

        name = name or f"t{next(self._counter)}"
        with psycopg.connect(
            host=HOST, port=self.port, user=SUPERUSER, dbname="postgres", autocommit=True
        ) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A running PostgreSQL server for the whole session; fails if PostgreSQL is not installed."""
    bindir = find_bindir()
    if bindir is None:
        pytest.fail(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) were not found on PATH "
            f"or in {', '.join(SEARCH_DIRS)}. `make test` installs them "
            "(scripts/install-system-deps.sh, Debian package 'postgresql').",
            pytrace=False,
        )
    account = _run_as()
    root = Path(tempfile.mkdtemp(prefix="citycarbon-pg-", dir=_reachable_tmp(account)))
    server = PostgresServer(bindir, root, account)
    try:
        server.start()
    except (subprocess.CalledProcessError, RuntimeError) as err:
        detail = getattr(err, "stderr", "") or ""
        server.stop()
        pytest.fail(f"could not start PostgreSQL from {bindir}: {err}\n{detail}", pytrace=False)
    _started.append(server)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def postgres_url(postgres_server: PostgresServer) -> str:
    """URL of the session's database ``citycarbon_test`` on the real server."""
    return postgres_server.create_database("citycarbon_test")


@pytest.fixture
def fresh_postgres_url(postgres_server: PostgresServer) -> str:
    """URL of a new, empty database for one test."""
    return postgres_server.create_database()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for server in _started:
        terminalreporter.write_line(
            f"pgserver: {server.version} started in {server.startup_s:.2f} s "
            f"(initdb + start) on port {server.port}"
        )
