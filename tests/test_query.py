"""The query layer: current_ views over committed batches, factor views, the named queries, and
DuckDB/Spark parity.

The lake written here follows the data contract (``<table>/year=YYYY/month=MM/b<batch>-<n>.parquet``,
``batch_id`` in every row) and holds a superseding batch and a file of a failed batch.

Factor values (each cited where it is used):

- GB/T 2589-2020 《综合能耗计算通则》, Appendix A, Table A.1: raw coal 0.7143 kgce/kg; natural gas
  1.1000-1.3300 kgce/m3 (the upper end, 1.3300, used here, matches the NCV below: 38 931 kJ/m3 is
  the top of its NCV range); electricity 0.1229 kgce/kWh (calorific basis, 当量值); heat
  0.03412 kgce/MJ.
- 国家发展改革委 《工业其他行业企业温室气体排放核算方法与报告指南（试行）》 (2015), Appendix 2,
  Table 2.1 (常见化石燃料特性参数缺省值): raw coal NCV 20.908 GJ/t, 26.37 tC/TJ, oxidation 94 %;
  natural gas NCV 389.31 GJ/10^4 Nm3, 15.32 tC/TJ, oxidation 99 %; purchased heat 0.11 tCO2/GJ.
- 生态环境部 环办气候函〔2023〕43号: national grid average emission factor 0.5703 tCO2/MWh (2022).
- IPCC 2006 Guidelines, Vol. 2, Ch. 1: gas/diesel oil NCV 43.0 TJ/Gg (Table 1.2), CO2 emission
  factor 74 100 kg/TJ (Table 1.4); GB/T 2589-2020 Table A.1: diesel 1.4571 kgce/kg. Diesel has no
  carbon content here, so its CO2 takes the IPCC Tier 1 route by its IPCC fuel type.
"""

from __future__ import annotations

import datetime as dt
import io
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.contract.records import record_text
from citycarbon.contract.results import ENTERPRISE_MONTH_ELECTRICITY
from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.factors import FactorProfile, FactorSet
from citycarbon.factors.library import validate_rows
from citycarbon.records import parse_record
from citycarbon.store import query, results

GB2589 = "GB/T 2589-2020 综合能耗计算通则"
GUIDE = "工业其他行业企业温室气体排放核算方法与报告指南（试行）"
IPCC = "IPCC 2006 Guidelines, Vol. 2 Energy, Ch. 1"
FACTORS = [
    # parameter, key, year, value, unit, source, clause
    ("coal_equivalent", "raw_coal", 2020, 0.7143, "kgce/kg", GB2589, "Appendix A, Table A.1"),
    ("coal_equivalent", "natural_gas", 2020, 1.3300, "kgce/m3", GB2589, "Appendix A, Table A.1"),
    ("coal_equivalent", "electricity", 2020, 0.1229, "kgce/kWh", GB2589, "Appendix A, Table A.1"),
    ("coal_equivalent", "heat", 2020, 0.03412, "kgce/MJ", GB2589, "Appendix A, Table A.1"),
    ("ncv", "raw_coal", 2015, 20.908, "GJ/t", GUIDE, "Appendix 2, Table 2.1"),
    ("ncv", "natural_gas", 2015, 389.31, "GJ/10^4 m3", GUIDE, "Appendix 2, Table 2.1"),
    ("carbon_content", "raw_coal", 2015, 26.37, "tC/TJ", GUIDE, "Appendix 2, Table 2.1"),
    ("carbon_content", "natural_gas", 2015, 15.32, "tC/TJ", GUIDE, "Appendix 2, Table 2.1"),
    ("oxidation", "raw_coal", 2015, 94, "%", GUIDE, "Appendix 2, Table 2.1"),
    ("oxidation", "natural_gas", 2015, 99, "%", GUIDE, "Appendix 2, Table 2.1"),
    ("heat_ef", "heat", 2015, 0.11, "tCO2/GJ", GUIDE, "section 4 (净购入热力), default"),
    (
        "grid_ef",
        "national",
        2022,
        0.5703,
        "tCO2/MWh",
        "生态环境部 环办气候函〔2023〕43号",
        "2022 national grid average",
    ),
    ("coal_equivalent", "diesel", 2020, 1.4571, "kgce/kg", GB2589, "Appendix A, Table A.1"),
    ("ncv", "gas_diesel_oil", 2006, 43.0, "TJ/Gg", IPCC, "Table 1.2"),
    ("co2_ef", "gas_diesel_oil", 2006, 74100, "kg/TJ", IPCC, "Table 1.4"),
]


