"""Shared test fixtures."""

# A real PostgreSQL server for tests marked `postgres` (fixtures postgres_url, fresh_postgres_url).
pytest_plugins = ["tests.pgserver"]
