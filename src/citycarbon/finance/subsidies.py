"""Subsidy calculators: Fujian's interest subsidy on technical-renovation loans and the
one-off 专精特新 grants, as versioned rule data (``finance/data/subsidies.yaml``).

Interest subsidy (rule set ``fujian-2025-renovation-loan``):

- eligible when the project's technical-renovation investment is >= 2,000 万元 and the lender is
  a cooperating bank; otherwise the reasons are returned;
- subsidy = sum over days d in [first disbursement, first disbursement + 3 years) of
  balance(d) x 2 % / 365, where balance(d) = disbursements - repayments up to and including day
  d (act/365: the report does not fix a day count, so this is an assumption of the rule data);
- split by calendar year, so a loan disbursed in instalments across year ends is budgeted in
  the years the interest accrues.

References
----------
[1] 厦门日报, 「追加安排1.8亿元！我省真金白银支持两类企业发展」 (newspaper report of the
    Fujian finance department's top-up; the provincial notice itself was not consulted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from citycarbon.errors import InputError, UnknownCodeError

RULES_FILE = Path(__file__).parent / "data" / "subsidies.yaml"
LOAN_RULES = "fujian-2025-renovation-loan"
AWARD_RULES = "fujian-2025-zhuanjingtexin"
_DAYS_PER_YEAR = {"act/365": 365.0, "act/360": 360.0}


@cache
def _sets(path: Path = RULES_FILE) -> Mapping[str, Any]:
    with open(path, encoding="utf-8") as f:
        return yaml.safe_load(f)["sets"]


def rule_set(set_id: str, path: Path = RULES_FILE) -> Mapping[str, Any]:
    """One rule set of the subsidy rules file."""
    sets = _sets(path)
    if set_id not in sets:
        raise UnknownCodeError("subsidy rule set", set_id, sets)
    return sets[set_id]


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: tuple[str, ...]  # why not (empty when eligible)


def loan_eligibility(
    investment_10k_cny: float,
    bank: str,
    cooperating_banks: Iterable[str],
    rules: Mapping[str, Any] | None = None,
) -> Eligibility:
    """Whether a project's loan qualifies for the interest subsidy, with the reasons if not."""
    rules = rules or rule_set(LOAN_RULES)
    reasons = []
    minimum = float(rules["min_investment_10k_cny"])
    if not float(investment_10k_cny) >= minimum:
        reasons.append(
            f"technical-renovation investment {investment_10k_cny:g} 万元 is below {minimum:g} 万元"
        )
    if bank not in set(cooperating_banks):
        reasons.append(f"{bank!r} is not a cooperating bank")
    return Eligibility(not reasons, tuple(reasons))


def interest_subsidy_10k_cny(
    schedule: pd.DataFrame, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Interest subsidy by calendar year from a loan's schedule.

    Parameters
    ----------
    schedule : DataFrame
        ``date`` (datetime-like) and ``amount_10k_cny`` (disbursement > 0, repayment < 0).

    Returns
    -------
    DataFrame: ``year``, ``balance_days_10k_cny`` (sum of balance x days), ``subsidy_10k_cny``;
    the window is [first disbursement, first disbursement + ``years`` years).
    """
    rules = rules or rule_set(LOAN_RULES)
    if rules["day_count"] not in _DAYS_PER_YEAR:
        raise InputError(f"unknown day count {rules['day_count']!r}", source="subsidies.yaml")
    s = schedule.assign(date=pd.to_datetime(schedule["date"]).dt.normalize())
    disbursed = s[s["amount_10k_cny"].to_numpy() > 0]
    if disbursed.empty:
        return pd.DataFrame(columns=["year", "balance_days_10k_cny", "subsidy_10k_cny"])
    start = disbursed["date"].min()
    end = start + pd.DateOffset(years=int(rules["years"]))
    year_starts = pd.date_range(
        pd.Timestamp(year=start.year + 1, month=1, day=1), end, freq="YS", inclusive="left"
    )
    events = s[(s["date"] >= start) & (s["date"] < end)]["date"]
    bounds = (
        pd.DatetimeIndex([start, end])
        .append(pd.DatetimeIndex(events))
        .append(year_starts)
        .unique()
        .sort_values()
    )
    seg_start, seg_end = bounds[:-1], bounds[1:]
    flows = s.groupby("date")["amount_10k_cny"].sum().sort_index().cumsum()
    balance = flows.reindex(flows.index.union(seg_start)).ffill().fillna(0.0)[seg_start]
    days = (seg_end - seg_start).days.to_numpy(dtype=float)
    per = pd.DataFrame(
        {"year": seg_start.year, "balance_days_10k_cny": balance.to_numpy().clip(min=0) * days}
    )
    out = per.groupby("year", as_index=False)["balance_days_10k_cny"].sum()
    out["subsidy_10k_cny"] = (
        out["balance_days_10k_cny"]
        * float(rules["rate_per_year"])
        / _DAYS_PER_YEAR[rules["day_count"]]
    )
    return out


def recognition_award_10k_cny(
    recognitions: pd.Series, rules: Mapping[str, Any] | None = None
) -> pd.Series:
    """One-off 专精特新 grant per newly recognised enterprise [10^4 CNY]: ``provincial_sme`` or
    ``national_little_giant``; an unknown recognition is refused."""
    rules = rules or rule_set(AWARD_RULES)
    awards = rules["awards_10k_cny"]
    unknown = sorted(set(recognitions) - set(awards))
    if unknown:
        raise UnknownCodeError("专精特新 recognition", unknown[0], awards)
    return recognitions.map(awards).astype(float)


def budget_use(
    committed_10k_cny: float, paid_10k_cny: float, rules: Mapping[str, Any]
) -> dict[str, float]:
    """Committed and paid amounts against a rule set's budget: remaining and shares."""
    budget = float(rules["budget_10k_cny"])
    return {
        "budget_10k_cny": budget,
        "committed_10k_cny": float(committed_10k_cny),
        "paid_10k_cny": float(paid_10k_cny),
        "uncommitted_10k_cny": budget - float(committed_10k_cny),
        "committed_share": float(committed_10k_cny) / budget,
        "paid_share": float(paid_10k_cny) / budget,
    }
