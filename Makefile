# Two set-up commands work on a fresh machine: `make demo` and `make test`.
# Each creates (or reuses) the virtual environment in .venv and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit system-deps bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/zuinig demo

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples scripts
	$(BIN)/ruff format --check src tests benchmarks examples scripts

typecheck: $(STAMP)
	$(BIN)/mypy

# The PostgreSQL server binaries the ledger tests use; installed when missing (Debian, root).
system-deps:
	scripts/install-system-deps.sh

# The whole suite, with a throwaway PostgreSQL server so the ledger tests run on both databases.
unit: $(STAMP) system-deps
	$(BIN)/python scripts/with_postgres.py -- $(BIN)/pytest -q

test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py --out reports/overhead

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
