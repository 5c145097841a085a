"""citycarbon tests (a package so that ``tests.pgserver`` can be loaded as a pytest plugin)."""
