"""Scale-out: the query layer on a standalone Spark cluster (a master and two workers that the test
session starts, see tests/spark_cluster.py) gives DuckDB's results on the small demo city, in
process, and the whole pipeline (`citycarbon pipeline run --engine spark`) in a subprocess.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from citycarbon.contract.results import RESULTS
from citycarbon.store import query, results
from tests.spark_cluster import WORKERS, SparkCluster

pytestmark = pytest.mark.spark


def duckdb_results(home: Path) -> dict[str, pd.DataFrame]:
    """Every named query `citycarbon compute` runs (those with data) on DuckDB, by name."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(home))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        with query.open_engine("duckdb") as duck:
            query.register_city(duck)
            names = [n for n in query.named_queries() if not query.missing_views(duck, n)]
            return {n: query.run_query(duck, n) for n in names}


@pytest.fixture(scope="module")
def on_duckdb(small_demo_dir) -> dict[str, pd.DataFrame]:
    """The small demo city's named-query results on DuckDB (the reference)."""
    results = duckdb_results(small_demo_dir)
    assert set(results) == set(query.named_queries())  # the demo has data for every query
    assert all(len(r) > 0 for r in results.values())
    return results


def wait_for_executors(engine: query.SparkEngine, n: int, timeout_s: float = 30.0) -> None:
    """Wait until ``n`` executors have registered with the driver (they start asynchronously)."""
    tracker = engine.spark.sparkContext._jsc.sc().statusTracker()
    deadline = time.monotonic() + timeout_s
    while len(tracker.getExecutorInfos()) < n + 1:  # the driver is listed too
        if time.monotonic() > deadline:
            raise AssertionError(f"{n} executors did not register within {timeout_s:.0f} s")
        time.sleep(0.2)


def test_named_queries_on_the_cluster_equal_duckdb(
    demo_home, on_duckdb, spark_cluster: SparkCluster
):
    expected = on_duckdb
    with query.open_engine("spark", spark_master=spark_cluster.master_url) as engine:
        assert engine.master == spark_cluster.master_url
        wait_for_executors(engine, WORKERS)
        query.register_city(engine)
        assert [n for n in query.named_queries() if not query.missing_views(engine, n)] == list(
            expected
        )
        for name, reference in expected.items():
            on_spark = query.run_query(engine, name)
            pd.testing.assert_frame_equal(on_spark, reference, rtol=1e-9)
        # the cluster ran it: the application holds one executor on each worker ...
        app_id = engine.spark.sparkContext.applicationId
        state = spark_cluster.state()
        apps = {a["id"]: a for a in state["activeapps"]}
        assert apps[app_id]["name"] == "citycarbon"
        assert apps[app_id]["cores"] == WORKERS
        assert [w["coresused"] for w in state["workers"]] == [1] * WORKERS
        # ... and the tasks ran in those executors (their logs on the workers), not in the driver
        logs = spark_cluster.executor_logs(app_id)
        assert all(logs.values()), f"an executor log is missing: {list(logs)}"
        assert sum(text.count("Finished task") for text in logs.values()) > 0


def _pipeline(home: Path, env: dict[str, str], engine: str) -> subprocess.CompletedProcess:
    cli = Path(sys.executable).with_name("citycarbon")
    return subprocess.run(
        [str(cli), "pipeline", "run", "--engine", engine],
        env={**env, "CITYCARBON_HOME": str(home), "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_whole_pipeline_on_the_cluster_equals_duckdb(
    small_demo_dir, spark_cluster: SparkCluster, tmp_path
):
    """`citycarbon pipeline run --engine spark` (every step, every year) in a subprocess whose
    application runs on the cluster, against the same run on DuckDB: every declared result
    equal, provenance aside."""
    env = {**os.environ, "CITYCARBON_SPARK_MASTER": spark_cluster.master_url}
    env.pop("CITYCARBON_DATABASE_URL", None)
    homes = {}
    for engine in ("duckdb", "spark"):
        homes[engine] = tmp_path / engine  # the runs write results: on copies of the demo
        shutil.copytree(small_demo_dir, homes[engine], ignore=shutil.ignore_patterns("demo-input"))
    # the cluster's two cores are held by the in-process application, if any: free them
    query.stop_spark(spark_cluster.master_url)
    before = {a["id"] for a in spark_cluster.state()["completedapps"]}
    for engine, home in homes.items():
        done = _pipeline(home, env, engine)
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"on {engine}" in done.stdout
        assert "failed" not in done.stdout

    # the Spark run's application ran on the cluster, in an executor on each worker
    finished = [a for a in spark_cluster.state()["completedapps"] if a["id"] not in before]
    assert [a["name"] for a in finished] == ["citycarbon"]
    logs = spark_cluster.executor_logs(finished[0]["id"])
    assert all(logs.values()), f"an executor log is missing: {list(logs)}"

    skip = ["run_id", "source_batches", "engine"]
    compared = 0
    for name, decl in RESULTS.items():
        got = {e: results.current(decl, lake=h / "lake") for e, h in homes.items()}
        assert len(got["spark"]) == len(got["duckdb"]), name
        if not len(got["duckdb"]):
            continue
        key = list(decl.key)
        a, b = (
            got[e].drop(columns=[c for c in skip if c in got[e]]).sort_values(key, kind="stable")
            for e in ("spark", "duckdb")
        )
        pd.testing.assert_frame_equal(
            a.reset_index(drop=True), b.reset_index(drop=True), rtol=1e-9, check_dtype=False
        )
        compared += 1
    assert compared >= 12  # the demo city has data for (nearly) every declared result
