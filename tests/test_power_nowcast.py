"""Electricity-to-carbon nowcast: MAPE, models, backtest on the small demo, vintages, meter checks."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.power import meters as mt
from citycarbon.power import nowcast as nc

# Floors on the small demo city (150 enterprises, 2022-2024, 24 one-month-ahead origins).
CITY_MAPE_FLOOR_PCT = 3.0
ENTERPRISE_MAPE_FLOOR_PCT = 5.0


# ----------------------------------------------------------------------------------- MAPE
def test_mape_hand_computed():
    # |100-110|/100 = 10 %, |200-190|/200 = 5 %, |400-400|/400 = 0 %  -> mean 5 %
    assert nc.mape_pct([100, 200, 400], [110, 190, 400]) == pytest.approx(5.0)
    # pairs with a missing value are left out
    assert nc.mape_pct([100, np.nan, 50], [90, 1, 55]) == pytest.approx(10.0)


def test_mape_refuses_zero_actual():
    with pytest.raises(InputError, match="undefined"):
        nc.mape_pct([0.0, 1.0], [1.0, 1.0])


# --------------------------------------------------------------------------------- models
def _panel(x: np.ndarray, y_per_kwh: float, ef: float, months: int = 30) -> pd.DataFrame:
    periods = pd.date_range("2022-01-01", periods=months, freq="MS")
    x = np.resize(x, months)
    return pd.DataFrame(
        {
            "level": "enterprise",
            "entity": "E1",
            "period": periods,
            "metered_kwh": x,
            "electricity_kwh": x,
            "other_co2_t": y_per_kwh * x,
            "co2_t": ef * x + y_per_kwh * x,
        }
    )


def test_ratio_model_recovers_an_exact_relation():
    ef = pd.Series({2022: 5e-4, 2023: 5e-4, 2024: 4e-4})  # tCO2/kWh; the 2024 factor changes
    x = 1e6 * (1 + 0.1 * np.sin(np.arange(30)))
    panel = _panel(x, 2e-4, 5e-4)
    panel.loc[panel["period"].dt.year == 2024, "co2_t"] = (4e-4 + 2e-4) * panel["metered_kwh"]
    rows = panel[panel["period"] >= "2024-03-01"]
    est = nc.estimate(panel, rows, pd.Timestamp("2024-02-01"), ef, model="ratio")
    # scope 2 uses the nowcast year's grid factor exactly; the rest is a stationary ratio
    assert est["estimate_tco2"].to_numpy() == pytest.approx(rows["co2_t"].to_numpy(), rel=1e-9)


@settings(max_examples=25, deadline=None)
@given(scale=st.floats(0.01, 100.0), rho=st.floats(0.0, 1e-3))
def test_ratio_estimate_scales_linearly(scale, rho):
    ef = pd.Series({2022: 5e-4, 2023: 5e-4, 2024: 5e-4})
    x = 1e5 * (1 + 0.2 * np.cos(np.arange(30) / 2))
    panel = _panel(x, rho, 5e-4)
    big = panel.assign(
        **{c: panel[c] * scale for c in ["metered_kwh", "electricity_kwh", "other_co2_t", "co2_t"]}
    )
    through = pd.Timestamp("2024-01-01")
    a = nc.estimate(panel, panel.tail(3), through, ef)["estimate_tco2"].to_numpy()
    b = nc.estimate(big, big.tail(3), through, ef)["estimate_tco2"].to_numpy()
    assert b == pytest.approx(a * scale, rel=1e-9)


def test_disaggregate_days_add_up_to_the_month():
    monthly = pd.DataFrame(
        {
            "level": "city",
            "entity": "C",
            "period": [pd.Timestamp("2024-01-01")],
            "metered_kwh": [310.0],
            "estimate_tco2": [62.0],
            "lower_tco2": [60.0],
            "upper_tco2": [64.0],
            "model": "ratio",
        }
    )
    days = pd.DataFrame(
        {
            "level": "city",
            "entity": "C",
            "day": pd.date_range("2024-01-01", periods=31, freq="D"),
            "metered_kwh": np.r_[np.full(30, 10.0), 10.0],
        }
    )
    d, w = nc.disaggregate(monthly, days)
    assert d["estimate_tco2"].sum() == pytest.approx(62.0)
    assert w["estimate_tco2"].sum() == pytest.approx(62.0)
    assert w["period"].dt.dayofweek.eq(0).all()  # ISO weeks start on Monday


# --------------------------------------------------------------------- demo: backtest, runs
def test_backtest_on_small_demo_meets_floor(demo_home):
    from citycarbon.runs import power as power_runs

    data = power_runs.read_power_data()
    summary, errors, _ = power_runs.run_backtest(data=data, write=False)
    best = summary[
        [c for c in summary if c.startswith("mape_") and c not in ("mape_naive", "mape_fallback")]
    ].min(axis=1)
    assert best["city"] <= CITY_MAPE_FLOOR_PCT
    assert best["enterprise"] <= ENTERPRISE_MAPE_FLOOR_PCT
    assert (summary["gain_vs_naive_pct"] > 0).all()  # every level beats the naive baseline
    assert set(summary.index) == {"city", "district", "park", "industry", "enterprise"}
    assert errors["period"].nunique() == 24  # rolling origins 2023-01 .. 2024-12


def test_panel_levels_add_up(demo_home):
    from citycarbon.runs import power as power_runs

    panel = power_runs.monthly_panel(power_runs.read_power_data())
    tot = panel.groupby(["level", "period"])[["metered_kwh", "co2_t"]].sum()
    for level in ("district", "industry"):
        np.testing.assert_allclose(tot.loc[level].to_numpy(), tot.loc["city"].to_numpy(), rtol=1e-9)


def test_vintages_are_kept_and_recalibrate(small_demo_dir, tmp_path, monkeypatch):
    from citycarbon.runs import power as power_runs

    home = tmp_path / "h"
    shutil.copytree(small_demo_dir, home)
    monkeypatch.setenv("CITYCARBON_HOME", str(home))
    shutil.rmtree(home / "lake" / "results" / "nowcast", ignore_errors=True)
    data = power_runs.read_power_data()
    first = power_runs.run_nowcast(holdout_months=2, model="ratio", data=data)
    again = power_runs.run_nowcast(holdout_months=2, model="ratio", data=data)
    later = power_runs.run_nowcast(holdout_months=1, model="ratio", data=data)
    assert first.recalibrated and not again.recalibrated and later.recalibrated
    assert later.calibrated_through == first.calibrated_through + pd.DateOffset(months=1)
    assert len({first.path, again.path, later.path}) == 3 and all(
        p.exists() for p in (first.path, again.path, later.path)
    )
    hist = power_runs.nowcast_history(level="city", data=data)
    dec = hist[hist["period"] == later.calibrated_through + pd.DateOffset(months=1)]
    assert len(dec) == 3  # the December estimate in each of the three vintages
    assert dec["error_pct"].abs().max() < 5.0  # the statistics arrived: the miss is visible
    t = later.table
    # days add up to their (complete) month (the city-wide estimate is monthly only)
    m = t[(t["frequency"] == "month") & (t["level"] != "city_wide")]
    m = m.set_index(["level", "entity", "period"])["estimate_tco2"]
    d = t[t["frequency"] == "day"]
    d = d.assign(period=d["period"].dt.to_period("M").dt.to_timestamp())
    sums = d.groupby(["level", "entity", "period"])["estimate_tco2"].sum()
    np.testing.assert_allclose(sums.reindex(m.index).to_numpy(), m.to_numpy(), rtol=1e-9)
    banded = t[t["level"] != "city_wide"]
    assert (banded["lower_tco2"] <= banded["estimate_tco2"]).all()
    assert (banded["estimate_tco2"] <= banded["upper_tco2"]).all()
    # every banded row says its nominal level and how the calibrated band fared out of sample
    assert (banded["confidence"] == 0.9).all()
    month = banded[banded["frequency"] == "month"]
    assert month["interval_coverage"].between(0.8, 1.0).all()
    assert (month["interval_coverage_n"] >= 10).all()


# ---------------------------------------------------------------------------- meter checks
def _hourly(n: int, meter: str = "M1") -> pd.DataFrame:
    ts = pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")
    return pd.DataFrame({"meter_id": meter, "ts": ts, "kwh": np.arange(1.0, n + 1)})


def test_gap_rule_fills_short_gaps_only():
    r = _hourly(12).drop(index=[2, 3, 7, 8, 9, 10])  # a 2-reading gap and a 4-reading gap
    filled = mt.fill_gaps(r, interval="1h", max_fill_intervals=3)
    assert filled["filled"].sum() == 2
    # linear between 2.0 (01:00) and 5.0 (04:00)
    assert filled.loc[filled["filled"], "kwh"].tolist() == pytest.approx([3.0, 4.0])
    report = mt.meter_quality_report(r, interval="1h", max_fill_intervals=3)
    assert report[["issue", "count"]].values.tolist() == [["gap_filled", 2], ["gap", 4]]
    long = report[report["issue"] == "gap"].iloc[0]
    assert long["from"] == pd.Timestamp("2024-01-01 07:00", tz="UTC")
    assert long["to"] == pd.Timestamp("2024-01-01 10:00", tz="UTC")
    # the rule off: nothing is filled
    assert not mt.fill_gaps(r, max_fill_intervals=0)["filled"].any()


@settings(max_examples=40, deadline=None)
@given(drop=st.sets(st.integers(1, 46), max_size=20), limit=st.integers(0, 5))
def test_gap_fill_never_touches_readings_and_adds_k_times_mean(drop, limit):
    r = _hourly(48).drop(index=sorted(drop))
    out = mt.fill_gaps(r, max_fill_intervals=limit)
    kept = out[~out["filled"]]
    assert kept["kwh"].tolist() == r["kwh"].tolist()
    gaps = mt.find_gaps(
        r.assign(ns=r["ts"].astype("int64"))[["meter_id", "ns", "kwh"]], 3_600_000_000_000
    )
    short = gaps[gaps["missing"] <= limit]
    assert out["filled"].sum() == short["missing"].sum()
    added = mt.gap_fill_energy_kwh(short["missing"], short["before_kwh"], short["after_kwh"])
    assert out.loc[out["filled"], "kwh"].sum() == pytest.approx(float(np.sum(added)))


def test_duplicates_negative_and_misaligned_are_reported():
    r = _hourly(6)
    r = pd.concat([r, r.iloc[[1]], r.iloc[[2]].assign(kwh=99.0)], ignore_index=True)
    r.loc[4, "kwh"] = -1.0
    r = pd.concat(
        [
            r,
            pd.DataFrame(
                {
                    "meter_id": ["M1"],
                    "kwh": [1.0],
                    "ts": [pd.Timestamp("2024-01-01 05:30", tz="UTC")],
                }
            ),
        ]
    )
    rep = mt.meter_quality_report(r, interval="1h").set_index("issue")
    assert rep.loc["duplicate", "count"] == 2
    assert rep.loc["conflicting_duplicate", "count"] == 2
    assert rep.loc["negative", "count"] == 1
    assert rep.loc["misaligned", "count"] == 1


def test_dst_confusion_of_naive_local_times_is_reported():
    # Europe/Berlin: 2024-03-31 02:00-03:00 does not exist, 2024-10-27 02:00-03:00 occurs twice
    naive = pd.DataFrame(
        {
            "meter_id": "M2",
            "ts": pd.to_datetime(
                [
                    "2024-03-31 01:00",
                    "2024-03-31 02:00",
                    "2024-03-31 03:00",
                    "2024-10-27 02:00",
                    "2024-10-27 02:00",
                ]
            ),
            "kwh": [1.0, 1.0, 1.0, 1.0, 2.0],
        }
    )
    rep = mt.meter_quality_report(naive, timezone="Europe/Berlin").set_index("issue")
    assert rep.loc["dst_nonexistent", "count"] == 1
    assert rep.loc["dst_ambiguous", "count"] == 2
    days = pd.DatetimeIndex(["2024-03-31", "2024-10-27", "2024-05-01"])
    assert mt.expected_intervals_per_day(days, "Europe/Berlin", "1h").tolist() == [23, 25, 24]
    assert mt.expected_intervals_per_day(days, "Asia/Shanghai", "1h").tolist() == [24, 24, 24]


def test_daily_meter_energy_applies_the_rule_in_duckdb():
    from citycarbon.runs import power as power_runs
    from citycarbon.store import query

    r = _hourly(24 * 3)  # three local days in Asia/Shanghai (UTC+8) start at 16:00 UTC
    r = r.drop(index=[30, 31, 50, 51, 52, 53, 54])  # 2 missing (filled) and 5 missing (kept)
    r["year"], r["month"] = 2024, 1
    with query.open_engine("duckdb") as eng:
        eng.register_frame("readings", r)
        days, report = power_runs.daily_meter_energy(
            eng, "Asia/Shanghai", view="readings", interval="1h", max_fill_intervals=3
        )
    assert set(report["issue"]) == {"gap_filled", "gap"}
    assert days["filled_kwh"].sum() == pytest.approx(31.0 + 32.0)  # linear between 30 and 33
    by_day = days.set_index("day")
    # UTC 06:00-07:00 on Jan 2 is 14:00-15:00 local: filled, the local day is complete
    assert by_day.loc["2024-01-02", "complete"] and by_day.loc["2024-01-02", "readings"] == 24
    # UTC 02:00-06:00 on Jan 3 is 10:00-14:00 local: 5 missing, left missing
    assert not by_day.loc["2024-01-03", "complete"]
    assert by_day.loc["2024-01-03", "readings"] == 24 - 5


def test_loglinear_backfitting_equals_statsmodels_ols():
    # the vectorised back-fitting must reach the least-squares fit of
    # log Y = a_e + b_e log X + gamma_month (statsmodels OLS with dummies and interactions)
    import statsmodels.api as sm

    rng = np.random.default_rng(7)
    periods = pd.date_range("2022-01-01", periods=24, freq="MS")
    frames = []
    for e, (a, b) in enumerate([(1.0, 0.9), (0.5, 1.1), (2.0, 0.7)]):
        lx = np.log(1e6) + rng.normal(0, 0.3, 24)
        ly = a + b * lx + 0.05 * np.sin(periods.month.to_numpy()) + rng.normal(0, 0.02, 24)
        frames.append(
            pd.DataFrame(
                {
                    "level": "enterprise",
                    "entity": f"E{e}",
                    "period": periods,
                    "metered_kwh": np.exp(lx),
                    "electricity_kwh": np.exp(lx),
                    "other_co2_t": 0.0,
                    "co2_t": np.exp(ly),
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    params, effects = nc.fit_loglinear(panel, periods[-1], iterations=400)
    r = panel[nc.KEY].assign(month=panel["period"].dt.month)
    r = r.merge(params, on=nc.KEY).merge(effects, on=["level", "month"])
    mine = r["a"] + r["b"] * np.log(panel["metered_kwh"]) + r["gamma"]
    ent = pd.get_dummies(panel["entity"], dtype=float)
    lx = np.log(panel["metered_kwh"]).to_numpy()
    month = pd.get_dummies(panel["period"].dt.month, drop_first=True, dtype=float)
    design = pd.concat([ent, ent.mul(lx, axis=0).add_suffix("_lx"), month], axis=1)
    ols = sm.OLS(np.log(panel["co2_t"]).to_numpy(), design.to_numpy()).fit()
    np.testing.assert_allclose(mine.to_numpy(), ols.fittedvalues, rtol=1e-7)
    assert params.set_index("entity")["b"].to_numpy() == pytest.approx(ols.params[3:6], rel=1e-5)


# -------------------------------------------------------------------- interval calibration
def test_conformal_quantile_hand_computed():
    # n = 19 scores 1..19, c = 0.9: the ceil(20 x 0.9) = 18th smallest is 18
    assert nc.conformal_quantile(np.arange(1.0, 20.0), 0.9) == 18.0
    # NaN scores are left out: the same 19 scores plus two NaN
    assert nc.conformal_quantile(np.r_[np.arange(1.0, 20.0), np.nan, np.nan], 0.9) == 18.0
    # n = 8 < 0.9 / 0.1: ceil(9 x 0.9) = 9 > 8, no finite quantile guarantees 90 %
    assert nc.conformal_quantile(np.arange(1.0, 9.0), 0.9) == np.inf
    # c = 0.5, n = 4: ceil(5 x 0.5) = 3rd smallest
    assert nc.conformal_quantile([4.0, 1.0, 3.0, 2.0], 0.5) == 3.0


@settings(max_examples=60, deadline=None)
@given(
    scores=st.lists(st.floats(0.0, 1e3, allow_nan=False), min_size=9, max_size=200),
    confidence=st.sampled_from([0.5, 0.8, 0.9]),
    scale=st.floats(0.01, 100.0),
)
def test_conformal_quantile_covers_its_own_scores_and_scales(scores, confidence, scale):
    q = nc.conformal_quantile(scores, confidence)
    s = np.asarray(scores)
    # n >= 9 >= c / (1 - c): finite, and at least a share c of the scores is within it
    assert np.isfinite(q) and (s <= q).mean() >= confidence
    assert nc.conformal_quantile(s * scale, confidence) == pytest.approx(q * scale, rel=1e-12)


def _backtest_rows(log_error: np.ndarray, sigma: float) -> pd.DataFrame:
    """Backtest rows (origins x entities) whose log errors are given and whose model claims
    a log-error standard deviation ``sigma``."""
    origins, entities = log_error.shape
    actual = np.full(log_error.shape, 100.0)
    return pd.DataFrame(
        {
            "level": "enterprise",
            "entity": np.tile([f"E{i}" for i in range(entities)], origins),
            "period": np.repeat(pd.date_range("2022-01-01", periods=origins, freq="MS"), entities),
            "model": "ratio",
            "evaluated_model": "ratio",
            "actual_tco2": actual.ravel(),
            "estimate_tco2": (actual * np.exp(-log_error)).ravel(),
            "sigma_log": sigma,
        }
    )


def test_calibration_restores_nominal_coverage_of_too_narrow_intervals():
    """Known noise: log errors N(0, 0.10) while the model claims σ = 0.05 (half the truth).

    Uncalibrated, Ŷ exp(± 1.645 σ) covers P(|Z| < 1.645 x 0.05 / 0.10) = P(|Z| < 0.82) = 59 %
    of the outcomes. Calibrated, the multiplier must approach 1.645 x 0.10 / 0.05 = 3.29 and the
    out-of-sample coverage the nominal 90 % (tolerance 2 points: the binomial standard error of
    ~1,400 checked outcomes is 0.8 points).
    """
    rng = np.random.default_rng(2024)
    rows = _backtest_rows(rng.normal(0.0, 0.10, (36, 40)), sigma=0.05)
    z = 1.6448536269514722
    raw = (nc.interval_scores(rows) <= z).mean()
    assert raw == pytest.approx(0.59, abs=0.03)
    cal = nc.calibrate_intervals(rows, {"enterprise": "ratio"}, 0.9).loc[("enterprise", "ratio")]
    assert cal["coverage"] == pytest.approx(0.90, abs=0.02)
    assert cal["coverage_n"] == 35 * 40  # every origin after the first is checked
    assert cal["multiplier"] == pytest.approx(3.29, rel=0.06)
    # fresh outcomes with the calibrated multiplier
    fresh = np.abs(rng.normal(0.0, 0.10, 20_000)) / 0.05
    assert (fresh <= cal["multiplier"]).mean() == pytest.approx(0.90, abs=0.015)


def test_calibrated_backtest_coverage_on_a_synthetic_panel():
    """End to end: 40 enterprises, 42 months, CO2 = 6e-4 tCO2/kWh x metered kWh x exp(ε) with
    a known contaminated noise ε (80 % N(0, 0.02), 20 % N(0, 0.15)); the ratio model's
    normal-theory intervals under-cover, the conformal ones reach 90 % ± 2 points."""
    rng = np.random.default_rng(5)
    n_ent, months = 40, 42
    periods = pd.date_range("2021-01-01", periods=months, freq="MS")
    frames = []
    for e in range(n_ent):
        x = 1e6 * np.exp(rng.normal(0, 0.05, months)) * (1 + 0.1 * np.sin(np.arange(months)))
        wide = rng.random(months) < 0.2
        noise = np.where(wide, rng.normal(0, 0.15, months), rng.normal(0, 0.02, months))
        y = 6e-4 * x * np.exp(noise)
        frames.append(
            pd.DataFrame(
                {
                    "level": "enterprise",
                    "entity": f"E{e}",
                    "period": periods,
                    "metered_kwh": x,
                    "electricity_kwh": x,
                    "other_co2_t": y - 5e-4 * x,
                    "co2_t": y,
                }
            )
        )
    panel = pd.concat(frames, ignore_index=True)
    ef = pd.Series(5e-4, index=range(2021, 2025))
    errors = nc.backtest(panel, ef, models=("ratio",))
    assert errors["covered"].mean() < 0.88  # uncalibrated: too narrow
    summary = nc.backtest_summary(errors).loc["enterprise"]
    assert summary["coverage_nominal"] == 0.9
    assert summary["coverage_calibrated"] == pytest.approx(0.90, abs=0.02)
    assert summary["coverage_calibrated_n"] > 1000


def test_calibrated_multiplier_replaces_the_normal_quantile():
    ef = pd.Series({2022: 5e-4, 2023: 5e-4, 2024: 5e-4})
    x = 1e5 * (1 + 0.2 * np.cos(np.arange(30) / 2))
    panel = _panel(x, 2e-4, 5e-4)
    panel["co2_t"] *= np.exp(0.03 * np.sin(np.arange(30) * 1.7))
    through, rows = pd.Timestamp("2024-01-01"), panel.tail(3)
    plain = nc.estimate(panel, rows, through, ef)
    wide = nc.estimate(panel, rows, through, ef, multiplier={("enterprise", "ratio"): 3.0})
    np.testing.assert_allclose(wide["estimate_tco2"], plain["estimate_tco2"])
    # half-widths in log space: 3.0 σ instead of 1.645 σ
    np.testing.assert_allclose(
        np.log(wide["upper_tco2"] / wide["estimate_tco2"]), 3.0 * plain["sigma_log"], rtol=1e-12
    )
    other = nc.estimate(panel, rows, through, ef, multiplier={("city", "ratio"): 3.0})
    np.testing.assert_allclose(other["upper_tco2"], plain["upper_tco2"])  # other level: z


# ------------------------------------------------------------------------ city-wide nowcast
def _city_inputs(growth: float = 1.1):
    """Base year 2023: inventory CO2 1,000 t of which 600 t electricity (scope 2); reporters
    10 t a month (5 t of it electricity); 2024: reporters 10 x growth a month."""
    per = pd.date_range("2023-01-01", periods=24, freq="MS")
    reporters = pd.DataFrame(
        {
            "period": per,
            "reporters_tco2": np.r_[np.full(12, 10.0), np.full(12, 10.0 * growth)],
            "reporters_electricity_tco2": np.r_[np.full(12, 5.0), np.full(12, np.nan)],
        }
    )
    inventory = pd.DataFrame(
        {"year": [2023, 2024], "total_tco2": [1000.0, 1040.0], "electricity_tco2": [600.0, 610.0]}
    )
    return reporters, inventory


def test_city_wide_nowcast_hand_computed():
    """Base 2023: S = 600 - 12 x 5 = 540 t unreported electricity, O = 1000 - 120 - 540 = 340 t
    rest; reporters' share 120 / 1000 = 12 %. 2024: city electricity 100 -> 105 (x1.05), grid
    factor 0.5 -> 0.48 (x0.96): g_S = 1.008; reporters' growth g_R = 11 / 10 = 1.1.
    January 2024 (31 of 366 days): 11 + 31/366 x (540 x 1.008 + 340 x 1.1) = 11 + 0.084699 x
    918.32 = 88.7812 t; the year: 12 x 11 + 918.32 = 1,050.32 t."""
    reporters, inventory = _city_inputs()
    el = pd.Series({2023: 100.0, 2024: 105.0})
    ef = pd.Series({2023: 0.5, 2024: 0.48})
    m = nc.city_wide_tco2(reporters, inventory, electricity_kwh=el, grid_ef_tco2_per_kwh=ef)
    m = m.set_index("period")
    assert m.index.min() == pd.Timestamp("2024-01-01")  # 2023 has no base year before it
    assert m.at[pd.Timestamp("2024-01-01"), "estimate_tco2"] == pytest.approx(88.7812, abs=1e-4)
    assert m["estimate_tco2"].sum() == pytest.approx(1050.32, rel=1e-12)
    assert (m["base_year"] == 2023).all() and (m["inventory_share"] == 0.12).all()
    assert set(m["proxy"]) == {"city_electricity"}
    # without city electricity the unreported electricity grows like the reporters: the city is
    # the reporters over their share, 132 / 0.12 = 1,100 t
    r = nc.city_wide_tco2(reporters, inventory)
    assert r["estimate_tco2"].sum() == pytest.approx(1100.0, rel=1e-12)
    assert set(r["proxy"]) == {"reporters"}


def test_city_wide_nowcast_with_monthly_proxies_hand_computed():
    """Base 2023 as in ``_city_inputs`` with a transport (1.A.3) part: inventory 200 t, the
    reporters' 1 t a month. Unreported: electricity S = 540 t, transport V = 200 - 12 = 188 t,
    rest O = 1000 - 120 - 540 - 188 = 152 t. January 2024: city electricity 8 -> 8.8 (x1.1)
    and grid factor 0.5 -> 0.48 (x0.96): g_S = 1.056; fuel-sales CO2 50 -> 45: g_V = 0.9;
    g_R = 1.1. Estimate = 11 + 31/366 x (540 x 1.056 + 188 x 0.9 + 152 x 1.1)
    = 11 + 28,105.84 / 366 = 87.79191 t. February has no monthly proxy (nor an annual one):
    every part grows like the reporters."""
    reporters, inventory = _city_inputs()
    reporters["reporters_transport_tco2"] = np.r_[np.full(12, 1.0), np.full(12, np.nan)]
    inventory["transport_tco2"] = [200.0, 210.0]
    jan = pd.DatetimeIndex(["2023-01-01", "2024-01-01"])
    m = nc.city_wide_tco2(
        reporters,
        inventory,
        grid_ef_tco2_per_kwh=pd.Series({2023: 0.5, 2024: 0.48}),
        electricity_kwh_monthly=pd.Series([8.0, 8.8], index=jan),
        fuel_sales_tco2_monthly=pd.Series([50.0, 45.0], index=jan),
    ).set_index("period")
    assert m.at[pd.Timestamp("2024-01-01"), "estimate_tco2"] == pytest.approx(87.79191, abs=1e-5)
    assert m.at[pd.Timestamp("2024-01-01"), "proxy"] == "city_electricity_monthly+fuel_sales"
    feb = m.loc[pd.Timestamp("2024-02-01")]
    assert feb["proxy"] == "reporters"
    assert feb["estimate_tco2"] == pytest.approx(11 + 29 / 366 * (540 + 188 + 152) * 1.1)
    # with the reporters' own electricity (2.0 -> 2.6 in January) the unreported electricity
    # grows as the city's less theirs: (8.8 - 2.6) / (8 - 2) = 1.03333 x 0.96 = 0.992;
    # 11 + 31/366 x (540 x 0.992 + 188 x 0.9 + 152 x 1.1) = 11 + 27,034.48 / 366 = 84.86470 t
    kwh = np.full(24, np.nan)
    kwh[0], kwh[12] = 2.0, 2.6
    net = nc.city_wide_tco2(
        reporters.assign(reporters_kwh=kwh),
        inventory,
        grid_ef_tco2_per_kwh=pd.Series({2023: 0.5, 2024: 0.48}),
        electricity_kwh_monthly=pd.Series([8.0, 8.8], index=jan),
        fuel_sales_tco2_monthly=pd.Series([50.0, 45.0], index=jan),
    ).set_index("period")
    assert net.at[pd.Timestamp("2024-01-01"), "estimate_tco2"] == pytest.approx(84.86470, abs=1e-5)
    # a monthly electricity figure without the grid factor cannot be turned into CO2 growth
    no_ef = nc.city_wide_tco2(
        reporters, inventory, electricity_kwh_monthly=pd.Series([8.0, 8.8], index=jan)
    )
    assert set(no_ef["proxy"]) == {"reporters"}


def test_city_wide_backtest_against_the_inventory():
    reporters, inventory = _city_inputs()
    el = pd.Series({2023: 100.0, 2024: 105.0})
    ef = pd.Series({2023: 0.5, 2024: 0.48})
    bt = nc.city_wide_backtest(
        reporters, inventory, electricity_kwh=el, grid_ef_tco2_per_kwh=ef
    ).set_index("approach")
    assert (bt["year"] == 2024).all() and (bt["inventory_tco2"] == 1040.0).all()
    # (1050.32 / 1040 - 1) = +0.992 %; reporters' share 1100 / 1040 - 1 = +5.769 %;
    # persistence 1000 / 1040 - 1 = -3.846 %
    assert bt.at["city_wide", "error_pct"] == pytest.approx(0.99231, abs=1e-4)
    assert bt.at["reporters_share", "error_pct"] == pytest.approx(5.76923, abs=1e-4)
    assert bt.at["persistence", "error_pct"] == pytest.approx(-3.84615, abs=1e-4)


@settings(max_examples=30, deadline=None)
@given(scale=st.floats(0.01, 100.0), growth=st.floats(0.5, 2.0))
def test_city_wide_scales_linearly_and_is_exact_at_full_coverage(scale, growth):
    reporters, inventory = _city_inputs(growth)
    a = nc.city_wide_tco2(reporters, inventory)["estimate_tco2"].to_numpy()
    co2 = ["reporters_tco2", "reporters_electricity_tco2"]
    big = nc.city_wide_tco2(
        reporters.assign(**{c: reporters[c] * scale for c in co2}),
        inventory.assign(total_tco2=inventory["total_tco2"] * scale,
                         electricity_tco2=inventory["electricity_tco2"] * scale),
    )["estimate_tco2"].to_numpy()  # fmt: skip
    np.testing.assert_allclose(big, a * scale, rtol=1e-12)
    # reporters that are the whole inventory: the city-wide estimate is the reporters' own
    whole = inventory.assign(total_tco2=[120.0, 999.0], electricity_tco2=[60.0, 999.0])
    m = nc.city_wide_tco2(reporters, whole)
    np.testing.assert_allclose(m["estimate_tco2"], m["reporters_tco2"], rtol=1e-12)


def test_city_wide_nowcast_and_backtest_on_small_demo(demo_home):
    from citycarbon.contract.results import NOWCAST, NOWCAST_CITY_BACKTEST
    from citycarbon.runs import power as power_runs
    from citycarbon.store import results

    now = results.current(NOWCAST)
    month = now[now["frequency"] == "month"]
    wide = month[month["level"] == "city_wide"].set_index("period")
    city = month[month["level"] == "city"].set_index("period")
    assert len(wide) and set(wide.index) == set(city.index)
    # the reporters' rows say which share of the inventory they are; the city-wide adds the rest
    share = city["inventory_share"]
    assert share.between(0.001, 0.5).all() and (city["inventory_year"] == 2023).all()
    assert (wide["estimate_tco2"] > 10 * city["estimate_tco2"]).all()
    assert wide["lower_tco2"].isna().all() and set(wide["model"]) == {
        "scaled_city_electricity_monthly+fuel_sales"
    }
    bt = results.current(NOWCAST_CITY_BACKTEST)
    assert set(bt["year"]) == {2023, 2024}
    assert set(bt["approach"]) == {"city_wide", "reporters_share", "persistence"}
    inv = power_runs.city_wide_inputs(power_runs.read_power_data()).inventory.set_index("year")
    np.testing.assert_allclose(
        bt["inventory_tco2"], inv["total_tco2"].reindex(bt["year"]).to_numpy(), rtol=1e-12
    )
    # on the demo the scaled estimates beat persistence (the city grows)
    err = bt.pivot_table(index="year", columns="approach", values="error_pct").abs()
    assert (err["city_wide"] < err["persistence"]).all()


def test_city_electricity_is_the_total_or_the_sum_of_its_four_sectors():
    """city_monthly_statistics: a month with the 全社会用电量 row uses it; a month with the four
    sector rows (第一/二/三产业, 城乡居民) their sum; a month with three sectors has no figure."""
    from citycarbon.runs.power import ELECTRICITY_SECTORS, _kwh

    rows = [("2024-01", "electricity_consumption", 30.0)]
    rows += [
        ("2024-02", s, v) for s, v in zip(ELECTRICITY_SECTORS, (0.5, 18.0, 7.0, 4.5), strict=True)
    ]
    rows += [("2024-03", s, 1.0) for s in ELECTRICITY_SECTORS[:3]]
    stats = pd.DataFrame(rows, columns=["period", "indicator", "value"]).assign(unit="10^8 kWh")
    stats["period"] = pd.to_datetime(stats["period"])
    got = _kwh(stats, "period")
    assert got.to_dict() == {pd.Timestamp("2024-01-01"): 30e8, pd.Timestamp("2024-02-01"): 30e8}
