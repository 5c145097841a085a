"""Carbon-efficiency grades of 3,000 enterprises x 36 months: floor <= 2 s (issue 16).

Timed: :func:`citycarbon.runs.rating.grade` on 108,000 enterprise-months (monthly and annual
grades, movement, distributions by city, district, park and industry), synthetic inputs shaped
like the demo's (40 GB/T 4754 classes, 6 districts, 12 parks). Best of three runs.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from citycarbon.rating import efficiency as ef
from citycarbon.runs import rating

ENTERPRISES = 3000
MONTHS = 36


def _inputs() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(16)
    codes = np.array([f"E{i:05d}" for i in range(ENTERPRISES)])
    registry = pd.DataFrame(
        {
            "credit_code": codes,
            "industry_code": [f"C{3900 + i % 40}" for i in range(ENTERPRISES)],
            "district_code": [f"35020{i % 6}" for i in range(ENTERPRISES)],
            "park_code": [f"P{i % 12}" if i % 3 else None for i in range(ENTERPRISES)],
        }
    )
    periods = pd.date_range("2022-01-01", periods=MONTHS, freq="MS")
    n = ENTERPRISES * MONTHS
    co2 = rng.lognormal(5, 1, n)
    monthly = pd.DataFrame(
        {
            "enterprise_code": np.repeat(codes, MONTHS),
            "year": np.tile(periods.year.to_numpy(), ENTERPRISES).astype("int64"),
            "month": np.tile(periods.month.to_numpy(), ENTERPRISES).astype("int64"),
            "co2_t": co2,
            "electricity_co2_t": co2 * 0.6,
            "value_added_10k_cny": rng.lognormal(5, 1, n),
            "green_mwh": np.where(rng.random(n) < 0.1, rng.uniform(0, 100, n), 0.0),
            "grid_ef_tco2_per_mwh": 0.5366,
        }
    )
    return monthly, registry


@pytest.mark.slow
def test_grading_3000_enterprises_36_months_under_2_s():
    monthly, registry = _inputs()
    rules = ef.efficiency_rules()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        graded, dist = rating.grade(monthly, registry, rules)
        times.append(time.perf_counter() - t0)
    print(
        f"\nrating: {ENTERPRISES} enterprises x {MONTHS} months -> {len(graded):,} grades, "
        f"{len(dist):,} distribution rows in {min(times):.3f} s (floor 2 s)"
    )
    assert len(graded) == ENTERPRISES * (MONTHS + MONTHS // 12)
    assert min(times) <= 2.0


@pytest.mark.slow
def test_grading_the_full_demo_under_2_s(full_demo_dir, monkeypatch):
    """The same floor on the full demo's own inputs (3,000 enterprises, 36 months), read from
    its lake once (not timed)."""
    from citycarbon.config import load_city
    from citycarbon.config.settings import get_settings
    from citycarbon.store import catalog

    monkeypatch.setenv("CITYCARBON_HOME", str(full_demo_dir))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    settings = get_settings()
    monthly = rating.monthly_inputs(None, city=load_city(), settings=settings)
    registry = catalog.registry_frame("enterprises", url=settings.database_url)
    rules = ef.efficiency_rules()
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        graded, _ = rating.grade(monthly, registry, rules)
        times.append(time.perf_counter() - t0)
    print(
        f"\nrating (full demo): {monthly['enterprise_code'].nunique():,} enterprises, "
        f"{len(monthly):,} enterprise-months -> {len(graded):,} grades in {min(times):.3f} s"
    )
    assert min(times) <= 2.0
