"""Reports: PDF (reportlab + matplotlib) and Excel, over the tables of
:mod:`citycarbon.data.report_inputs` (no formulas here)."""