def make_profile(rows=FACTORS) -> FactorProfile:
    raw = pd.DataFrame(
        rows, columns=["parameter", "key", "year", "value", "unit", "source", "clause"]
    ).assign(context="", note="")
    table = validate_rows(raw.astype({"year": str, "value": str}), "test factors")
    table.insert(0, "set_id", "test-cn")
    table.insert(1, "set_version", "1")
    return FactorProfile([FactorSet("test-cn", "1", "test factors", table)], name="test")


def utc(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


def write(lake: Path, table: str, year: int, month: int, name: str, frame: pd.DataFrame) -> str:
    rel = Path(table) / f"year={year}" / f"month={month:02d}" / name
    (lake / rel).parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), lake / rel)
    return str(rel)


def readings(batch: int, rows: list[tuple[str, str, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "batch_id": np.full(len(rows), batch, dtype="int64"),
            "meter_id": [r[0] for r in rows],
            "ts": pd.to_datetime([r[1] for r in rows], utc=True).as_unit("us"),
            "kwh": [float(r[2]) for r in rows],
        }
    )


ENERGY_COLS = [
    "opening_stock",
    "purchased",
    "purchase_value_10k_cny",
    "consumed_total",
    "consumed_industrial",
    "consumed_as_feedstock",
    "consumed_non_industrial",
    "consumed_transport",
    "closing_stock",
]


def energy(batch: int, rows: list[tuple]) -> pd.DataFrame:
    """rows: enterprise_code, period, fuel, unit, consumed_total, consumed_as_feedstock."""
    frame = pd.DataFrame(
        {
            "batch_id": np.full(len(rows), batch, dtype="int64"),
            "enterprise_code": [r[0] for r in rows],
            "period": [dt.date.fromisoformat(r[1]) for r in rows],
            "fuel": [r[2] for r in rows],
            "unit": [r[3] for r in rows],
        }
    )
    for col in ENERGY_COLS:
        frame[col] = np.nan
    frame["consumed_total"] = [float(r[4]) for r in rows]
    frame["consumed_as_feedstock"] = [np.nan if r[5] is None else float(r[5]) for r in rows]
    return frame


METERS = pd.DataFrame(
    {
        "meter_id": ["M1", "M2", "M3"],
        "enterprise_code": ["A", "A", "B"],
        "grid_node_id": ["N1", "N1", "N2"],
    }
)


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> tuple[Path, dict]:
    """A small lake: batches 1-2 (readings; 2 corrects one reading of 1), 3 failed (on disk, not
    committed), 4-5 (205-1 energy; 5 corrects A's coal of January)."""
    root = tmp_path_factory.mktemp("lake")
    mr = [
        (
            1,
            write(
                root,
                "meter_readings",
                2023,
                1,
                "b1-0.parquet",
                readings(
                    1,
                    [
                        ("M1", "2023-01-01 00:00", 10),
                        ("M1", "2023-01-01 01:00", 20),
                        ("M2", "2023-01-01 00:00", 5),
                        ("M3", "2023-01-01 00:00", 7),
                    ],
                ),
            ),
        ),
        (
            1,
            write(
                root,
                "meter_readings",
                2023,
                2,
                "b1-1.parquet",
                readings(1, [("M1", "2023-02-01 00:00", 100)]),
            ),
        ),
        (
            2,
            write(
                root,
                "meter_readings",
                2023,
                1,
                "b2-0.parquet",
                readings(2, [("M1", "2023-01-01 01:00", 25)]),
            ),
        ),
    ]
    # batch 3 failed: its file is in the lake but not in the catalog's committed list
    write(
        root,
        "meter_readings",
        2023,
        1,
        "b3-0.parquet",
        readings(3, [("M3", "2023-01-01 00:00", 1000)]),
    )
    em = [
        (
            4,
            write(
                root,
                "energy_monthly",
                2023,
                1,
                "b4-0.parquet",
                energy(
                    4,
                    [
                        ("A", "2023-01-01", "raw_coal", "t", 1000, None),
                        ("A", "2023-01-01", "natural_gas", "10^4 m3", 10, 2),
                        ("A", "2023-01-01", "electricity", "10^4 kWh", 50, None),
                        ("A", "2023-01-01", "heat", "GJ", 1000, None),
                        ("B", "2023-01-01", "raw_coal", "t", 500, None),
                        ("C", "2023-01-01", "diesel", "t", 10, None),
                    ],
                ),
            ),
        ),
        (
            5,
            write(
                root,
                "energy_monthly",
                2023,
                1,
                "b5-0.parquet",
                energy(5, [("A", "2023-01-01", "raw_coal", "t", 1200, None)]),
            ),
        ),
    ]

    # green electricity: batch 9 moves certificate GEC1 to February (another partition) and
    # corrects the contract row without a certificate (keyed by enterprise, period, instrument)
    def green(batch, rows):
        return pd.DataFrame(
            {
                "batch_id": np.full(len(rows), batch, dtype="int64"),
                "enterprise_code": [r[0] for r in rows],
                "period": [dt.date.fromisoformat(r[1]) for r in rows],
                "mwh": [float(r[2]) for r in rows],
                "instrument": [r[3] for r in rows],
                "certificate_id": [r[4] for r in rows],
            }
        )

    ge = [
        (
            8,
            write(
                root,
                "green_electricity",
                2023,
                1,
                "b8-0.parquet",
                green(
                    8,
                    [
                        ("A", "2023-01-01", 10, "green_certificate", "GEC1"),
                        ("A", "2023-01-01", 5, "green_power_contract", None),
                    ],
                ),
            ),
        ),
        (
            9,
            write(
                root,
                "green_electricity",
                2023,
                2,
                "b9-0.parquet",
                green(9, [("A", "2023-02-01", 12, "green_certificate", "GEC1")]),
            ),
        ),
        (
            9,
            write(
                root,
                "green_electricity",
                2023,
                1,
                "b9-1.parquet",
                green(9, [("A", "2023-01-01", 6, "green_power_contract", "")]),
            ),
        ),
    ]
    return root, {"meter_readings": mr, "energy_monthly": em, "green_electricity": ge}


def register(engine: query.QueryEngine, lake: tuple[Path, dict], profile=None) -> dict:
    root, files = lake
    info = query.register_lake(engine, root, files)
    engine.register_frame("meters", METERS)
    query.register_factors(
        engine,
        profile or make_profile(),
        range(2020, 2025),
        mode="inventory",
        grid_region="national",
    )
    return info


@pytest.fixture(scope="module")
def duck(lake):
    engine = query.open_engine("duckdb")
    info = register(engine, lake)
    yield engine, info
    engine.close()


def test_current_view_takes_highest_committed_batch(duck):
    engine, info = duck
    cur = engine.sql(
        "SELECT meter_id, ts, kwh, batch_id, year, month FROM current_meter_readings "
        "ORDER BY meter_id, ts"
    )
    assert cur["meter_id"].tolist() == ["M1", "M1", "M1", "M2", "M3"]
    # M1 01:00 was 20 kWh in batch 1 and 25 in batch 2: the higher batch wins
    assert cur["kwh"].tolist() == [10.0, 25.0, 100.0, 5.0, 7.0]
    assert cur["batch_id"].tolist() == [1, 2, 1, 1, 1]
    # batch 3 (failed) is invisible: M3 keeps its 7 kWh
    assert 1000.0 not in cur["kwh"].tolist()
    assert cur["ts"].iloc[0] == utc("2023-01-01 00:00")
    assert cur[["year", "month"]].drop_duplicates().values.tolist() == [[2023, 1], [2023, 2]]
    # only the two January files overlap in key ranges; February's is read without the window
    assert info["meter_readings"] == query.LakeTableInfo("current_meter_readings", 3, 2, 2, (2023,))
    coal = engine.sql(
        "SELECT consumed_total, batch_id FROM current_energy_monthly "
        "WHERE enterprise_code = 'A' AND fuel = 'raw_coal'"
    )
    assert coal.values.tolist() == [[1200.0, 5]]
    assert engine.sql("SELECT COUNT(*) AS n FROM current_energy_monthly")["n"].item() == 6
    green = engine.sql(
        "SELECT certificate_id, period, mwh, batch_id FROM current_green_electricity ORDER BY mwh"
    )
    assert green[["mwh", "batch_id"]].values.tolist() == [[6.0, 9], [12.0, 9]]
    assert green["period"].tolist() == [pd.Timestamp("2023-01-01"), pd.Timestamp("2023-02-01")]
    assert info["green_electricity"].window_files == 3  # alternative key: always the window


def test_pruning_gives_same_rows_as_window_over_everything(lake):
    root, files = lake
    with query.open_engine("duckdb") as engine:
        query.register_lake(engine, root, files)
        pruned = engine.sql("SELECT * FROM current_meter_readings ORDER BY meter_id, ts")
        # absolute paths, batch ids from the file names, every file through the window
        everything = [str(root / p) for _, p in files["meter_readings"]]
        info = query.register_lake(engine, root, {"meter_readings": everything}, prune=False)
        assert info["meter_readings"].window_files == 3
        full = engine.sql("SELECT * FROM current_meter_readings ORDER BY meter_id, ts")
    pd.testing.assert_frame_equal(pruned, full)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 4),
            st.integers(0, 20),
            st.integers(0, 5),
            st.integers(0, 20),
            st.integers(0, 5),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_files_needing_window_flags_every_overlap(files):
    # files of (batch, lo1, len1, lo2, len2): a file escapes the window only if its key box
    # overlaps no box of a file of another batch (brute force over all pairs)
    batches = [f[0] for f in files]
    boxes = [[(f[1], f[1] + f[2]), (f"k{f[3]:02d}", f"k{f[3] + f[4]:02d}")] for f in files]
    flagged = query.files_needing_window(batches, boxes)
    for i, a in enumerate(files):
        overlaps = any(
            b[0] != a[0]
            and a[1] <= b[1] + b[2]
            and b[1] <= a[1] + a[2]
            and a[3] <= b[3] + b[4]
            and b[3] <= a[3] + a[4]
            for j, b in enumerate(files)
            if j != i
        )
        assert flagged[i] == overlaps


