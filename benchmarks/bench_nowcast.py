"""Daily electricity-to-carbon nowcast over 10,000 meters x 1 year of hourly readings (87.6 M rows).

The demo generator writes a year of hourly readings of 10,000 meters of 3,000 synthetic
enterprises (one Parquet file, cached per session). Timed, as `citycarbon nowcast run` does it:

1. per meter and local day (DuckDB over the file: one hash aggregation, epoch arithmetic for the
   local day, declared gap rule on incomplete meter-days);
2. meter-days -> enterprise-days -> city, district, industry and key-enterprise days and months;
3. calibration (the scope-split ratio model) on the year's monthly statistics (from the same
   demo city's 205-1 returns through the named query ``enterprise_month_fuel_emissions``),
   monthly estimates with intervals, and daily and weekly disaggregation of all 365 days (the
   bench has one year of statistics, so the year is estimated in-sample: same work).

Floor: steps 1-3 <= 10 s wall-clock (on an oversubscribed machine, CPU time / cores; both are
printed). Step 1 dominates (87.6 M rows). Figures are printed.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd
import pytest

METERS = 10_000
ENTERPRISES = 3_000
FLOOR_S = 10.0


@pytest.fixture(scope="module")
def bench_city(tmp_path_factory):
    from citycarbon.demo.generator import build_city, write_meter_readings

    out = Path(tmp_path_factory.mktemp("nowcast-bench"))
    t0 = time.perf_counter()
    demo = build_city(enterprises=ENTERPRISES, meters=METERS, years=1, end_year=2024)
    path = write_meter_readings(demo, out / "meter_readings.parquet")
    print(f"\ngenerated {METERS:,} meters x 1 year hourly in {time.perf_counter() - t0:.1f} s")
    return demo, path


def _statistics(demo):
    """Enterprise-month CO2 of the demo's 205-1 returns through the named query (DuckDB)."""
    from citycarbon import units
    from citycarbon.store import query

    em = demo.energy_monthly.copy()
    em["period"] = pd.to_datetime(em["period"])
    em["year"], em["month"] = em["period"].dt.year, em["period"].dt.month
    with query.open_engine("duckdb") as eng:
        eng.register_frame("current_energy_monthly", em)
        query.register_factors(
            eng,
            demo.city.factor_profile("enterprise"),
            [2024],
            mode=demo.city.factors.mode.enterprise,
            grid_region=demo.city.factors.grid_region,
        )
        fuel = query.run_query(eng, "enterprise_month_fuel_emissions")
        ef = eng.sql(
            "SELECT f.year, f.value_base FROM factor_values f JOIN factor_choice c "
            "ON f.key = c.grid_region WHERE f.parameter = 'grid_ef' AND f.context = ''"
        )
    elec = em[em["fuel"] == "electricity"]
    kwh = elec.groupby(["enterprise_code", "year", "month"])["consumed_total"].sum()
    kwh = units.convert(kwh, "10^4 kWh", "kWh").rename("kwh").reset_index()
    stats = fuel.merge(kwh, on=["enterprise_code", "year", "month"], how="left")
    stats["period"] = pd.to_datetime(dict(year=stats["year"], month=stats["month"], day=1))
    grid = pd.Series(
        ef["value_base"].to_numpy() * units.factor("kWh", "GJ"),
        index=ef["year"].astype(int).to_numpy(),
    )
    return stats, grid


@pytest.mark.slow
def test_daily_nowcast_10k_meters_one_year(bench_city):
    from citycarbon.config import PowerSection
    from citycarbon.power import nowcast as nc
    from citycarbon.runs import power as power_runs
    from citycarbon.store import query

    demo, path = bench_city
    stats, grid = _statistics(demo)
    ents = demo.enterprises.copy()
    times = {}
    t0, c0 = time.perf_counter(), time.process_time()
    with query.open_engine("duckdb") as eng:
        eng.con.execute("SET enable_progress_bar = false")
        eng.register_files("readings", [path])
        meter_days, quality = power_runs.daily_meter_energy(
            eng, demo.city.timezone, view="readings", interval="1h", max_fill_intervals=3
        )
    times["1 meter-days (DuckDB)"] = time.perf_counter() - t0
    t1 = time.perf_counter()
    data = power_runs.PowerData(
        city=demo.city,
        config=PowerSection(),
        enterprises=ents,
        meters=demo.meters,
        stats=stats,
        grid_ef=grid,
        meter_days=meter_days,
        quality=quality,
    )
    days = power_runs.enterprise_days(data)
    panel = power_runs.monthly_panel(data, days=days)
    level_days = power_runs.level_days(data, days)
    times["2 levels"] = time.perf_counter() - t1
    t2 = time.perf_counter()
    through = panel["period"].max()
    monthly = nc.estimate(panel, panel, through, grid, model="ratio")
    city_days = level_days[level_days["level"] == "city"][["day", "metered_kwh"]]
    daily, weekly = nc.disaggregate(monthly, level_days, reference=city_days)
    times["3 calibrate + estimate + days/weeks"] = time.perf_counter() - t2
    total = time.perf_counter() - t0
    cpu = time.process_time() - c0  # CPU seconds of all threads of this process
    cores = os.cpu_count() or 1
    load = os.getloadavg()[0]
    for k, v in times.items():
        print(f"{k:40s} {v:6.2f} s")
    print(
        f"{'total':40s} {total:6.2f} s wall, {cpu:.2f} s CPU on {cores} cores, load average "
        f"{load:.1f} (floor {FLOOR_S} s); {len(meter_days):,} meter-days, "
        f"{len(daily):,} daily and {len(weekly):,} weekly estimates, "
        f"{len(quality)} meter issues"
    )
    assert len(meter_days) == METERS * 366  # 2024 is a leap year
    city = daily[daily["level"] == "city"]
    assert len(city) == 366
    m = monthly[monthly["level"] == "city"]["estimate_tco2"].sum()
    assert city["estimate_tco2"].sum() == pytest.approx(m, rel=1e-9)
    # The floor is on wall-clock time on a machine that is not oversubscribed. When other jobs
    # hold the cores (load average above the core count), wall time measures them, not us: the
    # check then falls back to this process's CPU time spread over the cores, and says so.
    if load <= cores:
        assert total <= FLOOR_S
    else:
        print(
            f"machine oversubscribed (load {load:.1f} > {cores} cores): checking CPU time / "
            f"cores = {cpu / cores:.2f} s against the floor instead of wall time"
        )
        assert cpu / cores <= FLOOR_S
