"""Benchmarks: run by `make bench` (pytest -m slow -s benchmarks); each prints its figures."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def full_demo_dir(tmp_path_factory) -> Path:
    """A CITYCARBON_HOME with the full-size demo city (3,000 enterprises, 2022–2024, 21 M hourly
    readings), generated, ingested and computed once per benchmark session (not timed).

    ``$CITYCARBON_BENCH_HOME`` names an existing demo home to reuse instead (it is copied, so the
    benchmarks never change it). Benchmarks that write copy it again (``full_demo_copy``).
    """
    from citycarbon.demo.pipeline import run_demo

    home = tmp_path_factory.mktemp("full-demo")
    given = os.environ.get("CITYCARBON_BENCH_HOME")
    if given:
        shutil.copytree(given, home, dirs_exist_ok=True)
        return home
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CITYCARBON_HOME", str(home))
        mp.delenv("CITYCARBON_DATABASE_URL", raising=False)
        t = time.perf_counter()
        run_demo(enterprises=3000, years=3)
        print(f"\nfull demo built in {time.perf_counter() - t:.1f} s (not part of any figure)")
    return home


@pytest.fixture
def full_demo_copy(full_demo_dir, tmp_path, monkeypatch) -> Path:
    """A private copy of the full demo home, set as CITYCARBON_HOME for one benchmark."""
    home = tmp_path / "home"
    shutil.copytree(full_demo_dir, home, ignore=shutil.ignore_patterns("cache"))
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    return home
