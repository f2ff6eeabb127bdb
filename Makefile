# `make run` and `make test` do all the set-up on a fresh machine.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run worker test messages lint typecheck check migrate seed clean bench bench-search bench-search-heldout bench-catalog bench-agent bench-webhook bench-webhook-delivery bench-burst bench-ack bench-soak

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: requirements.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	touch $@

$(VENV)/.installed-dev: requirements.txt requirements-dev.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@ $(VENV)/.installed-run

## run: install, write a local .env when there is none (DEBUG on, a new SECRET_KEY,
## PUBLIC_BASE_URL from HOST and PORT), migrate, seed the demo and serve on
## http://127.0.0.1:8000 with Daphne (config/serve.py: Daphne's CLI with a redacted access
## log and bounded request bodies). `make run PORT=8111` serves and links on :8111.
run: $(VENV)/.installed-run
	$(BIN)/python -m config.local_env --host $(HOST) --port $(PORT) $(if $(filter command line environment,$(origin PORT) $(origin HOST)),--port-given)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py add_channel demo widget --name "Demo widget" --origin http://$(HOST):$(PORT) --origin http://localhost:$(PORT) --greeting "¡Hola! Soy Ana, asesora de Hidrolab. ¿Qué necesita medir?"
	$(BIN)/python -m config.serve -b $(HOST) -p $(PORT) config.asgi:application

## worker: one background worker in the foreground with the current settings (.env when
## present, else the same local defaults as `make run`); production runs several
worker: export DEBUG ?= $(if $(wildcard .env),,1)
worker: $(VENV)/.installed-run
	$(BIN)/python manage.py worker

## test: install the dev tools and run the whole pytest suite
test: $(VENV)/.installed-dev
	$(BIN)/pytest

## bench: every benchmark (prints figures; see benchmarks/README.md). Run on a quiet machine.
bench: bench-search bench-catalog bench-agent bench-webhook

bench-search: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.search_eval

## bench-search-heldout: hand-written catalogs and queries (issue 11), tune / heldout / generated side by side (ARGS="--misses --json out.json")
bench-search-heldout: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.search_heldout_eval $(ARGS)

bench-catalog: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.catalog_bench

bench-agent: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.agent_bench

bench-webhook: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.webhook_bench

## bench-webhook-delivery: outbound CRM webhooks delivered per second, 2 workers, a receiver answering in 100 ms (ARGS="--db mariadb --events 3000")
bench-webhook-delivery: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.webhook_delivery_bench $(ARGS)

## bench-burst: 200 then 1,000 chats at once, web + 2 workers, LLM 1 s (ARGS="--db mariadb")
bench-burst: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.burst_bench --chats 200,1000 $(ARGS)

## bench-ack: webhook acknowledgement, the product side by side with a FastAPI peer (ARGS="--server uvicorn --db mariadb")
bench-ack: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.ack_bench $(ARGS)

## bench-soak: 10 min of mixed Telegram, WhatsApp, widget and CRM API traffic, LLM failing 5 %, a worker SIGKILLed every 2 min (ARGS="--db mariadb --minutes 3")
bench-soak: $(VENV)/.installed-dev
	HF_HUB_OFFLINE=1 $(BIN)/python -m benchmarks.soak_bench $(ARGS)

## messages: extract the desk's strings into locale/*/LC_MESSAGES/django.po (needs GNU gettext:
## apt-get install gettext), then compile the .mo files; commit both (nothing else needs gettext)
messages: export DEBUG ?= 1
messages: $(VENV)/.installed-run
	$(BIN)/python manage.py makemessages -l es --no-obsolete --ignore=.venv --ignore=node_modules --ignore=staticfiles --ignore=media --ignore=chroma --ignore=tests
	$(BIN)/python manage.py compilemessages --ignore=.venv

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .

## typecheck: mypy with django-stubs on the apps (configured in pyproject.toml; strict on
## services and selectors)
typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache .mypy_cache
