# Two commands matter: `make run` and `make test`. Everything else is a step of those.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.13 || command -v python3.12 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
PG_URL ?= postgres://postgres@127.0.0.1:5432/altcraft_console
export DJANGO_SETTINGS_MODULE := altcraft_admin.settings
# Tests never read a developer's .env secrets; these stand in for them.
TEST_ENV := SECRET_KEY=tests-only-secret-key DEMO_PASSWORD=demo-password-for-tests CACHE_URL=locmemcache://

.PHONY: run test test-postgres test-sqlite lint format bench services chromium clean

$(PY):
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

.env:
	$(PY) bin/init_env.py

# For the console's processes, whose task worker reads bulk chunk bodies of up to 10 MB: glibc
# serves such a buffer with a mmap of its own, but then raises its threshold to the size just
# freed and from then on keeps freed bodies in its heaps, so a worker's memory would stay at
# its busiest. A fixed threshold turns that adjustment off: freed bodies go back to the system.
WORKER_MALLOC := MALLOC_MMAP_THRESHOLD_=131072

run: $(VENV)/.installed .env
	mkdir -p staticfiles
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo
	$(PY) manage.py seed_sandbox
	$(WORKER_MALLOC) $(PY) manage.py runconsole --port $(PORT)

# Debian's Chromium drives the browser tests; Playwright's own browser download is not used.
chromium:
	@command -v chromium >/dev/null || { apt-get update -qq && apt-get install -y -qq chromium; }

# The test services run on this machine; start whichever is down.
services:
	@pg_isready -q -h 127.0.0.1 -p 5432 || pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql) main start
	@for i in $$(seq 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
	@redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 || redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
	@for i in $$(seq 30); do redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1 && break; sleep 1; done

test: $(VENV)/.installed-dev chromium services
	$(MAKE) --no-print-directory test-postgres
	$(MAKE) --no-print-directory test-sqlite

# The whole suite on PostgreSQL, the production database. The audit tables refuse TRUNCATE
# unless a session allows it: the test runs do, for the flush between tests.
test-postgres: $(VENV)/.installed-dev
	$(TEST_ENV) DATABASE_URL="$(PG_URL)?options=-c%20altcraft.allow_truncate%3Don" $(PY) -m pytest

# The embedded path: everything that touches the database again on SQLite (no browser).
test-sqlite: $(VENV)/.installed-dev
	$(TEST_ENV) DATABASE_URL=sqlite:///$(CURDIR)/test-db.sqlite3 $(PY) -m pytest -m "not browser"

lint: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(VENV)/.installed-dev
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: $(VENV)/.installed-dev services
	@$(PY) bench/machine.py
	@status=0; for script in bench/bench_*.py; do echo "== $$script"; $(TEST_ENV) $(WORKER_MALLOC) DATABASE_URL=$(PG_URL) $(PY) $$script || status=1; done; exit $$status

clean:
	rm -rf $(VENV) db.sqlite3* test-db.sqlite3* staticfiles cache
