# wg-webhooks: every task people and CI run is a target here. `make help` lists them.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
RUN_STAMP := $(VENV)/.installed-run
PYTEST_ARGS ?=

.DEFAULT_GOAL := help

# What running needs: the package and its dependencies only (a newcomer's first `make run`).
$(RUN_STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -e .
	@touch $(RUN_STAMP)

# Everything: the test and benchmark extras too (make test, lint, bench).
$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	@touch $(STAMP) $(RUN_STAMP)

.PHONY: help
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F ':.*## ' '{printf "  make %-8s %s\n", $$1, $$2}'

.PHONY: install
install: $(STAMP) ## create .venv and install the project with its test extras

.PHONY: run
run: $(RUN_STAMP) ## run the whole stack: embedded Postgres and Redis, API, relay, worker, collector, Flower
	$(BIN)/wg-webhooks up

.PHONY: test
test: $(STAMP) ## run the whole test suite against real Postgres, Redis, Celery and HTTP receivers
	$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: lint
lint: $(STAMP) ## ruff (lint + format check), mypy (strict on services and workers), import layering
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/lint-imports --no-cache

.PHONY: bench
bench: $(STAMP) ## benchmarks: prints the figures table, writes JSON and a plot under .bench/
	$(BIN)/python -m tests.benchmarks

.PHONY: faults
faults: $(STAMP) ## the full fault run (kills, restarts, bad receivers); prints its seed and counts
	$(BIN)/python -m tests.faults

.PHONY: clean
clean: ## remove the virtualenv and local data (embedded Postgres and Redis)
	rm -rf $(VENV) .wg-webhooks .bench .pytest_cache .mypy_cache .ruff_cache
