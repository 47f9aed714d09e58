# Two set-up commands work on a fresh machine: `make demo` and `make test`.
# Each creates (or reuses) the virtual environment in .venv and installs what it needs.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck unit system-deps axe bench clean

# Every extra (bench, report, dask, postgres: `all`) and the dev tools: the demo and the suite
# use them all. `pip install zuinig` alone is the light core (see the README's Install section).
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[all,dev]'
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

# axe-core from the npm registry, pinned by its lock file, for the report's accessibility
# test (tests/report/test_axe.py); installed again only when the lock file changes.
AXE := tests/report/axe
AXE_INSTALLED := $(AXE)/node_modules/.package-lock.json

$(AXE_INSTALLED): $(AXE)/package-lock.json | system-deps
	@if command -v npm >/dev/null; then \
		npm ci --prefix $(AXE) --ignore-scripts --no-audit --no-fund && touch $@; \
	else \
		echo "npm is missing: the axe-core test is skipped (apt-get install nodejs npm)" >&2; \
	fi

axe: $(AXE_INSTALLED)

# The whole suite, with a throwaway PostgreSQL server so the ledger tests run on both databases.
# Two xdist workers, one whole test file at a time each (--dist loadfile): a file's module
# fixtures (one real bench session read by several tests) are made once, and the files that
# start their own PostgreSQL server or browser keep it to one worker. Every ledger test has
# its own schema or file, every test its own working folder and temporary directories.
# A `solo` test compares the machine's load in short windows with one long window: the
# other worker's load, changing from second to second, would tell them apart, so it runs
# alone after the parallel part.
unit: $(STAMP) system-deps axe
	$(BIN)/python scripts/with_postgres.py -- sh -c '$(BIN)/pytest -q -n 2 --dist loadfile -m "not solo" && $(BIN)/pytest -q -m solo'


test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py --out reports/overhead

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(AXE)/node_modules
