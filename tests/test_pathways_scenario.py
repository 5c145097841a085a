"""Scenario engine, peak detection, Monte Carlo, MACC, co-benefits and economics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.pathways import catalogue as cat
from citycarbon.pathways import cobenefits as cb
from citycarbon.pathways import economics as ec
from citycarbon.pathways import macc as mc
from citycarbon.pathways import scenario as sc

GRID = 0.53


@pytest.fixture(scope="module")
def inputs():
    a = cat.baseline_assumptions()
    mix = pd.DataFrame(
        [(s, c, v) for s, d in a["sectors"].items() for c, v in d["mix"].items()],
        columns=["sector", "carrier", "share"],
    )
    em = pd.DataFrame(
        {
            "sector": ["industry", "transport", "buildings", "other"],
            "emissions_tco2e": [2.0e7, 6.0e6, 1.0e7, 2.0e6],
        }
    )
    base_energy = sc.base_energy_from_emissions(em, mix, grid_ef_tco2_per_mwh=GRID)
    return {
        "base_energy": base_energy,
        "base_year": 2024,
        "grid_ef_tco2_per_mwh": GRID,
        "gdp": 7800.0,
        "population": 535.0,
    }


def _enhanced():
    spec = next(s for s in cat.default_scenarios() if s["name"] == "enhanced")
    return cat.resolve_measures(spec["measures"])


def test_peak_detection_on_constructed_series():
    years = np.arange(2020, 2031)
    rising_falling = np.array([1, 2, 3, 5, 8, 9, 8, 7, 6, 5, 4], dtype=float)
    monotone = np.arange(11, dtype=float)
    plateau = np.array([1, 2, 4, 4, 4, 3, 2, 2, 1, 1, 0], dtype=float)
    y, v = sc.peak(years, np.stack([rising_falling, monotone, plateau]))
    assert y[0] == 2025 and v[0] == 9
    assert np.isnan(y[1]) and v[1] == 10  # still rising at the horizon: no peak
    assert y[2] == 2022 and v[2] == 4  # plateau: the first year of the maximum


def test_base_year_reproduces_the_input_emissions(inputs):
    run = sc.simulate(measures=[], **inputs)
    assert run.gross[0, 0] == pytest.approx(3.8e7, rel=1e-12)
    assert run.emissions_tco2e[0, :, 0] == pytest.approx([2.0e7, 6.0e6, 1.0e7, 2.0e6])
    assert run.years[-1] == 2060


def test_scenario_without_measures_reproduces_the_baseline(inputs):
    baseline = sc.simulate(measures=[], **inputs, name="baseline")
    empty = sc.simulate(measures=cat.resolve_measures([]), **inputs, name="empty")
    np.testing.assert_array_equal(empty.emissions_tco2e, baseline.emissions_tco2e)
    late = [dict(id=m.id, start_year=2070, full_year=2080) for m in _enhanced()]
    after_horizon = sc.simulate(measures=cat.resolve_measures(late), **inputs)
    np.testing.assert_allclose(after_horizon.net, baseline.net, rtol=1e-12)
    # with Monte Carlo too: no measures -> the baseline draws with the same seed
    mc_base = sc.simulate(measures=[], draws=50, seed=4, **inputs)
    mc_late = sc.simulate(measures=cat.resolve_measures(late), draws=50, seed=4, **inputs)
    assert mc_late.gross[:, -1] == pytest.approx(mc_base.gross[:, -1], rel=0.2)


def test_efficiency_measure_cuts_its_sector_by_its_share(inputs):
    spec = [
        {
            "id": "industrial_efficiency",
            "start_year": 2025,
            "full_year": 2030,
            "params": {"share": 0.2},
        }
    ]
    base = sc.simulate(measures=[], **inputs)
    run = sc.simulate(measures=cat.resolve_measures(spec), **inputs)
    i = run.sectors.index("industry")
    y = list(run.years).index(2030)
    assert run.emissions_tco2e[0, i, y] == pytest.approx(0.8 * base.emissions_tco2e[0, i, y])
    y27 = list(run.years).index(2027)  # ramp 2/5 of the way
    assert run.emissions_tco2e[0, i, y27] == pytest.approx(
        (1 - 0.2 * 0.4) * base.emissions_tco2e[0, i, y27]
    )


def test_fuel_switch_conserves_energy_at_ratio_one(inputs):
    spec = [{"id": "coal_to_gas_industry", "params": {"efficiency_ratio": 1.0}}]
    base = sc.simulate(measures=[], **inputs)
    run = sc.simulate(measures=cat.resolve_measures(spec), **inputs)
    np.testing.assert_allclose(run.energy_tce.sum(axis=2), base.energy_tce.sum(axis=2))
    assert (run.gross <= base.gross + 1e-6).all()


def test_monte_carlo_is_reproducible_with_a_seed(inputs):
    ms = _enhanced()
    a = sc.simulate(measures=ms, draws=300, seed=7, **inputs)
    b = sc.simulate(measures=ms, draws=300, seed=7, **inputs)
    c = sc.simulate(measures=ms, draws=300, seed=8, **inputs)
    np.testing.assert_array_equal(a.net, b.net)
    assert not np.array_equal(a.net, c.net)
    fan = sc.fan_chart(a)
    p = fan[["p5", "p25", "p50", "p75", "p95"]].to_numpy()
    assert (np.diff(p, axis=1) >= -1e-6).all()
    s = sc.summary(a)
    assert 0.0 <= s["probability_peak_by"] <= 1.0
    assert s["probability_peak_by"] == sc.probability_of_peak_by(a, 2030)


def test_measures_lower_emissions_and_summary_fields(inputs):
    base = sc.simulate(measures=[], **inputs, name="baseline")
    enh = sc.simulate(measures=_enhanced(), **inputs, name="enhanced")
    assert (enh.net[0, 2:] < base.net[0, 2:]).all()  # measures start ramping in 2025
    table = sc.compare([base, enh])
    assert table.loc["enhanced", "net_end_tco2e"] < table.loc["baseline", "net_end_tco2e"]
    assert table.loc["enhanced", "neutrality_gap_tco2e"] >= 0
    checks = sc.intensity_check(enh)
    assert set(checks.columns) >= {"required_reduction", "achieved_reduction", "met"}
    traj = sc.trajectory(enh)
    total = traj[traj["sector"] == "total"].set_index("year")["emissions_tco2e"]
    parts = traj[traj["sector"].isin(enh.sectors)].groupby("year")["emissions_tco2e"].sum()
    np.testing.assert_allclose(total.to_numpy(), parts.to_numpy())
    peaks = sc.sector_peaks(base).set_index("sector")
    assert (peaks["peak_value_tco2e"] >= peaks["base_year_tco2e"]).all()
    chart = sc.chart_data([base, enh])
    assert len(chart["scenarios"][1]["total"]) == len(chart["years"]) == 37


def test_macc_is_sorted_and_contiguous(inputs):
    base = sc.simulate(measures=[], **inputs)
    curve = mc.macc(base, _enhanced(), year=2040, **inputs)
    costs = curve["cost_cny_per_tco2e"].dropna().to_numpy()
    assert (np.diff(costs) >= 0).all()
    assert (
        curve["cost_cny_per_tco2e"].isna().sum()
        == curve["cost_cny_per_tco2e"].iloc[len(costs) :].isna().sum()
    )  # measures without abatement come last
    np.testing.assert_allclose(curve["x0_tco2e"].iloc[1:], curve["x1_tco2e"].iloc[:-1])
    bars = mc.macc_chart(curve)
    assert [b["cost"] for b in bars] == sorted(b["cost"] for b in bars)
    sink = curve.set_index("id").loc["blue_carbon_sinks"]
    # sink growth 3 %/yr (assumption) on the assumed 300 kt base sink, 2025-2040 (15 years)
    assert sink["abatement_tco2e"] == pytest.approx(300_000 * (1.03**15 - 1))


def test_accounted_sink_replaces_the_assumed_one_and_grows(inputs):
    """With the accounted removals (city_sinks), the base sink is that figure in every draw;
    sink growth compounds it: 100 000 t x (1.05^10 - 1) = 62 889.46 t (compound interest)."""
    assert float(sc.sink_growth_tco2e(100_000, 0.05, 10)) == pytest.approx(62_889.46, abs=0.01)
    enh = [m for m in _enhanced() if m.kind == "sink"]
    run = sc.simulate(measures=enh, sink_base_tco2e=170_000.0, draws=50, seed=1, **inputs)
    i = list(run.years).index(2025)
    assert (run.sinks_tco2e[:, : i + 1] == 170_000.0).all()  # no growth before the start
    grown = run.sinks_tco2e[:, list(run.years).index(2040)]
    assert grown.min() >= 170_000 * 1.01**15 - 1e-6 and grown.max() <= 170_000 * 1.05**15 + 1e-6
    central = sc.simulate(measures=enh, sink_base_tco2e=170_000.0, **inputs)
    table = sc.neutrality_balance(central)  # a central run: net = gross + removals exactly
    assert (table["removals_tco2e"] <= 0).all()
    np.testing.assert_allclose(table["net_tco2e"], table["gross_tco2e"] + table["removals_tco2e"])


def test_capital_recovery_factor_published_value():
    # Annuity factor for 6 %, 20 years = 0.08718 (standard compound-interest tables)
    assert float(mc.capital_recovery_factor(0.06, 20)) == pytest.approx(0.087185, abs=1e-6)
    assert float(mc.capital_recovery_factor(0.0, 20)) == pytest.approx(0.05)


def test_cobenefits_use_pollution_equivalents(inputs):
    w = cb.apeq_weights()
    # 环境保护税法 附表二: SO2 0.95 kg, 烟尘 2.18 kg per pollution equivalent
    assert w["SO2"] == 1.0 and w["PM2.5"] == pytest.approx(0.95 / 2.18)
    base = sc.simulate(measures=[], **inputs, name="baseline")
    enh = sc.simulate(measures=_enhanced(), **inputs, name="enhanced")
    table = cb.cobenefits(enh, base, year=2035).set_index("item")
    assert table.loc["CO2", "change_t"] < 0 and table.loc["APeq", "change_t"] < 0
    assert table.loc["APeq", "quadrant"].startswith("synergy")
    same = cb.cobenefits(base, base).set_index("item")
    assert (same["change_t"] == 0).all()


def test_economics_are_labelled_estimates(inputs):
    base = sc.simulate(measures=[], **inputs, name="baseline")
    enh = sc.simulate(measures=_enhanced(), **inputs, name="enhanced")
    table = ec.economics(enh, base)
    assert (table["note"].str.contains("estimate")).all()
    total = ec.economics_summary(table)
    assert total["investment_10k_cny"] > 0 and total["jobs_person_years"] > 0
    none = ec.economics(base, base)
    assert none["energy_saving_10k_cny"].abs().max() == 0
    # a scenario without measures costs nothing (and its summary exists, all zeros)
    assert (ec.economics_summary(none)[list(ec.VALUE_COLUMNS)] == 0).all()


def test_bad_scenarios_are_refused(inputs):
    with pytest.raises(UnknownCodeError, match="measure"):
        cat.resolve_measures([{"id": "nuclear_fusion"}])
    with pytest.raises(UnknownCodeError, match="parameter"):
        cat.resolve_measures([{"id": "rooftop_pv", "params": {"capacity_gw": 1}}])
    with pytest.raises(InputError, match="full_year"):
        cat.resolve_measures([{"id": "rooftop_pv", "start_year": 2030, "full_year": 2025}])
    with pytest.raises(InputError, match="end_year"):
        sc.simulate(measures=[], end_year=2020, **inputs)


def test_catalogue_values_carry_unit_source_and_year():
    table = cat.measure_catalogue()
    assert table[["unit", "source", "year"]].notna().all().all()
    factors = cat.pollutant_factors()
    assert factors[["unit", "source", "year", "status"]].notna().all().all()


def test_growth_override_replaces_assumed_growth(inputs):
    override = pd.DataFrame({"year": range(2025, 2031), "sector": "industry", "growth": 0.0})
    run = sc.simulate(measures=[], growth_override=override, **inputs)
    i = run.sectors.index("industry")
    y2030 = list(run.years).index(2030)
    np.testing.assert_allclose(
        run.energy_tce[0, i, :, y2030], run.energy_tce[0, i, :, 0]
    )  # flat energy to 2030
    base = sc.simulate(measures=[], **inputs)
    j = run.sectors.index("transport")
    np.testing.assert_allclose(run.energy_tce[0, j], base.energy_tce[0, j])
    with pytest.raises(UnknownCodeError, match="sector"):
        sc.simulate(
            measures=[],
            growth_override=override.assign(sector="shipping"),
            **inputs,
        )


def test_growth_from_forecast_of_sector_history():
    from citycarbon.pathways.forecast import growth_from_forecast

    years = np.arange(2015, 2025)
    hist = pd.concat(
        [
            pd.DataFrame(
                {"year": years, "sector": "industry", "energy_tce": 1e6 * 1.03 ** (years - 2015)}
            ),
            pd.DataFrame(
                {"year": years, "sector": "transport", "energy_tce": 5e5 * 1.05 ** (years - 2015)}
            ),
        ]
    )
    g = growth_from_forecast(hist, horizon=4)
    assert g["year"].min() == 2025 and len(g) == 8
    first = g[g["year"] == 2025].set_index("sector")["growth"]
    # damped trend (Gardner & McKenzie 1985): growth continues, damped below the trend
    assert 0.015 < first["industry"] <= 0.03 + 1e-6
    assert 0.03 < first["transport"] <= 0.05 + 1e-6
    assert first["transport"] > first["industry"]


# ------------------------------------------------------------- values that are not yet data
def test_factor_tables_have_no_unverified_values():
    """Every pollutant and generation factor is published (naming its table), derived from
    published values, or labelled an assumption: nothing is left 'unverified' or 'from
    memory' without the label."""
    from citycarbon.power.demo_grid import fuel_intensity_table

    f = cat.pollutant_factors()
    assert set(f["status"]) <= {"published", "derived", "assumption"}
    published = f[f["status"] == "published"]
    assert published["source"].str.contains("Table").all()
    recalled = f["basis"].str.contains("recall|memory", case=False) | f["source"].str.contains(
        "recall|memory", case=False
    )
    assert (f.loc[recalled, "status"] == "assumption").all()
    g = fuel_intensity_table()
    assert set(g["status"]) <= {"published", "definition"}
    assert not g["note"].str.contains("from memory|check against", case=False).any()
    # IPCC AR5 WGIII Annex III Table A.III.2, direct emissions, medians: coal PC 760, gas CC
    # 370 gCO2eq/kWh
    by_fuel = g.set_index("fuel")["intensity_tco2_per_mwh"]
    assert by_fuel["coal"] == 0.760 and by_fuel["gas"] == 0.370
    # a measure value recalled but not checked is an assumption
    m = cat.measure_catalogue()
    unchecked = m[m["note"].str.contains("recalled|verify|NOT checked", case=False)]
    assert len(unchecked) and (unchecked["source"] == cat.ASSUMPTION).all()


