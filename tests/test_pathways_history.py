"""The long history of drivers and emissions: the yearbook series (kind ``yearbook_series``)
spliced with the inventory years, STIRPAT on it and the baseline's calibration fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.pathways import activity as act
from citycarbon.pathways.history import SERIES_COLUMNS, series_drivers, splice_history
from citycarbon.pathways.stirpat import r_squared, stirpat_ridge

YEARS = st.sets(st.integers(2000, 2030), min_size=1, max_size=12)


def _series(years, value=1.0) -> pd.DataFrame:
    y = sorted(years)
    frame = pd.DataFrame({c: value for c in SERIES_COLUMNS[1:]}, index=range(len(y)))
    frame.insert(0, "year", y)
    frame["emissions_tco2e"] = [100.0 + k for k in y]
    frame["energy_tce"] = [50.0 + k for k in y]
    return frame


@given(YEARS, YEARS)
def test_splice_takes_the_inventory_where_it_has_the_year_else_the_series(inv_years, ser_years):
    inventory = pd.DataFrame(
        {"year": sorted(inv_years), "emissions_tco2e": -1.0, "energy_tce": -2.0}
    )
    out = splice_history(inventory, _series(ser_years)).set_index("year")
    assert list(out.index) == sorted(inv_years | ser_years)
    own = out.index.isin(sorted(inv_years))
    assert (out.loc[own, "source"] == "inventory").all()
    assert (out.loc[own, "emissions_tco2e"] == -1.0).all() and (
        out.loc[own, "energy_tce"] == -2.0
    ).all()
    rest = out.loc[~own]
    assert (rest["source"] == "series").all()
    assert (rest["emissions_tco2e"] == 100.0 + rest.index).all()


def test_series_drivers_converts_units_and_refuses_two_base_years():
    rows = pd.DataFrame(
        {
            "year": [2015, 2016],
            "population_1e4": [500.0, 505.0],
            "urbanisation_rate_pct": [89.0, np.nan],
            "gdp_comparable_1e8_cny": [4000.0, 4300.0],
            "gdp_base_year": [2020, 2020],
            "secondary_share_pct": [43.5, 42.0],
            "energy_consumption_1e4_tce": [600.0, 650.0],
            "co2_1e4_t": [1200.0, np.nan],
        }
    )
    s = series_drivers(rows)
    assert list(s.columns) == SERIES_COLUMNS
    assert s["urbanisation"].iloc[0] == pytest.approx(0.89) and np.isnan(s["urbanisation"].iloc[1])
    assert s["industrial_share"].tolist() == pytest.approx([0.435, 0.42])
    assert s["energy_tce"].iloc[0] == pytest.approx(6.0e6)
    assert s["emissions_tco2e"].iloc[0] == pytest.approx(1.2e7)
    with pytest.raises(InputError, match="one base year"):
        series_drivers(rows.assign(gdp_base_year=[2015, 2020]))


def test_r_squared_is_one_on_an_exact_log_linear_model_and_ridge_stays_in_0_1():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 2))
    y = 0.5 + x @ np.array([1.2, -0.4])
    assert r_squared(x, y, np.array([1.2, -0.4])) == pytest.approx(1.0)
    frame = pd.DataFrame(np.exp(np.column_stack([y, x])), columns=["I", "P", "A"])
    out = stirpat_ridge(frame, "I", ["P", "A"], alpha=0.0, n_boot=50)
    assert out["r_squared"].iat[0] == pytest.approx(1.0)


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10_000), st.floats(0.0, 1e3))
def test_ridge_r_squared_is_between_0_and_1(seed, alpha):
    # the penalised least squares has beta = 0 (RSS = TSS) as a candidate (Hoerl & Kennard 1970)
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(np.exp(rng.normal(size=(12, 3))), columns=["I", "P", "A"])
    r2 = stirpat_ridge(frame, "I", ["P", "A"], alpha=alpha, n_boot=10)["r_squared"].iat[0]
    assert -1e-12 <= r2 <= 1 + 1e-12


def test_city_backcast_hand_worked():
    # two sectors, base 2022: EI = 2 and 1 tce/unit, trends 0 and -10 %/yr; carbon content 2.5
    # and 2.0 tCO2e/tce in 2022 (the only inventory year): 2020 activity 10 and 20 units
    # -> 10 x 2 x 2.5 + 20 x 1 x 0.9^-2 x 2.0 = 50 + 49.3827 = 99.3827 tCO2e
    cal = pd.DataFrame(
        {
            "sector": ["a", "b"],
            "intensity_base_tce_per_unit": [2.0, 1.0],
            "intensity_trend_per_yr": [0.0, -0.1],
        }
    )
    carbon = pd.DataFrame(
        {
            "year": 2022,
            "sector": ["a", "b"],
            "emissions_tco2e": [25.0, 10.0],
            "energy_tce": [10.0, 5.0],
        }
    )
    activity = pd.DataFrame(
        {"year": [2020, 2020, 2021], "sector": ["a", "b", "a"], "activity": [10.0, 20.0, 1.0]}
    )
    out = act.city_backcast_tco2e(activity, cal, carbon, base_year=2022)
    assert out["year"].tolist() == [2020]  # 2021 lacks sector b's activity
    assert out["backcast_tco2e"].iat[0] == pytest.approx(50 + 20 * 0.9**-2 * 2.0)


def _long_history(series_shift: float = 1.0):
    """Sector activity 2012-2024 and intensities falling 2 %/yr; the inventory 2022-2024, the
    yearbook series (CO2 = the same model) before, scaled by ``series_shift``."""
    from citycarbon.runs.scenarios import CityHistory

    years = np.arange(2012, 2025)
    t = years - 2024
    sectors = {
        "industry": (100.0, 3.0),
        "transport": (50.0, 2.2),
        "buildings": (80.0, 1.8),
        "other": (20.0, 2.0),
    }
    act_rows, em_rows = [], []
    for s, (a0, k) in sectors.items():
        activity = a0 * 1.05**t
        energy = activity * 10.0 * 0.98**t
        act_rows.append(
            pd.DataFrame({"year": years, "sector": s, "indicator": s, "activity": activity})
        )
        em_rows.append(
            pd.DataFrame(
                {"year": years, "sector": s, "energy_tce": energy, "emissions_tco2e": energy * k}
            )
        )
    activity = pd.concat(act_rows, ignore_index=True)
    full = pd.concat(em_rows, ignore_index=True)
    emissions = full[full["year"] >= 2022]
    totals = full.groupby("year")[["emissions_tco2e", "energy_tce"]].sum()
    pop = pd.Series(450 * 1.015**t, index=years)
    gdp = pd.Series(3000 * 1.07**t * np.exp(np.sin(years)) * 0.01 + 3000 * 1.07**t, index=years)
    inv = totals.loc[2022:]
    drivers = pd.DataFrame(
        {
            "year": inv.index,
            "population": pop[inv.index].to_numpy(),
            "gdp": gdp[inv.index].to_numpy(),
            "gdp_price_basis": "comparable_2020",
            "energy_tce": inv["energy_tce"].to_numpy(),
            "emissions_tco2e": inv["emissions_tco2e"].to_numpy(),
        }
    )
    series = pd.DataFrame(
        {
            "year": years,
            "population": pop.to_numpy(),
            "gdp": gdp.to_numpy(),
            "gdp_base_year": 2020,
            "urbanisation": 0.8 + 0.005 * (years - 2012) + 0.01 * np.cos(years),
            "industrial_share": 0.45 - 0.006 * (years - 2012) + 0.01 * np.sin(2 * years),
            "energy_tce": totals["energy_tce"].to_numpy(),
            "emissions_tco2e": np.where(
                years < 2022, totals["emissions_tco2e"] * series_shift, np.nan
            ),
            "citation": "synthetic test series",
        }
    )
    from citycarbon.pathways import catalogue as cat

    a = cat.baseline_assumptions()
    mix = pd.DataFrame(
        [(s, c, v) for s, d in a["sectors"].items() for c, v in d["mix"].items()],
        columns=["sector", "carrier", "share"],
    )
    return CityHistory(
        emissions,
        drivers,
        mix,
        pd.Series(0.55, index=years),
        2024,
        activity=activity,
        series=series,
    )


def test_stirpat_uses_the_long_history():
    from citycarbon.runs import scenarios as ds

    h = _long_history()
    frame = ds.stirpat_frame(h)
    assert frame["year"].tolist() == list(range(2012, 2025))
    assert (frame.loc[frame["year"] >= 2022, "source"] == "inventory").all()
    assert (frame.loc[frame["year"] < 2022, "source"] == "series").all()
    got = ds.history_stirpat(h, n_boot=200)
    assert got["drivers"] == ["population", "affluence", "industrial_share", "urbanisation"]
    s = got["summary"]
    assert (s["n_obs"], s["years_inventory"], s["years_series"]) == (13, 3, 10)
    assert (s["first_year"], s["last_year"]) == (2012, 2024)
    e = got["elasticities"]
    assert e is not None and 0.0 <= e["r_squared"].iat[0] <= 1.0
    assert set(got["diagnostics"]["driver"]) == set(got["drivers"])


def test_baseline_reproduces_the_long_history_within_the_stated_tolerance():
    from citycarbon.runs import scenarios as ds

    fit = ds.activity_baseline(_long_history())["fit"]
    assert fit["year"].tolist() == list(range(2012, 2025))
    assert set(fit["source"]) == {"inventory", "series"}
    # intensities fall 2 %/yr exactly and the carbon content is constant: the calibrated
    # trend (-2 %/yr, inside the bounds) reproduces every year
    assert fit["error"].abs().max() < 1e-9 and fit["within_tolerance"].all()
    # a series 20 % off the model is flagged in its years, the inventory years are not
    off = ds.activity_baseline(_long_history(series_shift=1.2))["fit"]
    assert (~off.loc[off["source"] == "series", "within_tolerance"]).all()
    assert off.loc[off["source"] == "inventory", "within_tolerance"].all()
    assert off.loc[off["source"] == "series", "error"].to_numpy() == pytest.approx(1 / 1.2 - 1)


def test_yearbook_series_ingest_checks(tmp_path, monkeypatch):
    from citycarbon.ingest.loader import ingest
    from citycarbon.store import catalog, lake

    monkeypatch.setenv("CITYCARBON_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CITYCARBON_DATABASE_URL", raising=False)
    f = tmp_path / "series.csv"
    f.write_text(
        "行政区划代码,年份,年末常住人口（万人）,常住人口城镇化率（%）,地区生产总值（可比价，亿元）,"
        "可比价基年,第二产业增加值占GDP比重（%）,能源消费总量（万吨标准煤）,二氧化碳排放量（万吨）,数据来源\n"
        "350200,2015,386,88.9,4476.6,2020,43.5,,,公报\n"
        "350200,2016,392,120,4830.2,2020,42.6,,,公报\n"  # urbanisation above 100 %
        "350200,2017,-1,89.1,5197.3,2020,41.7,,,公报\n",  # negative population
        encoding="utf-8",
    )
    try:
        r = ingest("yearbook_series", f)
        assert (r.rows_accepted, r.rows_quarantined) == (1, 2)
        rows = lake.read_current("yearbook_series")
        assert rows["population_1e4"].tolist() == [386.0]
        assert rows["urbanisation_rate_pct"].tolist() == [88.9]
    finally:
        catalog.dispose_engines()
