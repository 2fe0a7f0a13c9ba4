# The README's commands. Everything installs itself here; nothing is installed by hand.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PORT ?= 8000
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export TOKENIZERS_PARALLELISM := false

.PHONY: setup run scale-demo test test-integration lint bench browser-deps balancer-deps migrate

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch first, pinned: pip then takes the CPU build on disk instead of a CUDA build.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

setup: $(STAMP)

browser-deps:
	@test -x /usr/bin/chromium || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; fi; }

balancer-deps:
	@command -v haproxy >/dev/null || test -x /usr/sbin/haproxy || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; fi; }

migrate: setup
	$(PY) manage.py migrate --noinput

run: migrate
	$(PY) manage.py seed_demo --port $(PORT)
	REPLYDESK_PORT=$(PORT) $(VENV)/bin/honcho -f platform/Procfile.embedded -d . start

# Scaled out on this machine: 2 web processes behind HAProxy, 2 workers, beat, on PostgreSQL and Redis
# (DATABASE_URL, REDIS_URL; defaults in platform/scale-demo/run.sh).
scale-demo: setup balancer-deps
	REPLYDESK_PORT=$(PORT) platform/scale-demo/run.sh

# The suite gets a var dir of its own (database, broker file), apart from `make run`'s.
test: setup browser-deps
	REPLYDESK_VAR_DIR=var/test $(PY) -m pytest $(PYTEST_ARGS)

# The integration tests again, on PostgreSQL + Redis (CI runs this after `make test`).
test-integration: setup
	DATABASE_URL=$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test} \
	REDIS_URL=$${REDIS_URL:-redis://127.0.0.1:6379/1} \
	REPLYDESK_VAR_DIR=var/test $(PY) -m pytest -m integration $(PYTEST_ARGS)

lint: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/lint-imports

BENCHES := $(patsubst bench/%.py,%,$(filter-out bench/_%,$(wildcard bench/*.py)))

bench: $(addprefix bench-,$(BENCHES))

bench-%: setup
	PYTHONPATH=. $(PY) bench/$*.py
