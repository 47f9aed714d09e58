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
# Three xdist workers, one whole test file at a time each (--dist loadfile): a file's module
# fixtures (one real bench session read by several tests) are made once, and the files that
# start their own PostgreSQL server or browser keep it to one worker. Every ledger test has
# its own schema or file, every test its own working folder and temporary directories.
# Three on a 2-core machine because the suite waits a third of the time (child processes
# starting, sleeps in the simulated RAPL counter, fsync, PostgreSQL): with two workers 1.65
# cores were busy on average; a third worker took pytest from 294 s to 270 s here. xdist
# hands out the files with the most tests first; handing out those with the most slow tests
# first instead (--no-loadscope-reorder and a sort in conftest) measured no faster (281 s).
# A `solo` test compares the machine's load in short windows with one long window: the
# other workers' load, changing from second to second, would tell them apart, so it runs
# alone after the parallel part.
# Bytecode is cached (in __pycache__, ignored by git) even where the environment says
# PYTHONDONTWRITEBYTECODE: the suite starts hundreds of Python processes (bench trials, the
# CLI as users run it), and without the cache each one compiles zuinig's modules again and
# pytest rewrites every test module's asserts again in each worker (about 10 CPU-seconds).
unit: $(STAMP) system-deps axe
	env -u PYTHONDONTWRITEBYTECODE $(BIN)/python scripts/with_postgres.py -- sh -c '$(BIN)/pytest -q -n 3 --dist loadfile -m "not solo" && $(BIN)/pytest -q -m solo'


test: lint typecheck unit

bench: $(STAMP)
	$(BIN)/python benchmarks/overhead.py --out reports/overhead

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache $(AXE)/node_modules
