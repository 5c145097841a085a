"""Declared inputs (ingest kinds: :mod:`.inputs`) and results (:mod:`.results`): names, keys,
columns and units, in one place that writers and readers share."""
