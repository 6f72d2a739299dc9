# Two commands a newcomer needs: `make run` and `make test`.
# The Makefile creates .venv and installs the pinned requirements itself.

PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
PORT ?= 8000
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: run test lint install bench clean-var browser-deps

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): requirements.txt requirements-dev.txt | $(PY)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements-dev.txt
	touch $(STAMP)

install: $(STAMP)

## make run: migrate, seed demo data if the database is empty, start web + worker + beat + stripe.
## Demo defaults, each only when not set already: DEBUG=1; DELAY_NOTIFY_QUIET_MINUTES=0, so a delay email
## goes out within a minute of a slip (the delay-notices beat entry) instead of after the 30-minute quiet
## period; WORKER_POOL=threads (see HONCHO); the Stripe settings below.
##
## Card payments (README "Paying by card"): with no STRIPE_SECRET_KEY in the environment or .env, the shop
## talks to localstripe, a fake Stripe that the Procfile's stripe process (manage.py localstripe) runs on
## 127.0.0.1:$(LOCALSTRIPE_PORT), with fake keys and webhook secret. With real test-mode keys set instead
## (STRIPE_SECRET_KEY, STRIPE_PUBLISHABLE_KEY, and STRIPE_WEBHOOK_SECRET from `stripe listen`), none of these
## defaults apply: STRIPE_API_BASE stays empty, the same code talks to Stripe itself and the stripe process
## only waits.
LOCALSTRIPE_PORT ?= 8420
STRIPE_KEY_GIVEN := $(or $(STRIPE_SECRET_KEY),$(shell grep -sE '^(export )?STRIPE_SECRET_KEY=.' .env))
ifeq ($(STRIPE_KEY_GIVEN),)
run manage: export STRIPE_API_BASE ?= http://127.0.0.1:$(LOCALSTRIPE_PORT)
run manage: export STRIPE_SECRET_KEY = sk_test_localstripe
run manage: export STRIPE_PUBLISHABLE_KEY = pk_test_localstripe
run manage: export STRIPE_WEBHOOK_SECRET = whsec_localstripe
endif
run manage: export SHOP_BASE_URL ?= http://127.0.0.1:$(PORT)
run: export DELAY_NOTIFY_QUIET_MINUTES ?= 0
run: export WORKER_POOL ?= threads
run: install pdf-deps
	DEBUG=$${DEBUG:-1} $(PY) manage.py accounts_adopt
	DEBUG=$${DEBUG:-1} $(PY) manage.py migrate --noinput
	DEBUG=$${DEBUG:-1} $(PY) manage.py seed_demo --if-empty
	DEBUG=$${DEBUG:-1} $(PY) manage.py demo_staff
	@echo ""
	@echo "  The shop is starting at http://127.0.0.1:$(PORT)/  (admin: http://127.0.0.1:$(PORT)/admin/)"
	@if [ -n "$$STRIPE_API_BASE" ]; then \
	  echo "  Card payments: localstripe at $$STRIPE_API_BASE (try the card 4242 4242 4242 4242)."; \
	else echo "  Card payments: Stripe itself, with the keys from your environment."; fi
	@echo "  Stop everything with Ctrl+C."
	@echo ""
	@trap 'exit 0' INT; DEBUG=$${DEBUG:-1} PORT=$(PORT) $(HONCHO) start -f Procfile

## make manage CMD="payments_reconcile --stripe": a manage.py command against the shop `make run` runs (its
## database, and localstripe unless Stripe keys are set), from another terminal.
.PHONY: manage
manage: install
	DEBUG=$${DEBUG:-1} $(PY) manage.py $(CMD)

## Ctrl+C: honcho sends SIGTERM to each process's group, waits, and SIGKILLs what is left after its
## KILL_WAIT (5 s, no option for it). A worker on the filesystem broker needs up to about 5 s to stop
## cleanly (Celery's loop for brokers without events waits up to twice 2 s for a message before it sees
## the signal), so honcho gets 20 s here. The worker runs threads: the group signal would kill prefork's
## pool processes under their parent ("Process 'ForkPoolWorker-1' exited with signal 15"). The trap makes
## Ctrl+C, the way to stop the shop, exit 0 rather than make's "Error 130".
HONCHO := $(PY) -c 'import sys, honcho.command, honcho.manager; honcho.manager.KILL_WAIT = 20; sys.exit(honcho.command.main())'

