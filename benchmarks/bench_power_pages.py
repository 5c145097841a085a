"""Speed of the demo step that persists nodal intensities and hourly scope 2 (full demo: 3,000
enterprises, ~7 M hourly readings in the latest year), and of the /power page reads.

Run: ``.venv/bin/python -m pytest -m slow -s benchmarks/bench_power_pages.py``
(``CITYCARBON_BENCH_HOME=<an existing full demo home>`` skips building one).
"""

from __future__ import annotations

import time

import pytest


@pytest.mark.slow
def test_persist_demo_scope2_full_demo(full_demo_copy):
    from citycarbon.read import power as pw
    from citycarbon.read.access import SYSTEM
    from citycarbon.runs.power import backtest_table
    from citycarbon.runs.scope2 import persist_demo_scope2

    t = time.perf_counter()
    out = persist_demo_scope2()
    total = time.perf_counter() - t
    print(
        f"\npersist_demo_scope2 {out['year']}: {total:.1f} s (DuckDB read+aggregate while the "
        f"grid loads, flow, scope 2, write); {out['rows_aggregated']:,} enterprise-node-hours"
    )
    t = time.perf_counter()
    rows = (
        len(pw.scope2(SYSTEM))
        + len(pw.nowcast(SYSTEM))
        + len(backtest_table(pw.backtest_rows(SYSTEM)))
    )
    print(f"power page reads (scope 2, nowcast, backtest): {time.perf_counter() - t:.2f} s")
    assert rows > 0 and out["rows_aggregated"] > 0
