# Two commands on a fresh machine: `make run` and `make test`. Everything else is set up on the way.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PORT ?= 8000
export PORT

.PHONY: install run test lint format bench drills fuzz clean

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

# Benchmarks: their own venv (the gateway's lock + bench/requirements.lock: matplotlib, Eve, gunicorn, ...),
# so `make test` never needs them; wrk from Debian. See bench/README.md.
BENCH_VENV := .venv-bench
$(BENCH_VENV)/.installed: requirements.lock bench/requirements.lock pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_VENV)/bin/python -m pip install --quiet -r requirements.lock -r bench/requirements.lock
	$(BENCH_VENV)/bin/python -m pip install --quiet --no-deps -e .
	touch $@

bench: $(BENCH_VENV)/.installed .cache/bin/ferretdb
	@command -v wrk >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq wrk >/dev/null)
	$(BENCH_VENV)/bin/python -m bench.run

# Reliability drills (tests/drills): 200 clients for 60 s, the database stopped for 10 s, the gateway SIGKILLed.
drills: install .cache/bin/ferretdb
	$(PY) -m pytest tests/drills -m drill -v $(PYTEST_ARGS)

# A longer schemathesis run than the one in `make test` (which uses 8 examples per operation).
fuzz: install .cache/bin/ferretdb
	HARI_FUZZ_EXAMPLES=$${HARI_FUZZ_EXAMPLES:-50} $(PY) -m pytest tests/e2e/test_schemathesis.py -v -s $(PYTEST_ARGS)

clean:
	rm -rf $(VENV) $(BENCH_VENV) .cache .data .pytest_cache
