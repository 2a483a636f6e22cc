# Arrears: `make run` starts the embedded system, `make test` runs every test.
# Both install what they need: uv (into .tools/ when it is not on PATH) and the locked workspace.
SHELL := /bin/bash
PYTHON ?= python3
UV := $(shell command -v uv 2>/dev/null || echo $(CURDIR)/.tools/bin/uv)
RUN := $(UV) run --frozen
ROLE ?= admin
# USER is the login name in every shell: only USER=... on the command line names a console user.
CONSOLE_USER := $(if $(filter command line,$(origin USER)),$(USER),collector1)

.PHONY: install run test lint bench token password demo audit clean browsers

$(CURDIR)/.tools/bin/uv:
	@echo "installing uv into .tools/" >&2
	@$(PYTHON) -m venv $(CURDIR)/.tools
	@$(CURDIR)/.tools/bin/pip install --quiet uv >&2

.venv/.synced: $(UV) uv.lock pyproject.toml shared/pyproject.toml tools/pyproject.toml $(wildcard services/*/pyproject.toml)
	@$(UV) sync --frozen --all-packages --compile-bytecode >&2
	@# Compiled once here: every process of `make run` (and the tests' servers) would otherwise
	@# compile each module it imports at every start, where PYTHONDONTWRITEBYTECODE is set.
	@$(UV) run --frozen python -m compileall -q -j 0 shared/src tools/src services >/dev/null
	@touch $@

install: .venv/.synced

run: install
	$(RUN) python -m arrears_dev.devstack run

# The browser tests drive Debian's chromium with its chromedriver (never a downloaded browser);
# the font lets the zh-CN screenshots show Chinese.
browsers:
	@if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ] \
		|| [ ! -e /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ]; then \
		echo "installing chromium, chromium-driver and a CJK font for the browser tests" >&2; \
		( apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends chromium chromium-driver fonts-wqy-zenhei ) >/dev/null 2>&1 \
		|| echo "warning: could not install chromium; the browser tests will be skipped" >&2; \
	fi

test: install browsers
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

password: install
	@$(RUN) python -m arrears_dev.devstack password --user $(CONSOLE_USER)

audit: install
	@$(RUN) python -m arrears_dev.devstack audit $(ARGS)

clean:
	rm -rf .venv .tools .mypy_cache .ruff_cache .pytest_cache
