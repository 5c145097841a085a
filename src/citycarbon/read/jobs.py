"""Background jobs as users see them: admins and city analysts see every job, everyone else
their own (by user id); a job outside that is *not found*. When a job is seen finished for the
first time in this process, the cached registry and results are dropped, so the pages show
what the job made (the worker may run in another process)."""

from __future__ import annotations

import threading
from datetime import datetime

from citycarbon.read import access
from citycarbon.read.access import NotVisible, Principal
from citycarbon.store import jobs as store
from citycarbon.store.jobs import JobInfo

_lock = threading.Lock()
_seen_finished: list[datetime | None] = [None]


def _refresh(finished: list[JobInfo]) -> None:
    stamps = [j.finished_at for j in finished if j.status == "done" and j.finished_at]
    if not stamps:
        return
    newest = max(stamps)
    with _lock:
        if _seen_finished[0] is not None and newest <= _seen_finished[0]:
            return
        _seen_finished[0] = newest
    access.invalidate()


def _owner(principal: Principal) -> int | None:
    """The user id whose jobs the principal is limited to (None: all jobs)."""
    if principal.can("read_all_jobs"):
        return None
    return principal.user_id if principal.user_id is not None else -1


def job(principal: Principal, job_id: int) -> JobInfo:
    """One visible job; :class:`NotVisible` otherwise."""
    access.require(principal, "read")
    info = store.get_job(int(job_id))
    owner = _owner(principal)
    if info is None or (owner is not None and info.created_by_id != owner):
        raise NotVisible(f"job {job_id} not found")
    _refresh([info])
    return info


def jobs(
    principal: Principal, *, status: str | None = None, limit: int = 50, offset: int = 0
) -> tuple[list[JobInfo], int]:
    """Visible jobs, newest first, and how many there are."""
    access.require(principal, "read")
    items, total = store.list_jobs(
        created_by_id=_owner(principal), status=status, limit=limit, offset=offset
    )
    _refresh(items)
    return items, total
