"""Subsidy calculators: Fujian's interest subsidy on technical-renovation loans and the
one-off 专精特新 grants, as versioned rule data (``finance/data/subsidies.yaml``).

Interest subsidy (rule set ``fujian-2025-renovation-loan``):

- eligible when the project's technical-renovation investment is >= 2,000 万元 and the lender is
  a cooperating bank (the rule's ``cooperating_banks``: an assumption, the report names none)
  and some loan was disbursed; otherwise the refusal codes (:data:`REFUSALS`) are returned;
- subsidy = sum over days d in [first disbursement, first disbursement + 3 years) of
  balance(d) x 2 % / 365, where balance(d) = disbursements - repayments up to and including day
  d (act/365: the report does not fix a day count, so this is an assumption of the rule data);
- split by calendar year, so a loan disbursed in instalments across year ends is budgeted in
  the years the interest accrues; many loans at once (:func:`interest_subsidy_by_loan_10k_cny`).

One-off 专精特新 grants (rule set ``fujian-2025-zhuanjingtexin``) for a *newly* recognised
enterprise, by level (``provincial_sme`` 20 万元, ``national_little_giant`` 50 万元):

- the application carries the recognition's level and year (and batch, shown); it is paid when
  application year - recognition year is in [0, ``years_after_recognition``] (0: the
  recognition year only, an assumption of the rule data) (:func:`award_refusal_codes`);
- one grant per enterprise and level: of the applications that are not rejected and otherwise
  eligible, the first (application year, then id) holds it, later ones are refused;
- a provincial SME later recognised national gets the whole national grant (``upgrade_award:
  full``) or the national grant less the provincial one it was granted (``difference``), as the
  rule data say (:func:`grants_10k_cny`).

Committed (entitlements of approved applications) and paid amounts against each programme's
allocation (:func:`entitlements_10k_cny`, :func:`budgets_10k_cny`).

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

import numpy as np
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


#: Programme of an application (ingest kind ``subsidy_applications``) -> its rule set.
PROGRAMMES: Mapping[str, str] = {"renovation_loan": LOAN_RULES, "zhuanjingtexin": AWARD_RULES}
#: Statuses whose computed entitlement is committed against the budget.
COMMITTING_STATUSES = ("approved",)
#: Why an application is refused: code -> English text (pages translate the code).
REFUSALS: Mapping[str, str] = {
    "investment_below_minimum": (
        "technical-renovation investment {investment:g} 万元 is below {minimum:g} 万元"
    ),
    "bank_not_cooperating": "{bank!r} is not a cooperating bank",
    "no_disbursement": "the schedule has no loan disbursement",
    "no_recognition": "no 专精特新 recognition is given",
    "no_recognition_year": "the year of the 专精特新 recognition is not given",
    "recognition_not_new": "the recognition is not new: it is not of the application's year",
    "already_awarded": "the enterprise holds this level's grant in an earlier application",
}
UPGRADE_AWARDS = ("full", "difference")


@dataclass(frozen=True)
class Eligibility:
    eligible: bool
    reasons: tuple[str, ...]  # why not (empty when eligible)


def _codes(flags: Mapping[str, Any]) -> pd.Series:
    """';'-joined codes of the flags that are True, per row ('' where none)."""
    parts = [pd.Series(np.where(np.asarray(f, dtype=bool), f"{c};", "")) for c, f in flags.items()]
    return pd.concat(parts, axis=1).sum(axis=1).astype(str).str.rstrip(";")


def loan_refusal_codes(
    investment_10k_cny: pd.Series, bank: pd.Series, rules: Mapping[str, Any] | None = None
) -> pd.Series:
    """Refusal codes of loans (:data:`REFUSALS`, ';'-joined; '' = eligible): investment below
    the rule's minimum (or not given), lender not among the rule's cooperating banks."""
    rules = rules or rule_set(LOAN_RULES)
    investment = pd.to_numeric(pd.Series(investment_10k_cny), errors="coerce").to_numpy(float)
    with np.errstate(invalid="ignore"):
        below = ~(investment >= float(rules["min_investment_10k_cny"]))
    foreign = ~pd.Series(bank).isin(set(rules["cooperating_banks"])).to_numpy()
    return _codes({"investment_below_minimum": below, "bank_not_cooperating": foreign})


def loan_eligibility(
    investment_10k_cny: float,
    bank: str,
    cooperating_banks: Iterable[str],
    rules: Mapping[str, Any] | None = None,
) -> Eligibility:
    """Whether a project's loan qualifies for the interest subsidy, with the reasons if not."""
    rules = {**(rules or rule_set(LOAN_RULES)), "cooperating_banks": list(cooperating_banks)}
    codes = loan_refusal_codes(pd.Series([investment_10k_cny]), pd.Series([bank]), rules)[0]
    values = {"investment": investment_10k_cny, "bank": bank}
    values["minimum"] = float(rules["min_investment_10k_cny"])
    reasons = tuple(REFUSALS[c].format(**values) for c in codes.split(";") if c)
    return Eligibility(not reasons, reasons)


def interest_subsidy_by_loan_10k_cny(
    schedule: pd.DataFrame, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Interest subsidy by loan and calendar year from the loans' schedules.

    Parameters
    ----------
    schedule : DataFrame
        ``loan`` (any key), ``date`` (datetime-like) and ``amount_10k_cny`` (disbursement > 0,
        repayment < 0).

    Returns
    -------
    DataFrame: ``loan``, ``year``, ``balance_days_10k_cny`` (sum of balance x days),
    ``subsidy_10k_cny``; each loan's window is [first disbursement, first disbursement +
    ``years`` years); a loan without a disbursement has no rows.
    """
    rules = rules or rule_set(LOAN_RULES)
    if rules["day_count"] not in _DAYS_PER_YEAR:
        raise InputError(f"unknown day count {rules['day_count']!r}", source="subsidies.yaml")
    years = int(rules["years"])
    s = schedule[["loan", "date", "amount_10k_cny"]].assign(
        date=pd.to_datetime(schedule["date"]).dt.normalize().astype("datetime64[ns]")
    )
    start = s[s["amount_10k_cny"].to_numpy() > 0].groupby("loan")["date"].min().rename("start")
    window = start.to_frame().assign(end=start + pd.DateOffset(years=years)).reset_index()
    events = s.merge(window, on="loan")
    events = events[(events["date"] >= events["start"]) & (events["date"] < events["end"])]
    year_starts = window.loc[window.index.repeat(years + 1)].assign(
        date=lambda w: pd.to_datetime(
            (w["start"].dt.year + w.groupby("loan").cumcount() + 1).astype(str) + "-01-01"
        )
    )
    year_starts = year_starts[year_starts["date"] < year_starts["end"]]
    bounds = (
        pd.concat(
            [
                window[["loan", "start"]].rename(columns={"start": "date"}),
                window[["loan", "end"]].rename(columns={"end": "date"}),
                events[["loan", "date"]],
                year_starts[["loan", "date"]],
            ]
        )
        .drop_duplicates()
        .sort_values(["loan", "date"])
    )
    bounds["date"] = bounds["date"].astype("datetime64[ns]")
    bounds["until"] = bounds.groupby("loan")["date"].shift(-1)
    segments = bounds.dropna(subset=["until"]).sort_values("date")
    flows = s.groupby(["loan", "date"], as_index=False)["amount_10k_cny"].sum()
    flows["balance_10k_cny"] = flows.groupby("loan")["amount_10k_cny"].cumsum()
    segments = pd.merge_asof(
        segments,
        flows.sort_values("date")[["loan", "date", "balance_10k_cny"]],
        on="date",
        by="loan",
    )
    days = (segments["until"] - segments["date"]).dt.days.to_numpy(dtype=float)
    per = pd.DataFrame(
        {
            "loan": segments["loan"].to_numpy(),
            "year": segments["date"].dt.year.to_numpy(),
            "balance_days_10k_cny": segments["balance_10k_cny"].fillna(0.0).clip(lower=0).to_numpy()
            * days,
        }
    )
    out = per.groupby(["loan", "year"], as_index=False)["balance_days_10k_cny"].sum()
    out["subsidy_10k_cny"] = (
        out["balance_days_10k_cny"]
        * float(rules["rate_per_year"])
        / _DAYS_PER_YEAR[rules["day_count"]]
    )
    return out


def interest_subsidy_10k_cny(
    schedule: pd.DataFrame, rules: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Interest subsidy by calendar year from one loan's schedule (``date``,
    ``amount_10k_cny``): :func:`interest_subsidy_by_loan_10k_cny` without the ``loan`` key."""
    out = interest_subsidy_by_loan_10k_cny(schedule.assign(loan=0), rules)
    return out.drop(columns="loan")


