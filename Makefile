# Podium — the two commands a newcomer needs: `make run` and `make test`.
# Each creates .venv from the lock files on first use; a fresh machine needs only Python 3.11+ and make.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PYTEST_ARGS ?=

.PHONY: run test lint bench bench-quick bench-ci lock clean help

help:
	@echo "make run    - set up, migrate, load the demo contest if the database is empty, serve on 127.0.0.1:8000"
	@echo "make test   - set up and run the test suite (PostgreSQL/Redis/browser suites when available)"
	@echo "make lint   - ruff + mypy"
	@echo "make bench  - benchmarks (figures go in bench/README.md)"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Runtime dependencies, pinned in requirements/run.lock (regenerate with `make lock`).
$(VENV)/.run-installed: $(BIN)/python requirements/run.lock pyproject.toml
	$(BIN)/pip install --quiet -r requirements/run.lock
	$(BIN)/pip install --quiet --no-deps -e .
	touch $@

# Test and development dependencies (includes the runtime ones), pinned in requirements/dev.lock.
$(VENV)/.dev-installed: $(VENV)/.run-installed requirements/dev.lock
	$(BIN)/pip install --quiet -r requirements/dev.lock
	touch $@

run: $(VENV)/.run-installed
	$(BIN)/podium db upgrade
	$(BIN)/podium demo --if-empty
	$(BIN)/podium serve --links

# Tests on the embedded default (SQLite). PostgreSQL, Redis and Chromium suites run when available and are
# required (fail instead of skip) with PODIUM_REQUIRE_SERVICES=1, as in .ci/run. Then, when PODIUM_TEST_PG_URL
# is set, the suite runs again with PostgreSQL + Redis as the application's backends.
test: $(VENV)/.dev-installed
	$(BIN)/pytest $(PYTEST_ARGS)
	@if [ -n "$$PODIUM_TEST_PG_URL" ]; then \
		echo "== the suite again on PostgreSQL + Redis =="; \
		PODIUM_TEST_DB=pg $(BIN)/pytest -m "not browser" --ignore=tests/scoring $(PYTEST_ARGS); \
	fi

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check judging scoring live tests bench migrations/env.py
	$(BIN)/mypy scoring live

bench: $(VENV)/.dev-installed
	$(BIN)/python bench/speed.py
	$(BIN)/python bench/fairness.py

bench-quick: $(VENV)/.dev-installed
	$(BIN)/python bench/fairness.py --quick

# The bounded contest day CI runs: correctness is checked (nothing lost, no duplicates, no errors); latency is
# printed. On PostgreSQL + Redis with two server processes when PODIUM_TEST_PG_URL is set, shaped like the national
# day (the board's viewers in a process of their own).
bench-ci: $(VENV)/.dev-installed
	$(BIN)/python bench/contest_day.py --quick --check
	@if [ -n "$$PODIUM_TEST_PG_URL" ]; then \
		$(BIN)/python bench/contest_day.py --quick --check --backend pg --workers 2 --board-process; \
	fi

lock: $(BIN)/python
	$(BIN)/pip install --quiet uv
	$(BIN)/uv pip compile pyproject.toml --extra pg --extra redis -o requirements/run.lock --python-version 3.11
	$(BIN)/uv pip compile pyproject.toml --extra pg --extra redis --extra test -o requirements/dev.lock --python-version 3.11

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
