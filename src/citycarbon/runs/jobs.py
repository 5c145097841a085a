"""Background jobs: an upload is saved privately, recorded as a queued job and run by one
worker through the pipeline (:func:`citycarbon.runs.pipeline.ingest_and_run`).

The queue is huey: embedded by default (``SqliteHuey``, ``$CITYCARBON_HOME/jobs.sqlite``),
``RedisHuey`` when ``CITYCARBON_QUEUE`` is a ``redis://`` URL (see
:mod:`citycarbon.config.settings`). One consumer with one worker thread runs the jobs, so two
uploads for one city run one after the other. ``citycarbon serve`` embeds that consumer in the
server process (:func:`start_worker` / :func:`stop_worker` from the app's lifespan);
``citycarbon jobs worker`` runs it on its own (:func:`run_worker`).

The job's row in the catalog (:mod:`citycarbon.store.jobs`) carries its status, steps,
progress and error; users see only the file name they gave, never the server path.
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

from huey import RedisHuey, SqliteHuey
from huey.consumer import Consumer

from citycarbon.config.home import without_server_paths
from citycarbon.config.settings import Settings, get_settings
from citycarbon.contract.inputs import get_schema
from citycarbon.errors import CitycarbonError, InputError
from citycarbon.ingest.loader import file_format
from citycarbon.runs.pipeline import StepReport, ingest_and_run, retract_and_run
from citycarbon.store import jobs as store
from citycarbon.store.jobs import JobInfo

log = logging.getLogger(__name__)
INGEST_TASK = "citycarbon.ingest"
RETRACT_TASK = "citycarbon.retract"
MAX_UPLOAD_BYTES = 200 * 1024 * 1024
#: How much lower the standalone worker's CPU priority is than the web server's (nice(2)).
WORKER_NICE = 10
INTERRUPTED = "the worker stopped while this job ran; upload the file again"
_NOT_QUEUED = "could not be queued ({}); the server log has the details"
_queues: dict[tuple[str, str], tuple[Any, dict[str, Any]]] = {}  # (queue, place) -> huey, tasks
_lock = threading.Lock()


# --------------------------------------------------------------------------- the queue
def _queue_and_tasks(settings: Settings | None = None) -> tuple[Any, dict[str, Any]]:
    settings = settings or get_settings()
    place = str(settings.queue_file) if settings.queue == "sqlite" else settings.queue
    key = (settings.queue, place)
    with _lock:
        hit = _queues.get(key)
        if hit is not None:
            return hit
        if settings.queue == "sqlite":
            settings.home.mkdir(parents=True, exist_ok=True)
            huey = SqliteHuey("citycarbon", filename=place, results=False)
        elif settings.queue.startswith(("redis://", "rediss://", "unix://")):
            huey = RedisHuey("citycarbon", url=settings.queue, results=False)
        else:
            raise InputError(
                "unknown job queue; give 'sqlite' or a redis:// URL",
                source="CITYCARBON_QUEUE",
                value=settings.queue,
            )
        tasks = {
            INGEST_TASK: huey.task(name=INGEST_TASK)(run_ingest_job),
            RETRACT_TASK: huey.task(name=RETRACT_TASK)(run_retract_job),
        }
        _queues[key] = (huey, tasks)
        return huey, tasks


def queue(settings: Settings | None = None) -> Any:
    """The huey instance of the configured queue (one per queue and home, made once)."""
    return _queue_and_tasks(settings)[0]


class EmbeddedConsumer(Consumer):
    """A huey consumer inside another process (the web server): the host owns the signals."""

    def _set_signal_handlers(self) -> None:
        pass


def _consumer_options() -> dict[str, Any]:
    # one worker thread: jobs run one after the other; poll at most every second
    return {"workers": 1, "worker_type": "thread", "periodic": False, "max_delay": 1.0}


def start_worker(settings: Settings | None = None) -> Consumer:
    """Start the job consumer in this process (one worker thread); stop it with
    :func:`stop_worker`. Jobs left 'running' by a worker that stopped are marked failed."""
    consumer = EmbeddedConsumer(queue(settings), shutdown_timeout=60, **_consumer_options())
    store.fail_running_jobs(INTERRUPTED)
    consumer.start()
    log.info("job worker started (queue %s)", (settings or get_settings()).queue)
    return consumer


def stop_worker(consumer: Consumer) -> None:
    """Stop an embedded consumer, letting a running job finish (up to 60 s)."""
    consumer.stop(graceful=True)


def run_worker(settings: Settings | None = None) -> None:
    """Run the job consumer in the foreground until interrupted (``citycarbon jobs worker``),
    at a lower CPU priority than the web server (:data:`WORKER_NICE`): pages answer first."""
    os.nice(WORKER_NICE)
    consumer = queue(settings).create_consumer(**_consumer_options())
    store.fail_running_jobs(INTERRUPTED)
    consumer.run()


# --------------------------------------------------------------------------- submitting
def upload_name(filename: str | None) -> str:
    """The user's file name as shown and recorded: no directory part, no control character, not
    ``.`` or ``..``, at most 200 characters (the file itself is saved under a random name)."""
    text = "".join(ch for ch in (filename or "") if ch.isprintable())  # no NUL, CR, LF, tab
    name = text.replace("\\", "/").rsplit("/", 1)[-1].strip()[-200:]
    return name if name.strip(".") else "upload.csv"


def save_upload(stream: BinaryIO, suffix: str, *, max_bytes: int = MAX_UPLOAD_BYTES) -> Path:
    """Copy an upload to a new private file (mode 0600, random name) in the home's uploads."""
    settings = get_settings()
    settings.uploads.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = settings.uploads / f"{secrets.token_hex(16)}{suffix}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    size = 0
    try:
        with os.fdopen(fd, "wb") as f:
            while chunk := stream.read(1 << 20):
                size += len(chunk)
                if size > max_bytes:
                    raise InputError(f"the file is larger than {max_bytes >> 20} MB")
                f.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return path