def test_published_pollutant_factors_hand_checked():
    # EMEP/EEA guidebook (EEA emission factor database), 1.A.4.b.i residential plants, Tier 1,
    # Table 3-4 gaseous fuels: NOx 51, SOx 0.3, PM2.5 1.2, NMVOC 1.9 g/GJ
    f = cat.pollutant_factors().set_index(["sector", "carrier", "pollutant"])["value"]
    assert [f["buildings", "gas", p] for p in ("NOx", "SO2", "PM2.5", "VOCs")] == [
        51,
        0.3,
        1.2,
        1.9,
    ]
    # 1.A.2.g.vii diesel machinery, Tier 1: NOx 32629 g/t fuel / 42.652 GJ/t (GB/T 2589-2020
    # diesel NCV) = 765.0 g/GJ
    assert f["other", "oil", "NOx"] == pytest.approx(32629 / 42.652, abs=0.5)
    # road oil, 50/50 by energy of petrol cars (3.98 g/kg / 43.070 GJ/t = 92.41 g/GJ) and diesel
    # heavy-duty vehicles (25.95 g/kg / 42.652 GJ/t = 608.41 g/GJ): 350.4 g/GJ
    assert f["transport", "oil", "NOx"] == pytest.approx((92.408 + 608.412) / 2, abs=0.5)


