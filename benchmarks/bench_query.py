"""Enterprise-month electricity emissions from 87.6 M hourly readings, three ways.

A year of hourly readings of 10,000 meters (8,760 h each, 87.6 M rows) of ~2,000 enterprises is
written as a Parquet lake in the contract layout (``meter_readings/year=2023/month=MM/
b<batch>-0.parquet``, one committed batch per month). The named query
``enterprise_month_electricity_emissions`` is timed:

1. through the query layer on DuckDB (register the catalog's file list, the registry and the
   factor profile, run the named query, checks included): floor <= 5 s;
2. as a hand-written DuckDB query directly on the files (same result): the layer within 1.3x;
3. as a straightforward pandas version (read, keep the latest batch per meter and hour, join the
   registry, group; one month at a time to keep memory sane): the layer >= 10x faster.

A fourth figure, with no floor: the layer again after a correction batch (100 meters, one week of
March) that supersedes rows of the March batch, i.e. with the ROW_NUMBER window at work.
Timings are the best of three runs for DuckDB (files in the page cache), one run for pandas.
"""

from __future__ import annotations

import resource
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from citycarbon.factors import FactorProfile, FactorSet
from citycarbon.factors.library import validate_rows
from citycarbon.store import query

YEAR = 2023
METERS = 10_000
ENTERPRISES = 2_000
NAME = "enterprise_month_electricity_emissions"


def grid_profile() -> FactorProfile:
    raw = pd.DataFrame(
        [
            {
                "parameter": "grid_ef",
                "key": "national",
                "context": "",
                "year": "2022",
                "value": "0.5703",
                "unit": "tCO2/MWh",
                "source": "生态环境部 环办气候函〔2023〕43号",
                "clause": "2022 national grid average",
                "note": "",
            }
        ]
    )
    table = validate_rows(raw, "benchmark factors")
    table.insert(0, "set_id", "bench")
    table.insert(1, "set_version", "1")
    return FactorProfile([FactorSet("bench", "1", "benchmark grid factor", table)], name="bench")


def registry(seed: int = 11) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    owner = rng.integers(0, ENTERPRISES, METERS)
    return pd.DataFrame(
        {
            "meter_id": [f"M{i:06d}" for i in range(METERS)],
            "enterprise_code": [f"91350200{e:010d}" for e in owner],
            "grid_node_id": [f"N{i % 97:03d}" for i in range(METERS)],
        }
    )


def write_month(
    lake: Path,
    month: int,
    batch: int,
    meters: np.ndarray,
    start: str,
    hours: int,
    rng: np.random.Generator,
) -> str:
    """Readings of ``meters`` for ``hours`` hours from ``start``, one file; its relative path."""
    names = pa.array([f"M{i:06d}" for i in range(METERS)])
    first = np.datetime64(start, "h")
    n = len(meters) * hours
    table = pa.table(
        {
            "batch_id": pa.array(np.full(n, batch, dtype="int64")),
            "meter_id": pa.DictionaryArray.from_arrays(
                pa.array(np.repeat(meters.astype("int32"), hours)), names
            ),
            "ts": pa.array(
                (first + np.tile(np.arange(hours), len(meters)).astype("timedelta64[h]")).astype(
                    "datetime64[us]"
                ),
                type=pa.timestamp("us", tz="UTC"),
            ),
            "kwh": pa.array(rng.gamma(2.0, 25.0, n)),
        }
    )
    rel = Path("meter_readings") / f"year={YEAR}" / f"month={month:02d}" / f"b{batch}-0.parquet"
    (lake / rel).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, lake / rel, row_group_size=1 << 20)
    return str(rel)


def build_lake(lake: Path, seed: int = 7) -> list[tuple[int, str]]:
    """One committed batch per month (batch id = month); generated a month at a time."""
    rng = np.random.default_rng(seed)
    files = []
    every = np.arange(METERS)
    for month in range(1, 13):
        start = pd.Timestamp(YEAR, month, 1)
        hours = int((start + pd.offsets.MonthBegin(1) - start) / pd.Timedelta(hours=1))
        files.append((month, write_month(lake, month, month, every, start.isoformat(), hours, rng)))
    return files


def best_of(n: int, fn):
    times, out = [], None
    for _ in range(n):
        t0 = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t0)
    return min(times), out


def through_layer(lake: Path, files, meters: pd.DataFrame, profile) -> pd.DataFrame:
    with query.open_engine("duckdb") as engine:
        query.register_lake(engine, lake, {"meter_readings": files})
        engine.register_frame("meters", meters)
        query.register_factors(engine, profile, [YEAR], mode="inventory")
        return query.run_query(engine, NAME)


def hand_written_duckdb(
    lake: Path, meters: pd.DataFrame, grid_tco2_per_mwh: float, mwh_per_kwh: float
) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    con.register("meters", meters)
    glob = str(lake / "meter_readings" / "*" / "*" / "*.parquet")
    frame = con.sql(f"""
        WITH per_meter AS (
            SELECT meter_id, year, month, SUM(kwh) AS kwh
            FROM read_parquet('{glob}', hive_partitioning = true,
                              hive_types = {{'year': BIGINT, 'month': BIGINT}})
            GROUP BY ALL)
        SELECT m.enterprise_code, p.year, p.month, SUM(p.kwh) AS electricity_kwh,
               SUM(p.kwh) * {mwh_per_kwh!r} * {grid_tco2_per_mwh!r} AS co2_t
        FROM per_meter p JOIN meters m USING (meter_id)
        GROUP BY ALL ORDER BY ALL""").df()
    con.close()
    return frame


