"""Subsidy calculators (finance/subsidies.py): hand-computed interest subsidy of a loan
disbursed in instalments across year ends, eligibility boundaries, 专精特新 grants, budget."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
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


@settings(deadline=None)  # pandas calls: slow on a shared machine, not a bug
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
    award_rules = sb.rule_set(sb.AWARD_RULES)
    assert award_rules["years_after_recognition"] == 0 and award_rules["upgrade_award"] == "full"
    assert award_rules["years_after_recognition_status"] == "assumption"
    assert award_rules["upgrade_award_status"] == "assumption"


#: No loan line (grants only), typed as the pipeline's lines are.
NO_LINES = pd.DataFrame(
    {
        "application_id": pd.Series(dtype=object),
        "date": pd.Series(dtype="datetime64[ns]"),
        "amount_10k_cny": pd.Series(dtype=float),
    }
)


def _awards(rows: list[tuple]) -> pd.DataFrame:
    """专精特新 applications: id, enterprise, application year, status, level, recognition year."""
    cols = ["application_id", "enterprise_code", "year", "status", "recognition"]
    return pd.DataFrame(rows, columns=[*cols, "recognition_year"]).assign(
        programme="zhuanjingtexin", investment_10k_cny=None, bank=None
    )


def test_only_a_new_recognition_is_paid():
    """Applications of 2025 (window 0 years: the recognition year only): recognised 2025 ->
    20 万元; 2024 (an old recognition) and 2026 (not yet recognised) -> not new; no year given
    -> refused; no level -> refused."""
    apps = _awards(
        [
            ("N", "E1", 2025, "approved", "provincial_sme", 2025),
            ("OLD", "E2", 2025, "approved", "provincial_sme", 2024),
            ("FUTURE", "E3", 2025, "approved", "provincial_sme", 2026),
            ("NOYEAR", "E4", 2025, "approved", "provincial_sme", None),
            ("NOLEVEL", "E5", 2025, "approved", None, 2025),
        ]
    )
    out, _ = sb.entitlements_10k_cny(apps, NO_LINES)
    got = out.set_index("application_id")
    assert got["refusals"].to_dict() == {
        "N": "",
        "OLD": "recognition_not_new",
        "FUTURE": "recognition_not_new",
        "NOYEAR": "no_recognition_year",
        "NOLEVEL": "no_recognition",
    }
    assert got["entitlement_10k_cny"].tolist() == [20.0, 0, 0, 0, 0]
    # a rule set with a one-year window pays the 2024 recognition too
    wider = {**sb.rule_set(sb.AWARD_RULES), "years_after_recognition": 1}
    codes = sb.award_refusal_codes(apps, wider)
    assert codes.tolist() == [
        "",
        "",
        "recognition_not_new",
        "no_recognition_year",
        "no_recognition",
    ]


def test_one_grant_per_enterprise_and_level():
    """E1 applies twice for its 2025 provincial recognition (two batches' paperwork): the first
    by year then id holds the grant, the second is refused. E2's first application was
    rejected, so its second one holds it. E3 holds a provincial and a national grant: the levels
    are separate. Committed (approved): 20 + 20 + 20 + 50 = 110 万元."""
    apps = _awards(
        [
            ("A", "E1", 2025, "approved", "provincial_sme", 2025),
            ("B", "E1", 2025, "approved", "provincial_sme", 2025),
            ("C", "E2", 2025, "rejected", "provincial_sme", 2025),
            ("D", "E2", 2025, "approved", "provincial_sme", 2025),
            ("E", "E3", 2025, "approved", "provincial_sme", 2025),
            ("F", "E3", 2025, "approved", "national_little_giant", 2025),
        ]
    )
    lines = NO_LINES
    out, _ = sb.entitlements_10k_cny(apps, lines)
    got = out.set_index("application_id")
    assert got["refusals"].tolist() == ["", "already_awarded", "", "", "", ""]
    assert got["entitlement_10k_cny"].tolist() == [20.0, 0, 20.0, 20.0, 20.0, 50.0]
    assert got["committed_10k_cny"].sum() == 110.0  # C is rejected: entitled, not committed
    # the holder does not depend on the rows' order
    again, _ = sb.entitlements_10k_cny(apps.iloc[::-1].reset_index(drop=True), lines)
    assert again.set_index("application_id").loc[list("ABCDEF"), "refusals"].tolist() == [
        "",
        "already_awarded",
        "",
        "",
        "",
        "",
    ]


def test_a_provincial_sme_later_recognised_national():
    """E1: provincial in 2024 (20 万元), national 小巨人 in 2025: with ``upgrade_award: full``
    (the rule data) 50 万元, 70 in all; with ``difference`` 50 - 20 = 30, 50 in all. E2 is
    national without a provincial grant: 50 either way; E3's provincial application was
    refused (not new), so its national grant is whole either way."""
    apps = _awards(
        [
            ("P1", "E1", 2024, "approved", "provincial_sme", 2024),
            ("N1", "E1", 2025, "approved", "national_little_giant", 2025),
            ("N2", "E2", 2025, "approved", "national_little_giant", 2025),
            ("P3", "E3", 2025, "approved", "provincial_sme", 2023),
            ("N3", "E3", 2025, "approved", "national_little_giant", 2025),
        ]
    )
    lines = NO_LINES
    full, _ = sb.entitlements_10k_cny(apps, lines)
    assert full["entitlement_10k_cny"].tolist() == [20.0, 50.0, 50.0, 0.0, 50.0]
    rules = {**sb.rule_set(sb.AWARD_RULES), "upgrade_award": "difference"}
    diff, _ = sb.entitlements_10k_cny(apps, lines, award_rules=rules)
    assert diff["entitlement_10k_cny"].tolist() == [20.0, 30.0, 50.0, 0.0, 50.0]
    assert diff.loc[diff["enterprise_code"] == "E1", "entitlement_10k_cny"].sum() == 50.0


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


def _applications() -> tuple[pd.DataFrame, pd.DataFrame]:
    apps = pd.DataFrame(
        {
            "application_id": ["L1", "L2", "L3", "A1", "A2"],
            "enterprise_code": ["E1", "E2", "E3", "E4", "E5"],
            "year": [2025] * 5,
            "programme": ["renovation_loan"] * 3 + ["zhuanjingtexin"] * 2,
            "status": ["approved", "approved", "submitted", "approved", "approved"],
            "investment_10k_cny": [3500.0, 1999.0, 2500.0, None, None],
            "bank": ["兴业银行", "示例银行", "厦门银行", None, None],
            "recognition": [None, None, None, "national_little_giant", None],
            "recognition_year": [None, None, None, 2025, None],
            "paid_10k_cny": [30.0, 0.0, 0.0, 50.0, 0.0],
        }
    )
    lines = pd.DataFrame(
        {
            "application_id": ["L1", "L1", "L1", "L2", "L3"],
            "date": pd.to_datetime(
                ["2024-11-01", "2025-03-01", "2026-06-30", "2025-01-01", "2025-01-01"]
            ),
            "amount_10k_cny": [1000.0, 1000.0, -500.0, 800.0, -100.0],
        }
    )
    return apps, lines


def test_entitlements_refusals_and_budget_by_hand():
    """L1 is the instalment loan above (100.027397 万元, approved: committed); L2 is refused
    twice (1999 < 2000 万元, a bank not cooperating); L3 only repays (no disbursement); A1 a
    national 小巨人 (50 万元); A2 gives no recognition. Budgets: loans 10000 万元, committed
    100.027397, paid 30; grants 8000, committed 50, paid 50."""
    apps, lines = _applications()
    out, yearly = sb.entitlements_10k_cny(apps, lines)
    got = out.set_index("application_id")
    assert got["refusals"].to_dict() == {
        "L1": "",
        "L2": "investment_below_minimum;bank_not_cooperating",
        "L3": "no_disbursement",
        "A1": "",
        "A2": "no_recognition",
    }
    assert got["entitlement_10k_cny"].tolist() == pytest.approx([36_510 / 365, 0, 0, 50, 0])
    assert got["committed_10k_cny"].tolist() == pytest.approx([36_510 / 365, 0, 0, 50, 0])
    assert got.loc["L1", "disbursed_10k_cny"] == 2000.0
    assert yearly["application_id"].unique().tolist() == ["L1"]  # refused loans: no schedule
    assert yearly["subsidy_year"].tolist() == [2024, 2025, 2026, 2027]
    budget = sb.budgets_10k_cny(out).set_index("programme")
    assert budget.loc["renovation_loan", "budget_10k_cny"] == 10000.0
    assert budget.loc["renovation_loan", "committed_10k_cny"] == pytest.approx(100.027397)
    assert budget.loc["renovation_loan", "paid_10k_cny"] == 30.0
    assert budget.loc["zhuanjingtexin", ["budget_10k_cny", "committed_10k_cny"]].tolist() == [
        8000.0,
        50.0,
    ]
    assert budget.loc["zhuanjingtexin", "uncommitted_10k_cny"] == 7950.0


def test_loans_together_equal_loans_one_by_one():
    _, lines = _applications()
    lines = lines.assign(amount_10k_cny=lines["amount_10k_cny"].abs())
    together = sb.interest_subsidy_by_loan_10k_cny(lines.rename(columns={"application_id": "loan"}))
    for loan, own in lines.groupby("application_id"):
        alone = sb.interest_subsidy_10k_cny(own.drop(columns="application_id"))
        mine = together[together["loan"] == loan].drop(columns="loan").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone, check_dtype=False)