## make messages: the German catalogue. Collects every translatable string of the code and the customer
## templates into locale/de/LC_MESSAGES/django.po (Django's makemessages; new ones come in untranslated,
## changed ones fuzzy: translate them there) and compiles it to django.mo, which is committed so that the
## shop itself needs no gettext. Needs GNU gettext (apt-get install gettext, done here as root).
## config/tests/test_translations.py fails on an untranslated or fuzzy entry and on a stale .mo.
MESSAGES_IGNORE := .venv node_modules static var bench e2e faults load deploy tests '*/tests/*' 'templates/admin/*'
.PHONY: messages
messages: install
	@command -v msgfmt >/dev/null || { [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null \
	  && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq gettext >/dev/null; } \
	  || { echo "make messages needs GNU gettext: sudo apt-get install gettext"; exit 1; }
	$(PY) manage.py makemessages -l de --no-obsolete $(addprefix --ignore=,$(MESSAGES_IGNORE))
	msgfmt --check -o locale/de/LC_MESSAGES/django.mo locale/de/LC_MESSAGES/django.po

## make test: the whole suite (SQLite by default; PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set), in
## TEST_WORKERS processes at once (pytest-xdist; most of the suite's time is spent waiting on browsers,
## servers and workers): each has its own test database, a test marked `exclusive` runs alone (conftest.py),
## and `--dist load` keeps pytest-django's order in each worker (docs/testing.md, "Parallel runs").
## TEST_WORKERS=0 runs it in one process, for debugging; PYTEST_ARGS adds pytest arguments.
TEST_WORKERS ?= 3
test: install browser-deps nginx-deps pdf-deps
	$(PY) -m pytest -n $(TEST_WORKERS) --dist load $(PYTEST_ARGS)

## make browser-deps: what the browser tests (e2e/, docs/testing.md) need besides Python packages:
## Debian's Chromium (apt-get, as root) and axe-core (npm ci from package-lock.json). Without them
## the browser tests skip, or fail under REQUIRE_SERVICES=1.
CHROMIUM_PATH ?= /usr/bin/chromium
AXE_JS := node_modules/axe-core/axe.min.js

browser-deps: $(AXE_JS)
	@if [ -x "$(CHROMIUM_PATH)" ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's chromium for the browser tests..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } \
	    || echo "browser-deps: apt-get install chromium FAILED: the browser tests will skip (fail with REQUIRE_SERVICES=1)"; \
	else \
	  echo "browser-deps: no Chromium at $(CHROMIUM_PATH), and installing it needs root and apt-get:"; \
	  echo "  run 'sudo apt-get install chromium' (or set CHROMIUM_PATH); until then the browser tests skip."; \
	fi

## make pdf-deps: what the invoice PDFs (invoices/rendering.py, WeasyPrint) need besides Python packages:
## Pango (libpango-1.0-0, libpangoft2-1.0-0) and the one font they embed, DejaVu Sans from fonts-dejavu-core
## (no web fonts), installed with apt-get as root. Without them rendering a PDF fails and the documents' tests
## fail; the sweep renders what is missing once they are there.
.PHONY: pdf-deps
pdf-deps:
	@if [ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] && ldconfig -p 2>/dev/null | grep -q libpangoft2-1.0; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Pango and fonts-dejavu-core for the invoice PDFs..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core >/dev/null; } \
	    || echo "pdf-deps: apt-get install FAILED: invoice PDFs cannot be rendered"; \
	else \
	  echo "pdf-deps: no Pango or DejaVu Sans, and installing them needs root and apt-get:"; \
	  echo "  run 'sudo apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core'."; \
	fi

## make nginx-deps: Debian's nginx for the deploy kit's test (e2e/test_nginx.py, docs/deploy.md), installed
## with apt-get as root; only the binary is used (the tests run their own nginx on free ports, so the
## package's own server is stopped and disabled where it was just started). Without it that test skips,
## or fails under REQUIRE_SERVICES=1. NGINX_PATH points at another nginx.
.PHONY: nginx-deps
nginx-deps:
	@if [ -n "$$NGINX_PATH" ] || command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's nginx for the deploy kit's test..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  if { apt-get update -qq && apt-get install -y -qq nginx >/dev/null; }; then \
	    { systemctl disable --now nginx || service nginx stop; } >/dev/null 2>&1 || true; \
	  else echo "nginx-deps: apt-get install nginx FAILED: the nginx test will skip (fail with REQUIRE_SERVICES=1)"; fi; \
	else \
	  echo "nginx-deps: no nginx, and installing it needs root and apt-get:"; \
	  echo "  run 'sudo apt-get install nginx' (or set NGINX_PATH); until then the nginx test skips."; \
	fi

$(AXE_JS): package.json package-lock.json
	@if command -v npm >/dev/null; then \
	  npm ci --no-audit --no-fund --loglevel=error && touch $(AXE_JS); \
	else \
	  echo "browser-deps: npm not found, so no axe-core: install Node.js and npm; until then the browser tests skip."; \
	fi

## make lint: ruff, then the floor plan's import contracts (pyproject.toml, docs/architecture.md).
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

## make bench / make load run the shop with production settings and pay with the test_card gateway:
## SHOP_TEST_HARNESS=1 marks their processes as a test harness, where config/settings.py allows it.
## make bench: every benchmark (bench/bench_*.py, the load test included), then ONE table of figures and
## their targets; JSON in bench/results/. Meaningful on PostgreSQL + Redis (DATABASE_URL, REDIS_URL; see
## bench/README.md). BENCH_ARGS="--quick" for a smoke run, "allocation fanout" for some, "--skip load".
.PHONY: load
bench: export SHOP_TEST_HARNESS = 1
bench: install wrk-deps
	$(PY) manage.py accounts_adopt
	$(PY) manage.py migrate --noinput
	$(PY) -m bench $(BENCH_ARGS)

## make wrk-deps: wrk, the HTTP load generator of the pages benchmark (bench/loadgen.py): Debian's package,
## installed with apt-get as root. It drives all its connections from one thread in C for a few percent of a
## core, where Python clients would take a good part of the two cores from the server they measure. Without it
## bench_pages falls back to Python threads (and says so in its figures).
.PHONY: wrk-deps
wrk-deps:
	@if command -v wrk >/dev/null; then :; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "Installing Debian's wrk for the pages benchmark..."; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; } \
	    || echo "wrk-deps: apt-get install wrk FAILED: the pages benchmark will use Python clients"; \
	else \
	  echo "wrk-deps: no wrk, and installing it needs root and apt-get:"; \
	  echo "  run 'sudo apt-get install wrk'; until then the pages benchmark uses Python clients."; \
	fi

