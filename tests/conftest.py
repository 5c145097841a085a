"""Shared test fixtures."""

import os
from pathlib import Path

import pytest

# pgserver: a real PostgreSQL server for tests marked `postgres` (postgres_url, fresh_postgres_url);
# spark_cluster: a standalone Spark master and two workers (spark_cluster, spark_master);
# web_fixtures: web_home, app.
pytest_plugins = ["tests.pgserver", "tests.spark_cluster", "tests.web_fixtures"]

# The CLI's rich console takes its width from COLUMNS when it is created: one wide terminal for
# every test, whichever test first imports the CLI (and on every pytest-xdist worker).
os.environ["COLUMNS"] = "300"

#: Size of the small demo city the tests share (built once per test session).
SMALL_DEMO = {"enterprises": 150, "years": 3}


@pytest.fixture(scope="session")
def small_demo_dir(tmp_path_factory) -> Path:
    """A CITYCARBON_HOME holding the small demo city, generated, ingested and computed once.

    Tests must not change it: use ``demo_home`` (read-only use) or copy it.
    """
    from citycarbon.demo.pipeline import run_demo

    home = tmp_path_factory.mktemp("small-demo")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(home))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        run_demo(**SMALL_DEMO)
    return home


@pytest.fixture(scope="session")
def demo_inventory(small_demo_dir):
    """The small demo city's inventory results, computed once (``write=False``: not stored)."""
    from citycarbon.runs.inventory import compute_inventory

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(small_demo_dir))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        return compute_inventory(write=False, mc_iterations=2000)


@pytest.fixture
def demo_home(small_demo_dir, monkeypatch) -> Path:
    """CITYCARBON_HOME pointed at the shared small demo city for the duration of one test."""
    monkeypatch.setenv("CITYCARBON_HOME", str(small_demo_dir))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    return small_demo_dir
