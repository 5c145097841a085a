"""Accounting core: pure, vectorised functions for energy, combustion, purchased power and heat,
industrial processes, gases and the enterprise carbon account. No I/O, no database."""
