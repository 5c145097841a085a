"""Catalog access of carbon dual control: versioned targets, annual decomposition, warnings log.

A target is identified by its ``code``; every change of its definition closes the current
version (``valid_to``) and adds the next one, with an audit entry (before/after), so the history
of a target is kept and every warning points at the version it was evaluated against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import pandas as pd
import sqlalchemy as sa

from citycarbon.errors import InputError
from citycarbon.store import catalog
from citycarbon.store.models import TARGET_LEVELS, Target, TargetAnnual, WarningLog, utcnow

#: Fields that define a target (a change in any of them makes a new version).
DEFINITION = (
    "name",
    "level",
    "entity_code",
    "kind",
    "indicator",
    "period_label",
    "base_year",
    "end_year",
    "target_value",
    "target_unit",
    "base_value",
    "decomposition",
    "status",
    "source",
)
REQUIRED = (
    "code",
    "name",
    "level",
    "entity_code",
    "kind",
    "indicator",
    "base_year",
    "end_year",
    "target_value",
    "target_unit",
    "status",
    "source",
)


def _normalise(spec: Mapping[str, Any], i: int, source: str) -> dict[str, Any]:
    missing = [f for f in REQUIRED if spec.get(f) in (None, "")]
    if missing:
        raise InputError(f"target lacks {missing}", source=source, row=i + 1, field=missing[0])
    if spec["level"] not in TARGET_LEVELS:
        raise InputError(
            f"target level must be one of {list(TARGET_LEVELS)}",
            source=source,
            row=i + 1,
            field="level",
            value=spec["level"],
        )
    out = {
        "code": str(spec["code"]),
        "name": str(spec["name"]),
        "level": str(spec["level"]),
        "entity_code": str(spec["entity_code"]),
        "kind": str(spec["kind"]),
        "indicator": str(spec["indicator"]),
        "period_label": str(spec.get("period_label") or f"{spec['base_year']}-{spec['end_year']}"),
        "base_year": int(spec["base_year"]),
        "end_year": int(spec["end_year"]),
        "target_value": float(spec["target_value"]),
        "target_unit": str(spec["target_unit"]),
        "base_value": None if spec.get("base_value") is None else float(spec["base_value"]),
        "decomposition": str(spec.get("decomposition") or "geometric"),
        "status": str(spec["status"]),
        "source": str(spec["source"]).strip(),
    }
    return out


def sync_targets(
    specs: Iterable[Mapping[str, Any]],
    *,
    actor: str = "config",
    source: str = "targets",
    url: str | None = None,
) -> dict[str, int]:
    """Bring the catalog's current targets in line with ``specs`` (e.g. the city config).

    New codes get version 1; a changed definition closes the current version and adds the next;
    codes no longer in ``specs`` are closed. Each change is audited.

    Returns
    -------
    dict
        Counts ``created``, ``changed``, ``closed``, ``unchanged``.
    """
    wanted = {}
    for i, spec in enumerate(specs):
        t = _normalise(spec, i, source)
        if t["code"] in wanted:
            raise InputError(
                "target code appears twice", source=source, row=i + 1, field="code", value=t["code"]
            )
        wanted[t["code"]] = t
    counts = {"created": 0, "changed": 0, "closed": 0, "unchanged": 0}
    now = utcnow()
    with catalog.session_scope(url) as s:
        current = {t.code: t for t in s.scalars(sa.select(Target).where(Target.valid_to.is_(None)))}
        for code, t in wanted.items():
            old = current.get(code)
            if old is not None and all(getattr(old, f) == t[f] for f in DEFINITION):
                counts["unchanged"] += 1
                continue
            before = None if old is None else {f: getattr(old, f) for f in DEFINITION}
            version = 1
            if old is not None:
                old.valid_to = now
                version = old.version + 1
            row = Target(**t, version=version, valid_from=now, created_by=actor)
            s.add(row)
            s.flush()
            catalog.record_audit(
                s,
                actor,
                "create" if old is None else "update",
                "targets",
                code,
                before,
                {**t, "version": version},
            )
            counts["created" if old is None else "changed"] += 1
        for code, old in current.items():
            if code not in wanted:
                old.valid_to = now
                catalog.record_audit(
                    s,
                    actor,
                    "delete",
                    "targets",
                    code,
                    {f: getattr(old, f) for f in DEFINITION},
                    None,
                )
                counts["closed"] += 1
    return counts


def targets_frame(*, history: bool = False, url: str | None = None) -> pd.DataFrame:
    """Current target versions (or, ``history``, every version) as a table (column ``target_id``
    is the version's row id)."""
    query = sa.select(Target).order_by(Target.code, Target.version)
    if not history:
        query = query.where(Target.valid_to.is_(None))
    cols = ["id", "code", "version", *DEFINITION, "valid_from", "valid_to", "created_by"]
    with catalog._reading(url) as s:
        rows = [{c: getattr(t, c) for c in cols} for t in s.scalars(query)]
    return pd.DataFrame(rows, columns=cols).rename(columns={"id": "target_id"})


def save_annual(annual: pd.DataFrame, *, url: str | None = None) -> int:
    """Replace the stored annual decomposition of the target versions in ``annual``
    (``target_id, year, target_value``)."""
    ids = [int(i) for i in annual["target_id"].unique()]
    records = [
        {
            "target_id": int(r.target_id),
            "year": int(r.year),
            "target_value": None if pd.isna(r.target_value) else float(r.target_value),
        }
        for r in annual.itertuples(index=False)
    ]
    with catalog.session_scope(url) as s:
        if ids:
            s.execute(sa.delete(TargetAnnual).where(TargetAnnual.target_id.in_(ids)))
        if records:
            s.execute(sa.insert(TargetAnnual), records)
    return len(records)


def annual_frame(*, url: str | None = None) -> pd.DataFrame:
    """Stored annual decomposition of every target version."""
    with catalog._reading(url) as s:
        rows = s.execute(
            sa.select(TargetAnnual.target_id, TargetAnnual.year, TargetAnnual.target_value)
        ).all()
    return pd.DataFrame(rows, columns=["target_id", "year", "target_value"])


WARNING_COLUMNS = (
    "run_id",
    "rule_id",
    "subject",
    "target_id",
    "level",
    "entity_level",
    "entity_code",
    "entity_name",
    "period",
    "metric",
    "value",
    "threshold",
    "message",
)


def last_levels(*, url: str | None = None) -> pd.DataFrame:
    """The newest logged level per (rule_id, subject, period)."""
    w = WarningLog
    newest = sa.select(sa.func.max(w.id)).group_by(w.rule_id, w.subject, w.period).scalar_subquery()
    with catalog._reading(url) as s:
        rows = s.execute(
            sa.select(w.rule_id, w.subject, w.period, w.level).where(w.id.in_(newest))
        ).all()
    return pd.DataFrame(rows, columns=["rule_id", "subject", "period", "level"])


def log_warnings(rows: pd.DataFrame, *, url: str | None = None) -> list[int]:
    """Append warnings (columns ``WARNING_COLUMNS``) to the log; returns their ids."""
    records = []
    for r in rows[list(WARNING_COLUMNS)].to_dict("records"):
        records.append(
            {k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in r.items()}
        )
    ids = []
    with catalog.session_scope(url) as s:
        for rec in records:
            rec["target_id"] = None if rec["target_id"] is None else int(rec["target_id"])
            row = WarningLog(**rec)
            s.add(row)
            s.flush()
            ids.append(row.id)
    return ids


def mark_notified(
    ids: list[int], via: str, error: str | None = None, *, url: str | None = None
) -> None:
    """Record on logged warnings through which channels they were sent (and any error)."""
    if not ids:
        return
    with catalog.session_scope(url) as s:
        s.execute(
            sa.update(WarningLog)
            .where(WarningLog.id.in_(ids))
            .values(notified_via=via or None, notify_error=error)
        )


def warnings_frame(*, limit: int | None = None, url: str | None = None) -> pd.DataFrame:
    """The warnings log, newest first."""
    query = sa.select(WarningLog).order_by(WarningLog.id.desc())
    if limit:
        query = query.limit(limit)
    cols = ["id", "at", *WARNING_COLUMNS, "notified_via", "notify_error"]
    with catalog._reading(url) as s:
        rows = [{c: getattr(w, c) for c in cols} for w in s.scalars(query)]
    return pd.DataFrame(rows, columns=cols)
