# KKA — the commands. `make run` and `make test` do all the set-up themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
KKA := $(BIN)/kka
export KKA_DATA_DIR ?= $(CURDIR)/var

# Debian packages: WeasyPrint's libraries and fonts to run; a browser and PDF tools to test.
RUN_PACKAGES := libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-noto-core
TEST_PACKAGES := $(RUN_PACKAGES) chromium poppler-utils qpdf gettext libreoffice-writer-nogui

.PHONY: run test test-faults check messages makemessages clean help sysdeps-run sysdeps-test doc-previews \
  bench bench-pages bench-load bench-audit bench-reports

help:
	@echo "make run    - install, migrate, create demo data once, serve on http://127.0.0.1:8000"
	@echo "make test   - install test tools and run the whole suite (unit, integration, browser)"
	@echo "make check  - ruff, format check, mypy, migrations check"
	@echo "make doc-previews - PNG of page 1 of every document kind (demo KKA) in docs/previews"
	@echo "make test-faults - the long fault runs (kill -9, 20 writers, database outage, backup under load)"
	@echo "make bench  - time producing documents; results in docs/performance.md"
	@echo "make bench-pages - key pages at 1,000 and 100,000 cases (SQLite and PostgreSQL)"
	@echo "make bench-load  - mixed load against gunicorn on PostgreSQL"
	@echo "make bench-audit - kka audit verify, rows per second"
	@echo "make bench-reports - program reports over 100,000 cases on PostgreSQL, with query plans"

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else 1)' || \
	  { echo "KKA needs Python 3.11 or newer (found: $$($(PYTHON) --version))."; exit 1; }
	@$(PYTHON) -m venv $(VENV) 2>/dev/null || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q python3-venv && \
	    rm -rf $(VENV) && $(PYTHON) -m venv $(VENV); \
	  else echo "Cannot create a virtual environment: install python3-venv (sudo apt-get install python3-venv)"; exit 1; fi; }
	@$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed-base: $(BIN)/python requirements/base.lock pyproject.toml
	$(BIN)/python -m pip install -q -r requirements/base.lock
	$(BIN)/python -m pip install -q --no-deps -e .
	@touch $@

$(VENV)/.installed-dev: $(VENV)/.installed-base requirements/dev.lock
	$(BIN)/python -m pip install -q -r requirements/dev.lock
	@touch $@

# Installs missing Debian packages when run as root with apt; otherwise says what to install.
define ensure_packages
	@missing=""; if command -v dpkg >/dev/null; then \
	  for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; fi; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $$missing; \
	  else echo "!!! Missing Debian packages:$$missing  (sudo apt-get install$$missing)"; fi; fi
endef

sysdeps-run:
	$(call ensure_packages,$(RUN_PACKAGES))

sysdeps-test:
	$(call ensure_packages,$(TEST_PACKAGES))

# Compiled message catalogues (.mo) are built here, not committed.
MO_FILES := $(patsubst %.po,%.mo,$(wildcard kka/locale/*/LC_MESSAGES/django.po))
messages: $(MO_FILES)
kka/locale/%/LC_MESSAGES/django.mo: kka/locale/%/LC_MESSAGES/django.po $(VENV)/.installed-base
	@$(BIN)/pybabel -q compile -d kka/locale -D django

run: sysdeps-run $(VENV)/.installed-base messages
	@$(KKA) run --prepare

test: sysdeps-test $(VENV)/.installed-dev messages
	$(BIN)/pytest $(PYTEST_ARGS)

# Long fault runs (marked `faults`, left out of `make test`); they start their own
# servers and exercise SQLite and PostgreSQL (PostgreSQL at KKA_FAULTS_PG_URL or
# postgres://postgres@127.0.0.1:5432/postgres).
test-faults: sysdeps-test $(VENV)/.installed-dev messages
	$(BIN)/pytest -m faults $(PYTEST_ARGS) tests/faults

check: $(VENV)/.installed-dev messages
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy kka
	$(BIN)/bandit -q -c pyproject.toml -r kka
	$(KKA) makemigrations --check --dry-run

makemessages: $(VENV)/.installed-dev
	cd kka && ../$(KKA) makemessages -l en --no-obsolete --add-location file

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache test-artifacts

# Page 1 of every document kind for the demo KKA, as PNG, built in a throwaway data dir.
doc-previews: sysdeps-run $(VENV)/.installed-base messages
	$(call ensure_packages,poppler-utils)
	@tmp=$$(mktemp -d) && trap 'rm -rf "$$tmp"' EXIT && \
	  KKA_DATA_DIR=$$tmp DATABASE_URL= $(KKA) migrate -v0 && \
	  KKA_DATA_DIR=$$tmp DATABASE_URL= $(KKA) documents preview --out docs/previews

bench: sysdeps-run $(VENV)/.installed-base messages
	$(BIN)/python bench/documents.py

bench-pages: sysdeps-run $(VENV)/.installed-dev messages
	$(BIN)/python bench/pages.py

bench-load: sysdeps-run $(VENV)/.installed-dev messages
	$(BIN)/python bench/load.py

bench-audit: sysdeps-run $(VENV)/.installed-dev messages
	$(BIN)/python bench/audit.py

bench-reports: sysdeps-run $(VENV)/.installed-dev messages
	$(BIN)/python bench/reports.py --reuse --explain