def test_factor_values_in_base_units_and_latest_year(duck):
    engine, _ = duck
    fv = engine.sql("SELECT * FROM factor_values WHERE parameter = 'grid_ef' ORDER BY year")
    # 0.5703 tCO2/MWh = 0.5703 / 3.6 tCO2e/GJ; published for 2022, used for 2022-2024, not before
    assert fv["year"].tolist() == [2022, 2023, 2024]
    assert fv["source_year"].tolist() == [2022] * 3
    np.testing.assert_allclose(fv["value_base"], 0.5703 / 3.6, rtol=1e-12)
    assert set(fv["unit_base"]) == {"tCO2e/GJ"}
    cc = engine.sql(
        "SELECT value_base, unit_base FROM factor_values "
        "WHERE parameter = 'carbon_content' AND key = 'raw_coal'"
    )
    assert cc.values.tolist() == [[pytest.approx(0.02637, rel=1e-12), "t/GJ"]]


# natural gas with an NCV per tonne (IPCC style) while 205-1 counts it in 10^4 m3
BAD_GAS = [
    *[r for r in FACTORS if not (r[0] == "ncv" and r[1] == "natural_gas")],
    ("ncv", "natural_gas", 2006, 48.0, "TJ/Gg", IPCC, "Table 1.2"),
]


