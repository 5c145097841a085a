"""Alembic environment of the citycarbon catalog.

Run through :func:`citycarbon.store.catalog.upgrade` (or ``citycarbon db upgrade``), which passes
an open connection in ``config.attributes["connection"]``; with ``alembic -x url=...`` from a
shell the URL is taken from there, else from the citycarbon settings.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from citycarbon.config.settings import get_settings
from citycarbon.store.models import Base

config = context.config
target_metadata = Base.metadata


def _configure(**kwargs: object) -> None:
    context.configure(
        target_metadata=target_metadata,
        render_as_batch=True,  # SQLite cannot ALTER most things; batch mode copies the table
        compare_type=True,
        **kwargs,
    )


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``alembic upgrade --sql``)."""
    url = context.get_x_argument(as_dictionary=True).get("url") or get_settings().database_url
    _configure(url=url, literal_binds=True, dialect_opts={"paramstyle": "named"})
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    """Run the migrations on the connection handed over by the caller (or a new one)."""
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure(connection=connection)
        with context.begin_transaction():
            context.run_migrations()
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or get_settings().database_url
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            _configure(connection=conn)
            with context.begin_transaction():
                context.run_migrations()
            conn.commit()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
