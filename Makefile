# The two commands: `make run` and `make test`. Everything else is a helper of those.
# The newest interpreter on PATH that runs (3.13, then 3.12, then 3.11); `make PYTHON=python3.11` picks one.
# It only matters when the virtualenv is created: an existing $(VENV) is used as it is, whatever its version.
PYTHON ?= $(or $(shell for p in python3.13 python3.12 python3.11; do \
	$$p -c 'import sys; sys.exit(sys.version_info[:2] < (3, 11))' >/dev/null 2>&1 && { echo $$p; break; }; done),python3)
# Another virtualenv for another interpreter: `make test VENV=.venv311 PYTHON=python3.11` (.ci/run does).
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint typecheck migrate seed clean vendor-js vendor-axe python

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if (3, 11) <= sys.version_info[:2] < (3, 14) else "$(PYTHON) is not Python 3.11 to 3.13")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(STAMP): $(BIN)/python requirements.txt requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

migrate: $(STAMP)
	$(BIN)/python manage.py migrate --noinput

seed: migrate
	$(BIN)/python manage.py seed_demo --quiet-logins

## run: install, migrate, load the demo clinic, then run web + scan worker + email worker + beat until Ctrl-C
run: seed
	@echo ""
	@echo "The clinic backend is starting: web, scan worker, email worker and beat (Ctrl-C stops all four)."
	@$(BIN)/python manage.py seed_demo
	@echo ""
	PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/honcho start -f Procfile

## test: the whole suite (tests needing PostgreSQL or Redis skip on a bare machine unless REQUIRE_SERVICES=1)
test: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .

typecheck: $(STAMP)
	$(BIN)/mypy clinic patients programs assessments bench

## python: the interpreter of $(VENV) (or the one that would create it)
python:
	@if [ -x $(BIN)/python ]; then $(BIN)/python --version; else $(PYTHON) --version; fi

clean:
	rm -rf var .pytest_cache .mypy_cache

## vendor-js: refresh the chart library served from static files (Chart.js from npm; no CDN at run time)
CHARTJS_VERSION ?= 4.6.1
vendor-js:
	rm -rf var/vendor && mkdir -p var/vendor
	cd var/vendor && npm pack chart.js@$(CHARTJS_VERSION) --silent && tar xzf chart.js-$(CHARTJS_VERSION).tgz
	cp var/vendor/package/dist/chart.umd.min.js var/vendor/package/dist/chart.umd.min.js.map \
	   var/vendor/package/LICENSE.md assessments/static/vendor/chartjs/
	echo $(CHARTJS_VERSION) > assessments/static/vendor/chartjs/VERSION

## vendor-axe: refresh the accessibility checker of the browser tests (axe-core from npm; injected from the repo)
AXE_VERSION ?= 4.14.1
vendor-axe:
	rm -rf var/vendor-axe && mkdir -p var/vendor-axe tests/browser/vendor/axe-core
	cd var/vendor-axe && npm pack axe-core@$(AXE_VERSION) --silent && tar xzf axe-core-$(AXE_VERSION).tgz
	cp var/vendor-axe/package/axe.min.js var/vendor-axe/package/LICENSE tests/browser/vendor/axe-core/
	echo $(AXE_VERSION) > tests/browser/vendor/axe-core/VERSION