def test_fuel_factors_are_per_statistical_unit():
    # GB/T 2589-2020 gives natural gas in kJ/m3 (38 931) and kgce/m3; energy_monthly counts it in
    # 10^4 m3: 389.31 GJ and 13.3 tce per 10^4 m3. Electricity 0.1229 kgce/kWh = 1.229 tce/10^4 kWh.
    rows = [r for r in FACTORS if not (r[0] == "ncv" and r[1] == "natural_gas")]
    rows.append(("ncv", "natural_gas", 2020, 38931, "kJ/m3", GB2589, "Appendix A, Table A.1"))
    ff = query.fuel_factors_frame(make_profile(rows), tier1=True).set_index("fuel")
    assert ff.at["natural_gas", "ncv_gj_per_stat_unit"] == pytest.approx(389.31, rel=1e-12)
    assert ff.at["natural_gas", "tce_per_stat_unit"] == pytest.approx(13.3, rel=1e-12)
    assert ff.at["electricity", "tce_per_stat_unit"] == pytest.approx(1.229, rel=1e-12)
    assert ff.at["electricity", "gj_per_stat_unit"] == pytest.approx(36.0, rel=1e-12)
    assert ff.at["heat", "tce_per_stat_unit"] == pytest.approx(0.03412, rel=1e-12)
    assert ff.at["raw_coal", "oxidation"] == pytest.approx(0.94)
    assert not ff.at["electricity", "combustion"] and ff.at["raw_coal", "combustion"]
    assert (ff.at["electricity", "scope2_parameter"], ff.at["electricity", "scope2_key"]) == (
        "grid_ef",
        "national",
    )
    assert ff.at["raw_coal", "co2_method"] == "guideline"
    # diesel: no own NCV or carbon content; NCV and CO2 factor of its IPCC fuel type (Tier 1)
    assert ff.at["diesel", "co2_method"] == "tier1"
    assert ff.at["diesel", "ncv_gj_per_stat_unit"] == pytest.approx(43.0, rel=1e-12)
    assert ff.at["diesel", "co2_ef_tco2_per_gj"] == pytest.approx(0.0741, rel=1e-12)
    assert np.isnan(ff.at["coke", "ncv_gj_per_stat_unit"])  # not in the profile: NULL
    # LNG (counted in t) falls back to the NCV of its IPCC fuel type, natural gas, here per m3
    assert ff["factor_problem"].dropna().index.tolist() == ["lng"]
    assert np.isnan(ff.at["lng", "ncv_gj_per_stat_unit"])
    # a fuel without a CO2 method says why (the check query lists it when data use it)
    assert ff.at["coke", "co2_method"] is None
    assert "no carbon_content and oxidation" in ff.at["coke", "co2_problem"]
    assert ff.loc[ff["co2_method"].notna(), "co2_problem"].isna().all()
    # the guideline mode: diesel has no guideline factors here, and no Tier 1 stands in
    guideline = query.fuel_factors_frame(make_profile(rows), tier1=False).set_index("fuel")
    assert guideline.at["raw_coal", "co2_method"] == "guideline"
    assert guideline.at["diesel", "co2_method"] is None
    assert "never falls back to IPCC Tier 1" in guideline.at["diesel", "co2_problem"]
    # an NCV per tonne cannot serve natural gas counted in 10^4 m3: NULL, and a note
    ff_bad = query.fuel_factors_frame(make_profile(BAD_GAS), tier1=True).set_index("fuel")
    assert np.isnan(ff_bad.at["natural_gas", "ncv_gj_per_stat_unit"])
    assert "cannot be expressed per 10^4 m3" in ff_bad.at["natural_gas", "factor_problem"]