def submit_ingest(
    kind: str,
    stream: BinaryIO,
    filename: str | None,
    *,
    created_by: str,
    created_by_id: int | None = None,
    city: str | None = None,
    max_bytes: int = MAX_UPLOAD_BYTES,
) -> JobInfo:
    """Queue the ingest of an uploaded file and return its job (status 'queued').

    The kind and file type are checked at once (InputError); everything else is the job's.
    """
    name = upload_name(filename)
    get_schema(kind)
    file_format(Path(name))
    try:
        path = save_upload(stream, Path(name).suffix.lower(), max_bytes=max_bytes)
    except InputError as err:
        raise InputError(err.reason, source=name) from None
    try:
        job = store.create_job(
            "ingest",
            created_by=created_by,
            created_by_id=created_by_id,
            ingest_kind=kind,
            source_name=name,
        )
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    try:
        _queue_and_tasks()[1][INGEST_TASK](job.id, str(path), city)
    except Exception as err:
        path.unlink(missing_ok=True)
        log.exception("job %s: could not be queued", job.id)
        return store.finish_job(job.id, "failed", error=_NOT_QUEUED.format(type(err).__name__))
    return job


def submit_retract(
    batch_id: int,
    *,
    created_by: str,
    created_by_id: int | None = None,
    reason: str = "",
    city: str | None = None,
) -> JobInfo:
    """Queue the retraction of a batch and the recompute of what it touched (status 'queued')."""
    job = store.create_job(
        "retract", created_by=created_by, created_by_id=created_by_id, source_name=f"#{batch_id}"
    )
    try:
        _queue_and_tasks()[1][RETRACT_TASK](job.id, int(batch_id), reason, city)
    except Exception as err:
        log.exception("job %s: could not be queued", job.id)
        return store.finish_job(job.id, "failed", error=_NOT_QUEUED.format(type(err).__name__))
    return job


# --------------------------------------------------------------------------- running
def run_ingest_job(job_id: int, path: str, city: str | None = None) -> None:
    """The worker's task: run the pipeline on the saved file, recording steps and outcome."""

    file = Path(path)
    job = store.get_job(job_id)
    if job is None or job.status != "queued":
        file.unlink(missing_ok=True)
        return
    name = job.source_name or "upload"

    def public(text: str) -> str:  # never a server path in what users see
        return without_server_paths(text.replace(str(file), name).replace(file.name, name))

    def on_step(rep: StepReport) -> None:
        store.record_step(job_id, rep.name, rep.status, rep.seconds, public(rep.message or ""))

    store.start_job(job_id)
    try:
        _finish(
            job_id,
            lambda: ingest_and_run(
                job.ingest_kind or "",
                file,
                source_name=name,
                created_by=job.created_by,
                created_by_id=job.created_by_id,
                city=city,
                on_step=on_step,
            ),
            public,
        )
    finally:
        file.unlink(missing_ok=True)


def _finish(
    job_id: int, work: Callable[[], Any], public: Callable[[str], str], batch_id: int | None = None
) -> None:
    """Run a job's pipeline work and record its outcome: done, or failed with the failing
    step's reason (errors users see pass through ``public``)."""
    try:
        result = work()
    except CitycarbonError as err:  # an input error is kept whole, to be said in each language
        error = err.to_record(public) if isinstance(err, InputError) else public(str(err))
        store.finish_job(job_id, "failed", error=error, batch_id=batch_id)
        return
    except Exception as err:
        log.exception("job %s failed", job_id)
        store.finish_job(
            job_id,
            "failed",
            error=f"internal error ({type(err).__name__}); the server log has the details",
            batch_id=batch_id,
        )
        return
    batch_id = getattr(result.batch, "batch_id", None) or batch_id
    if result.ok:
        store.finish_job(job_id, "done", batch_id=batch_id)
        return
    steps = store.get_job(job_id).steps  # type: ignore[union-attr]
    failed = [s for s in steps if s["status"] == "failed"]
    reason = failed[-1]["message"] if failed else "a step of the pipeline failed"
    step = failed[-1]["name"] if failed else "pipeline"
    store.finish_job(job_id, "failed", error=f"{step}: {reason}", batch_id=batch_id)


def run_retract_job(job_id: int, batch_id: int, reason: str, city: str | None = None) -> None:
    """The worker's task: retract the batch, then run what it made stale."""

    job = store.get_job(job_id)
    if job is None or job.status != "queued":
        return

    def on_step(rep: StepReport) -> None:
        message = without_server_paths(rep.message or "")
        store.record_step(job_id, rep.name, rep.status, rep.seconds, message)

    store.start_job(job_id)
    _finish(
        job_id,
        lambda: retract_and_run(
            batch_id, actor=job.created_by, reason=reason, city=city, on_step=on_step
        ),
        without_server_paths,
        batch_id=batch_id,
    )
