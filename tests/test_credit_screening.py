"""Screening of partner events (citycarbon.credits.screening): refused with a reason per event,
held by the anti-fraud rules, consent per partner as the rules say, and events in = ok + held +
refused (hypothesis)."""

from __future__ import annotations

import dataclasses

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from citycarbon.credits.methodologies import methodology_set
from citycarbon.credits.screening import (
    RULES_FILE,
    STATUSES,
    consent_screened,
    fraud_rules,
    screen_events,
)
from citycarbon.errors import UnknownCodeError

MSET = methodology_set()
RULES = fraud_rules()
NOW = pd.Timestamp("2026-03-02T12:00Z")
T0 = pd.Timestamp("2026-03-02T01:00Z")


def _trip(
    event_id: str, account: str, minute: int, km: float, minutes: float, method="travel_metro"
):
    start = T0 + pd.Timedelta(minutes=minute)
    return {
        "event_id": event_id,
        "account": account,
        "method": method,
        "at": start,
        "ended_at": start + pd.Timedelta(minutes=minutes),
        "quantity": km,
    }


def test_refused_with_reasons():
    events = pd.DataFrame(
        [
            _trip("e1", "a", 0, 10, 20),
            _trip("", "a", 1, 10, 20),
            _trip("e3", "a", 2, 10, 20, method="taxi"),
            _trip("e4", "a", 3, -1, 20),
            _trip("e5", "a", 4, 10, -5),
            _trip("e6", "a", 60 * 12, 10, 20),  # 13:00Z, an hour after now
            _trip("e1", "a", 5, 10, 20),
        ]
    )
    out = screen_events(events, MSET, RULES, NOW)
    assert out["status"].tolist() == ["ok"] + ["refused"] * 6
    assert out["reason"].tolist() == [
        "",
        "missing event_id",
        "unknown method",
        "quantity not a positive number",
        "ends before it starts",
        "timestamp in the future",
        "event_id repeated in the batch",
    ]


def test_held_by_the_fraud_rules():
    events = pd.DataFrame(
        [
            # metro limit 120 km/h: 30 km in 10 min = 180 km/h
            _trip("s1", "a", 0, 30, 10),
            # 30 s trip: too short to time
            _trip("s2", "b", 0, 1, 0.5),
            # bicycle at 60 km/h (limit 30)
            _trip("s3", "c", 0, 10, 10, method="travel_bike"),
            # the same account, method and start twice: the second is held
            _trip("d1", "d", 0, 5, 15),
            _trip("d2", "d", 0, 5, 15),
            # 7 events of account e in one hour (limit 6): all 7 held
            *(_trip(f"h{i}", "e", i * 5, 2, 4) for i in range(7)),
            # a recycling event has no trip to time
            {"event_id": "r1", "account": "f", "method": "recyclables", "at": T0, "quantity": 3},
        ]
    )
    out = screen_events(events, MSET, RULES, NOW).set_index("event_id")
    assert out.loc["s1", "reason"] == "implausible speed"
    assert out.loc["s2", "reason"] == "trip too short to time"
    assert out.loc["s3", "reason"] == "implausible speed"
    assert (out.loc["d1", "status"], out.loc["d2", "reason"]) == (
        "ok",
        "duplicate of another event",
    )
    assert (out.loc[[f"h{i}" for i in range(7)], "reason"] == "too many events in an hour").all()
    assert out.loc["r1", "status"] == "ok"


_event = st.fixed_dictionaries(
    {
        "event_id": st.sampled_from(["e1", "e2", "e3", "e4", "e5", "", None]),
        "account": st.sampled_from(["a", "b", ""]),
        "method": st.sampled_from([*MSET.table.index, "taxi"]),
        "minute": st.integers(-60, 900),
        "minutes": st.one_of(st.none(), st.floats(-10, 120, allow_nan=False)),
        "quantity": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 50)),
    }
)


@settings(max_examples=80, deadline=None)
@given(st.lists(_event, min_size=1, max_size=30))
def test_every_event_ends_in_exactly_one_status(rows):
    frame = pd.DataFrame(rows)
    at = T0 + pd.to_timedelta(frame["minute"], unit="min")
    ended = at + pd.to_timedelta(frame["minutes"].astype(float), unit="min")
    events = frame.drop(columns=["minute", "minutes"]).assign(at=at, ended_at=ended)
    out = screen_events(events, MSET, RULES, NOW)
    assert len(out) == len(events) and out.index.equals(events.index)
    counts = out["status"].value_counts()
    assert set(counts.index) <= set(STATUSES)
    assert counts.sum() == len(events)  # events in = ok (credited) + held + refused
    assert (out["reason"].eq("") == out["status"].eq("ok")).all()


def test_no_consent_outcome_is_rule_data(tmp_path):
    assert RULES.no_consent == "refused"
    sets = yaml.safe_load(RULES_FILE.read_text("utf-8"))["sets"]
    sets["lenient"] = {**sets["default-2026"], "no_consent": "credited"}
    path = tmp_path / "rules.yaml"
    path.write_text(yaml.safe_dump({"sets": sets}, allow_unicode=True), "utf-8")
    with pytest.raises(UnknownCodeError, match="credited"):
        fraud_rules("lenient", path)


@settings(max_examples=80, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["ok", "held", "refused"]),
            st.sampled_from(["granted", "withdrawn", None]),
        ),
        min_size=1,
        max_size=30,
    ),
    st.sampled_from(["refused", "held"]),
)
def test_only_granted_consent_leaves_an_event_creditable(rows, outcome):
    screened = pd.DataFrame(
        {
            "status": [r[0] for r in rows],
            "reason": ["" if r[0] == "ok" else "earlier reason" for r in rows],
        }
    )
    consent = pd.Series([r[1] for r in rows], dtype=object)
    out = consent_screened(screened, consent, dataclasses.replace(RULES, no_consent=outcome))
    assert len(out) == len(screened) and set(out["status"]) <= set(STATUSES)
    assert not (out["status"].eq("ok") & consent.ne("granted")).any()
    granted = consent.eq("granted")
    assert out[granted].equals(screened[granted])  # consent changes nothing else
    was_refused = screened["status"].eq("refused")
    assert out[was_refused].equals(screened[was_refused])
    withdrawn = consent.eq("withdrawn") & ~was_refused
    assert out.loc[withdrawn, "status"].eq("refused").all()
    assert out.loc[withdrawn, "reason"].eq("consent withdrawn").all()
    missing_ok = consent.isna() & screened["status"].eq("ok")
    assert out.loc[missing_ok, "status"].eq(outcome).all()
    assert out.loc[missing_ok, "reason"].eq("no consent").all()
