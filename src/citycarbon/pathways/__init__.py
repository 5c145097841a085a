"""Pathways and decision support (情景分析): decomposition, drivers, forecasts and scenarios.

Pure domain functions over numbers and DataFrames (no I/O beyond this package's own data
files, no database):

- :mod:`~citycarbon.pathways.decomposition` LMDI-I additive / multiplicative, Kaya factors and
  sectoral structure (Ang 2005, 2015).
- :mod:`~citycarbon.pathways.stirpat` STIRPAT with ridge regularisation and bootstrap intervals
  (Dietz & Rosa 1997; York, Rosa & Dietz 2003).
- :mod:`~citycarbon.pathways.forecast` baseline forecasts (Holt damped trend / ARIMA) and
  rolling-origin backtests.
- :mod:`~citycarbon.pathways.scenario` measures catalogue, scenario trajectories to 2060,
  peak, neutrality gap, intensity targets, vectorised Monte Carlo and fan charts.
- :mod:`~citycarbon.pathways.macc` marginal abatement cost curve.
- :mod:`~citycarbon.pathways.cobenefits` pollution–carbon co-benefits (减污降碳协同).
- :mod:`~citycarbon.pathways.economics` investment, costs, savings, input-output effects.

Catalogue and assumption files live in ``pathways/data`` with source, year and unit per value.
Storage of scenarios and the demo city's inputs: :mod:`citycarbon.runs.scenarios`.
"""
