"""Subsidy calculators (finance/subsidies.py): hand-computed interest subsidy of a loan
disbursed in instalments across year ends, eligibility boundaries, 专精特新 grants, budget."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from citycarbon.errors import UnknownCodeError
from citycarbon.finance import subsidies as sb

BANKS = {"兴业银行", "厦门银行"}


def test_eligibility_at_the_2000_wan_boundary():
    assert sb.loan_eligibility(2000, "兴业银行", BANKS).eligible
    no = sb.loan_eligibility(1999.99, "某银行", BANKS)
    assert not no.eligible and len(no.reasons) == 2
    assert "below 2000" in no.reasons[0] and "not a cooperating bank" in no.reasons[1]


def test_instalments_across_year_ends_by_hand():
    """1000 万 on 2024-11-01, 1000 万 on 2025-03-01, 500 万 repaid 2026-06-30; the window is
    2024-11-01 .. 2027-11-01 (3 years), 2 % a year, act/365. Segments (days x balance):
    2024: 61 x 1000 = 61,000                          -> 61,000 x 0.02/365 = 3.342466
    2025: 59 x 1000 + 306 x 2000 = 671,000            -> 36.767123
    2026: 180 x 2000 + 185 x 1500 = 637,500           -> 34.931507
    2027: 304 x 1500 = 456,000                        -> 24.986301
    total 1,825,500 x 0.02 / 365 = 100.027397 万元."""
    schedule = pd.DataFrame(
        {
            "date": ["2024-11-01", "2025-03-01", "2026-06-30", "2028-01-01"],
            "amount_10k_cny": [1000.0, 1000.0, -500.0, -1500.0],
        }
    )
    out = sb.interest_subsidy_10k_cny(schedule)
    assert out["year"].tolist() == [2024, 2025, 2026, 2027]
    assert out["balance_days_10k_cny"].tolist() == [61_000, 671_000, 637_500, 456_000]
    assert out["subsidy_10k_cny"].tolist() == pytest.approx(
        [3.342466, 36.767123, 34.931507, 24.986301], abs=1e-6
    )
    assert out["subsidy_10k_cny"].sum() == pytest.approx(36_510 / 365)


def test_no_disbursement_no_subsidy():
    empty = pd.DataFrame({"date": ["2025-01-01"], "amount_10k_cny": [-10.0]})
    assert sb.interest_subsidy_10k_cny(empty).empty


@given(st.floats(1, 1e5), st.integers(0, 364))
def test_a_constant_balance_earns_2_percent_for_3_years(amount, offset):
    """Any one disbursement kept 3 years: 2 % x amount x days of the 3 years / 365."""
    start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=offset)
    days = (start + pd.DateOffset(years=3) - start).days
    out = sb.interest_subsidy_10k_cny(pd.DataFrame({"date": [start], "amount_10k_cny": [amount]}))
    assert out["subsidy_10k_cny"].sum() == pytest.approx(amount * 0.02 * days / 365)


def test_zhuanjingtexin_grants_and_budget():
    got = sb.recognition_award_10k_cny(
        pd.Series(["provincial_sme", "national_little_giant", "provincial_sme"])
    )
    assert got.tolist() == [20.0, 50.0, 20.0]
    with pytest.raises(UnknownCodeError):
        sb.recognition_award_10k_cny(pd.Series(["city_level"]))
    use = sb.budget_use(90.0, 40.0, sb.rule_set(sb.AWARD_RULES))
    assert use["uncommitted_10k_cny"] == 7910.0 and use["paid_share"] == pytest.approx(0.005)
    assert sb.rule_set(sb.LOAN_RULES)["source_status"] == "unverified"


def test_green_credit_score_by_hand():
    """grade 2 (80 points), up (100), low-carbon (70), 9 of 12 months (75):
    0.4 x 80 + 0.2 x 100 + 0.2 x 70 + 0.2 x 75 = 32 + 20 + 14 + 15 = 81.
    Ungraded, no movement, no class, no data: 0.2 x 30 = 6."""
    from citycarbon.finance import credit

    rows = pd.DataFrame(
        {
            "grade": [2, 0],
            "movement": ["up", ""],
            "carbon_class": ["low", ""],
            "months": [9, 0],
        }
    )
    out = credit.green_credit_score(rows, credit.credit_rules())
    assert out["green_credit_score"].tolist() == pytest.approx([81.0, 6.0])
    assert out.loc[0, ["contribution_grade", "contribution_data_quality"]].tolist() == [32.0, 15.0]
    parts = [f"contribution_{c}" for c in credit.COMPONENTS]
    assert out[parts].sum(axis=1).tolist() == pytest.approx(out["green_credit_score"].tolist())
