# The two commands a new user needs: `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
ARTIFACTS ?= artifacts

.PHONY: demo test test-postgres test-clock-matrix lint format venv bench clean system-deps

venv: $(STAMP)

$(STAMP): pyproject.toml
	test -d $(VENV) || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

## Start the embedded Jira simulator with a sample agency, sync it, serve the dashboard.
demo: venv
	$(BIN)/python -m scopeguard_demo

## Lint, then the whole test suite (SQLite; PostgreSQL too when SCOPEGUARD_TEST_DATABASE_URL is set).
test: system-deps lint
	mkdir -p $(ARTIFACTS)
	$(BIN)/pytest -q -p no:cacheprovider

## The suite again against PostgreSQL (SCOPEGUARD_TEST_DATABASE_URL must name a server).
test-postgres: venv
	@test -n "$$SCOPEGUARD_TEST_DATABASE_URL" || (echo "set SCOPEGUARD_TEST_DATABASE_URL" >&2; exit 2)
	mkdir -p $(ARTIFACTS)
	SCOPEGUARD_TEST_DB=postgres $(BIN)/pytest -q -p no:cacheprovider tests/integration tests/e2e

## The suite once per pinned moment of tests/support/clock.py MATRIX (1st, 31st, DST day, 29 Feb).
CLOCK_MATRIX = 2026-12-01T00:30:00[Europe/Moscow] 2026-12-31T23:30:00[Europe/Moscow] \
	2026-10-25T03:30:00[Europe/Berlin] 2028-02-29T12:00:00[Europe/Moscow]
test-clock-matrix: venv
	mkdir -p $(ARTIFACTS)
	@set -e; for moment in $(CLOCK_MATRIX); do \
		echo "== SCOPEGUARD_TEST_NOW=$$moment"; \
		SCOPEGUARD_TEST_NOW="$$moment" $(BIN)/pytest -q -p no:cacheprovider; \
	done

## Debian packages the tests need (Chromium for the browser test, PostgreSQL, poppler…); idempotent.
system-deps:
	bash scripts/install-system-deps.sh

lint: venv
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy
	MYPYPATH=src:benchmarks:. $(BIN)/mypy benchmarks
	$(BIN)/hadolint Dockerfile

format: venv
	$(BIN)/ruff check --fix src tests benchmarks
	$(BIN)/ruff format src tests benchmarks

bench: venv
	$(BIN)/python benchmarks/sync.py

clean:
	rm -rf $(VENV) instance $(ARTIFACTS) .mypy_cache .ruff_cache
