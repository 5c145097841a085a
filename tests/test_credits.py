"""碳普惠 methodologies (citycarbon.credits.methodologies): reductions against hand-computed
values, daily and annual caps, the day boundary in the set's timezone, and cap invariants."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.credits.methodologies import (
    COEFFICIENTS,
    credit_events,
    methodology_set,
    reduction_kg_per_unit,
)
from citycarbon.errors import UnknownCodeError

GRID = 0.5  # kgCO2/kWh, a round test value (the caller passes the city's declared factor)
MSET = methodology_set()


def _events(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["account", "method", "at", "quantity"])
    return frame.assign(at=pd.to_datetime(frame["at"], utc=True, format="ISO8601"))


def test_every_method_is_sourced_or_an_assumption_with_a_note():
    table = MSET.table
    assert MSET.source_status in ("published", "unverified")
    unsourced = table[table["assumption"]]
    assert (unsourced["note"] != "").all()
    assert MSET.source_status == "published" or table["assumption"].all()
    assert (table["evidence"].map(lambda e: "event_id" in e and "account" in e)).all()
    # travel methods: km and a speed limit for the anti-fraud rules
    travel = table[table["group"] == "travel"]
    assert set(travel.index) == {"travel_metro", "travel_bus", "travel_bike", "travel_walk"}
    assert (travel["activity_unit"] == "km").all() and travel["max_speed_kmh"].gt(0).all()


def test_electricity_methods_use_the_grid_factor():
    table = MSET.table
    uses_grid = (table["baseline_kwh_per_unit"] + table["project_kwh_per_unit"]) > 0
    assert set(table.index[uses_grid]) == {"travel_metro", "ev_charging", "household_power_saving"}
    low, high = (reduction_kg_per_unit(*(table[c] for c in COEFFICIENTS), g) for g in (0.3, 0.8))
    # more carbon in the grid: EV and metro earn less, electricity saved earns more
    assert low["ev_charging"] > high["ev_charging"]
    assert low["travel_metro"] > high["travel_metro"]
    assert low["household_power_saving"] < high["household_power_saving"]


def test_hand_computed_reductions():
    out = credit_events(
        _events(
            [
                # metro: 10 km x (0.17 - 0.04 kWh x 0.5) = 10 x 0.15 = 1.5 kg -> 1,500 points
                ("a", "travel_metro", "2026-03-02T01:00Z", 10),
                # bus: 8 km x (0.17 - 0.05) = 0.96 kg
                ("a", "travel_bus", "2026-03-02T02:00Z", 8),
                # EV: 30 kWh x (1.1333 - 1.0 x 0.5) = 18.999 kg (under the 20 kg daily cap)
                ("a", "ev_charging", "2026-03-02T03:00Z", 30),
                # electricity saved: 10 kWh x 0.5 = 5 kg, exactly the daily cap
                ("a", "household_power_saving", "2026-03-02T04:00Z", 10),
                # recyclables: 4 kg x 0.5 = 2 kg; plastics: 3 items x 0.02 = 0.06 kg
                ("a", "recyclables", "2026-03-02T05:00Z", 4),
                ("a", "plastics_avoided", "2026-03-02T06:00Z", 3),
            ]
        ),
        MSET,
        GRID,
    )
    assert out["reduction_kg"].tolist() == pytest.approx([1.5, 0.96, 18.999, 5.0, 2.0, 0.06])
    assert out["credited_kg"].tolist() == pytest.approx(out["reduction_kg"].tolist())
    assert out["points"].tolist() == [1500, 960, 18999, 5000, 2000, 60]
    assert (out["methodology"] == "xiamen-2026@1").all()


def test_daily_cap_in_order_and_per_account():
    # metro 15 km = 15 x 0.15 = 2.25 kg a trip; daily cap 5 kg: 2.25 + 2.25 + 0.5, then 0;
    # the next day (Shanghai time) starts again; account b has its own cap
    out = credit_events(
        _events(
            [
                ("a", "travel_metro", "2026-03-02T01:00Z", 15),
                ("a", "travel_metro", "2026-03-02T02:00Z", 15),
                ("b", "travel_metro", "2026-03-02T02:30Z", 15),
                ("a", "travel_metro", "2026-03-02T03:00Z", 15),
                ("a", "travel_metro", "2026-03-02T04:00Z", 15),
                ("a", "travel_metro", "2026-03-02T16:30Z", 15),  # 00:30 on 3 March in Xiamen
            ]
        ),
        MSET,
        GRID,
    )
    assert out["credited_kg"].tolist() == pytest.approx([2.25, 2.25, 2.25, 0.5, 0.0, 2.25])


def test_annual_cap_after_daily_caps():
    # walking 10 km a day = 1.7 kg, capped at 1 kg a day; 200 kg a year: day 201 on get nothing,
    # and the year after starts again
    days = pd.date_range("2026-01-01T02:00Z", periods=210, freq="D")
    rows = [("a", "travel_walk", d.isoformat(), 10.0) for d in days]
    rows.append(("a", "travel_walk", "2027-01-01T02:00Z", 10.0))
    out = credit_events(_events(rows), MSET, GRID)
    assert out["credited_kg"].iloc[:210].sum() == pytest.approx(200.0)
    assert out["credited_kg"].iloc[199] == pytest.approx(1.0)
    assert out["credited_kg"].iloc[200:210].eq(0).all()
    assert out["credited_kg"].iloc[210] == pytest.approx(1.0)


def test_grid_factor_per_event():
    out = credit_events(
        _events(
            [
                ("a", "ev_charging", "2025-06-01T01:00Z", 10),
                ("a", "ev_charging", "2026-06-01T01:00Z", 10),
            ]
        ),
        MSET,
        [0.6, 0.5],
    )
    # 10 x (1.1333 - 0.6) = 5.333; 10 x (1.1333 - 0.5) = 6.333
    assert out["reduction_kg"].tolist() == pytest.approx([5.333, 6.333])


def test_unknown_method_is_named():
    with pytest.raises(UnknownCodeError, match="taxi"):
        credit_events(_events([("a", "taxi", "2026-01-01T00:00Z", 1)]), MSET, GRID)


def test_unknown_set_is_named():
    with pytest.raises(UnknownCodeError, match="nowhere"):
        methodology_set("nowhere")


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["a", "b"]),
            st.sampled_from(list(MSET.table.index)),
            st.integers(0, 24 * 400),  # hours after the start
            st.floats(0, 200, allow_nan=False),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_caps_are_never_exceeded(rows):
    start = pd.Timestamp("2026-01-01T00:00Z")
    events = pd.DataFrame(rows, columns=["account", "method", "hours", "quantity"])
    events = events.sort_values("hours", kind="stable").reset_index(drop=True)
    events["at"] = start + pd.to_timedelta(events["hours"], unit="h")
    out = credit_events(events, MSET, GRID)
    assert (out["credited_kg"] >= 0).all()
    assert (out["credited_kg"] <= out["reduction_kg"] + 1e-12).all()
    local = out["at"].dt.tz_convert(MSET.timezone)
    caps = MSET.table
    daily = out.groupby(["account", "method", local.dt.date])["credited_kg"].sum()
    yearly = out.groupby(["account", "method", local.dt.year])["credited_kg"].sum()
    assert (
        daily <= caps.loc[daily.index.get_level_values(1), "daily_cap_kg"].to_numpy() + 1e-9
    ).all()
    assert (
        yearly <= caps.loc[yearly.index.get_level_values(1), "annual_cap_kg"].to_numpy() + 1e-9
    ).all()
    # points never exceed the credited grams
    assert (out["points"] <= out["credited_kg"] * MSET.points_per_kg + 1e-6).all()


def test_earlier_batches_use_the_caps_first():
    # 4 kg of metro already credited today (an earlier batch): a 2.25 kg trip gets the 1 kg left
    prior = _events([("a", "travel_metro", "2026-03-02T01:00Z", 0)]).assign(credited_kg=4.0)
    out = credit_events(
        _events([("a", "travel_metro", "2026-03-02T05:00Z", 15)]), MSET, GRID, prior=prior
    )
    assert out["credited_kg"].tolist() == pytest.approx([1.0])
    assert out["points"].tolist() == [1000]
