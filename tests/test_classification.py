"""Low/zero/negative-carbon classification (rating/classification.py): hand-computed cases of
every rule and boundary, evidence per enterprise, the publishable list."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.errors import UnknownCodeError
from citycarbon.rating import classification as cl

RULES = cl.classification_rules()


def _graded(rows):
    return pd.DataFrame(rows, columns=["enterprise_code", "net_co2_t", "level"])


@pytest.fixture
def classified():
    graded = _graded(
        [
            ("A", 100.0, "high"),  # sinks 120: 100 - 120 = -20 < 0 -> negative
            ("B", 100.0, "medium"),  # sinks 30, CCER 70: 100 - 30 - 70 = 0 <= 0 -> zero
            ("C", 100.0, "low"),  # sinks 30, CCER 69.9994: 0.0006 -> 0.001 > 0 -> low
            ("D", 100.0, "medium"),  # VCS 200 is not accepted: 100 > 0 -> none
            ("E", 100.0, "medium"),  # sinks 100: 0 is not < 0; after offsets 0 -> zero
            ("F", 50.0, "low"),  # nothing netted, level low -> low
            ("G", 100.0, "high"),  # sinks 30, CCER 69.9996: 0.0004 rounds to 0.000 -> zero
            ("H", 20.0, "medium"),  # CCER 500 (more than needed): zero, never negative
        ]
    )
    sinks = pd.Series({"A": 120.0, "B": 30.0, "C": 30.0, "E": 100.0, "G": 30.0})
    offsets = cl.accepted_offsets_t(OFFSETS, RULES)
    return cl.classify(graded, sinks, offsets, RULES)


OFFSETS = pd.DataFrame(
    {
        "enterprise_code": ["B", "C", "D", "G", "H"],
        "instrument": ["CCER", "CCER", "VCS", "CCER", "CCER"],
        "serial": ["CCER-1", "CCER-2", "VCS-9", "CCER-3", "CCER-4"],
        "tco2": [70.0, 69.9994, 200.0, 69.9996, 500.0],
    }
)


def test_every_rule_and_boundary_by_hand(classified):
    got = dict(zip(classified["enterprise_code"], classified["carbon_class"], strict=True))
    assert got == {
        "A": "negative",
        "B": "zero",
        "C": "low",
        "D": "",
        "E": "zero",
        "F": "low",
        "G": "zero",
        "H": "zero",
    }
    row = classified.set_index("enterprise_code").loc["B"]
    assert (row["net_after_removals_t"], row["net_after_offsets_t"]) == (70.0, 0.0)
    assert classified.set_index("enterprise_code").at["D", "offsets_t"] == 0.0
    assert set(classified["rules"]) == {"citycarbon-2026@1"}


def test_evidence_lists_certificates_accepted_offsets_and_sinks():
    green = pd.DataFrame(
        {
            "enterprise_code": ["A"],
            "certificate_id": ["GEC-7"],
            "instrument": ["gec"],
            "mwh": [40.0],
        }
    )
    sinks = pd.DataFrame(
        {"enterprise_code": ["A"], "site": ["厂区林地"], "kind": ["forest"], "tco2": [120.0]}
    )
    ev = cl.evidence(green, OFFSETS, sinks, RULES)
    a = ev[ev["enterprise_code"] == "A"]
    assert a[["kind", "reference", "quantity", "unit"]].values.tolist() == [
        ["green_electricity", "GEC-7", 40.0, "MWh"],
        ["sink", "厂区林地", 120.0, "tCO2"],
    ]
    assert "VCS-9" not in set(ev["reference"])  # not an accepted offset type
    assert len(ev[ev["kind"] == "offset"]) == 4
    empty = cl.evidence(green.head(0), OFFSETS.head(0), sinks.head(0), RULES)
    assert list(empty.columns) == cl.EVIDENCE_COLUMNS and empty.empty


def test_only_consenting_classified_enterprises_are_published(classified):
    out = cl.publishable(classified, {"A", "D", "F", "Z"})
    assert out["enterprise_code"].tolist() == ["A", "F"]  # D has no class; Z is not classified
    assert out["carbon_class"].tolist() == ["negative", "low"]


def test_rules_are_versioned_with_their_source_status():
    assert RULES.source_status == "unverified" and RULES.accepted_offsets == ("CCER",)
    with pytest.raises(UnknownCodeError):
        cl.classification_rules("nope")


@given(
    st.floats(-1e6, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
    st.floats(0, 1e6, allow_nan=False),
)
def test_more_offsets_or_sinks_never_worsen_the_class(net, sinks, extra):
    rank = {"negative": 0, "zero": 1, "low": 2, "": 3}
    graded = _graded([("X", net, "medium")])
    base = cl.classify(graded, pd.Series({"X": sinks}), pd.Series(dtype=float), RULES)
    more = cl.classify(graded, pd.Series({"X": sinks}), pd.Series({"X": extra}), RULES)
    assert rank[more["carbon_class"].iat[0]] <= rank[base["carbon_class"].iat[0]]