def expected_electricity() -> pd.DataFrame:
    # A, Jan 2023: M1 10 + 25 (batch 2 replaces 20) + M2 5 = 40 kWh = 0.040 MWh; B: M3 7 kWh;
    # A, Feb: 100 kWh. CO2 = MWh x 0.5703 tCO2/MWh (2022 factor, latest <= 2023).
    kwh = np.array([40.0, 100.0, 7.0])
    return pd.DataFrame(
        {
            "enterprise_code": ["A", "A", "B"],
            "year": [2023] * 3,
            "month": [1, 2, 1],
            "meters": [2, 1, 1],
            "readings": [3, 1, 1],
            "electricity_kwh": kwh,
            "electricity_mwh": kwh / 1000,
            "grid_ef_tco2_per_mwh": [0.5703] * 3,
            "grid_ef_year": [2022] * 3,
            "co2_t": kwh / 1000 * 0.5703,
        }
    )


def test_electricity_emissions_by_hand(duck):
    engine, _ = duck
    got = query.run_query(engine, "enterprise_month_electricity_emissions")
    pd.testing.assert_frame_equal(got, expected_electricity(), rtol=1e-12, check_dtype=False)
    assert got["co2_t"].tolist() == pytest.approx([0.022812, 0.05703, 0.0039921], rel=1e-12)
    only_feb = query.run_query(engine, "enterprise_month_electricity_emissions", year=2022)
    assert only_feb.empty


