"""碳普惠 platform policies as data: per-partner quotas of the partner API and the retention
of raw partner events (``credits/data/partner_quotas.yaml``, ``credits/data/retention.yaml``).

References
----------
[1] 个人信息保护法 (PIPL), art. 19 (retention: the shortest time the purpose needs).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from citycarbon.errors import UnknownCodeError

QUOTAS_FILE = Path(__file__).parent / "data" / "partner_quotas.yaml"
RETENTION_FILE = Path(__file__).parent / "data" / "retention.yaml"
DEFAULT_SET = "default-2026"


@dataclass(frozen=True)
class PartnerQuota:
    """How many events (any status) a partner may send per minute and per local day."""

    partner: str
    events_per_minute: int
    events_per_day: int
    timezone: str
    label: str  # set@version


@dataclass(frozen=True)
class RetentionPolicy:
    """How long raw partner events are kept, and why."""

    raw_event_months: int
    rationale: str
    label: str  # set@version


def _set(path: Path, set_id: str, what: str) -> dict[str, Any]:
    with open(path, encoding="utf-8") as f:
        sets = yaml.safe_load(f)["sets"]
    if set_id not in sets:
        raise UnknownCodeError(what, set_id, sets, source=str(path.name))
    return sets[set_id]


@cache
def partner_quota(partner: str, set_id: str = DEFAULT_SET) -> PartnerQuota:
    """The quota of ``partner`` (the set's default for a partner it does not name)."""
    raw = _set(QUOTAS_FILE, set_id, "partner quota set")
    limits = {**raw["default"], **raw.get("partners", {}).get(partner, {})}
    return PartnerQuota(
        partner=partner,
        events_per_minute=int(limits["events_per_minute"]),
        events_per_day=int(limits["events_per_day"]),
        timezone=str(raw["timezone"]),
        label=f"{set_id}@{raw['version']}",
    )


@cache
def retention_policy(set_id: str = DEFAULT_SET) -> RetentionPolicy:
    """The retention policy ``set_id``."""
    raw = _set(RETENTION_FILE, set_id, "retention policy")
    return RetentionPolicy(
        raw_event_months=int(raw["raw_event_months"]),
        rationale=" ".join(str(raw["rationale"]).split()),
        label=f"{set_id}@{raw['version']}",
    )


def retention_cutoff(now: pd.Timestamp, months: int) -> pd.Timestamp:
    """The instant before which raw events go: ``now`` less ``months`` calendar months."""
    return now - pd.DateOffset(months=months)


def quota_retry_after_s(
    batch: int,
    used_minute: int,
    used_day: int,
    quota: PartnerQuota,
    now: pd.Timestamp,
) -> int | None:
    """Seconds a partner should wait before sending a batch of ``batch`` events, having sent
    ``used_minute`` in the last 60 s and ``used_day`` since the local day began; None when the
    batch fits both quotas. Past the daily quota: until the next local midnight; past the
    per-minute quota: 60 s (the window slides)."""
    if used_day + batch > quota.events_per_day:
        local = now.tz_convert(quota.timezone)
        midnight = (local + pd.Timedelta(days=1)).normalize()
        return max(1, int((midnight - local).total_seconds()) + 1)
    if used_minute + batch > quota.events_per_minute:
        return 60
    return None
