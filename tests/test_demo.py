"""Tests of the deterministic demo city generator (citycarbon.demo)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from citycarbon import geo, units
from citycarbon.cli import app
from citycarbon.config import load_city
from citycarbon.contract.codes import valid_credit_codes
from citycarbon.demo import build_city, credit_codes, generate_city
from citycarbon.demo.generator import (
    COLUMNS,
    calibration_path,
    largest_remainder,
)
from citycarbon.factors import fuels

SMALL = {"enterprises": 60, "years": 1}


@pytest.fixture(scope="module")
def calibration() -> dict:
    return yaml.safe_load(calibration_path("xiamen").read_text("utf-8"))


@pytest.fixture(scope="module")
def published(calibration) -> pd.DataFrame:
    return pd.DataFrame(calibration["published"]).set_index("id")


@pytest.fixture(scope="module")
def default_city():
    """The default demo city without readings (cheap: tables only)."""
    return build_city()


@pytest.fixture(scope="module")
def small_files(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return generate_city(out, meters=12, readings="hourly", **SMALL)


def test_same_seed_same_bytes(tmp_path, small_files):
    again = generate_city(tmp_path / "again", meters=12, readings="hourly", **SMALL)
    assert set(again) == set(small_files)
    for name, path in small_files.items():
        assert again[name].read_bytes() == path.read_bytes(), name
    other = generate_city(tmp_path / "other", seed=7, meters=12, readings="none", **SMALL)
    assert other["enterprises"].read_bytes() != small_files["enterprises"].read_bytes()


def test_files_have_canonical_columns(small_files):
    for name, path in small_files.items():
        if name not in COLUMNS:
            continue
        if path.suffix == ".parquet":
            columns = pq.read_schema(path).names
        else:
            columns = list(pd.read_csv(path, nrows=0).columns)
        assert columns == COLUMNS[name], name
    schema = pq.read_schema(small_files["meter_readings"])
    assert str(schema.field("ts").type) == "timestamp[us, tz=UTC]"


def test_credit_codes_are_valid_and_unique(default_city):
    codes = default_city.enterprises["credit_code"]
    assert valid_credit_codes(codes).all()
    assert codes.is_unique
    # positions 3-8: the registering district (GB 32100-2015, 4.1)
    assert (codes.str[2:8] == default_city.enterprises["district_code"]).all()


@settings(max_examples=25, deadline=None)
@given(
    st.lists(
        st.sampled_from(["350203", "350205", "350206", "350211", "350212", "350213"]),
        min_size=1,
        max_size=50,
    ),
    st.integers(0, 2**32 - 1),
)
def test_credit_codes_property(districts, seed):
    codes = credit_codes(np.array(districts), np.random.default_rng(seed))
    assert valid_credit_codes(pd.Series(codes)).all()
    assert len(set(codes)) == len(codes)


def test_enterprises_inside_their_real_districts(default_city):
    districts = {d.code for d in load_city("xiamen").districts}
    ent = default_city.enterprises
    assert set(ent["district_code"]) <= districts
    assert set(default_city.parks["district_code"]) <= districts
    assert set(default_city.grid_nodes["district_code"]) <= districts
    # every enterprise and grid node lies inside its own district's packaged boundary
    fc = geo.boundaries(load_city("xiamen"))
    for points in (ent, default_city.grid_nodes):
        found = geo.district_of_points(fc, points["lon"].to_numpy(), points["lat"].to_numpy())
        assert (found == points["district_code"].to_numpy()).all()
    in_park = ent.dropna(subset=["park_code"]).merge(
        default_city.parks, left_on="park_code", right_on="code", suffixes=("", "_park")
    )
    assert (in_park["district_code"] == in_park["district_code_park"]).all()
    assert ent["name"].str.endswith("（合成）").all()
    assert 0.09 <= ent["is_key"].mean() <= 0.12


def test_meters_map_to_enterprises_and_nodes(default_city):
    meters = default_city.meters
    ent = default_city.enterprises.set_index("credit_code")
    assert meters["meter_id"].is_unique
    assert set(meters["enterprise_code"]) == set(ent.index[ent["is_key"]])
    nodes = default_city.grid_nodes.set_index("node_id")
    assert meters["grid_node_id"].isin(nodes.index).all()
    same = (
        nodes.loc[meters["grid_node_id"], "district_code"].to_numpy()
        == ent.loc[meters["enterprise_code"], "district_code"].to_numpy()
    )
    assert same.all()
    per_key = meters.groupby("enterprise_code").size()
    assert per_key.between(1, 4).all()


@pytest.mark.parametrize("count", [10, 100])
def test_meter_count_option(count):
    demo = build_city(meters=count, **SMALL)
    assert len(demo.meters) == count
    covered = demo.meters["enterprise_code"].nunique()
    assert covered == min(count, SMALL["enterprises"])


def test_monthly_meter_sums_match_energy_monthly(small_files, calibration):
    # stated tolerance: meter accuracy (class 0.5S, +/-0.5%) plus 0.5 Wh rounding per reading
    accuracy = calibration["assumptions"]["meter_accuracy"]["value"]
    readings = pd.read_parquet(small_files["meter_readings"])
    meters = pd.read_csv(small_files["meters"])
    energy = pd.read_parquet(small_files["energy_monthly"])
    local = readings["ts"].dt.tz_convert(load_city("xiamen").timezone)
    readings["period"] = local.dt.tz_localize(None).dt.to_period("M").dt.to_timestamp()
    readings = readings.merge(meters, on="meter_id")
    metered = readings.groupby(["enterprise_code", "period"])["kwh"].agg(["sum", "size"])
    elec = (
        energy[energy["fuel"] == "electricity"]
        .assign(period=lambda f: pd.to_datetime(f["period"]))
        .set_index(["enterprise_code", "period"])["consumed_total"]
    )
    reported = units.convert(elec.reindex(metered.index), "10^4 kWh", "kWh")
    assert len(metered) == 12 * meters["enterprise_code"].nunique()
    assert (readings["kwh"] >= 0).all()
    slack = reported * accuracy + metered["size"] * 0.0005 + 1e-6
    assert ((metered["sum"] - reported).abs() <= slack).all()
    # hourly: 24 readings a day, every local hour of the year present once per meter
    assert readings.groupby("meter_id").size().eq(366 * 24).all()  # 2024 is a leap year


def test_stock_identity_and_consumption_split(default_city):
    e = default_city.energy_monthly
    np.testing.assert_allclose(
        e["closing_stock"], e["opening_stock"] + e["purchased"] - e["consumed_total"], atol=1e-6
    )
    np.testing.assert_allclose(
        e["consumed_total"], e["consumed_industrial"] + e["consumed_non_industrial"], atol=1e-6
    )
    assert (e["consumed_as_feedstock"] <= e["consumed_industrial"] + 1e-9).all()
    assert (e["consumed_transport"] <= e["consumed_non_industrial"] + 1e-9).all()
    numeric = e.select_dtypes("number")
    assert (numeric >= 0).all().all()
    assert e["consumed_total"].notna().all()
    # opening stock of a month is the closing stock of the month before
    storable = e[e["opening_stock"] > 0].sort_values(["enterprise_code", "fuel", "period"])
    prev = storable.groupby(["enterprise_code", "fuel"])["closing_stock"].shift()
    both = prev.notna()
    np.testing.assert_allclose(storable.loc[both, "opening_stock"], prev[both], atol=1e-9)
    # units are the statistical units of fuels.csv
    assert (e["unit"] == fuels()["stat_unit"].reindex(e["fuel"]).to_numpy()).all()
    assert (e.groupby("enterprise_code")["fuel"].apply(lambda f: "electricity" in set(f))).all()


def test_derived_electricity_reproduces_bulletin(published):
    # 厦门市2021年国民经济和社会发展统计公报, 一、综合: GDP 7033.89 亿元, 万元GDP耗电 466.38 kWh,
    # so 全社会用电量 = 466.38 kWh/万元 x 7033.89e4 万元 = 328.05 亿kWh
    gdp_10k_cny = units.convert(published.at["gdp_2021", "value"], "10^8 CNY", "10^4 CNY")
    kwh = gdp_10k_cny * published.at["electricity_intensity_2021", "value"]
    assert units.convert(kwh, "kWh", "10^8 kWh") == pytest.approx(
        published.at["electricity_2021", "value"], abs=1e-4
    )
    # 2023 report: population 532.70万, 比上一年度略增1.9万人 -> 530.80万 in 2022
    assert published.at["population_2023", "value"] - 1.9 == pytest.approx(
        published.at["population_2022", "value"]
    )


def test_calibrated_totals_at_default_size(default_city, calibration, published):
    stats = default_city.city_statistics.set_index(
        ["region_code", "year", "indicator", "price_basis"]
    )["value"]
    # published figures appear unchanged (厦门 statistical bulletins 2022, 2023; 十四五 review 2025)
    for year, ref in [(2022, "gdp_2022"), (2023, "gdp_2023"), (2024, "gdp_2024")]:
        assert stats["350200", year, "gdp", "current"] == pytest.approx(published.at[ref, "value"])
    for year, ref in [(2022, "population_2022"), (2023, "population_2023")]:
        assert stats["350200", year, "population", ""] == pytest.approx(published.at[ref, "value"])
    district_gdp = published[
        (published["indicator"] == "gdp")
        & (published["year"] == 2022)
        & (published["region"] != "350200")
    ]
    for _, row in district_gdp.iterrows():
        assert stats[row["region"], 2022, "gdp", "current"] == pytest.approx(row["value"])
    # comparable prices: 2020 GDP x published real growth 2021 (8.1%), 2022 (4.4%), 2023 (3.1%)
    chain = published.at["gdp_2020", "value"] * 1.081 * 1.044 * 1.031
    assert stats["350200", 2023, "gdp", "comparable_2020"] == pytest.approx(chain, rel=1e-6)

    # enterprises' electricity = coverage x city 全社会用电量 (2021 derived x national growth)
    coverage = calibration["assumptions"]["coverage_electricity"]["value"]
    city_2021 = published.at["electricity_2021", "value"]
    growth = {
        y: published.at[f"national_electricity_growth_{y}", "value"] for y in (2022, 2023, 2024)
    }
    energy = default_city.energy_monthly
    elec = energy[energy["fuel"] == "electricity"]
    by_year = elec.groupby(pd.to_datetime(elec["period"]).dt.year)["consumed_total"].sum()
    city = city_2021
    for year in (2022, 2023, 2024):
        city *= 1 + growth[year]
        assert stats["350200", year, "electricity_consumption", ""] == pytest.approx(city, abs=1e-4)
        expected = units.convert(city, "10^8 kWh", "10^4 kWh") * coverage
        assert by_year[year] == pytest.approx(expected, rel=1e-6)  # rounding of monthly values


def test_districts_add_up_to_the_city(default_city):
    s = default_city.city_statistics
    city = s[s["region_code"] == "350200"].set_index(["year", "indicator", "price_basis"])["value"]
    parts = (
        s[s["region_code"] != "350200"].groupby(["year", "indicator", "price_basis"])["value"].sum()
    )
    # published district GDPs of 2022 add to 7802.65, the city's figure is 7802.66 (rounding)
    np.testing.assert_allclose(parts.reindex(city.index), city, rtol=2e-6, atol=5e-4)
    assert (s["value"] > 0).all()


def test_industrial_output_and_green_electricity(default_city):
    out = default_city.industrial_output
    ent = default_city.enterprises.set_index("credit_code")
    assert ent.loc[out["enterprise_code"].unique(), "is_key"].all()
    assert (out["quantity"] > 0).all() and (out["output_value_10k_cny"] > 0).all()
    green = default_city.green_electricity
    assert set(green["instrument"]) == {"green_certificate", "green_power_contract"}
    certs = green[green["instrument"] == "green_certificate"]
    assert certs["certificate_id"].is_unique
    assert (certs["mwh"] % 1 == 0).all()  # whole certificates of 1 MWh
    energy = default_city.energy_monthly
    elec = (
        energy[energy["fuel"] == "electricity"].groupby("enterprise_code")["consumed_total"].sum()
    )
    bought = green.groupby("enterprise_code")["mwh"].sum()
    assert (bought <= units.convert(elec.reindex(bought.index), "10^4 kWh", "MWh")).all()


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0.01, 100.0), min_size=1, max_size=30), st.integers(0, 10_000))
def test_largest_remainder_property(weights, total):
    counts = largest_remainder(np.array(weights), total)
    quota = np.array(weights) / sum(weights) * total
    assert counts.sum() == total
    assert (counts >= np.floor(quota) - 1e-9).all() and (counts <= np.ceil(quota) + 1e-9).all()


def test_cli_demo_data(tmp_path):
    result = CliRunner().invoke(
        app,
        ["demo-data", str(tmp_path), "--enterprises", "30", "--years", "1", "--readings", "daily"],
    )
    assert result.exit_code == 0, result.output
    readings = pd.read_parquet(tmp_path / "meter_readings.parquet")
    assert len(readings) == readings["meter_id"].nunique() * 366