def straightforward_pandas(
    lake: Path, files, meters: pd.DataFrame, grid_tco2_per_mwh: float, mwh_per_kwh: float
) -> pd.DataFrame:
    """Read each month's committed files, keep the latest batch per (meter, hour), join, group."""
    by_month: dict[str, list[str]] = {}
    for _, rel in files:
        by_month.setdefault(str(Path(rel).parent), []).append(rel)
    parts = []
    for _, rels in sorted(by_month.items()):
        df = pd.concat([pd.read_parquet(lake / r) for r in rels], ignore_index=True)
        df = df.sort_values("batch_id").drop_duplicates(["meter_id", "ts"], keep="last")
        df["meter_id"] = df["meter_id"].astype(str)
        df = df.merge(meters[["meter_id", "enterprise_code"]], on="meter_id", how="left")
        df["year"] = df["ts"].dt.year
        df["month"] = df["ts"].dt.month
        parts.append(df.groupby(["enterprise_code", "year", "month"], as_index=False)["kwh"].sum())
        del df
    out = pd.concat(parts, ignore_index=True).rename(columns={"kwh": "electricity_kwh"})
    out["co2_t"] = out["electricity_kwh"] * mwh_per_kwh * grid_tco2_per_mwh
    return out.sort_values(["enterprise_code", "year", "month"], ignore_index=True)


@pytest.mark.slow
def test_enterprise_month_emissions_87m_readings(tmp_path):
    from citycarbon import units

    lake = tmp_path / "lake"
    t0 = time.perf_counter()
    files = build_lake(lake)
    gen_s = time.perf_counter() - t0
    rows = sum(pq.read_metadata(lake / rel).num_rows for _, rel in files)
    assert rows == METERS * 8_760
    meters = registry()
    profile = grid_profile()
    grid = profile.lookup("grid_ef", "national", "tCO2e/MWh", year=YEAR)
    mwh_per_kwh = units.factor("kWh", "MWh")

    layer_s, layer = best_of(3, lambda: through_layer(lake, files, meters, profile))
    hand_s, hand = best_of(3, lambda: hand_written_duckdb(lake, meters, grid, mwh_per_kwh))
    t0 = time.perf_counter()
    plain = straightforward_pandas(lake, files, meters, grid, mwh_per_kwh)
    pandas_s = time.perf_counter() - t0

    # all three agree
    assert len(layer) == len(hand) == len(plain) == layer["enterprise_code"].nunique() * 12
    for other in (hand, plain):
        np.testing.assert_array_equal(layer["enterprise_code"], other["enterprise_code"])
        np.testing.assert_allclose(layer["co2_t"], other["co2_t"], rtol=1e-9)
    assert layer["readings"].sum() == rows

    # a correction: 100 meters re-sent for 10-16 March (batch 13) supersede batch 3's rows
    corrected = np.arange(100)
    rel = write_month(
        lake, 3, 13, corrected, f"{YEAR}-03-10T00:00", 24 * 7, np.random.default_rng(3)
    )
    fixed_files = [*files, (13, rel)]
    fixed_s, fixed = best_of(3, lambda: through_layer(lake, fixed_files, meters, profile))
    new = pq.read_table(lake / rel)
    old = pq.read_table(
        lake / files[2][1],
        filters=[
            ("meter_id", "in", [f"M{i:06d}" for i in corrected]),
            ("ts", ">=", pd.Timestamp(f"{YEAR}-03-10", tz="UTC")),
            ("ts", "<", pd.Timestamp(f"{YEAR}-03-17", tz="UTC")),
        ],
    )
    assert old.num_rows == new.num_rows == 100 * 24 * 7
    delta_kwh = pc.sum(new["kwh"]).as_py() - pc.sum(old["kwh"]).as_py()
    assert fixed["electricity_kwh"].sum() - layer["electricity_kwh"].sum() == pytest.approx(
        delta_kwh, rel=1e-6
    )
    assert fixed["readings"].sum() == rows

    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"\n[bench_query] {rows / 1e6:.1f} M readings, {METERS:,} meters, "
        f"{layer['enterprise_code'].nunique():,} enterprises, 12 monthly files "
        f"(generated in {gen_s:.1f} s):\n"
        f"  query layer, DuckDB        {layer_s:6.2f} s  ({rows / layer_s / 1e6:.0f} M rows/s)\n"
        f"  hand-written DuckDB SQL    {hand_s:6.2f} s  -> layer/hand = {layer_s / hand_s:.2f}x\n"
        f"  straightforward pandas     {pandas_s:6.2f} s  -> pandas/layer = "
        f"{pandas_s / layer_s:.0f}x\n"
        f"  layer with a correction batch (16,800 rows superseded, window over March): "
        f"{fixed_s:.2f} s\n"
        f"  total {layer['co2_t'].sum() / 1e3:,.1f} ktCO2; peak RSS of the process "
        f"{rss_mb:,.0f} MB"
    )
    assert layer_s <= 5.0
    assert layer_s <= 1.3 * hand_s
    assert pandas_s / layer_s >= 10
