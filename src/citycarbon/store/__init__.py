"""Storage: the Parquet lake (:mod:`.lake`), the catalog database (:mod:`.catalog`,
:mod:`.models`, Alembic migrations), the results store (:mod:`.results`) and the query engines
(:mod:`.query`, DuckDB or Spark)."""
