"""Ingest: validation, quarantine, batches, atomicity and the Parquet lake.

Every test has its own CITYCARBON_HOME (SQLite catalog, lake, reports) under tmp_path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from citycarbon.contract.codes import credit_code_check_char
from citycarbon.errors import InputError
from citycarbon.ingest import excel205
from citycarbon.ingest.loader import ingest
from citycarbon.store import catalog, lake


def credit(i: int) -> str:
    head = f"91350203MA{i:07d}"
    return head + credit_code_check_char(head)


ENT = [credit(i) for i in range(3)]
METERS = ["M1", "M2", "M3"]


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    monkeypatch.delenv("CITYCARBON_INGEST_PAUSE", raising=False)
    yield tmp_path / "home"
    catalog.dispose_engines()


def write_csv(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.fixture
def registry(home, tmp_path) -> None:
    """Three enterprises, a grid node and three meters, loaded through ingest."""
    ents = "统一社会信用代码,企业名称,行业代码,所属区\n" + "".join(
        f"{c},企业{i},C3974,350203\n" for i, c in enumerate(ENT)
    )
    assert ingest("enterprises", write_csv(tmp_path / "ent.csv", ents)).rows_accepted == 3
    ingest("grid_nodes", write_csv(tmp_path / "gn.csv", "node_id,name\nGN1,节点1\n"))
    meters = "meter_id,enterprise_code,grid_node_id\n" + "".join(
        f"{m},{ENT[i]},GN1\n" for i, m in enumerate(METERS)
    )
    assert ingest("meters", write_csv(tmp_path / "m.csv", meters)).rows_accepted == 3


def quarantine(batch_id: int) -> pd.DataFrame:
    return lake.read_current("quarantine", {"batch_id": batch_id})


def energy_csv(rows: list[str]) -> str:
    return (
        "enterprise_code,period,fuel,unit,consumed_total,consumed_industrial,"
        "consumed_non_industrial\n" + "".join(r + "\n" for r in rows)
    )


# ----------------------------------------------------------------------- whole-file refusals
def test_missing_required_column_rejects_the_file_naming_it(registry, tmp_path):
    f = write_csv(
        tmp_path / "e.csv", f"enterprise_code,period,fuel,unit\n{ENT[0]},2024-01,diesel,t\n"
    )
    with pytest.raises(InputError) as err:
        ingest("energy_monthly", f)
    assert "consumed_total" in str(err.value) and "the file has columns" in str(err.value)
    assert "enterprise_code, period, fuel, unit" in str(err.value)
    failed = catalog.registry_frame("batches").query("kind == 'energy_monthly'")
    assert failed["status"].tolist() == ["failed"]
    assert lake.read_current("energy_monthly").empty


def test_file_of_another_kind_is_named(registry, tmp_path):
    f = write_csv(tmp_path / "r.csv", "meter_id,ts,kwh\nM1,2024-01-01 00:00,1\n")
    with pytest.raises(InputError, match="looks like a 'meter_readings' file"):
        ingest("energy_monthly", f)


def test_unknown_columns_are_ignored_and_reported(registry, tmp_path):
    f = write_csv(
        tmp_path / "e.csv",
        "enterprise_code,period,fuel,unit,consumed_total,remark\n"
        f"{ENT[0]},2024-01,diesel,t,5,hello\n",
    )
    r = ingest("energy_monthly", f)
    assert (r.rows_accepted, r.ignored_columns) == (1, ["remark"])


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"enterprise_code,period,fuel,unit,consumed_total\n",
        b"enterprise_code,period,fuel,unit,consumed_total\n\n\n",
    ],
)
def test_empty_file_is_refused(registry, tmp_path, content):
    f = tmp_path / "e.csv"
    f.write_bytes(content)
    with pytest.raises(InputError, match="empty"):
        ingest("energy_monthly", f)


def test_truncated_xlsx_and_parquet_are_refused(registry, tmp_path):
    good = excel205.write_template(tmp_path / "t.xlsx")
    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(InputError, match="xlsx"):
        ingest("energy_monthly", bad)
    table = pa.table(
        {
            "meter_id": ["M1"] * 100,
            "ts": pd.date_range("2024-01-01", periods=100, freq="h", tz="UTC"),
            "kwh": np.arange(100.0),
        }
    )
    pq.write_table(table, tmp_path / "r.parquet")
    data = (tmp_path / "r.parquet").read_bytes()
    (tmp_path / "cut.parquet").write_bytes(data[: len(data) - 40])
    with pytest.raises(InputError, match="Parquet"):
        ingest("meter_readings", tmp_path / "cut.parquet")
    (tmp_path / "junk.parquet").write_bytes(b"not parquet at all")
    with pytest.raises(InputError, match="Parquet"):
        ingest("meter_readings", tmp_path / "junk.parquet")
    assert lake.table_files("meter_readings", home_lake()) == []


def home_lake() -> Path:
    return Path(os.environ["CITYCARBON_HOME"]) / "lake"


def test_undecodable_csv_is_refused(registry, tmp_path):
    f = tmp_path / "x.csv"
    f.write_bytes(b"meter_id,ts,kwh\nM1,2024-01-01 00:00,\xff\xfe\xfa\n")
    with pytest.raises(InputError, match="neither UTF-8 nor GBK"):
        ingest("meter_readings", f)


# ------------------------------------------------------------------------------ row checks
def test_unknown_registry_codes_are_quarantined_with_suggestions(registry, tmp_path):
    f = write_csv(
        tmp_path / "r.csv",
        "meter_id,ts,kwh\nM1,2024-01-01 00:00,1\nM9,2024-01-01 00:00,2\nM2,2024-01-01 00:00,3\n",
    )
    r = ingest("meter_readings", f)
    assert (r.rows_in, r.rows_accepted, r.rows_quarantined) == (3, 2, 1)
    q = quarantine(r.batch_id)
    assert q["source_row"].tolist() == [3] and q["column"].tolist() == ["meter_id"]
    assert "'M9' is unknown in the registry" in q["reason"].iat[0]
    assert "did you mean" in q["reason"].iat[0]
    e = write_csv(tmp_path / "e.csv", energy_csv([f"{ENT[0][:-1]}Z,2024-01,diesel,t,1,1,0"]))
    r = ingest("energy_monthly", e)
    assert r.rows_quarantined == 1
    assert quarantine(r.batch_id)["column"].tolist() == ["enterprise_code"]
    typo = write_csv(tmp_path / "t.csv", energy_csv([f"{ENT[0]},2024-01,天燃气,10^4 m3,1,1,0"]))
    r = ingest("energy_monthly", typo)
    reason = quarantine(r.batch_id)["reason"].iat[0]
    assert "'天燃气' is unknown" in reason and "'天然气'" in reason  # did you mean 天然气


def test_units_are_converted_to_the_stat_unit_and_wrong_units_quarantined(registry, tmp_path):
    f = write_csv(
        tmp_path / "e.csv",
        energy_csv(
            [
                f"{ENT[0]},2024-01,天然气,立方米,25000,20000,5000",  # m3 -> 10^4 m3
                f"{ENT[0]},2024-01,electricity,kWh,120000,100000,20000",  # kWh -> 10^4 kWh
                f"{ENT[1]},2024-01,natural_gas,kWh,1,1,0",  # energy unit for a gas counted in volume
                f"{ENT[1]},2024-01,diesel,furlong,1,1,0",  # unknown unit
            ]
        ),
    )
    r = ingest("energy_monthly", f)
    assert (r.rows_accepted, r.rows_quarantined) == (2, 2)
    cur = lake.read_current("energy_monthly").set_index("fuel")
    assert cur.at["natural_gas", "unit"] == "10^4 m3"
    assert cur.at["natural_gas", "consumed_total"] == pytest.approx(2.5)
    assert cur.at["electricity", "unit"] == "10^4 kWh"
    assert cur.at["electricity", "consumed_industrial"] == pytest.approx(10.0)
    reasons = quarantine(r.batch_id).set_index("source_row")["reason"]
    assert "cannot be used for natural_gas" in reasons[4]
    assert "'furlong'" in reasons[5]


def test_text_negative_and_rule_violations_are_quarantined(registry, tmp_path):
    f = write_csv(
        tmp_path / "e.csv",
        energy_csv(
            [
                f"{ENT[0]},2024-01,diesel,t,abc,1,0",
                f"{ENT[0]},2024-02,diesel,t,-3,,",
                f"{ENT[0]},2024-03,diesel,t,10,4,4",  # 合计 != 工业 + 非工业
                f'{ENT[0]},2024-04,diesel,t,"1,250.5",1250.5,0',  # thousands separator is a number
            ]
        ),
    )
    r = ingest("energy_monthly", f)
    assert (r.rows_in, r.rows_accepted, r.rows_quarantined) == (4, 1, 3)
    q = quarantine(r.batch_id).set_index("source_row")
    assert q.at[2, "reason"] == "not a number" and q.at[2, "value"] == "abc"
    assert q.at[3, "reason"] == "is negative"
    assert "工业生产消费" in q.at[4, "reason"]
    assert lake.read_current("energy_monthly")["consumed_total"].tolist() == [1250.5]


def test_duplicates_exact_kept_once_conflicts_all_rejected(registry, tmp_path):
    f = write_csv(
        tmp_path / "r.csv",
        "meter_id,ts,kwh\n"
        "M1,2024-01-01 00:00,1\n"
        "M1,2024-01-01 00:00,1\n"  # same values: a repeat
        "M2,2024-01-01 00:00,5\n"
        "M2,2024-01-01 00:00,6\n"  # same key, other value: a conflict
        "M3,2024-01-01 00:00,7\n",
    )
    r = ingest("meter_readings", f)
    assert (r.rows_in, r.rows_accepted, r.rows_quarantined) == (5, 2, 3)
    q = quarantine(r.batch_id).set_index("source_row")["reason"]
    assert q[3] == "duplicate row: same values as row 2"
    assert "conflicting values" in q[4] and q[4].endswith("row 5")
    assert q[5].endswith("row 4")
    cur = lake.read_current("meter_readings")
    assert cur["meter_id"].tolist() == ["M1", "M3"]


def test_timestamps_local_to_utc_and_out_of_range(registry, tmp_path):
    f = write_csv(
        tmp_path / "r.csv",
        "电表编号,采集时间,电量\n"
        "M1,2024-01-01 08:00,1\n"  # naive: Asia/Shanghai wall clock
        "M1,2024-01-01T01:00:00Z,2\n"  # explicit UTC
        "M1,1999-12-31 23:00,3\n"  # before 2000
        "M1,2999-01-01 00:00,4\n"  # future
        "M1,2024-02-30 00:00,5\n"  # no such day
        "M1,yesterday,6\n",
    )
    r = ingest("meter_readings", f)
    assert (r.rows_accepted, r.rows_quarantined) == (2, 4)
    cur = lake.read_current("meter_readings")
    assert cur["ts"].tolist() == [
        pd.Timestamp("2024-01-01 00:00", tz="UTC"),
        pd.Timestamp("2024-01-01 01:00", tz="UTC"),
    ]
    q = quarantine(r.batch_id).set_index("source_row")["reason"]
    assert "before 2000-01-01" in q[4] and "after now" in q[5]
    assert q[6].startswith("not a timestamp") and q[7].startswith("not a timestamp")


def test_absurd_and_non_finite_values_are_quarantined_naming_field_and_value(registry, tmp_path):
    f = write_csv(
        tmp_path / "e.csv",
        energy_csv(
            [
                f"{ENT[0]},2024-01,diesel,t,1e308,1e308,0",  # finite, absurd: totals became inf
                f"{ENT[1]},2024-01,diesel,t,inf,inf,0",  # not finite
                f"{ENT[2]},2024-01,diesel,kg,2e11,2e11,0",  # 2e8 t once converted
                f"{ENT[2]},2024-02,diesel,kg,2e10,2e10,0",  # 2e7 t: plausible
            ]
        ),
    )
    r = ingest("energy_monthly", f)
    assert (r.rows_in, r.rows_accepted, r.rows_quarantined) == (4, 1, 3)
    q = quarantine(r.batch_id)
    total = q[q["column"] == "consumed_total"].set_index("source_row")
    assert total.at[2, "value"] == "1e308"
    assert total.at[2, "reason"].startswith("consumed_total = 1e+308 (in the statistical unit")
    assert "above the plausible maximum 1e+08: one enterprise in one month" in total.at[2, "reason"]
    assert total.at[3, "reason"] == "not a number"
    assert "consumed_total = 2e+08" in total.at[4, "reason"]  # checked in the stored unit (t)
    assert lake.read_current("energy_monthly")["consumed_total"].tolist() == [2e7]
    # numbers typed in Parquet: inf and 1e308 readings
    pq.write_table(
        pa.table(
            {
                "meter_id": ["M1", "M1", "M1"],
                "ts": ["2024-01-01 00:00", "2024-01-01 01:00", "2024-01-01 02:00"],
                "kwh": [np.inf, 1e308, 12.5],
            }
        ),
        tmp_path / "r.parquet",
    )
    r = ingest("meter_readings", tmp_path / "r.parquet")
    assert (r.rows_accepted, r.rows_quarantined) == (1, 2)
    reasons = quarantine(r.batch_id).set_index("source_row")["reason"]
    assert reasons[1] == "not a number" and reasons[2].startswith("kwh = 1e+308 kWh is above")
    assert np.isfinite(lake.read_current("meter_readings")["kwh"]).all()


def test_periods_without_a_factor_or_not_over_are_quarantined(registry, tmp_path):
    """Electricity (and readings) before the first grid_ef year of the city's profile (2021 for
    the national series) and periods not over at ingest time (the current month or year,
    future readings) are quarantined with the reason; "now" is injected."""
    now = pd.Timestamp("2024-03-15 12:00", tz="Asia/Shanghai")
    f = write_csv(
        tmp_path / "e.csv",
        "enterprise_code,period,fuel,unit,consumed_total\n"
        f"{ENT[0]},2020-05,electricity,10^4 kWh,5\n"  # no grid factor before 2021
        f"{ENT[0]},2020-05,diesel,t,5\n"  # combustion factors have no year: fine
        f"{ENT[0]},2021-01,electricity,10^4 kWh,5\n"  # first grid-factor year
        f"{ENT[0]},2024-02,heat,GJ,5\n"  # last finished month
        f"{ENT[0]},2024-03,diesel,t,5\n"  # the current month is not over
        f"{ENT[0]},2025-01,diesel,t,5\n",  # future
    )
    r = ingest("energy_monthly", f, now=now)
    assert (r.rows_in, r.rows_accepted, r.rows_quarantined) == (6, 3, 3)
    q = quarantine(r.batch_id).set_index("source_row")["reason"]
    assert q[2] == (
        "no factor for this period: the factor profile has no grid_ef[national] before 2021, "
        "its first data year; electricity of this period cannot be accounted"
    )
    assert "the month 2024-03 is not over yet" in q[6] and "2024-03 is not over" in q[7]
    kept = lake.read_current("energy_monthly")
    assert sorted(zip(kept["fuel"], kept["period"].astype(str), strict=True)) == [
        ("diesel", "2020-05-01"),
        ("electricity", "2021-01-01"),
        ("heat", "2024-02-01"),
    ]
    readings = write_csv(
        tmp_path / "r.csv",
        "meter_id,ts,kwh\n"
        "M1,2020-12-31 23:00,1\n"  # local 2020: no grid factor
        "M1,2021-01-01 00:00,1\n"  # local 2021 (UTC still 2020)
        "M1,2024-03-15 11:00,1\n"  # an hour ago
        "M1,2024-03-15 13:00,1\n",  # in an hour
    )
    r = ingest("meter_readings", readings, now=now)
    assert (r.rows_accepted, r.rows_quarantined) == (2, 2)
    q = quarantine(r.batch_id).set_index("source_row")["reason"]
    assert "grid_ef[national] before 2021" in q[2] and "after now (2024-03-15 12:00" in q[5]
    stats = write_csv(
        tmp_path / "s.csv",
        "region_code,year,indicator,value,unit\n350200,2023,gdp,8000,亿元\n"
        "350200,2024,gdp,2000,亿元\n",
    )
    r = ingest("city_statistics", stats, now=now)
    assert (r.rows_accepted, r.rows_quarantined) == (1, 1)
    assert "the year 2024 is not over yet" in quarantine(r.batch_id)["reason"].iloc[0]


def test_a_kind_may_declare_that_it_allows_future_periods():
    from dataclasses import replace

    from citycarbon.contract.inputs import INDUSTRIAL_OUTPUT, CheckContext, check_table

    ctx = CheckContext(
        "Asia/Shanghai",
        pd.Timestamp("2024-03-15", tz="UTC"),
        codes={"enterprise": pa.array([ENT[0]])},
    )
    raw = pa.table(
        {
            "enterprise_code": [ENT[0]] * 2,
            "period": ["2024-02", "2030-01"],
            "product": ["水泥", "水泥"],
            "quantity": ["1", "1"],
            "unit": ["t", "t"],
            "_row": pa.array([2, 3], pa.int64()),
        }
    )
    assert check_table(INDUSTRIAL_OUTPUT, raw, ctx).bad.tolist() == [False, True]
    plan = replace(INDUSTRIAL_OUTPUT, allow_future=True)
    assert check_table(plan, raw, ctx).bad.tolist() == [False, False]


def test_readings_are_partitioned_by_local_month(registry, tmp_path):
    f = write_csv(tmp_path / "r.csv", "meter_id,ts,kwh\nM1,2024-02-01 00:00,1\n")
    ingest("meter_readings", f)
    files = lake.table_files("meter_readings", home_lake())
    # 2024-02-01 00:00 in Xiamen is 2024-01-31 16:00 UTC: it counts in February
    assert [p.parent.relative_to(home_lake()).as_posix() for p in files] == [
        "meter_readings/year=2024/month=02"
    ]


def test_gbk_csv_with_chinese_headers(registry, tmp_path):
    text = (
        "统一社会信用代码,报告期,能源名称,计量单位,消费量合计,工业生产消费,非工业生产消费\n"
        f"{ENT[0]},2024年3月,原煤,吨,12.5,12.5,0\n"
        f"{ENT[0]},2024年3月,柴油,吨,1,0.5,0.5\n"
    )
    r = ingest("energy_monthly", write_csv(tmp_path / "gbk.csv", text, "gbk"))
    assert (r.encoding, r.rows_accepted, r.rows_quarantined) == ("gb18030", 2, 0)
    cur = lake.read_current("energy_monthly")
    assert sorted(cur["fuel"]) == ["diesel", "raw_coal"]
    assert set(cur["period"]) == {pd.Timestamp("2024-03-01")}
    r = ingest(
        "energy_monthly", write_csv(tmp_path / "bom.csv", text.replace("原煤", "汽油"), "utf-8-sig")
    )
    assert (r.encoding, r.rows_accepted) == ("utf-8", 2)


def test_csv_line_numbers_as_the_user_sees_them(registry, tmp_path):
    f = write_csv(
        tmp_path / "r.csv",
        "meter_id,ts,kwh\n"
        "M1,2024-01-01 00:00,1\n"
        "\n"  # blank line 3: not data
        "M1,2024-01-01 01:00\n"  # line 4: a field short
        '"M\n2",2024-01-01 02:00,2\n'  # lines 5-6: a value with a line break
        "M1,2024-01-01 03:00,x\n",
    )  # line 7
    r = ingest("meter_readings", f)
    assert (r.rows_in, r.rows_accepted, r.rows_quarantined, r.rows_skipped) == (4, 1, 3, 1)
    q = quarantine(r.batch_id)
    assert q["source_row"].tolist() == [4, 5, 7]
    assert "has 2 field(s)" in q["reason"].iat[0]


# ------------------------------------------------------------------------------- batches
def test_same_file_again_adds_nothing(registry, tmp_path):
    f = write_csv(tmp_path / "r.csv", "meter_id,ts,kwh\nM1,2024-01-01 00:00,1\n")
    first = ingest("meter_readings", f)
    files = lake.table_files("meter_readings", home_lake())
    again = ingest("meter_readings", f)
    assert again.unchanged and again.batch_id == first.batch_id
    assert lake.table_files("meter_readings", home_lake()) == files
    assert len(catalog.batch_ids(kind="meter_readings")) == 1


def test_resubmission_supersedes_on_the_natural_key_and_keeps_history(registry, tmp_path):
    a = ingest(
        "energy_monthly",
        write_csv(
            tmp_path / "a.csv",
            energy_csv([f"{ENT[0]},2024-01,diesel,t,10,10,0", f"{ENT[1]},2024-01,diesel,t,7,7,0"]),
        ),
    )
    b = ingest(
        "energy_monthly",
        write_csv(tmp_path / "b.csv", energy_csv([f"{ENT[0]},2024-01,diesel,t,11,11,0"])),
    )  # corrects enterprise 0
    assert b.batch_id > a.batch_id
    cur = lake.read_current("energy_monthly").set_index("enterprise_code")
    assert cur.at[ENT[0], "consumed_total"] == 11 and cur.at[ENT[0], "batch_id"] == b.batch_id
    assert cur.at[ENT[1], "consumed_total"] == 7 and cur.at[ENT[1], "batch_id"] == a.batch_id
    everything = pd.concat(pd.read_parquet(p) for p in lake.committed_paths("energy_monthly"))
    assert sorted(everything["consumed_total"]) == [7, 10, 11]  # nothing deleted


def test_retracting_a_correction_makes_the_superseded_rows_current_again(registry, tmp_path):
    from citycarbon.store import query

    a = ingest(
        "energy_monthly",
        write_csv(
            tmp_path / "a.csv",
            energy_csv([f"{ENT[0]},2024-01,diesel,t,10,10,0", f"{ENT[1]},2024-01,diesel,t,7,7,0"]),
        ),
    )
    b = ingest(
        "energy_monthly",
        write_csv(tmp_path / "b.csv", energy_csv([f"{ENT[0]},2024-01,diesel,t,30,30,0"])),
    )  # a wrong correction (x3)

    def current() -> dict[str, float]:
        frame = lake.read_current("energy_monthly")
        return dict(zip(frame["enterprise_code"], frame["consumed_total"], strict=True))

    def current_view() -> dict[str, float]:
        engine = query.open_engine("duckdb")
        try:
            query.register_lake(
                engine,
                lake.lake_dir(),
                {"energy_monthly": catalog.committed_files("energy_monthly")},
            )
            frame = engine.sql("SELECT enterprise_code, consumed_total FROM current_energy_monthly")
        finally:
            engine.close()
        return dict(zip(frame["enterprise_code"], frame["consumed_total"], strict=True))

    assert current() == current_view() == {ENT[0]: 30.0, ENT[1]: 7.0}
    files_before = sorted(lake.table_files("energy_monthly"))
    done = catalog.retract_batch(b.batch_id, "analyst", "entered in kg as t")
    assert done.rows_by_table() == {"energy_monthly": 1}
    assert current() == current_view() == {ENT[0]: 10.0, ENT[1]: 7.0}
    lake.cleanup()  # the next ingest's cleanup keeps the retracted batch's files (history)
    assert sorted(lake.table_files("energy_monthly")) == files_before
    ledger = lake.batch_ledger("energy_monthly").set_index("id")["state"]
    assert ledger[b.batch_id] == "retracted" and ledger[a.batch_id] == "committed"
    # the same (correct) file again is a new batch: retracted content is not "unchanged"
    again = ingest("energy_monthly", tmp_path / "b.csv")
    assert again.status == "committed" and again.batch_id > b.batch_id


def test_errors_report_written_next_to_the_batch(registry, tmp_path):
    f = write_csv(tmp_path / "r.csv", "meter_id,ts,kwh\nM1,2024-01-01 00:00,-1\n")
    r = ingest("meter_readings", f)
    assert (
        r.report_csv
        == Path(os.environ["CITYCARBON_HOME"])
        / "reports"
        / "ingest"
        / str(r.batch_id)
        / "errors.csv"
    )
    report = pd.read_csv(r.report_csv)
    assert report.iloc[0]["row (行号)"] == 2 and report.iloc[0]["reason (原因)"] == "is negative"
    assert pd.read_excel(r.report_xlsx).shape[0] == 1


# ----------------------------------------------------------------------------- atomicity
KILL_SCRIPT = """
import sys
from citycarbon.ingest.loader import ingest
ingest("meter_readings", sys.argv[1])
"""


@pytest.mark.parametrize("stage", ["staged", "published"])
def test_sigkill_mid_ingest_leaves_the_committed_state_unchanged(registry, tmp_path, stage):
    base = write_csv(tmp_path / "base.csv", "meter_id,ts,kwh\nM1,2024-01-01 00:00,1\n")
    ingest("meter_readings", base)
    before_rows = lake.read_current("meter_readings")
    before_files = lake.table_files("meter_readings", home_lake())
    before_committed = catalog.batch_ids("committed")
    new = write_csv(
        tmp_path / "new.csv", "meter_id,ts,kwh\nM1,2024-01-01 00:00,5\nM2,2024-03-01 00:00,6\n"
    )
    env = {**os.environ, "CITYCARBON_INGEST_PAUSE": f"{stage}:60"}
    proc = subprocess.Popen([sys.executable, "-c", KILL_SCRIPT, str(new)], env=env)
    marker_glob = f"b*.{stage}"
    deadline = time.time() + 60
    while not list((home_lake() / lake.STAGING).glob(marker_glob)):
        assert proc.poll() is None, "the ingest ended before reaching the pause"
        assert time.time() < deadline
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    catalog.dispose_engines()
    # nothing visible changed: same committed batches, same current rows
    assert catalog.batch_ids("committed") == before_committed
    pd.testing.assert_frame_equal(lake.read_current("meter_readings"), before_rows)
    crashed = catalog.batch_ids("running")
    assert len(crashed) == 1
    from typer.testing import CliRunner

    from citycarbon.cli import app

    listed = CliRunner().invoke(app, ["batches"], env={"COLUMNS": "250"})
    assert listed.exit_code == 0 and listed.exception is None, listed.output
    line = next(x for x in listed.output.splitlines() if x.startswith(f"│ {crashed[0]} "))
    assert "running" in line  # killed moments ago: listed as it is, without a crash
    # the next ingest cleans up and succeeds
    r = ingest("meter_readings", new)
    assert r.status == "committed" and r.rows_accepted == 2
    status = catalog.registry_frame("batches").set_index("id")["status"]
    assert status[crashed[0]] == "failed"
    committed = {home_lake() / p for _, p in catalog.committed_files("meter_readings")}
    assert set(lake.table_files("meter_readings", home_lake())) == committed
    assert set(before_files) <= committed
    assert not [p for p in (home_lake() / lake.STAGING).iterdir()]


# ----------------------------------------------------------------------------- property
CELL = st.one_of(
    st.sampled_from(
        [
            "M1",
            "M2",
            "M3",
            "M9",
            "",
            "x",
            "2024-01-01 00:00",
            "2024-13-01 00:00",
            "1",
            "-1",
            "1e3",
            "1e308",
            "inf",
            "-inf",
            "1e7",
            "10000000.5",
            "2020-06-01 00:00",
            "2999-01-01 00:00",
            "abc",
            "，",
        ]
    ),
    st.text(alphabet='M123 -:.,"', max_size=6),
)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    rows=st.lists(
        st.tuples(st.sampled_from([*METERS, "M9", ""]), st.integers(0, 5), CELL),
        min_size=1,
        max_size=25,
    ),
    extra=st.lists(st.tuples(CELL, CELL), max_size=3),
)
def test_fuzz_rows_in_is_accepted_plus_quarantined(registry, tmp_path, rows, extra):
    import csv
    import io

    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    w.writerow(["meter_id", "ts", "kwh"])
    for m, h, v in rows:
        w.writerow([m, f"2024-01-01 {h:02d}:00", v])
    for a, b in extra:
        w.writerow([a, b])  # too few fields
    path = tmp_path / f"fuzz{abs(hash((tuple(rows), tuple(extra))))}.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    try:
        r = ingest("meter_readings", path)
    except InputError as err:  # only an all-blank file may be refused
        assert "empty" in str(err)
        return
    assert r.rows_in == r.rows_accepted + r.rows_quarantined
    q = quarantine(r.batch_id)
    assert q["source_row"].nunique() == r.rows_quarantined
    if not r.unchanged:
        stored = sum(
            pq.read_metadata(home_lake() / p).num_rows
            for b, p in catalog.committed_files("meter_readings")
            if b == r.batch_id
        )
        assert stored == r.rows_accepted
    committed = {home_lake() / p for _, p in catalog.committed_files("meter_readings")}
    assert set(lake.table_files("meter_readings", home_lake())) == committed
    staging = home_lake() / lake.STAGING
    assert not staging.exists() or not list(staging.iterdir())


# ------------------------------------------------------------------------------------ 205-1
def _energy_rows() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "enterprise_code": [ENT[0], ENT[0], ENT[1]],
            "period": pd.to_datetime(["2024-01-01", "2024-01-01", "2024-02-01"]).date,
            "fuel": ["natural_gas", "electricity", "diesel"],
            "unit": ["10^4 m3", "10^4 kWh", "t"],
            "opening_stock": [np.nan, np.nan, 2.0],
            "purchased": [1.5, 30.0, 4.0],
            "purchase_value_10k_cny": [5.25, 21.0, 3.2],
            "consumed_total": [1.5, 30.0, 5.0],
            "consumed_industrial": [1.2, 28.0, 5.0],
            "consumed_as_feedstock": [0.2, 0.0, 0.0],
            "consumed_non_industrial": [0.3, 2.0, 0.0],
            "consumed_transport": [0.0, 0.0, 1.0],
            "closing_stock": [np.nan, np.nan, 1.0],
        }
    )


def test_205_template_round_trip_long_layout(registry, tmp_path):
    rows = _energy_rows()
    path = excel205.write_template(tmp_path / "205.xlsx", rows=rows)
    r = ingest("energy_monthly", path)
    assert (r.rows_in, r.rows_accepted, r.rows_quarantined) == (3, 3, 0)
    cur = lake.read_current("energy_monthly").set_index(["enterprise_code", "fuel"])
    # 金额 is written in 千元 (5.25 万元 = 52.5 千元) and read back in 万元
    assert cur.loc[(ENT[0], "natural_gas"), "purchase_value_10k_cny"] == pytest.approx(5.25)
    assert cur.loc[(ENT[1], "diesel"), "consumed_transport"] == pytest.approx(1.0)
    assert cur.loc[(ENT[0], "electricity"), "unit"] == "10^4 kWh"


def test_205_form_layout_for_one_enterprise_month(registry, tmp_path):
    rows = _energy_rows().iloc[:2]
    path = excel205.write_template(
        tmp_path / "form.xlsx", enterprise_code=ENT[0], period="2024年1月", rows=rows
    )
    r = ingest("energy_monthly", path)
    assert (r.rows_accepted, r.rows_quarantined) == (2, 0)
    cur = lake.read_current("energy_monthly")
    assert set(cur["enterprise_code"]) == {ENT[0]}
    assert set(cur["period"]) == {pd.Timestamp("2024-01-01")}


def test_205_blank_template_has_the_form_headers(tmp_path):
    import openpyxl

    path = excel205.write_template(tmp_path / "blank.xlsx")
    sheet = openpyxl.load_workbook(path).worksheets[0]
    cells = {c.value for row in sheet.iter_rows(max_row=6) for c in row if c.value}
    for header in (
        "统一社会信用代码",
        "报告期",
        "能源名称",
        "代码",
        "计量单位",
        "年初库存量",
        "购进量",
        "实物量",
        "金额（千元）",
        "消费量",
        "合计",
        "工业生产消费",
        "#用作原料、材料",
        "非工业生产消费",
        "#运输工具消费",
        "年末库存量",
        "参考折标系数",
        "甲",
        "乙",
        "丙",
    ):
        assert header in cells
