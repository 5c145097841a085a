"""Job rows of the catalog (``jobs``): create, start, record a step, finish, get and list.

A job is queued when an upload arrives, running while the worker executes its pipeline, and
done or failed at the end. Steps are a JSON list of ``{name, status, seconds, message}`` in
the order they started; a step reported again (its end) updates its entry. The queue itself
is in :mod:`citycarbon.runs.jobs`; who may see which job is decided in
:mod:`citycarbon.read.jobs`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from citycarbon.errors import InputError, UnknownCodeError, error_text
from citycarbon.store.catalog import _reading, session_scope
from citycarbon.store.models import JOB_STATUSES, Job, utcnow

STEP_STATUSES = ("pending", "running", "done", "failed", "skipped")


@dataclass(frozen=True)
class JobInfo:
    """A row of ``jobs`` (detached from any session)."""

    id: int
    kind: str
    ingest_kind: str | None
    source_name: str | None
    status: str
    created_by_id: int | None
    created_by: str
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    steps: list[dict[str, Any]]
    progress: float
    error: str | None  # in English
    batch_id: int | None
    #: the error as stored: an InputError record (said in any language) or plain text
    error_record: str | None = None

    @classmethod
    def of(cls, job: Job) -> JobInfo:
        values = {f: getattr(job, f) for f in cls.__dataclass_fields__ if f != "error_record"}
        return cls(**{**values, "error": error_text(job.error, "en"), "error_record": job.error})

    def error_in(self, lang: str) -> str | None:
        """The error in ``lang`` (zh or en)."""
        return error_text(self.error_record, lang)

    def steps_in(self, lang: str) -> list[dict[str, Any]]:
        """The steps, the failed step's note (the job's error, kept in English) in ``lang``."""
        said = self.error_in(lang)
        return [
            {**s, "message": said} if s.get("message") == self.error and said else dict(s)
            for s in self.steps
        ]

    def error_detail(self, lang: str) -> dict[str, Any] | None:
        """The error's place, value, reason and way forward in ``lang``, when it names them."""
        err = InputError.from_record(self.error_record)
        return err.public(lang) if err is not None else None

    @property
    def finished(self) -> bool:
        return self.status in ("done", "failed")

    def public(self) -> dict[str, Any]:
        """JSON-safe fields (times as ISO 8601 strings)."""
        out = dict(self.__dict__)
        out.pop("error_record")
        for k in ("created_at", "started_at", "finished_at"):
            out[k] = out[k].isoformat() if out[k] is not None else None
        out["steps"] = [dict(s) for s in self.steps]
        return out


def create_job(
    kind: str,
    *,
    created_by: str,
    created_by_id: int | None = None,
    ingest_kind: str | None = None,
    source_name: str | None = None,
    url: str | None = None,
) -> JobInfo:
    """Record a new queued job and return it (committed at once)."""
    with session_scope(url) as s:
        job = Job(
            kind=kind,
            ingest_kind=ingest_kind,
            source_name=source_name,
            status="queued",
            created_by=created_by,
            created_by_id=created_by_id,
            steps=[],
            progress=0.0,
        )
        s.add(job)
        s.flush()
        return JobInfo.of(job)


def _get(s: Any, job_id: int) -> Job:
    job = s.get(Job, job_id, with_for_update=True)
    if job is None:
        raise InputError(f"job {job_id} does not exist", source="jobs", value=job_id)
    return job


def start_job(job_id: int, *, url: str | None = None) -> JobInfo:
    """Mark a queued job running (its start time now)."""
    with session_scope(url) as s:
        job = _get(s, job_id)
        job.status, job.started_at = "running", utcnow()
        return JobInfo.of(job)


def _progress(steps: list[dict[str, Any]]) -> float:
    """Share of finished steps; a step still running counts half, one waiting nothing (never 1
    before the end)."""
    if not steps:
        return 0.0
    weight = {"pending": 0.0, "running": 0.5}
    done = sum(weight.get(s["status"], 1.0) for s in steps)
    return min(done / (len(steps) + 1), 0.99)


def record_step(
    job_id: int,
    name: str,
    status: str,
    seconds: float = 0.0,
    message: str = "",
    *,
    url: str | None = None,
) -> JobInfo:
    """Add a step (``status='running'``) or update it when it ends (done, failed, skipped)."""
    if status not in STEP_STATUSES:
        raise UnknownCodeError("step status", status, STEP_STATUSES, source="jobs")
    entry = {
        "name": name,
        "status": status,
        "seconds": round(float(seconds), 3),
        "message": message,
    }
    with session_scope(url) as s:
        job = _get(s, job_id)
        steps = [dict(x) for x in job.steps or []]
        at = next((i for i, x in enumerate(steps) if x["name"] == name), None)
        if at is None:
            steps.append(entry)
        else:
            steps[at] = entry
        job.steps, job.progress = steps, _progress(steps)
        return JobInfo.of(job)


def finish_job(
    job_id: int,
    status: str,
    *,
    error: str | None = None,
    batch_id: int | None = None,
    url: str | None = None,
) -> JobInfo:
    """Mark a job done or failed (with its error), with the batch it made."""
    if status not in ("done", "failed"):
        raise UnknownCodeError("final job status", status, ("done", "failed"), source="jobs")
    with session_scope(url) as s:
        job = _get(s, job_id)
        job.status, job.finished_at, job.error = status, utcnow(), error
        if batch_id is not None:
            job.batch_id = batch_id
        if status == "done":
            job.progress = 1.0
        return JobInfo.of(job)


def get_job(job_id: int, *, url: str | None = None) -> JobInfo | None:
    """The job with this id, or None."""
    with _reading(url) as s:
        job = s.get(Job, job_id)
        return None if job is None else JobInfo.of(job)


def list_jobs(
    *,
    created_by_id: int | None = None,
    created_by: str | None = None,
    status: str | None = None,
    limit: int = 50,
    offset: int = 0,
    url: str | None = None,
) -> tuple[list[JobInfo], int]:
    """Jobs newest first (optionally of one user, by id or name, and one status), and the total."""
    if status is not None and status not in JOB_STATUSES:
        raise UnknownCodeError("job status", status, JOB_STATUSES, source="jobs")
    where = []
    if created_by_id is not None:
        where.append(Job.created_by_id == created_by_id)
    if created_by is not None:
        where.append(Job.created_by == created_by)
    if status is not None:
        where.append(Job.status == status)
    with _reading(url) as s:
        total = s.scalar(sa.select(sa.func.count()).select_from(Job).where(*where)) or 0
        rows = s.scalars(
            sa.select(Job).where(*where).order_by(Job.id.desc()).limit(limit).offset(offset)
        )
        return [JobInfo.of(j) for j in rows], int(total)


def fail_running_jobs(message: str, *, url: str | None = None) -> int:
    """Mark every job still 'running' failed (its worker stopped); returns how many."""
    with session_scope(url) as s:
        result = s.execute(
            sa.update(Job)
            .where(Job.status == "running")
            .values(status="failed", error=message, finished_at=utcnow())
        )
        return int(result.rowcount or 0)
