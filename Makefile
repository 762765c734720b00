# deconflict — two commands: `make demo` and `make test`. Each does its own set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SYS_PKGS := postgresql chromium
SUDO := $(shell [ "$$(id -u)" = "0" ] || echo sudo)
# pytest-xdist workers of `make test` (2 cores on the CI machine; `TEST_WORKERS=0` runs serially).
TEST_WORKERS ?= 2

.PHONY: demo test lint typecheck unit bench deps deps-system venv assets wheel-check clean

# The main job: the broker plus the whole multi-party arrangement on the embedded SQLite default.
demo: $(VENV)/.ok assets
	$(VENV)/bin/deconflict demo

# The whole suite: lint, types, unit/property/integration tests, real PostgreSQL, real Chromium.
# The compiled kernels load into numba's cache (`deconflict warm-up`, about a minute the first
# time) on the second core while lint, types and the wheel check run.
test: deps
	$(VENV)/bin/deconflict warm-up > $(VENV)/warm-up.log 2>&1 & warm=$$!; \
	  $(VENV)/bin/ruff check src tests bench tools setup.py && \
	  $(VENV)/bin/ruff format --check src tests bench tools setup.py && \
	  $(VENV)/bin/mypy && $(PY) tools/wheel_check.py; rc=$$?; \
	  wait $$warm; warm_rc=$$?; cat $(VENV)/warm-up.log; \
	  if [ $$rc -ne 0 ]; then exit $$rc; fi; exit $$warm_rc
	$(VENV)/bin/pytest -q -p no:cacheprovider -n $(TEST_WORKERS); rc=$$?; \
	  if [ $$rc -eq 5 ]; then echo "pytest collected no tests: failing"; exit 1; fi; exit $$rc

lint:
	$(VENV)/bin/ruff check src tests bench tools setup.py && $(VENV)/bin/ruff format --check src tests bench tools setup.py && $(VENV)/bin/mypy

unit: $(VENV)/.ok
	$(VENV)/bin/pytest -q -m "not slow and not e2e and not pg"

bench: $(VENV)/.bench-ok
	$(PY) bench/run_all.py

deps: deps-system $(VENV)/.ok assets

deps-system:
	@dpkg -s $(SYS_PKGS) >/dev/null 2>&1 || { $(SUDO) apt-get update -q && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -q --no-install-recommends $(SYS_PKGS) fonts-dejavu-core; }

venv: $(VENV)/.ok

$(VENV)/.ok: pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[test]'
	touch $@

$(VENV)/.bench-ok: $(VENV)/.ok
	$(PY) -m pip install -q -e '.[test,bench]'
	touch $@

# Front-end assets from the npm registry, copied next to the dashboard (gitignored, never a CDN).
# The file list lives in tools/vendor_assets.py, which the wheel build (setup.py) runs too.
VENDOR := src/deconflict/web/static/vendor
DOCS_ASSETS := src/deconflict/web/docs_assets
assets: $(VENDOR)/.ok
$(VENDOR)/.ok: package.json package-lock.json tools/vendor_assets.py
	npm ci --no-audit --no-fund --loglevel=error
	$(PYTHON) tools/vendor_assets.py
	touch $@

# A wheel built from a fresh clone (npm assets vendored by the build hook), installed in a new venv,
# serves the map, the basemap and the API docs from `deconflict serve` (~40 s on an idle machine).
wheel-check: $(VENV)/.ok
	$(PY) tools/wheel_check.py

clean:
	rm -rf $(VENV) node_modules $(VENDOR) $(DOCS_ASSETS) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache
