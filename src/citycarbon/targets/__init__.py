"""Carbon dual control (碳排放双控): targets, progress, forecasts and early warnings.

``indicators`` (the assessed indicators: CO2 and its intensity, energy less feedstock and new
renewables, non-fossil share), ``targets`` (schedule-proportional progress from the base year)
and ``warnings`` (rule levels) are pure (tables in, tables out); :mod:`citycarbon.runs.targets`
runs them over the catalog and the lake, logs and notifies warnings and schedules the
recomputation.
"""