def test_fuel_emissions_by_hand(duck):
    engine, _ = duck
    got = query.run_query(engine, "enterprise_month_fuel_emissions").set_index("enterprise_code")
    a, b = got.loc["A"], got.loc["B"]
    # energy, tce: coal 1200 t (batch 5) x 0.7143 = 857.16; gas 10 x 10^4 m3 x 13.3 = 133;
    # electricity 50 x 10^4 kWh x 1.229 = 61.45; heat 1000 GJ x 0.03412 = 34.12
    assert a["energy_tce"] == pytest.approx(857.16 + 133 + 61.45 + 34.12, rel=1e-12)
    assert a["energy_tce"] == pytest.approx(1085.73, rel=1e-12)
    # combustion: coal 1200 t x 20.908 GJ/t x 0.02637 tC/GJ x 0.94 x 44/12 = 2 280.358 6 t;
    # gas (10 - 2 feedstock) x 389.31 GJ x 0.01532 x 0.99 x 44/12 = 173.201 2 t
    coal = 1200 * 20.908 * 0.02637 * 0.94 * 44 / 12
    gas = (10 - 2) * 389.31 * 0.01532 * 0.99 * 44 / 12
    assert coal == pytest.approx(2280.3586, rel=1e-7) and gas == pytest.approx(173.2012, rel=1e-6)
    assert a["combustion_co2_t"] == pytest.approx(coal + gas, rel=1e-12)
    # scope 2: 50 x 10^4 kWh = 500 MWh x 0.5703 = 285.15 t; heat 1000 GJ x 0.11 = 110 t
    assert a["electricity_co2_t"] == pytest.approx(285.15, rel=1e-12)
    assert a["heat_co2_t"] == pytest.approx(110.0, rel=1e-12)
    assert a["scope2_co2_t"] == pytest.approx(395.15, rel=1e-12)
    assert a["co2_t"] == pytest.approx(coal + gas + 395.15, rel=1e-12)
    assert a["fuels"] == 4 and a["rows_missing_factors"] == 0
    assert b["energy_tce"] == pytest.approx(500 * 0.7143, rel=1e-12)
    assert b["co2_t"] == pytest.approx(500 * 20.908 * 0.02637 * 0.94 * 44 / 12, rel=1e-12)
    # C: 10 t diesel, Tier 1: 10 t x 43.0 GJ/t x 0.0741 tCO2/GJ = 31.863 t; 10 x 1.4571 tce
    c = got.loc["C"]
    assert c["combustion_co2_t"] == pytest.approx(31.863, rel=1e-12)
    assert c["energy_tce"] == pytest.approx(14.571, rel=1e-12)
    assert got["biogenic_co2_t"].tolist() == [0.0, 0.0, 0.0]
    assert a["period"] == pd.Timestamp("2023-01-01") and (a["year"], a["month"]) == (2023, 1)


def test_fuel_query_agrees_with_the_domain_combustion_function(lake):
    # the SQL and citycarbon.accounting.combustion choose the same factors (guideline where the
    # fuel has its own NCV, carbon content and oxidation, else IPCC Tier 1) and give the same CO2;
    # the IPCC sets below the test set supply what the domain function also needs (CH4, N2O, GWP)
    from citycarbon.accounting.combustion import fuel_combustion_emissions
    from citycarbon.factors import load_factor_set

    test_set = make_profile().sets[0]
    profile = FactorProfile(
        [test_set, load_factor_set("ipcc-2006-energy"), load_factor_set("ipcc-ar5-gwp100")],
        name="test+ipcc",
    )
    with query.open_engine("duckdb") as engine:
        register(engine, lake, profile)
        got = query.run_query(engine, "enterprise_month_fuel_emissions").set_index(
            "enterprise_code"
        )["combustion_co2_t"]
        rows = engine.sql(
            "SELECT enterprise_code, fuel, unit, consumed_total - "
            "COALESCE(consumed_as_feedstock, 0) AS quantity "
            "FROM current_energy_monthly WHERE fuel NOT IN ('electricity', 'heat')"
        )
    domain = (
        fuel_combustion_emissions(rows, profile)
        .assign(enterprise_code=rows["enterprise_code"])
        .groupby("enterprise_code")["co2_t"]
        .sum()
    )
    pd.testing.assert_series_equal(
        got.sort_index(), domain.sort_index(), rtol=1e-12, check_names=False
    )


def test_missing_factors_are_refused_not_zero(lake, tmp_path):
    root, files = lake
    extra = write(
        root,
        "energy_monthly",
        2023,
        1,
        "b6-0.parquet",
        energy(6, [("D", "2023-01-01", "coke", "t", 3, None)]),
    )
    early = write(
        root,
        "meter_readings",
        2021,
        6,
        "b7-0.parquet",
        readings(7, [("M3", "2021-06-01 00:00", 1)]),
    )
    with query.open_engine("duckdb") as engine:
        register(
            engine,
            (
                root,
                {
                    "energy_monthly": [*files["energy_monthly"], (6, extra)],
                    "meter_readings": [*files["meter_readings"], (7, early)],
                },
            ),
        )
        with pytest.raises(InputError, match="coke") as err:
            query.run_query(engine, "enterprise_month_fuel_emissions")
        assert "coal_equivalent" in str(err.value)
        gaps = query.check_query(engine, "enterprise_month_fuel_emissions")
        assert gaps[["missing", "key", "year"]].values.tolist() == [
            ["coal_equivalent", "coke", 2023]
        ]
        # 2021 is before the first grid factor (2022): no silent zero for it
        with pytest.raises(InputError, match="grid_ef"):
            query.run_query(engine, "enterprise_month_electricity_emissions")
        # the year that has a factor runs
        assert (
            len(query.run_query(engine, "enterprise_month_electricity_emissions", year=2023)) == 3
        )
    with query.open_engine("duckdb") as engine:
        register(engine, lake, make_profile(BAD_GAS))
        with pytest.raises(InputError, match=r"cannot be expressed per 10\^4 m3"):
            query.run_query(engine, "enterprise_month_fuel_emissions")


