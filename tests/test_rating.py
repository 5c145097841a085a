"""Carbon efficiency (碳效码): hand-computed cases at every level and grade boundary of the rule
set ``zhejiang-2021`` (《规上工业企业碳效等级评价方法》 clauses 1-3), and invariants."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.errors import InputError
from citycarbon.rating import efficiency as ef

RULES = ef.efficiency_rules()


def test_rule_set_holds_the_method_thresholds_and_its_source_status():
    assert RULES.level_bounds == (0.6, 2.0)
    assert RULES.grade_bounds == (0.6, 0.8, 1.2, 2.0)
    assert RULES.level_codes == ("low", "medium", "high")
    assert RULES.industry_digits == 4  # GB/T 4754 class
    assert RULES.source_status == "unverified"  # the document was not confirmed
    assert RULES.label == "zhejiang-2021@1"


def test_unknown_rule_set_is_refused_with_a_suggestion():
    with pytest.raises(InputError, match="zhejiang-2012"):
        ef.efficiency_rules("zhejiang-2012")


@pytest.mark.parametrize(
    ("co2_t", "va", "level"),
    [
        # clause 2: L <= 0.6 低碳; 0.6 < L <= 2.0 中碳; L > 2.0 高碳 (L = CO2 / VA)
        (0.0, 100.0, "low"),  # L = 0
        (60.0, 100.0, "low"),  # L = 60 / 100 = 0.6 exactly: still low
        (60.1, 100.0, "medium"),  # L = 0.601
        (200.0, 100.0, "medium"),  # L = 2.0 exactly: still medium
        (200.1, 100.0, "high"),  # L = 2.001
        (30.0, 10.0, "high"),  # L = 3.0
    ],
)
def test_intensity_level_at_the_boundaries(co2_t, va, level):
    L = ef.intensity_t_per_10k_cny(np.array([co2_t]), np.array([va]))
    assert ef.intensity_level(L, RULES)[0] == level


@pytest.mark.parametrize(
    ("k", "grade"),
    [
        (0.0, 1),
        (0.6, 1),  # K <= 0.6: grade 1
        (0.600001, 2),  # the smallest step at the 6 decimals of the rule set
        (0.6000004, 1),
        (0.8, 2),  # K <= 0.8: grade 2
        (0.800001, 3),
        (1.2, 3),  # K <= 1.2: grade 3
        (1.200001, 4),
        (2.0, 4),  # K <= 2.0: grade 4
        (2.000001, 5),
        (7.5, 5),
        (np.nan, ef.UNGRADED),
    ],
)
def test_grade_at_the_boundaries(k, grade):
    assert ef.efficiency_grade(np.array([k]), RULES)[0] == grade


def test_boundaries_reached_through_floating_point_division_grade_as_written():
    # 2.7 / 4.5 = 0.6 on paper, 0.6000000000000001 in binary floating point: rounding to the
    # rule set's 6 decimals keeps it in grade 1; 5.4 / 4.5 = 1.2 likewise stays in grade 3
    assert 2.7 / 4.5 > 0.6 and 5.4 / 4.5 > 1.2
    k = ef.efficiency_ratio(np.array([2.7, 5.4]), np.array([4.5, 4.5]))
    assert list(ef.efficiency_grade(k, RULES)) == [1, 3]


def test_net_co2_subtracts_green_electricity_at_the_grid_factor_capped_at_electricity_co2():
    # 1,000 t in all, 600 t of it electricity; 500 MWh green x 0.5 t/MWh = 250 t -> 750 t;
    # 2,000 MWh green x 0.5 = 1,000 t, capped at the 600 t of electricity -> 400 t
    got = ef.net_co2_t(
        np.array([1000.0, 1000.0]),
        np.array([600.0, 600.0]),
        np.array([500.0, 2000.0]),
        np.array([0.5, 0.5]),
    )
    assert list(got) == [750.0, 400.0]


def _industry_case() -> pd.DataFrame:
    """One class C3974 of four enterprises in one month, and one lone enterprise of C3841.

    C3974: CO2 60 + 80 + 120 + 240 = 500 t; VA 100 + 100 + 100 + 100 + 0 = 400 (the fifth has no
    value added: not graded, not counted). Industry L = 500 / 400 = 1.25.
    L = 0.6, 0.8, 1.2, 2.4 -> K = 0.48, 0.64, 0.96, 1.92 -> grades 1, 2, 3, 4.
    Levels: 0.6 low, 0.8 medium, 1.2 medium, 2.4 high.
    C3841: one enterprise, K = 1 -> grade 3.
    """
    return pd.DataFrame(
        {
            "enterprise_code": ["A", "B", "C", "D", "E", "F"],
            "year": 2024,
            "month": 3,
            "industry_code": ["C3974"] * 5 + ["C3841"],
            "net_co2_t": [60.0, 80.0, 120.0, 240.0, 50.0, 30.0],
            "value_added_10k_cny": [100.0, 100.0, 100.0, 100.0, 0.0, 10.0],
        }
    )


def test_grade_enterprises_against_the_ratio_of_sums_of_their_class():
    got = ef.grade_enterprises(_industry_case(), RULES, period=["year", "month"]).set_index(
        "enterprise_code"
    )
    assert got.loc["A", "industry_intensity_t_per_10k_cny"] == pytest.approx(1.25)
    assert list(got["industry_enterprises"]) == [4, 4, 4, 4, 4, 1]
    assert list(got["k"].round(6).iloc[:4]) == [0.48, 0.64, 0.96, 1.92]
    assert list(got["grade"]) == [1, 2, 3, 4, ef.UNGRADED, 3]
    assert list(got["level"]) == ["low", "medium", "medium", "high", "", "high"]
    assert np.isnan(got.loc["E", "intensity_t_per_10k_cny"])


def test_industry_is_the_class_and_an_unknown_industry_is_not_graded():
    frame = _industry_case()
    frame.loc[5, "industry_code"] = None
    got = ef.grade_enterprises(frame, RULES, period=["year", "month"])
    assert got["grade"].iloc[5] == ef.UNGRADED
    assert got["level"].iloc[5] == "high"  # the level needs no industry


def test_movement_between_consecutive_periods():
    g = pd.DataFrame(
        {
            "enterprise_code": ["A", "A", "A", "A", "B"],
            "year": [2023, 2024, 2024, 2024, 2024],
            "month": [12, 1, 2, 4, 1],
            "grade": [3, 2, 4, 4, 1],
        }
    )
    got = ef.grade_movement(g, entity="enterprise_code", order=["year", "month"])
    # Dec -> Jan across the year end: 3 -> 2 up; Jan -> Feb: 2 -> 4 down; April follows no March
    assert list(got["previous_grade"]) == [0, 3, 2, 0, 0]
    assert list(got["movement"]) == ["new", "up", "down", "new", "new"]


def test_distribution_by_dimension_counts_graded_enterprises_only():
    graded = ef.grade_enterprises(_industry_case(), RULES, period=["year", "month"]).assign(
        district_code=["350203", "350203", "350211", "350211", "350211", None]
    )
    got = ef.grade_distribution(
        graded, period=["year", "month"], by={"city": None, "district": "district_code"}
    )
    city = got[got["dimension"] == "city"]
    assert city["enterprises"].sum() == 5  # E has no grade
    assert city["share"].sum() == pytest.approx(1.0)
    d = got[got["dimension"] == "district"].set_index(["group_code", "grade"])["enterprises"]
    assert d.to_dict() == {("350203", 1): 1, ("350203", 2): 1, ("350211", 3): 1, ("350211", 4): 1}


@settings(max_examples=60, deadline=None)
@given(
    co2=st.lists(st.floats(0, 1e6), min_size=1, max_size=20),
    scale=st.floats(0.01, 100),
)
def test_grades_do_not_change_when_every_value_added_scales_alike(co2, scale):
    """K is a ratio of ratios: scaling every value added (a price index) leaves it unchanged."""
    n = len(co2)
    frame = pd.DataFrame(
        {
            "enterprise_code": [f"E{i}" for i in range(n)],
            "year": 2024,
            "industry_code": "C3974",
            "net_co2_t": co2,
            "value_added_10k_cny": np.linspace(10, 1000, n),
        }
    )
    a = ef.grade_enterprises(frame, RULES, period=["year"])
    b = ef.grade_enterprises(
        frame.assign(value_added_10k_cny=frame["value_added_10k_cny"] * scale),
        RULES,
        period=["year"],
    )
    assert np.allclose(a["k"], b["k"], equal_nan=True, rtol=1e-9)
    # the VA-weighted mean of K over the industry is 1 (industry L is the ratio of sums)
    if a["industry_intensity_t_per_10k_cny"].iloc[0] > 0:
        w = frame["value_added_10k_cny"]
        assert (a["k"] * w).sum() / w.sum() == pytest.approx(1.0, rel=1e-9)
