# Two commands: `make run` serves the whole system, `make test` runs every check.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
# daphne (default) or uvicorn, the faster one in docs/PERFORMANCE.md.
SERVER ?= daphne

.PHONY: run test setup browser-deps nginx-deps lint format clean messages

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

setup: $(VENV)/.installed node_modules/.installed

# The browser tests drive Debian's Chromium, and Chinese needs a CJK font;
# the catalog test runs gettext's makemessages. Installed where we may (root,
# apt); elsewhere those tests skip and say why.
browser-deps:
	@if { ! command -v chromium >/dev/null 2>&1 || ! test -d /usr/share/fonts/opentype/noto \
		|| ! command -v msgfmt >/dev/null 2>&1; } \
		&& [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing Chromium, fonts-noto-cjk and gettext for the tests"; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-noto-cjk gettext >/dev/null \
		|| echo "Could not install them: the browser tests will skip"; \
	fi

# The deployment test runs nginx (as this user, on ports of its own, with
# deploy/nginx/chat.conf) in front of two servers, and curl for HTTP/2.
# Installed the same way,
# without starting the system's nginx: a policy-rc.d refuses the package's
# start while it installs (unless one is there already), and under systemd
# its unit is left disabled, so nothing takes port 80 now or at boot.
nginx-deps:
	@if { { ! command -v nginx >/dev/null 2>&1 && ! test -x /usr/sbin/nginx; } \
		|| ! command -v curl >/dev/null 2>&1; } \
		&& [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installing nginx (not started) and curl for the deployment test"; \
		policy=; \
		if [ ! -e /usr/sbin/policy-rc.d ]; then \
			printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy=1; \
		fi; \
		DEBIAN_FRONTEND=noninteractive apt-get update -qq \
		&& DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx curl >/dev/null \
		|| echo "Could not install nginx: the deployment test will skip"; \
		if [ -n "$$policy" ]; then rm -f /usr/sbin/policy-rc.d; fi; \
		if [ -d /run/systemd/system ]; then systemctl disable --quiet nginx.service 2>/dev/null || true; fi; \
	fi

# The local demo: DEBUG on, demo accounts with fresh random passwords printed
# below. HOST=0.0.0.0 shows all of it to every machine that can reach this one.
run: export DEBUG = 1
run: setup
	$(PY) manage.py migrate --noinput
	$(PY) manage.py demo_setup
	$(PY) manage.py seed_demo --if-empty --conversations 1500 --days 14 >/dev/null
	@echo "Serving on http://$(HOST):$(PORT)/ (customer chat), /console/ (agents),"
	@echo "  /admin/wallboard/ and /admin/reports/ (supervisors; the demo history is seeded once)"
ifeq ($(SERVER),uvicorn)
	$(VENV)/bin/uvicorn --host $(HOST) --port $(PORT) --loop uvloop --ws websockets-sansio \
		--ws-per-message-deflate false cs_project.asgi:application
else
	$(PY) -m cs_project.daphne_server -b $(HOST) -p $(PORT) cs_project.asgi:application
endif

test: setup browser-deps nginx-deps
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	DEBUG=1 $(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/pytest

# The zh_Hans catalogs: collect new strings into the .po files (translate
# them there), and compile. cs_project/tests/test_catalogs.py fails on any
# string left untranslated, fuzzy or not compiled.
messages: setup
	$(PY) -m cs_project.catalogs

lint:
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) node_modules staticfiles .pytest_cache .ruff_cache
