"""补贴测算: what the subsidy applications are entitled to, and the programmes' budgets.

Steps (pipeline step ``subsidies``, after an ingest of ``subsidy_applications``): the current
application lines (lake) -> one row per application and the loans' dated lines (days of the
city's time zone) -> eligibility, interest subsidy by year and grants
(:func:`citycarbon.finance.subsidies.entitlements_10k_cny`) -> committed and paid amounts per
programme against its allocation -> :data:`SUBSIDY_APPLICATION`, :data:`SUBSIDY_SCHEDULE`
(per application year) and :data:`SUBSIDY_BUDGET` (whole, one vintage per run).

:func:`estimate` is the same computation for one project typed into the 补贴测算 page (nothing
is written).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from citycarbon.contract.results import SUBSIDY_APPLICATION, SUBSIDY_BUDGET, SUBSIDY_SCHEDULE
from citycarbon.errors import InputError
from citycarbon.finance import subsidies as sb
from citycarbon.store import lake, results

#: Fields of an application, repeated on each of its lines (the first given one counts).
APPLICATION_FIELDS = [
    "enterprise_code",
    "year",
    "programme",
    "status",
    "bank",
    "investment_10k_cny",
    "recognition",
    "recognition_year",
    "recognition_batch",
]
_LINE_COLUMNS = ["application_id", "date", "amount_10k_cny"]


def applications_and_lines(rows: pd.DataFrame, timezone: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per application (its fields, ``paid_10k_cny`` summed over its lines) and the
    dated loan lines, ``date`` as the day in ``timezone`` (stored instants are UTC)."""
    ordered = rows.sort_values(
        ["application_id", "line"], key=lambda c: c.astype(int) if c.name == "line" else c
    )
    grouped = ordered.groupby("application_id", sort=True)
    apps = grouped[APPLICATION_FIELDS].first()
    apps["paid_10k_cny"] = grouped["paid_10k_cny"].sum(min_count=1).fillna(0.0)
    lines = ordered.dropna(subset=["date", "amount_10k_cny"])[_LINE_COLUMNS]
    local = pd.to_datetime(lines["date"], utc=True).dt.tz_convert(timezone).dt.tz_localize(None)
    return apps.reset_index(), lines.assign(date=local.dt.normalize())


def _with_provenance_fields(apps: pd.DataFrame, lines: pd.DataFrame) -> pd.DataFrame:
    first = lines[lines["amount_10k_cny"] > 0].groupby("application_id")["date"].min()
    set_ids = apps["programme"].map(sb.PROGRAMMES)
    versions = set_ids.map(lambda s: sb.rule_set(s)["version"])  # two rule sets, not rows
    return apps.assign(
        first_disbursement=apps["application_id"].map(first),
        rules=set_ids + "@" + versions.astype(str),
        year=apps["year"].astype("int64"),
    )


def entitlements(
    rows: pd.DataFrame, timezone: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Rows of :data:`SUBSIDY_APPLICATION`, :data:`SUBSIDY_SCHEDULE` and
    :data:`SUBSIDY_BUDGET` (without provenance) from application lines."""
    apps, lines = applications_and_lines(rows, timezone)
    apps, yearly = sb.entitlements_10k_cny(apps, lines)
    apps = _with_provenance_fields(apps, lines)
    yearly = yearly.merge(apps[["application_id", "year", "enterprise_code"]], on="application_id")
    return apps, yearly, sb.budgets_10k_cny(apps)


def subsidies(*, city: Any, settings: Any) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Compute every current application and write the three declared results (every
    application year, and the years computed before that no longer have an application).

    Raises InputError when no application has been ingested."""
    rows = lake.read_current(
        "subsidy_applications",
        None,
        columns=["line", *_LINE_COLUMNS, *APPLICATION_FIELDS, "paid_10k_cny"],
        lake=settings.lake,
        url=settings.database_url,
    )
    if rows.empty:
        raise InputError(
            "no subsidy application in the lake (ingest subsidy_applications)",
            source="lake table subsidy_applications",
        )
    apps, yearly, budget = entitlements(rows, city.timezone)
    before = results.current(SUBSIDY_APPLICATION, columns=["year"], lake=settings.lake)
    years = sorted({*apps["year"].astype(int), *before["year"].astype(int)})
    results.write(SUBSIDY_APPLICATION, apps, partitions=years, lake=settings.lake)
    results.write(SUBSIDY_SCHEDULE, yearly, partitions=years, lake=settings.lake)
    results.write(SUBSIDY_BUDGET, budget, lake=settings.lake)
    return apps, yearly, budget


def estimate(
    *,
    programme: str,
    investment_10k_cny: float | None,
    bank: str,
    recognition: str,
    schedule: pd.DataFrame,
    year: int | None = None,
    recognition_year: int | None = None,
) -> tuple[dict[str, Any], pd.DataFrame]:
    """One project typed into the 补贴测算 page: its eligibility, refusal codes and
    entitlement, and the loan's subsidy by year (``schedule``: ``date``, ``amount_10k_cny``);
    a 专精特新 grant needs the application ``year`` and the ``recognition_year`` (one
    application: no earlier grant of the enterprise is known)."""
    app = pd.DataFrame(
        {
            "application_id": ["estimate"],
            "enterprise_code": [None],
            "year": [year],
            "programme": [programme],
            "status": ["submitted"],
            "investment_10k_cny": [investment_10k_cny],
            "bank": [bank],
            "recognition": [recognition or None],
            "recognition_year": [recognition_year],
        }
    )
    lines = schedule.assign(application_id="estimate")
    apps, yearly = sb.entitlements_10k_cny(app, lines)
    return apps.iloc[0].to_dict(), yearly.drop(columns="application_id")
