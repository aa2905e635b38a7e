# The two commands of the README: `make run` (the demo on embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BI := $(VENV)/bin/bi
PYTEST_ARGS ?=

.PHONY: setup run test test-fast test-citus test-deps test-stack stack-deps lint format db-up db-down notebooks screenshots bench clean

setup: $(VENV)/.setup-stamp  ## venv + pinned requirements + editable lib (idempotent)

$(VENV)/.setup-stamp: requirements.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	$(PY) -m pip install --quiet --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (indigitall-bi)" >/dev/null
	# dash ships an old-style Lab extension that makes JupyterLab's first start offer a node build
	rm -f $(VENV)/share/jupyter/lab/extensions/dash-jupyterlab.tgz
	touch $@

run: setup  ## the main job: embedded PostgreSQL, simulator, a full 90-day run, dashboards
	$(BI) demo

# tests/citus is `make test-citus` only (issue 18): a Citus build and three more servers; CI runs both.
test: setup test-deps stack-deps lint  ## lint, then the whole test suite except tests/citus (real PostgreSQL, simulator, papermill, dbt, Chromium, the stack)
	BI_STACK_REQUIRED=1 $(PY) -m pytest --ignore=tests/citus $(PYTEST_ARGS)

test-citus: setup  ## the Citus scale-out tests (issue 18; not in `make test`, run by .ci/run after it): Citus build cached by version, 3 local nodes
	@# exit 2: the build cannot run here (no Citus source, no PostgreSQL 15 packages): pytest skips, saying why
	bash scripts/citus/build.sh >/dev/null || [ $$? -eq 2 ]
	$(PY) -m pytest tests/citus $(PYTEST_ARGS)

# No browser, no PostgreSQL 15 binaries, no production stack, no Citus, no session dbt build, nothing
# marked slow: the embedded PostgreSQL and the simulator. Under 2 minutes warm on 2 idle cores.
FAST_MARKERS ?= not browser and not slow and not pg15 and not stack and not citus and not dbt
test-fast: setup  ## the quick subset while developing (see FAST_MARKERS)
	$(PY) -m pytest -q -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

# The production stack on loopback: PostgreSQL 15, migrate, simulator, Dash/Voila/Lab, Caddy, n8n,
# postgres-meta, Chromium (tests/test_stack.py), plus the compose and workflow checks.
test-stack: setup test-deps stack-deps
	BI_STACK_REQUIRED=1 $(PY) -m pytest tests/test_stack.py tests/test_compose.py tests/test_n8n_workflows.py $(PYTEST_ARGS)

stack-deps:  ## n8n, Node.js, Caddy, postgres-meta, PostgreSQL 15.x: once per version under ~/.cache/indigitall-bi/
	bash scripts/stack/install.sh

test-deps:  ## Debian packages the tests need: Chromium + chromedriver (browser tests), PostgreSQL 15, docker-compose (v1)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	command -v docker-compose >/dev/null 2>&1 || missing="$$missing docker-compose"; \
	command -v npm >/dev/null 2>&1 || missing="$$missing npm"; \
	test -x /usr/lib/postgresql/15/bin/initdb || missing="$$missing postgresql-15"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint: setup  ## ruff (lint + format check) on the code, mypy on lib/ (settings in pyproject.toml)
	$(VENV)/bin/ruff check lib dash_app tests benchmarks scripts
	$(VENV)/bin/ruff format --check lib dash_app tests benchmarks scripts
	$(VENV)/bin/mypy

format:
	$(VENV)/bin/ruff check --fix lib dash_app tests benchmarks scripts
	$(VENV)/bin/ruff format lib dash_app tests benchmarks scripts

db-up: setup
	$(BI) db up

db-down: setup
	$(BI) db down

bench: setup  ## benchmarks (not tests): figures to quote, not assertions
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache dbt/target dbt/logs

freeze:  ## re-pin requirements.txt from the current venv (keep the comments at the top by hand)
	$(VENV)/bin/pip freeze --exclude-editable | sort > requirements.lock.tmp && echo "compare requirements.lock.tmp with requirements.txt"
