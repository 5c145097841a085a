"""Reports: PDF (reportlab + matplotlib) and Excel, over the tables of
:mod:`citycarbon.runs.reports` (no formulas here)."""
