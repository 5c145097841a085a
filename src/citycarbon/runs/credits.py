"""碳普惠 use case: a partner's batch of behaviour events → screened, credited, issued.

Steps: screen (validation → refused, anti-fraud rules → held, consent per partner → refused or
held as the rules say, duplicates across partners → held) → reductions and caps on the city's
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
from citycarbon.errors import InputError
from citycarbon.runs.inventory import declared_grid_factors
from citycarbon.store import catalog
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
    out = _consent_and_claims(partner, out, rules, url=url)
    ok = out[out["status"] == "ok"]
    credited = ok.iloc[:0].assign(reduction_kg=0.0, credited_kg=0.0, points=0, issued=False)
    if not ok.empty:
        credited = _credited(partner, ok, city=city, mset=mset, url=url)
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


def _credited(
    partner: str, ok: pd.DataFrame, *, city: Any, mset: meth.MethodologySet, url: str | None
) -> pd.DataFrame:
    """Accepted events (``account``, ``method``, ``at``, ``quantity``, optional
    ``district_code``) with their reduction, credited part and points on the declared grid
    factor, after what the accounts' earlier issuances of the year used of the caps, and the
    ``period`` and ``region_code`` the ledger books them under."""
    ok = ok.assign(
        at=pd.to_datetime(ok["at"], utc=True), account=ok["account"].astype(str)
    ).sort_values("at", kind="stable")
    year_start = ok["at"].min().tz_convert(mset.timezone).normalize().replace(month=1, day=1)
    before = ledger.issued_since(partner, sorted(set(ok["account"])), year_start, url=url)
    prior = before.rename(columns={"subject": "account"}).assign(
        credited_kg=before["points"] / mset.points_per_kg
    )
    credited = meth.credit_events(ok, mset, grid_factor_per_event(ok["at"], city=city), prior=prior)
    local = credited["at"].dt.tz_convert(mset.timezone)
    districts = {d.code for d in city.districts}
    region = credited.get("district_code", pd.Series(None, index=credited.index))
    return credited.assign(
        period=local.dt.strftime("%Y-%m"), region_code=region.where(region.isin(districts))
    )


#: The reason a released event is logged with (a cap may leave it no points).
RELEASED = "released on review"


def release_held(
    row_id: int,
    *,
    actor: str,
    city: Any,
    url: str | None = None,
    mset: meth.MethodologySet | None = None,
) -> dict[str, Any]:
    """Release a held event after review: credited through the same path as a partner's
    accepted events (declared grid factor, daily and annual caps after the account's earlier
    issuances, issuance under the idempotency key ``<partner>:<event_id>``). The status change,
    the issuance and the audit entry commit together; an event that is no longer held is an
    InputError and nothing is issued, and so is an event whose account has no valid consent to
    its partner (consent per partner: a hold for "no consent" is released once the consent is
    recorded). Returns the event's ``partner``, ``event_id``, ``credited_kg``, ``points`` and
    ``issued`` (False when the same event was issued before)."""
    mset = mset or meth.methodology_set()
    row = ledger.held_event(row_id, url=url)
    if row is None:
        raise InputError("no held event with this id", field="event", value=row_id)
    partner = row.pop("partner")
    consent = _consents(partner, pd.Series([row["subject"]]), url=url)["consent"].iloc[0]
    if consent != "granted":
        raise InputError(
            "the resident has not granted consent to this partner; the event is released once "
            "the consent is recorded",
            field="event",
            value=row_id,
        )
    one = _credited(
        partner,
        pd.DataFrame([row]).rename(columns={"subject": "account"}),
        city=city,
        mset=mset,
        url=url,
    )
    points = int(one["points"].iloc[0])
    reason = RELEASED if points > 0 else f"{RELEASED}; daily or annual cap reached"
    with catalog.session_scope(url) as s:
        ledger.settle_held(row_id, "credited", reason, actor=actor, session=s)
        issued = (
            bool(
                ledger.issue_batch(
                    partner, one.rename(columns={"account": "subject"}), session=s
                ).iloc[0]
            )
            if points > 0
            else False
        )
    return {
        "partner": partner,
        "event_id": row["event_id"],
        "credited_kg": float(one["credited_kg"].iloc[0]),
        "points": points,
        "issued": issued,
    }


def refuse_held(row_id: int, reason: str, *, actor: str, url: str | None = None) -> None:
    """Refuse a held event after review, with the reviewer's ``reason`` (required; the hold
    reason stays in the audit entry). An event that is no longer held is an InputError."""
    reason = " ".join(reason.split())
    if not reason:
        raise InputError("a refusal needs a reason", field="reason")
    with catalog.session_scope(url) as s:
        ledger.settle_held(
            row_id, "refused", f"refused on review: {reason}", actor=actor, session=s
        )


def _consents(partner: str, accounts: pd.Series, *, url: str | None) -> pd.DataFrame:
    """Per account of ``accounts``: ``consent`` (granted | withdrawn | None: never recorded) to
    ``partner`` and ``resident`` (the city-wide id the consent maps it to, or None)."""
    account = accounts.astype(str)
    found = ledger.consents_of(partner, sorted(set(account)), url=url).set_index("subject")
    state = found["withdrawn"].map({True: "withdrawn", False: "granted"})
    frame = pd.DataFrame(
        {"consent": account.map(state), "resident": account.map(found["resident"])},
        index=accounts.index,
    ).astype(object)
    return frame.where(frame.notna(), None)


def _consent_and_claims(
    partner: str, out: pd.DataFrame, rules: screening.FraudRules, *, url: str | None
) -> pd.DataFrame:
    """Screened events with ``resident`` (the city-wide id of the account's consent), after
    consent per partner (:func:`screening.consent_screened`: no consent to ``partner``, or a
    withdrawn one, is not credited); events another partner already claimed for the same
    resident, method and time are held for review."""
    consents = _consents(partner, out["account"], url=url)
    out = screening.consent_screened(out, consents["consent"], rules)
    out = out.assign(resident=consents["resident"])
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
