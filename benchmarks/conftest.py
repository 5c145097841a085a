"""Benchmarks: run by `make bench` (pytest -m slow -s benchmarks); each prints its figures."""
