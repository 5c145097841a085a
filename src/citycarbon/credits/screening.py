"""Screening of partner behaviour events before crediting: validation (refused, with the reason
per event), anti-fraud rules as data (held for review, with the reason) and consent per partner
(an account without consent to the partner: refused or held, as the rules say).

Every event ends in exactly one status — ``refused``, ``held`` or ``ok`` (to be credited) — so
events in = credited + held + refused. Rules come from ``credits/data/fraud_rules.yaml``; the
speed limit per method from the methodology set.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from citycarbon.credits.methodologies import MethodologySet
from citycarbon.errors import UnknownCodeError

RULES_FILE = Path(__file__).parent / "data" / "fraud_rules.yaml"
DEFAULT_RULES = "default-2026"
STATUSES = ("ok", "held", "refused")
#: What may become of an event of an account without consent to its partner.
NO_CONSENT_OUTCOMES = ("refused", "held")
#: Columns a partner event carries (``ended_at`` and ``distance_km`` for travel methods).
EVENT_FIELDS = ("event_id", "account", "method", "at", "quantity")


@dataclass(frozen=True)
class FraudRules:
    """One versioned anti-fraud rule set."""

    set_id: str
    version: str
    speed: bool
    min_trip_seconds: float
    max_events_per_account_hour: int
    duplicates: bool
    max_clock_skew_minutes: float
    no_consent: str  # refused | held
    raw: Mapping[str, Any]


@cache
def fraud_rules(set_id: str = DEFAULT_RULES, path: Path = RULES_FILE) -> FraudRules:
    """The anti-fraud rule set ``set_id``."""
    with open(path, encoding="utf-8") as f:
        sets = yaml.safe_load(f)["sets"]
    if set_id not in sets:
        raise UnknownCodeError("anti-fraud rule set", set_id, sets, field="credits.fraud_rules")
    raw = sets[set_id]
    if raw["no_consent"] not in NO_CONSENT_OUTCOMES:
        raise UnknownCodeError(
            "outcome of an event without consent",
            raw["no_consent"],
            NO_CONSENT_OUTCOMES,
            source=path.name,
            field=f"{set_id}.no_consent",
        )
    return FraudRules(
        set_id=set_id,
        version=str(raw["version"]),
        speed=bool(raw["implausible_speed"]["enabled"]),
        min_trip_seconds=float(raw["min_trip_seconds"]),
        max_events_per_account_hour=int(raw["max_events_per_account_hour"]),
        duplicates=bool(raw["duplicates"]["enabled"]),
        max_clock_skew_minutes=float(raw["max_clock_skew_minutes"]),
        no_consent=str(raw["no_consent"]),
        raw=raw,
    )


def _first_reason(checks: list[tuple[str, pd.Series]], index: pd.Index) -> pd.Series:
    """Per row, the name of the first failing check ('' when none fails)."""
    reason = pd.Series("", index=index, dtype=object)
    for name, failed in reversed(checks):
        reason = reason.mask(failed.fillna(True).astype(bool), name)
    return reason


def validation_reasons(
    events: pd.DataFrame, mset: MethodologySet, rules: FraudRules, now: pd.Timestamp
) -> pd.Series:
    """Why each event is refused ('' when valid): a missing field, an unknown method, a
    quantity that is not a positive number, a trip that ends before it starts, a time in the
    future, an event id repeated in the batch (the first is kept)."""
    idx = events.index
    cols = {
        c: events[c] if c in events.columns else pd.Series(np.nan, index=idx)
        for c in (
            *EVENT_FIELDS,
            "ended_at",
        )
    }
    at = pd.to_datetime(cols["at"], utc=True, errors="coerce")
    ended = pd.to_datetime(cols["ended_at"], utc=True, errors="coerce")
    quantity = pd.to_numeric(cols["quantity"], errors="coerce")
    known = cols["method"].isin(mset.table.index)
    travel = cols["method"].map(mset.table["group"]).eq("travel")
    skew = pd.Timedelta(minutes=rules.max_clock_skew_minutes)
    checks = [
        ("missing event_id", cols["event_id"].isna() | cols["event_id"].astype(str).eq("")),
        ("missing account", cols["account"].isna() | cols["account"].astype(str).eq("")),
        ("unknown method", ~known),
        ("bad timestamp", at.isna()),
        ("quantity not a positive number", ~(quantity > 0) | ~np.isfinite(quantity)),
        ("travel without ended_at", travel & ended.isna()),
        ("ends before it starts", ended < at),
        ("timestamp in the future", at > now + skew),
        ("event_id repeated in the batch", cols["event_id"].duplicated(keep="first")),
    ]
    return _first_reason(checks, idx)


def fraud_reasons(events: pd.DataFrame, mset: MethodologySet, rules: FraudRules) -> pd.Series:
    """Why each (valid) event is held for review ('' when not): implausible speed, a trip too
    short to time, too many events of the account in a clock hour, the same account, method and
    start reported twice (the first is not held)."""
    at = pd.to_datetime(events["at"], utc=True)
    ended = events["ended_at"] if "ended_at" in events.columns else pd.NaT
    seconds = (pd.to_datetime(ended, utc=True) - at).dt.total_seconds()
    max_speed = events["method"].map(mset.table["max_speed_kmh"])
    travel = max_speed.notna()
    speed = events["quantity"].astype(float) / (seconds / 3600.0)
    per_hour = events.groupby([events["account"], at.dt.floor("h")])["event_id"].transform("size")
    dup = events.assign(_at=at).duplicated(["account", "method", "_at"], keep="first")
    checks = [
        ("trip too short to time", travel & (seconds < rules.min_trip_seconds)),
        ("implausible speed", rules.speed & travel & (speed > max_speed)),
        ("too many events in an hour", per_hour > rules.max_events_per_account_hour),
        ("duplicate of another event", rules.duplicates & dup),
    ]
    return _first_reason([(n, f.fillna(False)) for n, f in checks], events.index)


def parse_times(events: pd.DataFrame) -> pd.DataFrame:
    """``at`` and ``ended_at`` as UTC timestamps (ISO 8601 text or timestamps; what does not
    parse becomes NaT and is refused by :func:`validation_reasons`)."""
    times = {
        c: pd.to_datetime(events[c], utc=True, errors="coerce", format="ISO8601")
        for c in ("at", "ended_at")
        if c in events.columns
    }
    return events.assign(**times)


def screen_events(
    events: pd.DataFrame, mset: MethodologySet, rules: FraudRules, now: pd.Timestamp
) -> pd.DataFrame:
    """``events`` (times parsed, :func:`parse_times`) with ``status`` (ok | held | refused) and
    ``reason``: validation first, then the anti-fraud rules on the valid events."""
    events = parse_times(events)
    refused = validation_reasons(events, mset, rules, now)
    valid = refused.eq("")
    held = pd.Series("", index=events.index, dtype=object)
    if valid.any():
        held.loc[valid] = fraud_reasons(events.loc[valid], mset, rules)
    status = np.where(~valid, "refused", np.where(held.ne(""), "held", "ok"))
    return events.assign(status=status, reason=refused.where(~valid, held))


def consent_screened(screened: pd.DataFrame, consent: pd.Series, rules: FraudRules) -> pd.DataFrame:
    """``screened`` (``status``, ``reason``) after consent per partner: an event whose account
    withdrew its consent to the partner is refused ("consent withdrawn"); one whose account never
    granted it is refused or held as ``rules.no_consent`` says ("no consent"; held only if it
    was to be credited, a held event keeps its first reason). Refused events stay as they were.

    Parameters
    ----------
    screened : DataFrame   events with ``status`` (ok | held | refused) and ``reason``
    consent : Series       per event: ``granted``, ``withdrawn`` or missing (never recorded)
    rules : FraudRules     ``no_consent`` (refused | held)

    References
    ----------
    [1] 个人信息保护法 (PIPL), art. 13(1) and 14: personal information processed for a purpose on
        the individual's consent to it; art. 15: the consent can be withdrawn.
    """
    live = screened["status"].ne("refused")
    withdrawn = live & consent.eq("withdrawn")
    missing = consent.isna() & (screened["status"].eq("ok") if rules.no_consent == "held" else live)
    status = screened["status"].mask(withdrawn, "refused").mask(missing, rules.no_consent)
    reason = screened["reason"].mask(withdrawn, "consent withdrawn").mask(missing, "no consent")
    return screened.assign(status=status, reason=reason)


def claimed_elsewhere(events: pd.DataFrame, claims: pd.DataFrame) -> pd.Series:
    """True where another partner already claimed the same behaviour: the same resident
    (``resident``, the city-wide pseudonymous id the partners map their accounts to), the same
    method and overlapping time windows ``[at, ended_at]`` (``ended_at`` missing = the instant
    ``at``). Such an event is held for review, never dropped.

    Parameters
    ----------
    events : DataFrame   ``resident`` (None when the account has no mapping), ``method``,
        ``at``, optional ``ended_at`` (UTC timestamps)
    claims : DataFrame   the same columns: other partners' credited or held events
    """
    if claims.empty or events.empty:
        return pd.Series(False, index=events.index)

    def window(f: pd.DataFrame) -> pd.DataFrame:
        start = pd.to_datetime(f["at"], utc=True)
        end = pd.to_datetime(f["ended_at"], utc=True) if "ended_at" in f.columns else start
        return pd.DataFrame(
            {"resident": f["resident"], "method": f["method"], "start": start},
            index=f.index,
        ).assign(end=end.fillna(start))

    mine = window(events).rename_axis("row").reset_index()
    mine = mine[mine["resident"].notna()]
    pairs = mine.merge(window(claims), on=["resident", "method"], suffixes=("", "_other"))
    overlap = (pairs["start"] <= pairs["end_other"]) & (pairs["start_other"] <= pairs["end"])
    hit = set(pairs.loc[overlap, "row"])
    return pd.Series(events.index.isin(list(hit)), index=events.index)
