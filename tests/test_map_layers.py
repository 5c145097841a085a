"""Map layers over the small demo city: totals add up to the results, scopes cut them."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from citycarbon.contract.results import (
    CITY_INVENTORY,
    ENTERPRISE_MONTH_ELECTRICITY,
    ENTERPRISE_MONTH_FUEL,
)
from citycarbon.errors import InputError
from citycarbon.runs import map_layers as ml
from citycarbon.store import catalog, results


@pytest.fixture
def data(demo_home) -> ml.MapData:
    ml.clear_cache()
    yield ml.map_data()
    ml.clear_cache()


def _fuel_results(home) -> pd.DataFrame:
    return results.current(ENTERPRISE_MONTH_FUEL, lake=home / "lake")


def test_district_totals_are_the_enterprise_results(data, demo_home):
    fuel = _fuel_results(demo_home)
    month = data.months[-1]
    year, m = int(month[:4]), int(month[5:])
    rows = ml.district_layer(data, ml.parse_period(month))
    assert [r["code"] for r in rows] == list(data.districts.index)
    assert sum(r["co2_t"] for r in rows) == pytest.approx(
        fuel.loc[(fuel.year == year) & (fuel.month == m), "co2_t"].sum(), rel=1e-6
    )
    # a year is the sum of its months, for every district
    months = [p for p in data.months if p.startswith(str(year))]
    by_month = [ml.district_layer(data, ml.parse_period(p)) for p in months]
    for i, r in enumerate(ml.district_layer(data, ml.parse_period(str(year)))):
        assert r["energy_tce"] == pytest.approx(sum(b[i]["energy_tce"] for b in by_month), rel=1e-4)


def test_day_totals_add_up_to_the_month(data):
    month = data.months[-1]
    days = [d for d in data.days if d.startswith(month)]
    assert len(days) >= 28
    day_sum = sum(
        r["electricity_mwh"] or 0 for d in days for r in ml.district_layer(data, ml.parse_period(d))
    )
    month_sum = sum(
        r["electricity_mwh"] or 0 for r in ml.district_layer(data, ml.parse_period(month))
    )
    assert day_sum == pytest.approx(month_sum, rel=1e-6)
    assert month_sum > 0


def test_enterprise_scope_sees_only_its_own_point(data):
    ent = catalog.registry_frame("enterprises")
    own = ent["credit_code"].iloc[0]
    scope = ml.Scope(enterprises=frozenset([own]))
    p = ml.parse_period(data.months[-1])
    pts = ml.enterprise_points(data, p, scope)
    assert [r[0] for r in pts["rows"]] == [own]
    assert ml.park_points(data, p, scope) == []
    assert ml.node_points(data, p, scope) == []
    assert all(r["co2_t"] is None and not r["visible"] for r in ml.district_layer(data, p, scope))
    with pytest.raises(PermissionError):
        ml.district_summary(data, ent["district_code"].iloc[0], p, scope)


def _district_scope(code: str) -> ml.Scope:
    ent = catalog.registry_frame("enterprises")
    return ml.Scope(frozenset(ent.loc[ent["district_code"] == code, "credit_code"]))


def test_district_scope_sees_only_its_district(data):
    p = ml.parse_period(data.months[-1])
    scope = _district_scope("350205")
    pts = ml.enterprise_points(data, p, scope)
    assert pts["rows"] and {r[4] for r in pts["rows"]} == {"350205"}
    parks = ml.park_points(data, p, scope)
    assert parks and {x["district_code"] for x in parks} == {"350205"}
    # a node is shown when every enterprise metered behind it is in the district
    nodes = ml.node_points(data, p, scope)
    pairs = data.node_enterprises
    for n in nodes:
        behind = pairs.loc[pairs["grid_node_id"] == n["node_id"], "enterprise_code"]
        assert set(behind) <= scope.enterprises
    visible = [r["code"] for r in ml.district_layer(data, p, scope) if r["visible"]]
    assert visible == ["350205"]
    summary = ml.district_summary(data, "350205", p, scope)
    assert summary["co2_t"] > 0 and summary["top_enterprises"]
    with pytest.raises(PermissionError):
        ml.district_summary(data, "350203", p, scope)


def test_park_scope_sees_its_park_but_not_the_district(data):
    ent = catalog.registry_frame("enterprises")
    park = ent["park_code"].dropna().value_counts().index[0]
    scope = ml.Scope(frozenset(ent.loc[ent["park_code"] == park, "credit_code"]))
    p = ml.parse_period(data.months[-1])
    assert [x["code"] for x in ml.park_points(data, p, scope)] == [park]
    assert not any(r["visible"] for r in ml.district_layer(data, p, scope))


def test_bad_periods_are_clear_errors(data):
    with pytest.raises(InputError, match="YYYY-MM"):
        ml.parse_period("June 2024")
    with pytest.raises(InputError, match="available"):
        ml.check_period(data, ml.parse_period("1999-01"))


def test_local_days_match_the_monthly_metered_result(data, demo_home):
    # days are local calendar days: their sums per month equal the named query's monthly
    # metered electricity, whose months come from the ingest's local-time partitions
    elec = results.current(ENTERPRISE_MONTH_ELECTRICITY, lake=demo_home / "lake")
    for month in (data.months[0], data.months[-1]):
        y, m = int(month[:4]), int(month[5:])
        days = [d for d in data.days if d.startswith(month)]
        from_days = sum(data.enterprise_days[d]["electricity_mwh"].sum() for d in days)
        expected = elec.loc[(elec.year == y) & (elec.month == m), "electricity_mwh"].sum()
        assert from_days == pytest.approx(expected, rel=1e-9)


def test_fixed_offset_detection():
    assert ml._fixed_utc_offset_s("Asia/Shanghai", [2022, 2024]) == 8 * 3600
    assert ml._fixed_utc_offset_s("Europe/Berlin", [2024]) is None


def test_a_new_results_run_is_picked_up(small_demo_dir, tmp_path, monkeypatch):
    home = tmp_path / "h"
    shutil.copytree(small_demo_dir, home)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    ml.clear_cache()
    first = ml.map_data()
    month = first.months[-1]
    before = sum(r["co2_t"] for r in ml.district_layer(first, ml.parse_period(month)))
    # a later run of the same result with every CO2 doubled
    frame = results.current(ENTERPRISE_MONTH_FUEL, lake=home / "lake")
    frame["co2_t"] *= 2
    results.write(ENTERPRISE_MONTH_FUEL, frame, lake=home / "lake")
    assert ml.map_data() is first  # within the TTL: the served cube, no check
    monkeypatch.setattr(ml, "CACHE_TTL_S", 0.0)
    second = ml.map_data(wait=True)
    assert second is not first
    after = sum(r["co2_t"] for r in ml.district_layer(second, ml.parse_period(month)))
    assert after == pytest.approx(2 * before)
    ml.clear_cache()


def test_an_empty_city_has_no_periods_and_says_so(tmp_path, monkeypatch):
    from citycarbon.config import load_city

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    catalog.sync_regions(load_city())
    ml.clear_cache()
    data = ml.map_data()
    assert ml.periods(data)["months"] == [] and ml.periods(data)["days"] is None
    assert len(data.boundaries["features"]) == 6
    with pytest.raises(InputError, match="available: none"):
        ml.check_period(data, ml.parse_period("2024"))
    ml.clear_cache()


def test_inventory_district_totals_for_years(data, demo_home):
    inv = results.current(CITY_INVENTORY, lake=demo_home / "lake", hint="citycarbon demo")
    inv = inv[(inv["level"] == "district") & (inv["basis"] == ml.INVENTORY_BASIS)]
    year = data.years[-1]
    rows = {r["code"]: r for r in ml.district_layer(data, ml.parse_period(year))}
    for code, total in (
        inv[inv["year"] == int(year)].groupby("entity_code")["emissions_tco2e"].sum().items()
    ):
        if code in rows:
            assert rows[code]["ghg_tco2e"] == pytest.approx(total, rel=1e-6)
    assert all(
        r["ghg_tco2e"] is None for r in ml.district_layer(data, ml.parse_period(data.months[-1]))
    )
