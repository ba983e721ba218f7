# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: install run test lint format bench drills clean

$(VENV)/.installed: requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.lock
	$(PY) -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

.cache/bin/ferretdb: | install
	$(PY) -c "from pathlib import Path; from gateway.embedded_db import find_or_build_ferretdb; print(find_or_build_ferretdb(Path('.cache')))"

run: install .cache/bin/ferretdb
	$(VENV)/bin/hari-gateway serve --port $(PORT)

test: install .cache/bin/ferretdb
	$(VENV)/bin/ruff check .
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) .cache .data .pytest_cache
