"""TEMPORARY stand-in of the pipeline (branch h-jobs): ingest, then targets and warnings.

The lead's declared graph replaces this file on merge; only :func:`ingest_and_run`'s signature
and result (``.batch``, ``.ok``) are relied on by :mod:`citycarbon.runs.jobs`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

OnStep = Callable[[str, str, float, str], None]


@dataclass
class PipelineResult:
    batch: Any  # citycarbon.ingest.loader.IngestResult
    ok: bool


def ingest_and_run(
    kind: str,
    path: Path,
    *,
    source_name: str,
    created_by: str,
    city: Any = None,
    settings: Any = None,
    on_step: OnStep | None = None,
) -> PipelineResult:
    """Ingest a file, then recompute targets and warnings; ``on_step(name, status, s, msg)``."""
    from citycarbon.ingest.loader import ingest
    from citycarbon.runs.targets import after_ingest

    report = on_step or (lambda *_: None)
    report("ingest", "running", 0.0, "")
    t0 = time.perf_counter()
    try:
        batch = ingest(kind, path, created_by=created_by, city=city, source_name=source_name)
    except Exception as err:
        report("ingest", "failed", time.perf_counter() - t0, str(err))
        raise
    report("ingest", "done", time.perf_counter() - t0, batch.status)
    if batch.status != "committed":
        report("targets", "skipped", 0.0, "no new data")
        return PipelineResult(batch, True)
    report("targets", "running", 0.0, "")
    t0 = time.perf_counter()
    ok = after_ingest(batch, cfg=city, settings=settings) is not None
    report("targets", "done" if ok else "failed", time.perf_counter() - t0,
           "" if ok else "recompute of targets and warnings failed (see the server log)")  # fmt: skip
    return PipelineResult(batch, ok)
