"""The results store: declared results, per-year partitions, vintages, transactions that commit
together or not at all, and the one cache that sees every commit."""

from __future__ import annotations

import dataclasses
import threading

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.contract.results import CITY_INDICATORS, NOWCAST, RESULTS, Result
from citycarbon.errors import InputError
from citycarbon.store import results


def _indicators(years, value: float) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "region_code": "350200",
            "period_type": "year",
            "year": list(years),
            "period": list(years),
            "indicator": "total_ghg_tco2e",
            "basis": "territorial",
            "value": [value + y for y in years],
            "unit": "tCO2e",
        }
    )


def test_a_year_run_replaces_only_its_years_and_keeps_vintages(tmp_path):
    with results.transaction("20240101T000000Z-aaaaaa", lake=tmp_path):
        results.write(CITY_INDICATORS, _indicators([2022, 2023, 2024], 100.0))
    with results.transaction("20240102T000000Z-bbbbbb", lake=tmp_path):
        results.write(CITY_INDICATORS, _indicators([2022, 2023, 2024], 500.0), partitions=[2024])
    cur = results.current(CITY_INDICATORS, lake=tmp_path).set_index("year")
    assert cur.loc[2022, "value"] == 2122.0 and cur.loc[2023, "value"] == 2123.0  # first run
    assert cur.loc[2024, "value"] == 2524.0  # second run: 2024 only
    assert cur.loc[2022, "run_id"] == "20240101T000000Z-aaaaaa"
    assert cur.loc[2024, "run_id"] == "20240102T000000Z-bbbbbb"
    assert results.runs(CITY_INDICATORS, lake=tmp_path) == [
        "20240101T000000Z-aaaaaa",
        "20240102T000000Z-bbbbbb",
    ]
    first = results.read_run(CITY_INDICATORS, "20240101T000000Z-aaaaaa", lake=tmp_path)
    assert sorted(first["year"]) == [2022, 2023, 2024]  # the vintage stays readable
    v = results.vintages(CITY_INDICATORS, lake=tmp_path)
    assert v["partitions"].tolist() == ["2022,2023,2024", "2024"]


def test_a_column_declared_after_the_files_were_written_reads_as_empty(tmp_path):
    """An upgrade that adds a column to a declared result does not break its pages before the
    step runs again: the stored rows read with the new column empty."""
    results.write(CITY_INDICATORS, _indicators([2023, 2024], 1.0), lake=tmp_path)
    newer = dataclasses.replace(CITY_INDICATORS, columns={**CITY_INDICATORS.columns, "quality": ""})
    cur = results.current(newer, lake=tmp_path)
    assert cur["value"].tolist() == [2024.0, 2025.0] and cur["quality"].isna().all()
    assert list(cur.columns) == list(newer.all_columns)


def test_a_listed_partition_without_rows_becomes_empty(tmp_path):
    results.write(CITY_INDICATORS, _indicators([2023, 2024], 1.0), lake=tmp_path)
    results.write(CITY_INDICATORS, _indicators([2024], 2.0), partitions=[2023, 2024], lake=tmp_path)
    cur = results.current(CITY_INDICATORS, lake=tmp_path)
    assert cur["year"].tolist() == [2024]  # 2023's rows (e.g. of a retracted batch) are gone


def test_a_transaction_commits_together_or_not_at_all(tmp_path):
    seen_inside: list[bool] = []
    with results.transaction(lake=tmp_path) as tx:
        results.write(CITY_INDICATORS, _indicators([2024], 1.0))
        # the run's own later steps see what it staged; another thread does not
        assert results.has(CITY_INDICATORS, lake=tmp_path)
        t = threading.Thread(
            target=lambda: seen_inside.append(results.has(CITY_INDICATORS, lake=tmp_path))
        )
        t.start()
        t.join()
    assert seen_inside == [False]
    assert tx.committed and results.has(CITY_INDICATORS, lake=tmp_path)

    before = results.current(CITY_INDICATORS, lake=tmp_path)
    with pytest.raises(RuntimeError), results.transaction(lake=tmp_path):
        results.write(CITY_INDICATORS, _indicators([2024], 99.0))
        raise RuntimeError("a later step failed")
    pd.testing.assert_frame_equal(results.current(CITY_INDICATORS, lake=tmp_path), before)
    assert len(results.runs(CITY_INDICATORS, lake=tmp_path)) == 1


