"""Carbon dual control: schedule-proportional targets from their base year (never re-based),
progress, seasonal prorating, forecast, and warning levels comparing like with like."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.runs.targets import RULES_FILE
from citycarbon.targets import targets as tg
from citycarbon.targets import warnings as wn


def _target(base_value: float | None = None, **kw) -> pd.DataFrame:
    """One target resolved against an entered base-year value (none: the base is missing)."""
    row = {
        "target_id": 1,
        "kind": "intensity",
        "base_year": 2020,
        "end_year": 2025,
        "target_value": 18.0,
        "target_unit": "%",
        "decomposition": "geometric",
    }
    row.update(kw)
    bases = pd.DataFrame(
        {"target_id": [1], "base_value": [base_value], "base_source": ["entered"]}
    ).astype({"base_value": "float64"})
    return tg.resolve_base(pd.DataFrame([row]), bases)


def _rules() -> pd.DataFrame:
    return wn.rules_frame(yaml.safe_load(RULES_FILE.read_text("utf-8"))["rules"])


def test_national_14th_fyp_schedule_and_published_progress():
    # 十四五规划纲要 专栏1: CO2 per unit of GDP -18 % over 2021-2025 (base 2020). Published yearly
    # declines 2021-2024 (NBS communiqués, as summarised by He, "Will China miss its 2021-2025
    # decarbonization targets", 2025): 3.8 %, 0.8 %, 0 %, 3.4 %, "totaling a 7.81 % reduction".
    assert tg.scheduled_decline_pct(18, 2020, 2025, 2025) == pytest.approx(18.0)
    assert tg.scheduled_decline_pct(18, 2020, 2025, 2021) == pytest.approx(
        100 * (1 - 0.82**0.2), rel=1e-12
    )
    ratios = np.cumprod([1.0, 1 - 0.038, 1 - 0.008, 1 - 0.0, 1 - 0.034])
    actual = pd.DataFrame(
        {"target_id": 1, "year": [2020, 2021, 2022, 2023, 2024], "value": ratios * 1.5}
    )
    p = tg.intensity_progress(_target(base_value=1.5), actual).set_index("year")
    assert p.loc[2024, "actual_decline_pct"] == pytest.approx(7.81, abs=0.01)
    assert p.loc[2024, "scheduled_decline_pct"] == pytest.approx(100 * (1 - 0.82**0.8))
    assert p.loc[2024, "decline_gap_pts"] == pytest.approx(7.81 - 14.69, abs=0.02)
    assert (p["base_source"] == "entered").all()
    assert p.loc[2020, "decline_gap_pts"] == pytest.approx(0.0)
    # a trend of the five years falls short of 18 % by 2025
    assert p.loc[2024, "forecast_decline_pct"] < 18.0
    levels = wn.evaluate(_metrics(p), _rules()).set_index(["rule_id", "period"])["level"]
    assert levels[("intensity_behind_schedule", "2024")] == "red"
    assert levels[("intensity_behind_schedule", "2020")] == "green"
    assert levels[("intensity_forecast_miss", "2024")] == "red"


def _metrics(p: pd.DataFrame) -> pd.DataFrame:
    p = p.reset_index()
    cols = ["decline_gap_pts", "forecast_decline_gap_pts"]
    long = p[["target_id", "year", *cols]].melt(id_vars=["target_id", "year"], var_name="metric")
    return long.assign(
        subject=long["target_id"], applies="intensity", period=long["year"].astype(str)
    )


def test_progress_is_measured_from_the_base_year_or_not_at_all():
    # data start in 2022 for a 2020 base: without a base-year value there is no progress (the
    # old code re-based to 2022 silently and required only the 2022-2024 part of the path)
    actual = pd.DataFrame({"target_id": 1, "year": [2022, 2023, 2024], "value": [1.0, 0.95, 0.9]})
    p = tg.intensity_progress(_target(), actual).set_index("year")
    assert (p["base_source"] == "missing").all()
    assert p["value"].tolist() == [1.0, 0.95, 0.9]  # the actual values are still shown
    for col in ("actual_decline_pct", "scheduled_decline_pct", "decline_gap_pts"):
        assert p[col].isna().all(), col
    # with the base-year value (entered: 1.1 in 2020), the whole 2020-2024 path counts:
    # decline 1 - 0.9 / 1.1 = 18.18 %, required 1 - 0.82^(4/5) = 14.69 %
    entered = tg.intensity_progress(_target(base_value=1.1), actual).set_index("year")
    assert (entered["base_source"] == "entered").all()
    assert entered.loc[2024, "actual_decline_pct"] == pytest.approx(100 * (1 - 0.9 / 1.1))
    assert entered.loc[2024, "scheduled_decline_pct"] == pytest.approx(100 * (1 - 0.82**0.8))
    # an absolute cap without a base value has no caps either (NaN, not a cap of zero)
    cap = _target(kind="total", target_value=120.0, target_unit="t")
    assert tg.annual_targets(cap)["target_value"].isna().all()


def test_linear_decomposition_and_annual_targets():
    t = _target(decomposition="linear", base_value=2.0)
    a = tg.annual_targets(t).set_index("year")["target_value"]
    assert list(a.index) == [2020, 2021, 2022, 2023, 2024, 2025]
    assert a[2025] == pytest.approx(2.0 * 0.82)
    assert np.diff(a.to_numpy()) == pytest.approx([-2.0 * 0.18 / 5] * 5)


def test_total_target_pro_rata_budget_and_levels():
    # cap: +10 % by 2025 vs a 2020 base of 100 t, linear: caps 102, 104, ..., 110
    t = _target(kind="total", target_value=10.0, base_value=100.0, decomposition="linear")
    actual = pd.DataFrame(
        {
            "target_id": 1,
            "year": [2021, 2022, 2023],
            "months": [12, 12, 6],
            "value": [101.0, 104.0, 60.0],
        }
    )
    p = tg.total_progress(t, actual).set_index("year")
    assert p.loc[2021, "cap_value"] == pytest.approx(102.0)
    assert p.loc[2022, "budget_to_date"] == pytest.approx(102.0 + 104.0)
    assert p.loc[2023, "budget_to_date"] == pytest.approx(102.0 + 104.0 + 106.0 / 2)
    assert p.loc[2023, "actual_to_date"] == pytest.approx(265.0)
    assert p.loc[2023, "budget_use_ratio"] == pytest.approx(265.0 / 259.0)
    metrics = pd.DataFrame(
        {
            "subject": 1,
            "applies": "total",
            "period": p.index.astype(str),
            "metric": "budget_use_ratio",
            "value": p["budget_use_ratio"].to_numpy(),
        }
    )
    levels = wn.evaluate(metrics, _rules()).set_index("period")["level"]
    # 101/102 and 205/206 are within the budget, 265/259 = 1.023 above it (yellow up to 1.05)
    assert levels.to_dict() == {"2021": "green", "2022": "green", "2023": "yellow"}
    # seasonally prorated: if the first six months held 40 % of last year's total, the budget
    # to mid-2023 is 102 + 104 + 0.4 x 106 = 248.4 and 265 t is 6.7 % above it (red)
    seasonal = tg.total_progress(t, actual.assign(share=[np.nan, np.nan, 0.4])).set_index("year")
    assert seasonal.loc[2023, "budget_to_date"] == pytest.approx(248.4)
    assert seasonal.loc[2022, "budget_to_date"] == pytest.approx(206.0)  # complete years: 1
    assert seasonal.loc[2023, "budget_use_ratio"] == pytest.approx(265.0 / 248.4)


def test_seasonal_shares_come_from_the_previous_year():
    # 2023 by month: 50 in Jan-Feb (holiday), 100 in the other ten = 1100 in all; 2024 has
    # three months: they stood for (50 + 50 + 100) / 1100 = 18.18 % of 2023, not 3/12 = 25 %
    v2023 = [50.0, 50.0] + [100.0] * 10
    monthly = pd.DataFrame(
        {
            "target_id": 1,
            "year": [2023] * 12 + [2024] * 3 + [2025] * 2,
            "month": [*range(1, 13), 1, 2, 3, 1, 2],
            "value": [*v2023, 60.0, 60.0, 110.0, 70.0, 70.0],
        }
    )
    s = tg.seasonal_shares(monthly).set_index("year")
    assert s.loc[2023, "share"] == pytest.approx(1.0)
    assert s.loc[2024, "months"] == 3
    assert s.loc[2024, "share"] == pytest.approx(200.0 / 1100.0)
    # 2024 is not complete: two months of 2025 stand for 2/12 of a year (no seasonal profile)
    assert s.loc[2025, "share"] == pytest.approx(2 / 12)


def test_total_levels_on_constructed_cases():
    rules = _rules()
    metrics = pd.DataFrame(
        {
            "subject": ["a", "b", "c", "d"],
            "applies": "total",
            "period": "2024",
            "metric": "budget_use_ratio",
            "value": [0.98, 1.0, 1.03, 1.2],
        }
    )
    levels = wn.evaluate(metrics, rules).set_index("subject")["level"]
    assert levels.to_dict() == {"a": "green", "b": "green", "c": "yellow", "d": "red"}


def _spring_festival_series(*, overshoot_from: int | None = None) -> pd.DataFrame:
    """Monthly CO2 of one key enterprise: 1000 t a month in 2023 with the Spring Festival in
    February (Feb x 0.6, rebound in March x 1.1); 2024 grows 3 % with the festival in January
    (Jan x 0.6, rebound in February x 1.15) — the dates of 2023-01-22 and 2024-02-10 shift the
    dip between the months like this. ``overshoot_from``: 2024 x 1.4 from that month on."""
    y2023 = np.full(12, 1000.0)
    y2023[1] *= 0.6
    y2023[2] *= 1.1
    y2024 = np.full(12, 1030.0)
    y2024[0] *= 0.6
    y2024[1] *= 1.15
    if overshoot_from is not None:
        y2024[overshoot_from - 1 :] *= 1.4
    return pd.DataFrame(
        {
            "entity_code": "E1",
            "year": [2023] * 12 + [2024] * 12,
            "month": list(range(1, 13)) * 2,
            "value": np.r_[y2023, y2024],
        }
    )


def _enterprise_levels(monthly: pd.DataFrame) -> pd.DataFrame:
    yoy = tg.year_on_year(monthly, (1, 2))
    parts = [
        yoy.assign(metric=m, value=yoy[m], previous=yoy[p], subject=yoy["entity_code"])
        for m, p in (("yoy_change_pct", "previous"), ("ytd_yoy_change_pct", "ytd_previous"))
    ]
    metrics = pd.concat(parts).assign(applies="key_enterprise")
    return wn.evaluate(metrics, _rules())


def test_a_spring_festival_dip_and_rebound_does_not_flag():
    monthly = _spring_festival_series()
    yoy = tg.year_on_year(monthly, (1, 2)).set_index("period")
    # January and February are one period (1-2月): (618 + 1184.5) / (1000 + 600) - 1 = +12.7 %
    assert "2024-01" not in yoy.index and "2024-02" not in yoy.index
    assert yoy.loc["2024-01..02", "yoy_change_pct"] == pytest.approx(
        100 * ((618.0 + 1184.5) / 1600.0 - 1)
    )
    # March: 1030 / 1100 - 1 = -6.4 %; year to date: 2832.5 / 2700 - 1 = +4.9 %
    assert yoy.loc["2024-03", "yoy_change_pct"] == pytest.approx(100 * (1030 / 1100 - 1))
    assert yoy.loc["2024-03", "ytd_yoy_change_pct"] == pytest.approx(100 * (2832.5 / 2700 - 1))
    levels = _enterprise_levels(monthly)
    assert len(levels) == 2 * 11 and (levels["level"] == "green").all()
    # month on month, the same series is a jump: February 2024 +91.7 %, March 2023 +83 %
    assert 1184.5 / 618.0 - 1 > 0.5 and 1100 / 600 - 1 > 0.5


def test_a_genuine_overshoot_flags():
    # from June 2024 the enterprise emits 40 % more: June 1442 / 1000 - 1 = +44.2 % on June 2023
    # (yellow: 20-50 %); the year to date through December (618 + 1184.5 + 3 x 1030 + 7 x 1442)
    # / 11700 - 1 = +28.1 % on last year's (yellow: 15-30 %)
    monthly = _spring_festival_series(overshoot_from=6)
    yoy = tg.year_on_year(monthly, (1, 2)).set_index("period")
    assert yoy.loc["2024-06", "yoy_change_pct"] == pytest.approx(100 * (1030 * 1.4 / 1000 - 1))
    ytd = (618.0 + 1184.5 + 1030 * 3 + 1030 * 1.4 * 7) / 11700.0
    assert yoy.loc["2024-12", "ytd_yoy_change_pct"] == pytest.approx(100 * (ytd - 1))
    levels = _enterprise_levels(monthly).set_index(["rule_id", "period"])["level"]
    assert levels[("enterprise_yoy_jump", "2024-05")] == "green"
    assert levels[("enterprise_yoy_jump", "2024-06")] == "yellow"
    assert levels[("enterprise_ytd_over_path", "2024-12")] == "yellow"
    assert levels[("enterprise_ytd_over_path", "2024-05")] == "green"
    # a doubling is red on both rules
    doubled = _spring_festival_series()
    doubled.loc[doubled["year"] == 2024, "value"] *= 2.0
    red = _enterprise_levels(doubled).set_index(["rule_id", "period"])["level"]
    assert red[("enterprise_yoy_jump", "2024-07")] == "red"
    assert red[("enterprise_ytd_over_path", "2024-07")] == "red"


@settings(max_examples=25, deadline=None)
@given(
    months=st.lists(st.floats(1.0, 1e4), min_size=12, max_size=12),
    growth=st.floats(-0.5, 1.0),
)
def test_the_same_seasonal_shape_never_reads_as_a_change(months, growth):
    # any seasonal shape repeated a year later at (1 + g): every period and the year to date
    # change by exactly g, so a festival or a summer peak is never a jump
    shape = np.asarray(months)
    monthly = pd.DataFrame(
        {
            "entity_code": "E",
            "year": [2023] * 12 + [2024] * 12,
            "month": list(range(1, 13)) * 2,
            "value": np.r_[shape, shape * (1 + growth)],
        }
    )
    yoy = tg.year_on_year(monthly, (1, 2))
    y2024 = yoy[yoy["year"] == 2024]
    assert len(y2024) == 11
    assert y2024["yoy_change_pct"].to_numpy() == pytest.approx(100 * growth, abs=1e-9)
    assert y2024["ytd_yoy_change_pct"].to_numpy() == pytest.approx(100 * growth, abs=1e-9)
    assert yoy[yoy["year"] == 2023]["ytd"].iloc[-1] == pytest.approx(shape.sum())


def test_logged_warnings_are_not_repeated():
    current = pd.DataFrame(
        {
            "rule_id": ["r", "r", "r"],
            "subject": ["a", "b", "c"],
            "period": "2024",
            "level": ["red", "yellow", "green"],
        }
    )
    last = pd.DataFrame(
        {"rule_id": ["r", "r"], "subject": ["a", "c"], "period": "2024", "level": ["red", "yellow"]}
    )
    out = wn.changes(current, last).set_index("subject")["level"]
    assert out.to_dict() == {"b": "yellow", "c": "green"}


def test_rules_are_validated():
    with pytest.raises(InputError, match="severe"):
        wn.rules_frame([{"id": "x", "metric": "m", "direction": "above", "yellow": 2, "red": 1}])
    with pytest.raises(InputError, match="direction"):
        wn.rules_frame([{"id": "x", "metric": "m", "direction": "up", "yellow": 1, "red": 2}])
    with pytest.raises(InputError, match="end year"):
        tg.path_factor(-0.1, 2025, 2020, 2022)


@settings(max_examples=25, deadline=None)
@given(
    decline=st.floats(0.5, 60),
    n=st.integers(1, 10),
    steps=st.lists(st.floats(-0.2, 0.2), min_size=1, max_size=10),
)
def test_schedule_is_monotone_and_progress_consistent(decline, n, steps):
    years = np.arange(2020, 2021 + n)
    s = tg.scheduled_decline_pct(decline, 2020, 2020 + n, years)
    assert np.all(np.diff(s) > 0) and s[0] == pytest.approx(0) and s[-1] == pytest.approx(decline)
    values = np.cumprod([1.0, *(1 + np.asarray(steps))])[: n + 1]
    actual = pd.DataFrame({"target_id": 1, "year": years[: len(values)], "value": values})
    p = tg.intensity_progress(
        _target(base_value=1.0, target_value=decline, end_year=2020 + n), actual
    )
    expected = 100 * (1 - values) - s[: len(values)]
    assert p["decline_gap_pts"].to_numpy() == pytest.approx(expected, abs=1e-9)
