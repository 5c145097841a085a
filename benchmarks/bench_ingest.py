"""Ingest speed and memory: 87.6 M hourly readings (Parquet and CSV) and a 205-1 workbook.

- A year of hourly readings of 10,000 meters (8,760 h each, 87.6 M rows), generated here with a
  seeded numpy stream, is ingested from Parquet and from CSV (naive local timestamps) in a child
  process; figures: validated rows per second (floor 1 M/s) and the child's peak RSS
  (``resource.getrusage(RUSAGE_CHILDREN)``, ceiling 2 GB).
- A 205-1表 workbook (long layout) of 1,000 enterprises x 12 months x 6 fuels ingests in <= 10 s.

Scale with ``CITYCARBON_BENCH_METERS`` and ``CITYCARBON_BENCH_HOURS`` (defaults 10000, 8760).
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from citycarbon.contract.codes import CHARSET, WEIGHTS
from citycarbon.ingest import excel205
from citycarbon.ingest.loader import ingest
from citycarbon.store import catalog

METERS = int(os.environ.get("CITYCARBON_BENCH_METERS", "10000"))
HOURS = int(os.environ.get("CITYCARBON_BENCH_HOURS", "8760"))
ENTERPRISES = 2_000
SEED = 20240101
CHILD = """
import json, resource, sys, time
from citycarbon.ingest.loader import ingest
t = time.perf_counter()
r = ingest("meter_readings", sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - t, "rows_in": r.rows_in,
                  "accepted": r.rows_accepted, "quarantined": r.rows_quarantined,
                  "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def credit_codes(n: int, rng: np.random.Generator) -> np.ndarray:
    """n distinct valid 统一社会信用代码 (GB 32100-2015 check character), vectorised."""
    body = rng.integers(0, len(CHARSET), size=(n, 8))
    head = np.array([CHARSET.index(c) for c in "91350203MA"])
    idx = np.concatenate([np.tile(head, (n, 1)), body[:, :7]], axis=1)
    idx[:, 10:17] = np.stack(
        [(np.arange(n) // len(CHARSET) ** k) % len(CHARSET) for k in range(7)], axis=1
    )
    check = (31 - (idx @ WEIGHTS) % 31) % 31
    chars = np.array(list(CHARSET))[np.concatenate([idx, check[:, None]], axis=1)]
    return np.array(["".join(r) for r in chars])


@pytest.fixture(scope="module")
def city(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("bench_ingest")
    os.environ["CITYCARBON_HOME"] = str(root / "home")
    rng = np.random.default_rng(SEED)
    codes = credit_codes(ENTERPRISES, rng)
    pd.DataFrame(
        {
            "credit_code": codes,
            "name": [f"企业{i}" for i in range(ENTERPRISES)],
            "district_code": "350203",
        }
    ).to_csv(root / "ent.csv", index=False)
    pd.DataFrame({"node_id": ["GN1"]}).to_csv(root / "gn.csv", index=False)
    meters = np.array([f"M{i:06d}" for i in range(METERS)])
    pd.DataFrame(
        {
            "meter_id": meters,
            "enterprise_code": codes[np.arange(METERS) % ENTERPRISES],
            "grid_node_id": "GN1",
        }
    ).to_csv(root / "meters.csv", index=False)
    for kind, f in (("enterprises", "ent.csv"), ("grid_nodes", "gn.csv"), ("meters", "meters.csv")):
        assert ingest(kind, root / f).rows_quarantined == 0
    catalog.dispose_engines()
    yield {"root": root, "codes": codes, "meters": meters}
    catalog.dispose_engines()


def write_readings(root: Path, meters: np.ndarray) -> tuple[Path, Path]:
    """Readings as Parquet (UTC timestamps) and CSV (naive local time), meter by meter."""
    rng = np.random.default_rng(SEED + 1)
    start = np.datetime64("2023-12-31T16:00", "us")  # 2024-01-01 00:00 in Xiamen
    ts = start + np.arange(HOURS).astype("timedelta64[h]")
    local_text = pc.strftime(
        pa.array((ts + np.timedelta64(8, "h")).astype("datetime64[s]"), pa.timestamp("s")),
        format="%Y-%m-%d %H:%M:%S",
    )
    schema = pa.schema(
        [("meter_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("kwh", pa.float64())]
    )
    per = max(1, 2_000_000 // HOURS)
    pq_path, csv_path = root / "readings.parquet", root / "readings.csv"
    with pq.ParquetWriter(pq_path, schema, compression="zstd") as w, open(csv_path, "wb") as f:
        f.write(b"meter_id,ts,kwh\n")
        for s in range(0, len(meters), per):  # blocks of meters
            m = min(per, len(meters) - s)
            ids = pa.array(np.repeat(meters[s : s + m], HOURS))
            kwh = pa.array(np.round(rng.gamma(2.0, 50.0, size=m * HOURS), 3))
            w.write_table(
                pa.table(
                    {
                        "meter_id": ids,
                        "ts": pa.array(np.tile(ts, m), schema.field("ts").type),
                        "kwh": kwh,
                    },
                    schema=schema,
                )
            )
            text = pa.table(
                {
                    "meter_id": ids,
                    "ts": pc.take(local_text, pa.array(np.tile(np.arange(HOURS), m))),
                    "kwh": kwh,
                }
            )
            pacsv.write_csv(
                text,
                f,
                write_options=pacsv.WriteOptions(include_header=False, quoting_style="none"),
            )
    return pq_path, csv_path


def run_child(path: Path) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        capture_output=True,
        text=True,
        check=True,
        env=os.environ.copy(),
    )
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    figures["children_maxrss_kb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return figures


@pytest.mark.slow
def test_readings_ingest_speed_and_memory(city):
    t = time.perf_counter()
    pq_path, csv_path = write_readings(city["root"], city["meters"])
    rows = METERS * HOURS
    print(
        f"\ngenerated {rows:,} readings in {time.perf_counter() - t:.0f} s "
        f"(Parquet {pq_path.stat().st_size / 1e9:.2f} GB, CSV {csv_path.stat().st_size / 1e9:.2f}"
        " GB)"
    )
    for path in (pq_path, csv_path):
        f = run_child(path)
        rate = f["rows_in"] / f["seconds"]
        rss_gb = f["maxrss_kb"] / 1024**2
        print(
            f"{path.suffix[1:]:>8}: {f['rows_in']:,} rows in {f['seconds']:.1f} s = "
            f"{rate / 1e6:.2f} M validated rows/s; peak RSS {rss_gb:.2f} GB; "
            f"accepted {f['accepted']:,}, quarantined {f['quarantined']:,}"
        )
        assert f["accepted"] == rows and f["quarantined"] == 0
        assert rate >= 1e6, f"{path.name}: {rate:,.0f} rows/s is below 1 M rows/s"
        assert rss_gb <= 2.0, f"{path.name}: peak RSS {rss_gb:.2f} GB is above 2 GB"
        # the CSV holds the same readings: it is a new file (other bytes), all rows supersede


@pytest.mark.slow
def test_205_workbook_of_1000_enterprises_by_12_months(city):
    rng = np.random.default_rng(SEED + 2)
    fuels = ["electricity", "natural_gas", "diesel", "gasoline", "lpg", "heat"]
    units = ["10^4 kWh", "10^4 m3", "t", "t", "t", "GJ"]
    codes = city["codes"][:1000]
    periods = pd.date_range("2024-01-01", periods=12, freq="MS").date
    n = len(codes) * len(periods) * len(fuels)
    total = np.round(rng.gamma(2.0, 20.0, n), 4)
    industrial = np.round(total * 0.9, 4)
    rows = pd.DataFrame(
        {
            "enterprise_code": np.repeat(codes, len(periods) * len(fuels)),
            "period": np.tile(np.repeat(periods, len(fuels)), len(codes)),
            "fuel": np.tile(fuels, len(codes) * len(periods)),
            "unit": np.tile(units, len(codes) * len(periods)),
            "purchased": total,
            "purchase_value_10k_cny": np.round(total * 0.7, 4),
            "consumed_total": total,
            "consumed_industrial": industrial,
            "consumed_non_industrial": np.round(total - industrial, 4),
            "consumed_transport": 0.0,
            "opening_stock": 0.0,
            "closing_stock": 0.0,
        }
    )
    t = time.perf_counter()
    path = excel205.write_template(city["root"] / "205-1.xlsx", rows=rows)
    written = time.perf_counter() - t
    t = time.perf_counter()
    r = ingest("energy_monthly", path)
    seconds = time.perf_counter() - t
    print(
        f"\n205-1 workbook: {n:,} rows ({path.stat().st_size / 1e6:.1f} MB, written in "
        f"{written:.1f} s) ingested in {seconds:.1f} s ({n / seconds:,.0f} rows/s); "
        f"accepted {r.rows_accepted:,}, quarantined {r.rows_quarantined:,}"
    )
    assert r.rows_accepted == n
    assert seconds <= 10.0