def test_whole_table_results_are_vintages(tmp_path):
    frame = pd.DataFrame(
        {
            "frequency": "month",
            "level": "city",
            "entity": "350200",
            "period": pd.to_datetime(["2024-01-01"]),
            "as_of": pd.Timestamp("2024-02-01"),
            "calibrated_through": pd.Timestamp("2023-12-01"),
            "estimate_tco2": [10.0],
            "lower_tco2": [9.0],
            "upper_tco2": [11.0],
            "metered_kwh": [1.0],
            "model": "ratio",
            "days": [31],
            "period_complete": [True],
            "metered_complete": [1.0],
            "city": "xiamen",
            "confidence": [0.9],
            "interval_coverage": [0.9],
            "interval_coverage_n": [24],
            "inventory_year": [2023],
            "inventory_share": [0.14],
        }
    )
    results.write(NOWCAST, frame, lake=tmp_path)
    results.write(NOWCAST, frame.assign(estimate_tco2=12.0), lake=tmp_path)
    assert results.current(NOWCAST, lake=tmp_path)["estimate_tco2"].tolist() == [12.0]
    assert len(results.runs(NOWCAST, lake=tmp_path)) == 2


def test_a_frame_that_does_not_match_its_declaration_is_refused(tmp_path):
    bad = _indicators([2024], 1.0).drop(columns="basis").assign(extra=1)
    with pytest.raises(InputError, match=r"missing \['basis'\]; undeclared \['extra'\]"):
        results.write(CITY_INDICATORS, bad, lake=tmp_path)
    with pytest.raises(InputError, match="must be numeric"):
        results.write(CITY_INDICATORS, _indicators([2024], 1.0).assign(value="x"), lake=tmp_path)
    with pytest.raises(InputError, match="repeats"):
        results.write(CITY_INDICATORS, _indicators([2024, 2024], 1.0), lake=tmp_path)
    assert not results.has(CITY_INDICATORS, lake=tmp_path)


def test_the_cache_sees_commits_of_other_writers(tmp_path):
    results.write(CITY_INDICATORS, _indicators([2024], 1.0), lake=tmp_path)
    first = results.current(CITY_INDICATORS, lake=tmp_path)
    assert results.current(CITY_INDICATORS, lake=tmp_path)["value"].tolist() == [2025.0]
    gen = results.generation(tmp_path)
    results.write(CITY_INDICATORS, _indicators([2024], 5.0), lake=tmp_path)
    assert results.generation(tmp_path) != gen
    assert results.current(CITY_INDICATORS, lake=tmp_path)["value"].tolist() == [2029.0]
    assert first["value"].tolist() == [2025.0]  # a frame handed out earlier is not changed


def test_a_fingerprint_changes_only_with_its_own_results(tmp_path):
    results.write(CITY_INDICATORS, _indicators([2024], 1.0), lake=tmp_path)
    mine = results.fingerprint(CITY_INDICATORS, lake=tmp_path)
    gen = results.generation(tmp_path)
    with results.transaction("20240105T000000Z-cccccc", lake=tmp_path):  # another result only
        results.write(NOWCAST, pd.DataFrame(columns=[*NOWCAST.key, *NOWCAST.columns]))
    assert results.generation(tmp_path) != gen  # every commit moves the generation ...
    assert results.fingerprint(CITY_INDICATORS, lake=tmp_path) == mine  # ... not this token
    results.write(CITY_INDICATORS, _indicators([2024], 2.0), lake=tmp_path)
    assert results.fingerprint(CITY_INDICATORS, lake=tmp_path) != mine


@settings(max_examples=40, deadline=None)
@given(st.lists(st.sampled_from([2020, 2021, 2022, 2023]), min_size=1, max_size=4).map(set))
def test_current_rows_are_per_year_the_newest_run_that_wrote_them(tmp_path_factory, writes):
    lake = tmp_path_factory.mktemp("lake")
    results.write(CITY_INDICATORS, _indicators([2020, 2021, 2022, 2023], 0.0), lake=lake)
    expect = {y: 0.0 for y in (2020, 2021, 2022, 2023)}
    for i, year in enumerate(sorted(writes), start=1):
        results.write(CITY_INDICATORS, _indicators([year], 1000.0 * i), lake=lake)
        expect[year] = 1000.0 * i
    cur = results.current(CITY_INDICATORS, lake=lake).set_index("year")["value"]
    assert {int(y): v - y for y, v in cur.items()} == expect  # parts sum: one row per year


def test_every_declared_result_has_units_for_its_values():
    for name, r in RESULTS.items():
        assert isinstance(r, Result) and r.name == name
        assert set(r.key).isdisjoint(r.columns), name
        assert all(isinstance(u, str) for u in r.columns.values()), name
        assert r.partition in (None, "year"), name
        assert r.partition is None or r.partition in r.key, name
