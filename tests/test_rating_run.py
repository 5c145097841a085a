"""The carbon-efficiency run (runs/rating.py) on the small demo city: written by the pipeline,
consistent with its inputs, re-derivable by hand for one enterprise."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from citycarbon.config import load_city
from citycarbon.config.settings import get_settings
from citycarbon.contract.results import CARBON_EFFICIENCY, CARBON_EFFICIENCY_DISTRIBUTION
from citycarbon.runs import rating
from citycarbon.store import results


@pytest.fixture
def graded(demo_home) -> pd.DataFrame:
    return results.current(CARBON_EFFICIENCY, lake=get_settings().lake)


def test_the_demo_pipeline_grades_every_industrial_reporter_monthly_and_annually(graded):
    assert set(graded["period_type"]) == {"month", "year"}
    annual = graded[graded["period_type"] == "year"]
    assert (annual["month"] == 0).all()
    assert set(annual["grade"]) <= {0, 1, 2, 3, 4, 5}
    assert (annual["grade"] > 0).mean() > 0.95  # only a lone or unknown industry stays ungraded
    assert len(set(annual["grade"])) >= 4  # the demo spreads firms over the grades
    assert set(graded["rules"]) == {"zhejiang-2021@1"}
    # an enterprise's annual value added is the sum of its months
    m = graded[graded["period_type"] == "month"].groupby(["enterprise_code", "year"])
    a = annual.set_index(["enterprise_code", "year"])
    assert np.allclose(m["value_added_10k_cny"].sum().loc[a.index], a["value_added_10k_cny"])
    assert (m.size().loc[a.index] == a["months"]).all()


def test_one_enterprise_re_derived_by_hand_from_the_inputs(demo_home, graded):
    """L = net CO2 / VA; industry L = sum net CO2 / sum VA of its class; K = L / industry L."""
    annual = graded[(graded["period_type"] == "year") & (graded["grade"] > 0)]
    row = annual.sort_values("green_mwh").iloc[-1]  # a green-electricity buyer
    assert row["green_mwh"] > 0
    cap = min(row["green_mwh"] * row["grid_ef_tco2_per_mwh"], row["electricity_co2_t"])
    assert row["net_co2_t"] == pytest.approx(row["co2_t"] - cap)
    L = row["net_co2_t"] / row["value_added_10k_cny"]
    assert row["intensity_t_per_10k_cny"] == pytest.approx(L)
    peers = annual[
        (annual["year"] == row["year"])
        & (annual["industry_code"].str[:5] == row["industry_code"][:5])
    ]
    industry_l = peers["net_co2_t"].sum() / peers["value_added_10k_cny"].sum()
    assert row["industry_intensity_t_per_10k_cny"] == pytest.approx(industry_l)
    assert row["k"] == pytest.approx(L / industry_l)
    assert row["industry_enterprises"] == len(peers)


def test_movement_follows_the_previous_year(graded):
    annual = graded[graded["period_type"] == "year"].set_index(["enterprise_code", "year"])
    first = annual.index.get_level_values("year").min()
    later = annual[annual.index.get_level_values("year") > first]
    prev = annual["grade"].rename("p")
    prev.index = prev.index.set_levels(prev.index.levels[1] + 1, level=1)
    joined = later.join(prev, how="left")
    assert (joined["previous_grade"] == joined["p"].fillna(0)).all()
    up = joined["movement"] == "up"
    assert (joined.loc[up, "grade"] < joined.loc[up, "previous_grade"]).all()


def test_distributions_add_up_to_the_graded_enterprises(demo_home, graded):
    dist = results.current(CARBON_EFFICIENCY_DISTRIBUTION, lake=get_settings().lake)
    assert set(dist["dimension"]) == {"city", "district", "park", "industry"}
    rated = graded[graded["grade"] > 0].groupby(["period_type", "year", "month"]).size()
    for dim in ("city", "district", "industry"):  # every graded enterprise has one of each
        got = dist[dist["dimension"] == dim].groupby(["period_type", "year", "month"])
        assert (got["enterprises"].sum() == rated).all(), dim
    shares = dist.groupby(["period_type", "year", "month", "dimension", "group_code"])["share"]
    assert np.allclose(shares.sum(), 1.0)


def test_a_one_year_run_keeps_the_other_years_and_the_movement_into_it(demo_home, graded):
    years = sorted(set(graded["year"]))
    cfg = load_city(None)
    with results.transaction(lake=get_settings().lake, factor_profile="test"):
        again, _ = rating.carbon_efficiency([years[-1]], city=cfg, settings=get_settings())
    assert set(again["year"]) == {years[-1]}
    before = graded[graded["year"] == years[-1]].set_index(
        ["period_type", "month", "enterprise_code"]
    )
    after = again.set_index(["period_type", "month", "enterprise_code"]).loc[before.index]
    assert (after["previous_grade"] == before["previous_grade"]).all()  # January saw December
    assert np.allclose(after["k"], before["k"], equal_nan=True)
