# Two commands: `make run` serves the whole system, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# daphne (default) or uvicorn, the faster one in docs/PERFORMANCE.md.
SERVER ?= daphne

.PHONY: run test setup lint format clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup
	@echo "Serving on http://$(HOST):$(PORT)/ (customer chat), /admin/ (supervisors)"
ifeq ($(SERVER),uvicorn)
	$(VENV)/bin/uvicorn --host $(HOST) --port $(PORT) --loop uvloop --ws websockets-sansio \
		--ws-per-message-deflate false cs_project.asgi:application
else
	$(PY) -m cs_project.daphne_server -b $(HOST) -p $(PORT) cs_project.asgi:application
endif

test: setup
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

lint:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