def test_unknown_names_are_refused(duck):
    engine, _ = duck
    with pytest.raises(UnknownCodeError, match="did you mean"):
        query.get_query("enterprise_month_electricity")
    with pytest.raises(UnknownCodeError, match="duckdb"):
        query.open_engine("duckbd")
    with pytest.raises(InputError, match="view name"):
        engine.register_frame("x; DROP", METERS)
    with pytest.raises(query.QueryError, match="duckdb"):
        engine.sql("SELECT no_such_column FROM factor_values")


def test_compute_writes_results_with_provenance(duck, tmp_path):
    engine, _ = duck
    out = query.compute(engine, lake_dir=tmp_path, run_id="r1")
    assert set(out) == {"enterprise_month_electricity_emissions", "enterprise_month_fuel_emissions"}
    frame, path = out["enterprise_month_electricity_emissions"]
    assert frame["engine"].unique().tolist() == ["duckdb"]
    assert path == tmp_path / "results" / "enterprise_month_electricity_emissions" / "r1"
    back = results.current(ENTERPRISE_MONTH_ELECTRICITY, lake=tmp_path)
    assert back["run_id"].unique().tolist() == ["r1"]
    assert back["factor_profile"].iloc[0] == make_profile().version
    # the method names the account mode the factors were registered for
    assert parse_record(back["method"].iloc[0]) == [
        ("account_mode", {"mode": "inventory"}),
        ("enterprise_electricity_query", {}),
    ]
    assert record_text(back["method"].iloc[0], "en").startswith("account mode: inventory mode")
    assert back["co2_t"].sum() == pytest.approx(expected_electricity()["co2_t"].sum(), rel=1e-12)


# ----------------------------------------------------------------------------------- Spark parity
@pytest.fixture(scope="session")
def spark_engine():
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java")
    engine = query.open_engine("spark", spark_master="local[2]")
    yield engine
    engine.close()


@pytest.mark.spark
@pytest.mark.parametrize(
    "name", ["enterprise_month_electricity_emissions", "enterprise_month_fuel_emissions"]
)
def test_spark_gives_duckdb_results(name, duck, lake, spark_engine):
    register(spark_engine, lake)
    on_duckdb = query.run_query(duck[0], name)
    on_spark = query.run_query(spark_engine, name)
    assert len(on_duckdb) > 0
    pd.testing.assert_frame_equal(on_spark, on_duckdb, rtol=1e-9)
    one_year = query.run_query(spark_engine, name, year=2023)
    pd.testing.assert_frame_equal(one_year, query.run_query(duck[0], name, year=2023), rtol=1e-9)
    assert len(one_year) > 0


@pytest.mark.spark
def test_spark_current_view_matches_duckdb(duck, lake, spark_engine):
    register(spark_engine, lake)
    for text in (
        "SELECT * FROM current_meter_readings ORDER BY meter_id, ts",
        "SELECT * FROM current_green_electricity ORDER BY mwh",
        "SELECT * FROM current_energy_monthly ORDER BY enterprise_code, fuel",
    ):
        pd.testing.assert_frame_equal(spark_engine.sql(text), duck[0].sql(text))
    with pytest.raises(query.QueryError, match="spark"):
        spark_engine.sql("SELECT no_such_column FROM factor_values")


