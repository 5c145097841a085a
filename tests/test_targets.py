"""Carbon dual control: schedule-proportional targets, progress, forecast and warning levels."""

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


def _target(**kw) -> pd.DataFrame:
    row = {
        "target_id": 1,
        "kind": "intensity",
        "base_year": 2020,
        "end_year": 2025,
        "target_value": 18.0,
        "target_unit": "%",
        "base_value": np.nan,
        "decomposition": "geometric",
    }
    row.update(kw)
    return pd.DataFrame([row])


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
    p = tg.intensity_progress(_target(), actual).set_index("year")
    assert p.loc[2024, "actual_decline_pct"] == pytest.approx(7.81, abs=0.01)
    assert p.loc[2024, "scheduled_decline_pct"] == pytest.approx(100 * (1 - 0.82**0.8))
    assert p.loc[2024, "decline_gap_pts"] == pytest.approx(7.81 - 14.69, abs=0.02)
    assert (p["base_source"] == "actual").all()
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


def test_rebased_progress_when_the_base_year_has_no_data():
    # data start in 2022 for a 2020 base: the part of the path between 2022 and 2024 is required
    actual = pd.DataFrame({"target_id": 1, "year": [2022, 2023, 2024], "value": [1.0, 0.95, 0.9]})
    p = tg.intensity_progress(_target(), actual).set_index("year")
    assert (p["base_source"] == "rebased").all()
    required = 100 * (1 - 0.82 ** (2 / 5))
    assert p.loc[2024, "scheduled_decline_pct"] == pytest.approx(required)
    assert p.loc[2024, "actual_decline_pct"] == pytest.approx(10.0)
    assert p.loc[2024, "decline_gap_pts"] == pytest.approx(10.0 - required)
    configured = tg.intensity_progress(_target(base_value=1.1), actual).set_index("year")
    assert (configured["base_source"] == "configured").all()
    assert configured.loc[2024, "actual_decline_pct"] == pytest.approx(100 * (1 - 0.9 / 1.1))


def test_linear_decomposition_and_annual_targets():
    t = tg.resolve_base(
        _target(decomposition="linear", base_value=2.0),
        pd.DataFrame({"target_id": [], "year": [], "value": []}),
    )
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


def test_key_enterprise_month_on_month_jump():
    monthly = pd.DataFrame(
        {
            "entity_code": ["E1"] * 3 + ["E2"] * 3 + ["E3"] * 2,
            "year": 2024,
            "month": [1, 2, 3, 1, 2, 3, 2, 3],
            "value": [1000.0, 1100.0, 1700.0, 500.0, 650.0, 660.0, 10.0, 40.0],
        }
    )
    mom = tg.month_on_month(monthly)
    e1 = mom[mom["entity_code"] == "E1"].set_index("month")
    assert np.isnan(e1.loc[1, "mom_change_pct"])
    assert e1.loc[3, "mom_change_pct"] == pytest.approx(100 * (1700 / 1100 - 1))
    metrics = mom.assign(
        subject=mom["entity_code"],
        applies="key_enterprise",
        period=mom["year"].astype(str) + "-" + mom["month"].astype(str).str.zfill(2),
        metric="mom_change_pct",
        value=mom["mom_change_pct"],
    )
    out = wn.evaluate(metrics, _rules()).set_index(["subject", "period"])["level"]
    assert out[("E1", "2024-02")] == "green"  # +10 %
    assert out[("E1", "2024-03")] == "red"  # +54.5 %
    assert out[("E2", "2024-02")] == "yellow"  # +30 %
    assert out[("E2", "2024-03")] == "green"  # +1.5 %
    assert ("E3", "2024-03") not in out.index  # previous month 10 t < min_previous


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
    p = tg.intensity_progress(_target(target_value=decline, end_year=2020 + n), actual)
    expected = 100 * (1 - values) - s[: len(values)]
    assert p["decline_gap_pts"].to_numpy() == pytest.approx(expected, abs=1e-9)
