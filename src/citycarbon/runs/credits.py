"""碳普惠 use case: a partner's batch of behaviour events → screened, credited, issued.

Steps: screen (validation → refused, anti-fraud rules → held) → reductions and caps on the city's
declared grid factor, after what earlier batches already used of the caps → issuance in the
ledger (one transaction, idempotent per event). Every event ends in exactly one status:
``credited``, ``held`` or ``refused`` (events in = credited + held + refused).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from citycarbon.credits import methodologies as meth
from citycarbon.credits import policy, screening
from citycarbon.runs.inventory import declared_grid_factors
from citycarbon.store import credits as ledger

#: Columns of the outcome table beside the partner's own.
OUTCOME_COLUMNS = ("status", "reason", "reduction_kg", "credited_kg", "points", "issued")


def grid_factor_per_event(at: pd.Series, *, city: Any) -> np.ndarray:
    """The declared grid factor [kgCO2/kWh = tCO2/MWh] of each event's year (the inventory's
    scope-2 basis, :func:`citycarbon.runs.inventory.declared_grid_factors`)."""
    years = pd.to_datetime(at, utc=True).dt.year
    basis = declared_grid_factors(city, city.factor_profile("inventory"), sorted(set(years)))
    return years.map(basis.set_index("year")["ef_tco2_per_mwh"]).to_numpy(dtype=float)


def credit_partner_events(
    partner: str,
    events: pd.DataFrame,
    *,
    city: Any,
    url: str | None = None,
    now: pd.Timestamp | None = None,
    mset: meth.MethodologySet | None = None,
    rules: screening.FraudRules | None = None,
) -> pd.DataFrame:
    """``events`` (``event_id``, ``account`` = the partner's pseudonymous id, ``method``,
    ``at``, ``quantity``, ``ended_at`` for trips, optionally ``district_code`` where the
    activity took place) with :data:`OUTCOME_COLUMNS`. ``issued`` is
    False for an event issued by an earlier request (the same event twice credits once)."""
    mset = mset or meth.methodology_set()
    rules = rules or screening.fraud_rules()
    now = now or pd.Timestamp.now(tz="UTC")
    out = screening.screen_events(events, mset, rules, now)
    out = _consent_and_claims(partner, out, url=url)
    ok = out[out["status"] == "ok"].assign(at=lambda f: pd.to_datetime(f["at"], utc=True))
    ok = ok.sort_values("at", kind="stable")
    credited = ok.iloc[:0].assign(reduction_kg=0.0, credited_kg=0.0, points=0, issued=False)
    if not ok.empty:
        year_start = ok["at"].min().tz_convert(mset.timezone).normalize().replace(month=1, day=1)
        before = ledger.issued_since(
            partner, sorted(set(ok["account"].astype(str))), year_start, url=url
        )
        prior = before.rename(columns={"subject": "account"}).assign(
            credited_kg=before["points"] / mset.points_per_kg
        )
        credited = meth.credit_events(
            ok.assign(account=ok["account"].astype(str)),
            mset,
            grid_factor_per_event(ok["at"], city=city),
            prior=prior,
        )
        local = credited["at"].dt.tz_convert(mset.timezone)
        districts = {d.code for d in city.districts}
        region = credited.get("district_code", pd.Series(None, index=credited.index))
        credited = credited.assign(
            period=local.dt.strftime("%Y-%m"), region_code=region.where(region.isin(districts))
        )
        to_issue = credited[credited["points"] > 0]
        issued = ledger.issue_batch(
            partner,
            to_issue.rename(columns={"account": "subject"}),
            url=url,
        )
        credited["issued"] = issued.reindex(credited.index, fill_value=False)
    out["status"] = out["status"].replace("ok", "credited")
    for col, empty in (
        ("reduction_kg", 0.0),
        ("credited_kg", 0.0),
        ("points", 0),
        ("issued", False),
    ):
        out[col] = credited[col].reindex(out.index, fill_value=empty).astype(type(empty))
    capped = out["status"].eq("credited") & out["points"].eq(0)
    out["reason"] = out["reason"].mask(capped, "daily or annual cap reached")
    ledger.log_events(partner, out.rename(columns={"account": "subject"}), url=url)
    return out.drop(columns="resident")


def _consent_and_claims(partner: str, out: pd.DataFrame, *, url: str | None) -> pd.DataFrame:
    """Screened events with ``resident`` (the city-wide id of the account's consent): events of
    an account whose consent to ``partner`` is withdrawn are refused; events another partner
    already claimed for the same resident, method and time are held for review."""
    subjects = sorted(set(out["account"].dropna().astype(str)))
    consents = ledger.consents_of(partner, subjects, url=url).set_index("subject")
    account = out["account"].astype(str)
    out = out.assign(resident=account.map(consents["resident"]).astype(object))
    out["resident"] = out["resident"].where(out["resident"].notna(), None)
    live = out["status"].ne("refused")
    withdrawn = live & account.map(consents["withdrawn"]).eq(True)
    out["status"] = out["status"].mask(withdrawn, "refused")
    out["reason"] = out["reason"].mask(withdrawn, "consent withdrawn")
    check = out[out["status"].eq("ok") & out["resident"].notna()]
    if not check.empty:
        since = pd.to_datetime(check["at"], utc=True).min()
        claims = ledger.claims_by_others(
            partner, sorted(set(check["resident"])), since.to_pydatetime(), url=url
        )
        dup = screening.claimed_elsewhere(check, claims)
        held = dup[dup].index
        out.loc[held, "status"] = "held"
        out.loc[held, "reason"] = "claimed by another partner"
    return out


def purge_raw_events(
    *, now: pd.Timestamp | None = None, url: str | None = None
) -> tuple[int, pd.Timestamp, policy.RetentionPolicy]:
    """Apply the retention policy: raw partner events received more than its months ago are
    aggregated into monthly counts and deleted. Returns how many went, the cutoff, the policy."""
    rule = policy.retention_policy()
    cutoff = policy.retention_cutoff(now or pd.Timestamp.now(tz="UTC"), rule.raw_event_months)
    return ledger.purge_events(cutoff.to_pydatetime(), url=url), cutoff, rule
