"""Where citycarbon keeps its data, and which engines it uses (environment variables).

- ``CITYCARBON_HOME``: data directory (default ``./var``): ``lake/`` (Parquet), ``catalog.sqlite``,
  ``reports/``.
- ``CITYCARBON_DATABASE_URL``: catalog database URL (default SQLite in the home directory;
  ``postgresql+psycopg://user@host:port/db`` for PostgreSQL).
- ``CITYCARBON_ENGINE``: query engine for the lake, ``duckdb`` (default) or ``spark``.
- ``CITYCARBON_SPARK_MASTER``: Spark master URL (default ``local[2]``).
- ``CITYCARBON_CITY``: city name or config path (default ``xiamen``).
- ``CITYCARBON_QUEUE``: background job queue (huey), ``sqlite`` (default: embedded, database
  ``$CITYCARBON_HOME/jobs.sqlite``) or a ``redis://host:port/db`` URL (production).
- ``CITYCARBON_WORKER``: ``embedded`` runs the job consumer (one worker thread) inside the web
  server process, ``off`` (default) leaves the queue to ``citycarbon jobs worker``;
  ``citycarbon serve`` sets ``embedded`` unless ``--no-worker``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    engine: str
    spark_master: str
    queue: str = "sqlite"
    worker: str = "off"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def queue_file(self) -> Path:
        """The embedded (SQLite) job queue's database."""
        return self.home / "jobs.sqlite"

    @property
    def uploads(self) -> Path:
        """Private directory of uploaded files waiting for their job (mode 0700)."""
        return self.home / "uploads"


def get_settings() -> Settings:
    """Current settings from the environment (read on every call: tests change them)."""
    home = Path(os.environ.get("CITYCARBON_HOME", "var")).resolve()
    url = os.environ.get("CITYCARBON_DATABASE_URL") or f"sqlite:///{home / 'catalog.sqlite'}"
    return Settings(
        home=home,
        database_url=url,
        engine=os.environ.get("CITYCARBON_ENGINE", "duckdb"),
        spark_master=os.environ.get("CITYCARBON_SPARK_MASTER", "local[2]"),
        queue=os.environ.get("CITYCARBON_QUEUE", "sqlite"),
        worker=os.environ.get("CITYCARBON_WORKER", "off"),
    )