def test_cobenefits_flag_pollutants_with_assumed_factors(inputs):
    base = sc.simulate(measures=[], **inputs, name="baseline")
    enh = sc.simulate(measures=_enhanced(), **inputs, name="enhanced")
    f = cat.pollutant_factors().assign(status="published")
    f.loc[f["pollutant"] == "NOx", "status"] = "assumption"
    table = cb.cobenefits(enh, base, year=2035, factors=f).set_index("item")
    assert table["assumption"].to_dict() == {
        "SO2": False,
        "NOx": True,
        "PM2.5": False,
        "VOCs": False,
        "APeq": True,  # a weighted sum with NOx in it
        "CO2": False,
    }
    clean = cb.cobenefits(enh, base, year=2035, factors=f.assign(status="published"))
    assert not clean["assumption"].any()
    # the shipped table: the electricity factors are assumptions, so every pollutant is flagged
    shipped = cb.cobenefits(enh, base, year=2035).set_index("item")["assumption"]
    assert shipped.drop("CO2").all() and not shipped["CO2"]


def test_costs_resting_on_assumed_values_are_flagged(inputs):
    base = sc.simulate(measures=[], **inputs, name="baseline")
    measures = _enhanced()
    curve = mc.macc(base, measures, year=2040, **inputs)
    # the catalogue's discount rate is an assumption: every cost is
    assert curve["assumption"].all()
    pv = next(m for m in measures if m.id == "rooftop_pv")
    assert cat.cost_is_assumption(pv)  # its generation is valued at an unchecked price
    enh = sc.simulate(measures=measures, **inputs, name="enhanced")
    table = ec.economics(enh, base)
    assert table["assumption"].all() and bool(ec.economics_summary(table)["assumption"])
