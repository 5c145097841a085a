"""City energy balance + GHG inventory of the full demo city (3,000 enterprises, 3 years).

Floor (issues 5 and 15): inventory + balance + uncertainty over all sectors (energy with
transport by mode, IPPU, waste, sinks; + the targets read of its results, where that module
exists) <= 10 s. The full demo city is built once per benchmark session (benchmarks/conftest.py, not timed).
Run: ``.venv/bin/python -m pytest -m slow -s benchmarks/bench_inventory.py``.
"""

from __future__ import annotations

import time

import pytest


@pytest.mark.slow
def test_inventory_full_demo_speed(full_demo_copy):
    from citycarbon.runs.inventory import compute_inventory

    t = time.perf_counter()
    out = compute_inventory()
    inventory_s = time.perf_counter() - t
    targets_s = 0.0
    try:
        from citycarbon.runs.targets_inputs import load_actuals
    except ImportError:  # part B not present
        load_actuals = None
    if load_actuals is not None:
        t = time.perf_counter()
        actuals = load_actuals()
        targets_s = time.perf_counter() - t
        assert actuals.source == "city_inventory"
    print(f"compute_inventory (balance, inventory, indicators, uncertainty): {inventory_s:.2f} s")
    print(f"targets read of the results (load_actuals): {targets_s:.2f} s")
    for name, frame in out.items():
        print(f"  {name}: {len(frame):,} rows")
    ind = out["city_indicators"]
    last = ind[(ind["period_type"] == "year") & (ind["year"] == ind["year"].max())]
    for r in last.itertuples():
        if r.indicator in (
            "total_ghg_tco2e",
            "total_ghg_tco2e_territorial",
            "energy_consumption_tce",
            "intensity_tco2e_per_10k_cny",
            "coal_share",
            "nonfossil_share",
            "enterprise_coverage_share",
        ):
            print(f"  {r.year} {r.indicator}: {r.value:,.4g} {r.unit}")
    # every sector of issue 15 is in the timed run: transport by mode, waste, sinks
    ci = out["city_inventory"]
    assert {"1.A.3.a", "1.A.3.b", "1.A.3.c", "1.A.3.d", "4.A", "4.D"} <= set(ci["sector"])
    assert not out["city_sinks"].empty and out["inventory_uncertainty"]["year"].nunique() == 3
    assert inventory_s + targets_s <= 10.0
