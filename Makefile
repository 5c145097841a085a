# citycarbon — the two set-up commands are `make demo` and `make test` (see README.md).
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: demo test bench lint format venv system-deps clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

## demo: build the deterministic demo city, compute everything, show the results, then serve
## the web platform on http://127.0.0.1:8000 (demo users and passwords are printed)
demo: $(STAMP)
	$(BIN)/citycarbon demo
	$(BIN)/citycarbon serve --host 127.0.0.1 --port 8000

## test: install what the tests need (system packages too) and run the whole default suite
test: system-deps $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/python -m pytest -m "not slow" -n 2 --dist loadfile

## system-deps: Debian packages the tests use (Java for Spark, PostgreSQL), installed when missing
system-deps:
	bash scripts/install-system-deps.sh

## bench: speed and memory benchmarks (print their figures)
bench: $(STAMP)
	bash scripts/install-system-deps.sh --bench
	$(BIN)/python -m pytest -m slow -s benchmarks

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/lint-imports  # the dependency rule of ARCHITECTURE.md ([tool.importlinter])

format: $(STAMP)
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

clean:
	rm -rf $(VENV) var build dist .pytest_cache .ruff_cache
