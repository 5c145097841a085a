"""Reports: PDF (reportlab + matplotlib) and Excel, over the tables of
:mod:`citycarbon.read.reports` (no formulas here)."""
