# The two commands of the README: `make run` (the demo on embedded defaults) and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BI := $(VENV)/bin/bi
PYTEST_ARGS ?=

.PHONY: setup run test test-citus test-deps lint format db-up db-down notebooks screenshots bench clean

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

test: setup test-deps  ## the whole test suite (real PostgreSQL, simulator, papermill, dbt, Chromium)
	$(PY) -m pytest $(PYTEST_ARGS)

test-citus: setup  ## only the Citus scale-out tests (issue 18; also in `make test`): Citus build cached by version, 3 local nodes
	bash scripts/citus/build.sh >/dev/null
	$(PY) -m pytest tests/citus $(PYTEST_ARGS)

test-deps:  ## Debian packages the tests need: Chromium + chromedriver (browser tests), PostgreSQL 15 (SQL check)
	@missing=""; \
	command -v chromium >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v chromedriver >/dev/null 2>&1 || missing="$$missing chromium-driver"; \
	test -x /usr/lib/postgresql/15/bin/initdb || missing="$$missing postgresql-15"; \
	if [ -n "$$missing" ]; then \
	  echo "installing:$$missing"; \
	  SUDO=""; [ "$$(id -u)" -eq 0 ] || SUDO="sudo"; \
	  $$SUDO apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

lint:
	$(VENV)/bin/ruff check lib dash_app tests benchmarks scripts
	$(VENV)/bin/ruff format --check lib dash_app tests benchmarks scripts

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
	rm -rf $(VENV) .pytest_cache .ruff_cache dbt/target dbt/logs

freeze:  ## re-pin requirements.txt from the current venv (keep the comments at the top by hand)
	$(VENV)/bin/pip freeze --exclude-editable | sort > requirements.lock.tmp && echo "compare requirements.lock.tmp with requirements.txt"