## make load: the locust scenario (load/) against gunicorn + PostgreSQL + Redis with a Celery worker for
## LOAD_DURATION seconds (default 60), then oversold units and ledger drift; JSON in bench/results/load.json.
## LOAD_ARGS="--duration 120 --users 40" to change it.
load: export SHOP_TEST_HARNESS = 1
load: install
	$(PY) manage.py accounts_adopt
	$(PY) manage.py migrate --noinput
	$(PY) -m load $(LOAD_ARGS)

## make simulate: the promise simulator (issue 18 item 7, docs/dates.md "Measuring the promises"): a seeded
## 90-day shop driven through the real services on a throwaway database (SQLite in a temp folder, or a new
## PostgreSQL database beside DATABASE_URL's), then each target with ok/MISSED; exits 1 when one is missed.
## bench/results/simulate.json and simulate.svg. SEED=7 for another seed; SIMULATE_ARGS="--days 30" for more.
SEED ?= 2026
.PHONY: simulate
simulate: export SHOP_TEST_HARNESS = 1
simulate: install
	$(PY) -m bench.simulate --seed $(SEED) $(SIMULATE_ARGS)

## make scale-test: two web nodes (gunicorn) and two worker nodes (Celery, beat on the first) behind nginx,
## each its own process group and var/ folder, sharing only a PostgreSQL database made for the run
## (scale_<pid> on SCALE_POSTGRES_URL's server, dropped after), a Redis database it empties
## (SCALE_REDIS_URL, default redis://127.0.0.1:6379/13) and moto's S3 server; the locust scenario through
## nginx, one web and one worker node SIGKILLed half way; then failures, oversold units, ledger drift,
## emails lost or duplicated and the allocation backlog, with ok/MISSED; exits 1 when a target is missed.
## 2 to 3 minutes; needs nginx (apt-get install nginx). bench/results/scale.json; load/README.md.
## SCALE_ARGS="--duration 60 --users 16" to change it.
.PHONY: scale-test
scale-test: export SHOP_TEST_HARNESS = 1
scale-test: install
	$(PY) -m load.scale $(SCALE_ARGS)

clean-var:
	rm -rf var
