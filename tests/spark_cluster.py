"""pytest plugin: a real, throw-away standalone Spark cluster (one master, two workers).

Fixtures
--------
spark_cluster   session: the running cluster (``.master_url``, ``.state()``, ``.executor_logs()``)
spark_master    session: its master URL, ``spark://127.0.0.1:<port>``

The master and the workers are the JVM daemons of the installed PySpark
(``pyspark/bin/spark-class org.apache.spark.deploy.master.Master`` / ``...worker.Worker``), each
in its own process group, bound to 127.0.0.1 only, on free ports, with small heaps (daemons
256 MB; each worker offers 1 core and 1 GB to executors). The fixture waits until the master's
JSON page (``http://127.0.0.1:<webui>/json/``) lists both workers ALIVE, and at the end stops
every daemon and the executors they started (SIGTERM to each process group, SIGKILL after a
grace period), also when a test or the start itself failed, then deletes the cluster directory.

A driver in the test process reaches the cluster through
``citycarbon.store.query.open_engine("spark", spark_master=<url>)``; the lake is on the local
filesystem, which the executors share (same machine). A cluster has two cores: one application
holds both while it runs, so stop the in-process session (``query.stop_spark()``) before another
process (the CLI in a subprocess) submits to the same master.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

HOST = "127.0.0.1"
WORKERS = 2
WORKER_CORES = 1
WORKER_MEMORY = "1g"
DAEMON_MEMORY = "256m"
START_TIMEOUT_S = 60.0
STOP_GRACE_S = 10.0
_started: list[SparkCluster] = []


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def spark_home() -> Path:
    """The Spark distribution inside the installed PySpark (``bin/spark-class``, ``jars/``)."""
    import pyspark

    return Path(pyspark.__file__).parent


@dataclass
class SparkCluster:
    """A standalone master and its workers in one directory, started and stopped by this plugin."""

    root: Path
    port: int = 0
    webui_port: int = 0
    procs: list[tuple[str, subprocess.Popen]] = field(default_factory=list)
    startup_s: float = float("nan")

    @property
    def master_url(self) -> str:
        return f"spark://{HOST}:{self.port}"

    @property
    def json_url(self) -> str:
        return f"http://{HOST}:{self.webui_port}/json/"

    def env(self) -> dict[str, str]:
        """Environment of the daemons (the executors inherit it from their worker)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SPARK_", "PYSPARK_"))}
        env.update(
            SPARK_HOME=str(spark_home()),
            SPARK_LOCAL_IP=HOST,
            SPARK_LOCAL_DIRS=str(self.root / "local"),
            SPARK_DAEMON_MEMORY=DAEMON_MEMORY,
            # the daemons mostly wait: a small collector and the quick JIT start them sooner
            SPARK_DAEMON_JAVA_OPTS="-XX:+UseSerialGC -XX:TieredStopAtLevel=1",
            SPARK_CONF_DIR=str(self.root / "conf"),
            PYSPARK_PYTHON=sys.executable,
        )
        return env

    def _spawn(self, name: str, *args: str) -> None:
        with open(self.root / f"{name}.log", "wb") as log:
            proc = subprocess.Popen(
                [str(spark_home() / "bin" / "spark-class"), *args],
                cwd=self.root,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: the executors it starts join it
            )
        self.procs.append((name, proc))

    def start(self) -> None:
        """Start the master and the workers; wait until the master lists every worker ALIVE."""
        t0 = time.perf_counter()
        for sub in ("local", "conf", "work"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        self.port, self.webui_port = _free_port(), _free_port()
        self._spawn(
            "master",
            "org.apache.spark.deploy.master.Master",
            *("--host", HOST, "--port", str(self.port), "--webui-port", str(self.webui_port)),
        )
        for i in range(WORKERS):
            self._spawn(
                f"worker{i + 1}",
                "org.apache.spark.deploy.worker.Worker",
                self.master_url,
                *("--cores", str(WORKER_CORES), "--memory", WORKER_MEMORY, "--host", HOST),
                *("--webui-port", str(_free_port())),
                *("--work-dir", str(self.root / "work" / f"worker{i + 1}")),
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            dead = [(n, p.returncode) for n, p in self.procs if p.poll() is not None]
            if dead:
                raise RuntimeError(f"Spark daemon(s) exited: {dead}\n{self.log_tail()}")
            if len(self.alive_workers()) == WORKERS:
                self.startup_s = time.perf_counter() - t0
                return
            time.sleep(0.5)
        raise RuntimeError(
            f"the Spark master did not list {WORKERS} ALIVE workers within {START_TIMEOUT_S:.0f} s"
            f"\n{self.log_tail()}"
        )

    def state(self) -> dict[str, Any]:
        """The master's JSON status page (workers, active and completed applications)."""
        with urllib.request.urlopen(self.json_url, timeout=5) as resp:
            return json.load(resp)

    def alive_workers(self) -> list[dict[str, Any]]:
        try:
            workers = self.state().get("workers", [])
        except (urllib.error.URLError, OSError, ValueError):
            return []
        return [w for w in workers if w.get("state") == "ALIVE"]

    def executor_logs(self, app_id: str) -> dict[str, str]:
        """Per worker, the stderr of the executor(s) it ran for application ``app_id``."""
        out = {}
        for i in range(WORKERS):
            app_dir = self.root / "work" / f"worker{i + 1}" / app_id
            logs = sorted(app_dir.glob("*/stderr")) if app_dir.exists() else []
            out[f"worker{i + 1}"] = "".join(p.read_text(errors="replace") for p in logs)
        return out

    def stop(self) -> None:
        """Stop the workers (and their executors), then the master; delete the directory."""
        for _name, proc in reversed(self.procs):
            if proc.poll() is None:
                _signal_group(proc, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for _name, proc in self.procs:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(proc, signal.SIGKILL)  # stragglers of the group (executors) too
            proc.wait()
        self.procs.clear()
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, n: int = 20) -> str:
        tails = []
        for name, _proc in self.procs:
            log = self.root / f"{name}.log"
            if log.exists():
                lines = log.read_text(errors="replace").splitlines()[-n:]
                tails.append(f"--- {name}.log\n" + "\n".join(lines))
        return "\n".join(tails)


def _signal_group(proc: subprocess.Popen, sig: signal.Signals) -> None:
    try:
        os.killpg(proc.pid, sig)  # start_new_session: the group id is the daemon's pid
    except (ProcessLookupError, PermissionError):
        pass


@pytest.fixture(scope="session")
def spark_cluster() -> Iterator[SparkCluster]:
    """A running standalone Spark cluster (master + 2 workers) for the whole session."""
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    cluster = SparkCluster(Path(tempfile.mkdtemp(prefix="citycarbon-spark-")))
    try:
        cluster.start()
    except (OSError, RuntimeError) as err:
        cluster.stop()
        pytest.fail(f"could not start a standalone Spark cluster: {err}", pytrace=False)
    _started.append(cluster)
    try:
        yield cluster
    finally:
        from citycarbon.store import query

        query.stop_spark(cluster.master_url)  # the driver first: it would reconnect forever
        cluster.stop()


@pytest.fixture(scope="session")
def spark_master(spark_cluster: SparkCluster) -> str:
    """Master URL of the session's standalone Spark cluster."""
    return spark_cluster.master_url


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for cluster in _started:
        terminalreporter.write_line(
            f"spark_cluster: master and {WORKERS} workers started in {cluster.startup_s:.1f} s "
            f"({cluster.master_url})"
        )
