"""Pathways that follow activity and interact: netted MACC, the declared grid path, market-based
green power, the least-cost linear programme, the activity calibration and STIRPAT diagnostics.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citycarbon.pathways import activity as act
from citycarbon.pathways import catalogue as cat
from citycarbon.pathways import macc as mc
from citycarbon.pathways import optimize as opt
from citycarbon.pathways import scenario as sc
from citycarbon.pathways.catalogue import Measure, Param
from citycarbon.pathways.stirpat import collinearity_diagnostics

BASE = 2024
# 0.1229 tCO2/MWh = 1 tCO2 per tce of electricity at 0.1229 kgce/kWh (GB/T 2589-2020)
GRID = sc.tce_per_mwh()
FLAT = {2020: GRID, 2060: GRID}


def _inputs(energy: dict[str, float]) -> dict:
    """One industry sector, no growth, a flat grid factor of 1 tCO2/tce of electricity."""
    years = np.arange(BASE + 1, 2031)
    return {
        "base_energy": pd.DataFrame(
            {"sector": "industry", "carrier": list(energy), "energy_tce": list(energy.values())}
        ),
        "base_year": BASE,
        "grid_ef_tco2_per_mwh": GRID,
        "gdp": 100.0,
        "population": 10.0,
        "end_year": 2030,
        "grid_ef_points": FLAT,
        "growth_override": pd.DataFrame({"year": years, "sector": "industry", "growth": 0.0}),
    }


def _measure(mid: str, kind: str, sector: str | None = "industry", **params) -> Measure:
    extra = {k: params.pop(k) for k in ("from_carrier", "to_carrier", "instrument") if k in params}
    return Measure(
        id=mid,
        kind=kind,
        sector=sector,
        start_year=BASE,
        full_year=BASE,
        params={k: Param(float(v)) for k, v in params.items()},
        zh=mid,
        en=mid,
        **extra,
    )


def test_hand_worked_macc_with_two_measures_on_the_same_gas():
    """Industry: 1000 tce gas (1.56 tCO2/tce, ERI 2003) + 1000 tce electricity (1 tCO2/tce).
    Baseline 2560 t. Efficiency 50 %: 1280 t abated, bill -(500x2900 + 500x5300) CNY = -410
    (10^4 CNY), -3203.125 CNY/t. Electrification of 50 % of the gas at 0.5 tce el per tce gas:
    alone 500 gas -> 250 el, 2560 - (780 + 1250) = 530 t, annual cost 0.1 x 500 / 10 - 12.5 =
    -7.5; after efficiency only 250 gas is left: 250 -> 125 el, 1280 - (390 + 625) = 265 t,
    cost 2.5 - 6.25 = -3.75 (10^4 CNY) — the two cannot both remove the same gas."""
    inputs = _inputs({"gas": 1000.0, "electricity": 1000.0})
    eff = _measure("eff", "efficiency", share=0.5, investment=0, opex=0, lifetime=10)
    sw = _measure(
        "switch",
        "fuel_switch",
        from_carrier="gas",
        to_carrier="electricity",
        share=0.5,
        efficiency_ratio=0.5,
        investment=0.1,
        opex=0,
        lifetime=10,
    )
    base = sc.simulate(measures=[], name="baseline", **inputs)
    assert base.gross[0, -1] == pytest.approx(2560.0)
    alone = mc.macc(base, [sw, eff], year=2030, rate=0.0, **inputs).set_index("id")
    assert alone.loc["eff", "abatement_tco2e"] == pytest.approx(1280.0)
    assert alone.loc["switch", "abatement_tco2e"] == pytest.approx(530.0)
    assert alone.loc["eff", "cost_cny_per_tco2e"] == pytest.approx(-410e4 / 1280)
    assert alone.loc["switch", "annual_cost_10k_cny"] == pytest.approx(-7.5)

    netted = mc.macc_netted(base, [sw, eff], year=2030, rate=0.0, **inputs)
    assert list(netted["id"]) == ["eff", "switch"]  # merit order of the standalone costs
    n = netted.set_index("id")
    assert n.loc["eff", "abatement_tco2e"] == pytest.approx(1280.0)
    assert n.loc["switch", "abatement_tco2e"] == pytest.approx(265.0)
    assert n.loc["switch", "interaction_tco2e"] == pytest.approx(-265.0)
    assert n.loc["switch", "annual_cost_10k_cny"] == pytest.approx(-3.75)
    # the widths add up to the package: 2560 - 1015
    both = sc.simulate(measures=[eff, sw], **inputs)
    assert netted["x1_tco2e"].iat[-1] == pytest.approx(base.net[0, -1] - both.net[0, -1])
    assert netted["x1_tco2e"].iat[-1] == pytest.approx(1545.0)
    assert alone["abatement_tco2e"].sum() > netted["abatement_tco2e"].sum()  # standalone overcounts


def test_every_electricity_measure_meets_the_declared_grid_path():
    """An all-electric sector saving 50 %: abatement = saved MWh x EF(y) of the one path; the
    path is the trajectory scaled to the base-year factor."""
    points = cat.grid_ef_trajectory("fujian_decarbonisation")["points"]
    years = np.arange(BASE, 2041)
    path = sc.grid_ef_path_tco2_per_mwh(points, years, base_ef_tco2_per_mwh=0.6)
    assert path[0] == pytest.approx(0.6)
    assert path[-1] / path[0] == pytest.approx(0.27 / np.interp(BASE, [2020, 2025], [0.58, 0.53]))
    inputs = _inputs({"electricity": 1000.0}) | {
        "grid_ef_tco2_per_mwh": 0.6,
        "grid_ef_points": points,
        "end_year": 2040,
        "growth_override": None,
    }
    inputs["base_energy"] = pd.DataFrame(
        {"sector": ["buildings"], "carrier": ["electricity"], "energy_tce": [1000.0]}
    )
    saving = _measure("save", "efficiency", sector="buildings", share=0.5)
    base = sc.simulate(measures=[], **inputs)
    run = sc.simulate(measures=[saving], **inputs)
    saved_mwh = base.energy_tce[0, 0, -1] * 0.5 / sc.tce_per_mwh()  # (y,)
    np.testing.assert_allclose(base.gross[0] - run.gross[0], saved_mwh * path, rtol=1e-12)
    np.testing.assert_allclose(base.grid_ef_tco2_per_mwh[0], path)


def test_purchased_green_power_changes_market_based_figures_only():
    inputs = _inputs({"gas": 1000.0, "electricity": 1000.0})
    green = _measure("green", "clean_power", sector=None, energy_mwh=2000, instrument="market")
    pv = _measure("pv", "clean_power", sector=None, energy_mwh=2000)
    base = sc.simulate(measures=[], **inputs)
    bought = sc.simulate(measures=[green], **inputs)
    local = sc.simulate(measures=[pv], **inputs)
    np.testing.assert_allclose(bought.gross, base.gross)  # location-based: unchanged
    np.testing.assert_allclose(base.gross - bought.gross_market, 2000 * GRID)
    np.testing.assert_allclose(base.gross - local.gross, 2000 * GRID)  # local PV: both bases
    np.testing.assert_allclose(local.gross_market, local.gross)
    curve = mc.macc(base, [green], year=2030, rate=0.0, basis="market", **inputs)
    assert curve["abatement_tco2e"].iat[0] == pytest.approx(2000 * GRID)
    loc = mc.macc(base, [green], year=2030, rate=0.0, **inputs)
    assert loc["abatement_tco2e"].iat[0] == pytest.approx(0.0)


def test_least_cost_lp_known_optimum_and_shadow_price():
    """Baseline 100 t, cap 40 t, measure a 50 t at 10 CNY/t, measure b 50 t at 30 CNY/t:
    all of a and 20 % of b, 50 x 10 + 10 x 30 = 800 CNY; the cap's shadow price is the marginal
    measure's cost, 30 CNY/t; a's full deployment binds."""
    got = opt.least_cost_deployment(
        pd.DataFrame({2026: [50.0, 50.0]}, index=["a", "b"]),
        pd.Series({"a": 10.0, "b": 30.0}),
        pd.Series({2026: 100.0}),
        pd.Series({2026: 40.0}),
        base_year=2025,
        rate=0.0,
    )
    assert got["status"] == "optimal"
    assert got["cost_pv_10k_cny"] * 1e4 == pytest.approx(800.0)
    x = got["deployment"].set_index("measure")["deployment"]
    assert x["a"] == pytest.approx(1.0) and x["b"] == pytest.approx(0.2)
    c = got["constraints"]
    cap = c[c["constraint"] == "cap"].iloc[0]
    assert cap["binding"] and cap["shadow_price_cny_per_tco2e"] == pytest.approx(30.0)
    full = c[c["constraint"] == "full_deployment"]
    assert list(full["measure"]) == ["a"]


def test_least_cost_lp_speed_limit_and_discounting():
    """Cap 20 t in 2028 from 100 t; a (10 CNY/t) may rise 0.5 a year: a reaches 1 in 2028 via
    0.5 in 2027; b (30 CNY/t) covers the rest, 30 t in 2028. PV at 5 %:
    25x10/1.05^2 + 50x10/1.05^3 + 30x30/1.05^3."""
    years = [2026, 2027, 2028]
    got = opt.least_cost_deployment(
        pd.DataFrame(50.0, index=["a", "b"], columns=years),
        pd.Series({"a": 10.0, "b": 30.0}),
        pd.Series(100.0, index=years),
        pd.Series({2028: 20.0}),
        base_year=2025,
        rate=0.05,
        max_step=pd.Series({"a": 0.5, "b": 1.0}),
    )
    expected = 250 / 1.05**2 + 500 / 1.05**3 + 900 / 1.05**3
    assert got["cost_pv_10k_cny"] * 1e4 == pytest.approx(expected)
    speed = got["constraints"][got["constraints"]["constraint"] == "speed"]
    assert list(speed["measure"]) == ["a"] and speed["last_year"].iat[0] == 2028
    assert got["emissions"].set_index("year").at[2028, "optimal_tco2e"] == pytest.approx(20.0)


def test_least_cost_lp_reports_an_infeasible_cap():
    got = opt.least_cost_deployment(
        pd.DataFrame({2026: [50.0]}, index=["a"]),
        pd.Series({"a": 10.0}),
        pd.Series({2026: 100.0}),
        pd.Series({2026: 10.0}),
        base_year=2025,
        rate=0.0,
    )
    assert got["status"] == "infeasible" and not got["feasible"]


def test_intensity_target_as_a_cap():
    # 1000 t on GDP 100 in the base year, -18 % intensity, GDP 130 in the target year
    assert opt.intensity_cap_tco2e(1000.0, 100.0, 130.0, 0.18) == pytest.approx(0.82 * 1300.0)


def test_activity_calibration_recovers_a_known_intensity_trend():
    """Energy = activity x 2 x 0.97^(y - 2024) exactly: trend -3 %/yr, backcast error 0."""
    years = np.arange(2018, 2025)
    activity = 100 * 1.04 ** (years - 2018)
    energy = activity * 2 * 0.97 ** (years - 2024)
    history = pd.DataFrame(
        {
            "year": years,
            "sector": "buildings",
            "activity": activity,
            "energy_tce": energy,
            "emissions_tco2e": energy * 1.8,
        }
    )
    cal, back = act.calibrate_intensity(history, base_year=2024, trend_low=-0.06, trend_high=0.01)
    assert cal["intensity_trend_per_yr"].iat[0] == pytest.approx(-0.03)
    assert cal["intensity_base_tce_per_unit"].iat[0] == pytest.approx(2.0)
    np.testing.assert_allclose(back["backcast_tco2e"], back["emissions_tco2e"], rtol=1e-12)
    # a trend outside the bounds is held at the bound and the fit says so
    cal2, _ = act.calibrate_intensity(history, base_year=2024, trend_low=-0.02, trend_high=0.0)
    assert cal2["intensity_trend_per_yr"].iat[0] == pytest.approx(-0.02)
    assert cal2["mape"].iat[0] > 0
    proj = act.baseline_energy_growth(
        act.project_activity(
            pd.Series({"buildings": activity[-1]}),
            pd.DataFrame(0.04, index=["buildings"], columns=np.arange(2024, 2031)),
            np.arange(2024, 2031),
        ),
        cal,
        base_year=2024,
    )
    assert proj["growth"].iloc[1:].to_numpy() == pytest.approx(1.04 * 0.97 - 1)


def test_stirpat_diagnostics_flag_collinearity_and_small_samples():
    rng = np.random.default_rng(1)
    n = 40
    frame = pd.DataFrame(
        {
            "population": np.exp(rng.normal(size=n)),
            "affluence": np.exp(rng.normal(size=n)),
        }
    )
    frame["emissions_tco2e"] = frame["population"] * frame["affluence"]
    diag, summary = collinearity_diagnostics(frame, "emissions_tco2e", ["population", "affluence"])
    assert (diag["vif"] < 1.3).all() and not diag["flag"].any()
    assert not summary["sample_flag"] and summary["residual_df"] == n - 3
    # a driver that is the product of the others (Kaya-like): infinite VIF, huge condition number
    frame["gdp"] = frame["population"] * frame["affluence"]
    diag, summary = collinearity_diagnostics(
        frame, "emissions_tco2e", ["population", "affluence", "gdp"]
    )
    assert diag["flag"].all() and summary["condition_flag"]
    short = frame.head(3)
    _, s = collinearity_diagnostics(
        short, "emissions_tco2e", ["population", "affluence", "gdp"], check_size=False
    )
    assert s["residual_df"] == -1 and s["sample_flag"]
