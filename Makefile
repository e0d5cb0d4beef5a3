# HazardLoop — `make run` (demo server) and `make test` (the whole suite) work on a fresh machine.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
export FLASK_APP := wsgi.py
# `make run` and its steps are a first look on this machine: keys generated in instance/, cookies over http.
# Production runs without it (SECRET_KEY and AUDIT_KEY required; see the README's Security section).
DEV := HAZARDLOOP_ENV=development

.PHONY: run test deps assets translations browser migrate install-shipped seed lint bench clean scheduler

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

.stamp-deps: pyproject.toml | $(BIN)/python
	$(BIN)/pip install -q -e '.[dev]'
	@touch $@

deps: .stamp-deps

# Front-end packages come from the npm registry; copies live only in the (ignored) vendor folder.
.stamp-assets: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	rm -rf app/static/vendor && mkdir -p app/static/vendor/bpmn-js app/static/vendor/bootstrap app/static/vendor/chart.js
	cp node_modules/bpmn-js/dist/bpmn-navigated-viewer.production.min.js \
	   node_modules/bpmn-js/dist/bpmn-modeler.production.min.js app/static/vendor/bpmn-js/
	cp -r node_modules/bpmn-js/dist/assets app/static/vendor/bpmn-js/
	cp -r node_modules/bootstrap/dist/css node_modules/bootstrap/dist/js app/static/vendor/bootstrap/
	cp node_modules/chart.js/dist/chart.umd.min.js app/static/vendor/chart.js/
	@touch $@

assets: .stamp-assets

translations: deps
	@if [ -d app/translations ]; then $(BIN)/pybabel compile -f -d app/translations >/dev/null; fi

# Debian's Chromium for the browser tests (Playwright's own browser download cannot work here),
# plus a CJK font so that the screenshots in test-artifacts/ show Chinese text instead of boxes, and
# redis-server, which the tests start on a port of their own (the shared rate limit across two workers), and
# Pango for WeasyPrint, which prints the documents as PDF with those CJK fonts embedded.
DEBIAN_PACKAGES := chromium fonts-noto-cjk redis-server libpango-1.0-0 libpangoft2-1.0-0
browser:
	@{ command -v chromium >/dev/null 2>&1 && fc-list :lang=zh 2>/dev/null | grep -q . && command -v redis-server >/dev/null 2>&1 \
	   && ldconfig -p | grep -q libpangoft2-1.0; } || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; \
	  else sudo apt-get update -qq && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBIAN_PACKAGES) >/dev/null; fi; }

migrate: deps
	$(DEV) $(BIN)/flask db upgrade

# Reads never write: the shipped diagrams and forms are installed by this explicit step, after the migrations.
install-shipped: migrate
	$(DEV) $(BIN)/flask shipped install

seed: install-shipped
	$(DEV) $(BIN)/flask seed-demo --if-empty

run: deps assets translations seed
	$(DEV) SCHEDULER_IN_PROCESS=1 $(BIN)/flask run --host $(HOST) --port $(PORT)

test: deps assets translations browser
	$(BIN)/pytest $(PYTEST_ARGS)

# City-scale benchmark against PostgreSQL in its own database (hazardloop_bench, created and dropped):
# `make bench` (PRESET=small, CI-sized) or `make bench PRESET=city`; results in bench-results/.
PRESET ?= small
bench: deps translations
	$(BIN)/python -m app.bench run --preset $(PRESET)
	$(BIN)/python -m app.bench storage

# The scheduler as its own process (production style); `make run` already runs one inside the server.
scheduler: deps
	$(DEV) $(BIN)/flask scheduler run

lint: deps
	$(BIN)/ruff check app tests config.py wsgi.py

clean:
	rm -rf $(VENV) node_modules app/static/vendor .stamp-* instance/test-*