def recognition_award_10k_cny(
    recognitions: pd.Series, rules: Mapping[str, Any] | None = None
) -> pd.Series:
    """One-off 专精特新 grant of a recognition level [10^4 CNY]: ``provincial_sme`` or
    ``national_little_giant``; an unknown level is refused."""
    rules = rules or rule_set(AWARD_RULES)
    awards = rules["awards_10k_cny"]
    unknown = sorted(set(recognitions) - set(awards))
    if unknown:
        raise UnknownCodeError("专精特新 recognition", unknown[0], awards)
    return recognitions.map(awards).astype(float)


def award_refusal_codes(apps: pd.DataFrame, rules: Mapping[str, Any] | None = None) -> pd.Series:
    """Refusal codes of 专精特新 applications (:data:`REFUSALS`, ';'-joined; '' = eligible).

    ``apps``: ``application_id``, ``enterprise_code``, ``year`` (of the application),
    ``status``, ``recognition`` (level) and ``recognition_year``. Codes: ``no_recognition``,
    ``no_recognition_year``, ``recognition_not_new`` (year - recognition year outside [0,
    ``years_after_recognition``]) and ``already_awarded`` (an earlier application, by year then
    id, of the same enterprise and level that is not rejected and otherwise eligible).
    """
    rules = rules or rule_set(AWARD_RULES)
    level = apps["recognition"].fillna("").astype(str)
    since = pd.to_numeric(apps["year"], errors="coerce") - pd.to_numeric(
        apps["recognition_year"], errors="coerce"
    )
    none = (level == "").to_numpy()
    no_year = ~none & since.isna().to_numpy()
    with np.errstate(invalid="ignore"):
        new = ((since >= 0) & (since <= int(rules["years_after_recognition"]))).to_numpy()
    not_new = ~none & ~no_year & ~new
    holder = ~none & new & (apps["status"] != "rejected").to_numpy()
    who = apps["enterprise_code"].fillna(apps["application_id"])
    order = apps.assign(who=who, level=level, holder=holder).sort_values(["year", "application_id"])
    rank = order[order["holder"]].groupby(["who", "level"]).cumcount()
    later = rank[rank > 0].index
    flags = {
        "no_recognition": none,
        "no_recognition_year": no_year,
        "recognition_not_new": not_new,
        "already_awarded": apps.index.isin(later),
    }
    return _codes(flags).set_axis(apps.index)


def grants_10k_cny(
    apps: pd.DataFrame, eligible: pd.Series, rules: Mapping[str, Any] | None = None
) -> pd.Series:
    """The grant of each eligible 专精特新 application [10^4 CNY] (0 where not eligible).

    The level's award; a national 小巨人 whose enterprise was granted the provincial award in an
    application of the same or an earlier year (eligible, not rejected) gets the national award
    less the provincial one when the rule data say ``upgrade_award: difference``, the whole
    national award when they say ``full``.
    """
    rules = rules or rule_set(AWARD_RULES)
    if rules["upgrade_award"] not in UPGRADE_AWARDS:
        raise InputError(
            f"upgrade_award must be one of {list(UPGRADE_AWARDS)}", source="subsidies.yaml"
        )
    ok = eligible.to_numpy(dtype=bool)
    award = recognition_award_10k_cny(apps["recognition"][ok], rules).reindex(apps.index)
    provincial = apps[ok & (apps["status"] != "rejected").to_numpy()]
    provincial = provincial[provincial["recognition"] == "provincial_sme"]
    first_year = provincial.groupby("enterprise_code")["year"].min()
    upgraded = (
        (apps["recognition"] == "national_little_giant")
        & (apps["enterprise_code"].map(first_year) <= apps["year"])
        & (rules["upgrade_award"] == "difference")
    )
    deduct = np.where(upgraded, float(rules["awards_10k_cny"]["provincial_sme"]), 0.0)
    return (award.fillna(0.0) - deduct).where(ok, 0.0)


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


