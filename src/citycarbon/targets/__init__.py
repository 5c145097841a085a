"""Carbon dual control (碳排放双控): targets, progress, forecasts and early warnings.

``targets`` and ``warnings`` are pure (tables in, tables out); ``service`` runs them over the
catalog and the lake, logs and notifies warnings and schedules the recomputation.
"""