# ------------------------------------------------------------------------- CLI, through the catalog
def test_cli_compute_and_query_through_the_catalog(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from citycarbon.cli import app
    from citycarbon.config import load_city
    from citycarbon.contract.codes import credit_code_check_char
    from citycarbon.store import catalog

    # a factor set on the search path and a city that uses it
    sets = tmp_path / "sets" / "test-cn"
    sets.mkdir(parents=True)
    (sets / "manifest.yaml").write_text("id: test-cn\nversion: '1'\ntitle: test factors\n")
    pd.DataFrame(
        FACTORS, columns=["parameter", "key", "year", "value", "unit", "source", "clause"]
    ).assign(context="", note="").to_csv(sets / "factors.csv", index=False)
    city_yaml = tmp_path / "testcity.yaml"
    city_yaml.write_text(
        "id: testcity\nname: {zh: 测试市, en: Testcity}\nadcode: '350200'\n"
        "province: {code: '350000', zh: 福建省, en: Fujian}\n"
        "districts:\n  - {code: '350203', zh: 思明区, en: Siming}\n"
        "factors: {sets: [test-cn], gwp: test-cn, grid_region: national}\n"
    )
    home = tmp_path / "home"
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.setenv("CITYCARBON_FACTORS_PATH", str(tmp_path / "sets"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    url = f"sqlite:///{home / 'catalog.sqlite'}"
    home.mkdir()
    city = load_city(str(city_yaml))

    # registry: two enterprises with valid 统一社会信用代码 (GB 32100-2015), three meters
    codes = [c + credit_code_check_char(c) for c in ("91350200MA0000001", "91350200MA0000002")]
    catalog.sync_regions(city, url=url)
    catalog.upsert_registry(
        "enterprises",
        pd.DataFrame({"credit_code": codes, "name": ["A", "B"], "district_code": ["350203"] * 2}),
        url=url,
    )
    catalog.upsert_registry(
        "meters",
        METERS[["meter_id"]].assign(enterprise_code=[codes[0], codes[0], codes[1]]),
        url=url,
    )

    # two committed reading batches (the second corrects one reading) and a failed one
    lake = home / "lake"
    batches = [
        [
            ("M1", "2023-01-01 00:00", 10),
            ("M1", "2023-01-01 01:00", 20),
            ("M2", "2023-01-01 00:00", 5),
            ("M3", "2023-01-01 00:00", 7),
        ],
        [("M1", "2023-01-01 01:00", 25)],
        [("M3", "2023-01-01 00:00", 1000)],
    ]
    for i, rows in enumerate(batches):
        batch = catalog.begin_batch(
            "meter_readings", f"readings-{i}.csv", f"hash{i}", "test", url=url
        )
        rel = write(lake, "meter_readings", 2023, 1, f"b{batch}-0.parquet", readings(batch, rows))
        if i < 2:
            catalog.commit_batch(
                batch, {"rows_in": len(rows)}, [("meter_readings", rel, len(rows))], url=url
            )
        else:
            catalog.fail_batch(batch, "test: failed", url=url)

    # the layer's current view and the lake module's reader (independent code) agree
    from citycarbon.store.lake import read_current

    with query.open_engine("duckdb") as engine:
        query.register_city(engine, city=city)
        mine = engine.sql("SELECT * FROM current_meter_readings ORDER BY meter_id, ts")
    pd.testing.assert_frame_equal(mine, read_current("meter_readings", lake=lake, url=url))

    runner = CliRunner()
    result = runner.invoke(app, ["compute", "--city", str(city_yaml)], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "on duckdb" in result.output
    assert "enterprise_month_fuel_emissions skipped" in result.output
    assert "current_energy_monthly" in result.output
    assert len(results.runs(ENTERPRISE_MONTH_ELECTRICITY, lake=lake)) == 1
    back = results.current(ENTERPRISE_MONTH_ELECTRICITY, lake=lake).set_index("enterprise_code")
    # A: 10 + 25 + 5 = 40 kWh, B: 7 kWh (the failed batch's 1000 kWh is invisible)
    assert back["electricity_kwh"].to_dict() == {codes[0]: 40.0, codes[1]: 7.0}
    assert back.loc[codes[0], "co2_t"] == pytest.approx(0.040 * 0.5703, rel=1e-12)
    assert back["factor_profile"].iloc[0] == city.factor_profile("enterprise").version

    shown = runner.invoke(
        app, ["query", "enterprise_month_electricity_emissions", "--city", str(city_yaml)]
    )
    assert shown.exit_code == 0, shown.output
    assert "(2 rows)" in shown.output
    as_csv = runner.invoke(
        app, ["query", "enterprise_month_electricity_emissions", "--csv", "--city", str(city_yaml)]
    )
    printed = pd.read_csv(io.StringIO(as_csv.output))
    assert printed["enterprise_code"].tolist() == codes
    assert printed["electricity_kwh"].tolist() == [40.0, 7.0]
    unknown = runner.invoke(
        app, ["query", "enterprise_month_electricity", "--city", str(city_yaml)]
    )
    assert unknown.exit_code == 1 and "did you mean" in unknown.output
