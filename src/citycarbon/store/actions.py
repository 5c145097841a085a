"""Status updates of the action plan's tasks (table ``task_status_updates``, migration
0011_techmap): append-only, each written with an audit entry."""

from __future__ import annotations

from datetime import date

import pandas as pd
import sqlalchemy as sa

from citycarbon.errors import InputError, UnknownCodeError
from citycarbon.store import catalog
from citycarbon.store.models import TASK_STATUSES, TaskStatusUpdate

UPDATE_COLUMNS = (
    "id",
    "task_id",
    "unit",
    "status",
    "progress_pct",
    "planned_date",
    "note",
    "actor",
    "at",
)


def add_update(
    task_id: str,
    status: str,
    progress_pct: float,
    *,
    actor: str,
    unit: str | None = None,
    planned_date: date | None = None,
    note: str | None = None,
    url: str | None = None,
) -> int:
    """Append a status update of ``task_id`` (audited); returns its id."""
    if status not in TASK_STATUSES:
        raise UnknownCodeError("status", status, TASK_STATUSES, field="status")
    if not 0 <= progress_pct <= 100:
        raise InputError("progress must lie in 0-100 %", field="progress_pct", value=progress_pct)
    with catalog.session_scope(url) as s:
        row = TaskStatusUpdate(
            task_id=task_id,
            unit=unit,
            status=status,
            progress_pct=float(progress_pct),
            planned_date=planned_date,
            note=note or None,
            actor=actor,
        )
        s.add(row)
        s.flush()
        after = {
            "task_id": task_id,
            "unit": unit,
            "status": status,
            "progress_pct": float(progress_pct),
            "planned_date": planned_date.isoformat() if planned_date else None,
            "note": note or None,
        }
        catalog.record_audit(s, actor, "create", "task_status", row.id, None, after)
        return row.id


def updates_frame(*, task_ids: list[str] | None = None, url: str | None = None) -> pd.DataFrame:
    """Status updates (all, or of ``task_ids``), oldest first."""
    query = sa.select(TaskStatusUpdate).order_by(TaskStatusUpdate.id)
    if task_ids is not None:
        query = query.where(TaskStatusUpdate.task_id.in_(task_ids))
    with catalog._reading(url) as s:
        rows = [{c: getattr(u, c) for c in UPDATE_COLUMNS} for u in s.scalars(query)]
    return pd.DataFrame(rows, columns=list(UPDATE_COLUMNS))
