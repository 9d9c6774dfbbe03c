# The two commands a newcomer runs: `make demo` and `make test`. Both install what they need.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha1sum | cut -c1-12)

.PHONY: demo test install compile postgres chromium bench-extraction clean

$(STAMP): pyproject.toml setup.py
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[test,browser]'
	@rm -f $(VENV)/.installed-* && touch $(STAMP)

install: $(STAMP)

# The parsers' hot modules compiled again after an edit (until then their source runs, slower).
compile: $(STAMP)
	$(BIN)/python -m pip install -q --no-deps -e .

demo: $(STAMP)
	$(BIN)/pagetrail demo

# PostgreSQL on 127.0.0.1:5432 (user postgres, trust auth, database `test`); started if down.
postgres:
	@pg_isready -q -h 127.0.0.1 -p 5432 || { \
	  echo "starting PostgreSQL"; \
	  pg_ctlcluster --skip-systemctl-redirect $$(ls /etc/postgresql | head -n1) main start; \
	  for i in $$(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done; }
	@psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" | grep -q 1 || \
	  psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"

# Debian's chromium for the browser tests (never a browser download). If it truly cannot be
# installed here, the browser tests are skipped and say so.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  echo "installing Debian's chromium for the browser tests"; \
	  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium) >/dev/null 2>&1 || \
	  echo "chromium could not be installed: browser tests will be skipped"; }

test: $(STAMP) postgres chromium
	@if command -v chromium >/dev/null 2>&1; then skip=0; else skip=1; fi; \
	PAGETRAIL_SKIP_BROWSER=$$skip $(BIN)/python -m pytest -q -n 2 --dist loadfile -p no:cacheprovider

bench-extraction: $(STAMP)
	$(BIN)/python bench/extraction.py

clean:
	rm -rf $(VENV) build *.egg-info demo.db* parsers/*.c parsers/*.so parsers/_compiled.json
