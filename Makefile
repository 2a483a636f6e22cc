# Arrears: `make run` starts the embedded system, `make test` runs every test.
# Both install what they need: uv (into .tools/ when it is not on PATH) and the locked workspace.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
ROLE ?= admin

.PHONY: install run test lint bench token demo audit clean

$(CURDIR)/.tools/bin/uv:
	@echo "installing uv into .tools/" >&2
	@$(PYTHON) -m venv $(CURDIR)/.tools
	@$(CURDIR)/.tools/bin/pip install --quiet uv >&2

.venv/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml tools/pyproject.toml $(wildcard services/*/pyproject.toml)
	@$(UV) sync --frozen --all-packages >&2
	@touch $@

install: .venv/.synced

run: install
	$(RUN) python -m arrears_dev.devstack run

test: install
	$(RUN) pytest $(PYTEST_ARGS)

lint: install
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

bench: install
	$(RUN) python bench/case_service_bench.py

demo: install
	$(RUN) python -m arrears_dev.simulator $(ARGS)

token: install
	@$(RUN) python -m arrears_dev.devstack token --role $(ROLE)

audit: install
	@$(RUN) python -m arrears_dev.devstack audit $(ARGS)

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache
