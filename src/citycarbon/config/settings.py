"""Where citycarbon keeps its data, and which engines it uses (environment variables).

- ``CITYCARBON_HOME``: data directory (default ``./var``): ``lake/`` (Parquet), ``catalog.sqlite``,
  ``reports/``.
- ``CITYCARBON_DATABASE_URL``: catalog database URL (default SQLite in the home directory;
  ``postgresql+psycopg://user@host:port/db`` for PostgreSQL).
- ``CITYCARBON_ENGINE``: query engine for the lake, ``duckdb`` (default) or ``spark``.
- ``CITYCARBON_SPARK_MASTER``: Spark master URL (default ``local[2]``).
- ``CITYCARBON_CITY``: city name or config path (default ``xiamen``).
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

    @property
    def lake(self) -> Path:
        return self.home / "lake"


def get_settings() -> Settings:
    """Current settings from the environment (read on every call: tests change them)."""
    home = Path(os.environ.get("CITYCARBON_HOME", "var")).resolve()
    url = os.environ.get("CITYCARBON_DATABASE_URL") or f"sqlite:///{home / 'catalog.sqlite'}"
    return Settings(
        home=home,
        database_url=url,
        engine=os.environ.get("CITYCARBON_ENGINE", "duckdb"),
        spark_master=os.environ.get("CITYCARBON_SPARK_MASTER", "local[2]"),
    )