def entitlements_10k_cny(
    applications: pd.DataFrame,
    schedule: pd.DataFrame,
    loan_rules: Mapping[str, Any] | None = None,
    award_rules: Mapping[str, Any] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What each application is entitled to, and the loans' subsidy by year.

    Parameters
    ----------
    applications : DataFrame, one row per application
        ``application_id``, ``programme`` (a key of :data:`PROGRAMMES`), ``status``,
        ``investment_10k_cny`` and ``bank`` (loans); ``enterprise_code``, ``year``,
        ``recognition`` and ``recognition_year`` (专精特新, :func:`award_refusal_codes`).
    schedule : DataFrame
        The loans' lines: ``application_id``, ``date``, ``amount_10k_cny``.

    Returns
    -------
    (applications with ``disbursed_10k_cny``, ``refusals`` (codes of :data:`REFUSALS`),
    ``eligible``, ``entitlement_10k_cny`` (the whole window's subsidy, or the grant) and
    ``committed_10k_cny`` (the entitlement of an approved application),
    per loan and year: ``application_id``, ``subsidy_year``, ``balance_days_10k_cny``,
    ``subsidy_10k_cny`` of the eligible loans).
    """
    loan_rules = loan_rules or rule_set(LOAN_RULES)
    award_rules = award_rules or rule_set(AWARD_RULES)
    apps = applications.reset_index(drop=True)
    is_loan = (apps["programme"] == "renovation_loan").to_numpy()
    lines = schedule.rename(columns={"application_id": "loan"})
    lines = lines[lines["loan"].isin(apps.loc[is_loan, "application_id"])]
    disbursed = lines[lines["amount_10k_cny"] > 0].groupby("loan")["amount_10k_cny"].sum()
    apps["disbursed_10k_cny"] = apps["application_id"].map(disbursed).fillna(0.0).where(is_loan)
    loan_codes = loan_refusal_codes(apps["investment_10k_cny"], apps["bank"], loan_rules)
    loan_codes = (
        loan_codes + np.where(apps["disbursed_10k_cny"] > 0, "", ";no_disbursement")
    ).str.strip(";")
    award_codes = award_refusal_codes(apps[~is_loan], award_rules).reindex(apps.index)
    apps["refusals"] = np.where(is_loan, loan_codes, award_codes)
    apps["eligible"] = apps["refusals"] == ""
    yearly = interest_subsidy_by_loan_10k_cny(lines, loan_rules)
    yearly = yearly[yearly["loan"].isin(apps.loc[apps["eligible"], "application_id"])]
    yearly = yearly.rename(columns={"loan": "application_id", "year": "subsidy_year"})
    loan_total = apps["application_id"].map(
        yearly.groupby("application_id")["subsidy_10k_cny"].sum()
    )
    award = grants_10k_cny(apps, apps["eligible"] & ~is_loan, award_rules)
    apps["entitlement_10k_cny"] = (
        np.where(is_loan, loan_total.fillna(0.0), award) * apps["eligible"]
    )
    committing = apps["status"].isin(COMMITTING_STATUSES).to_numpy()
    apps["committed_10k_cny"] = apps["entitlement_10k_cny"].where(committing, 0.0)
    return apps, yearly.reset_index(drop=True)


def budgets_10k_cny(applications: pd.DataFrame) -> pd.DataFrame:
    """Per programme of :data:`PROGRAMMES`: its rule set, budget, committed and paid amounts
    (sums of ``committed_10k_cny`` and ``paid_10k_cny`` of ``applications``) and their shares
    (:func:`budget_use`), with the rule set's titles and announcement."""
    sums = applications.groupby("programme")[["committed_10k_cny", "paid_10k_cny"]].sum()
    rows = []
    for programme, set_id in PROGRAMMES.items():  # one row per programme (two)
        rules = rule_set(set_id)
        committed, paid = sums.reindex([programme]).fillna(0.0).iloc[0]
        rows.append(
            {
                "programme": programme,
                **budget_use(committed, paid, rules),
                "rules": f"{set_id}@{rules['version']}",
                "title_zh": rules["title_zh"],
                "title_en": rules["title_en"],
                "source": " ".join(str(rules["source"]).split()),
                "source_status": rules["source_status"],
            }
        )
    return pd.DataFrame(rows)
