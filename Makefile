# MSPlex developer entry points. A fresh machine needs python3 (with venv) and make;
# `.ci/run` installs those and the test services first.
#
#   make run     create .venv, install, apply migrations and start the gateway (embedded: SQLite) with the
#                sandbox (`serve --demo`: the five vendor fakes connected to tenant "demo")
#   make test    install dev dependencies and Node peers, run the whole test suite (one worker per core)
#   make bench   gateway vs direct benchmark (PEERS=1 adds ContextForge and mcp-proxy)
#   make lint    ruff check + format check + mypy --strict
#
# Installs are skipped while pyproject.toml is unchanged (stamp files in .venv).

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP     := $(VENV)/.stamp-run
DEV_STAMP := $(VENV)/.stamp-dev
PYTEST_ARGS ?=
# pytest-xdist worker processes, one per core; WORKERS=0 runs the suite in one process
WORKERS ?= auto

.PHONY: run test bench lint clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(STAMP)

run: $(STAMP)
	$(BIN)/msplex serve --demo

test: $(DEV_STAMP)
	@if [ -f scripts/node-tools.sh ]; then bash scripts/node-tools.sh; fi
	$(BIN)/python -m pytest -n $(WORKERS) $(PYTEST_ARGS)

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy --strict src

clean-venv:
	rm -rf $(VENV)
