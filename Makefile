# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv with Python 3.11+ and install what they need.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast lint layers typecheck format format-check bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

demo: $(STAMP)
	$(PY) pipeline.py demo --out demo-output

# CI: everything (lint, format, layer rules, types, every test), the tests on two workers
# (pytest-xdist: 8.4 min instead of 14.2 on the 2-core CI machine).
test: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m pytest -q -n 2

# The same without the tests marked slow (over ~5 s each).
test-fast: $(STAMP)
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports
	$(PY) -m mypy
	$(PY) -m pytest -q -n 2 -m "not slow"

lint: $(STAMP)
	$(PY) -m ruff check .

# The layer rules of docs/design.md (import-linter contracts in pyproject.toml).
layers: $(STAMP)
	$(VENV)/bin/lint-imports

typecheck: $(STAMP)
	$(PY) -m mypy

format: $(STAMP)
	$(PY) -m ruff format .

format-check: $(STAMP)
	$(PY) -m ruff format --check .

bench: $(STAMP)
	for b in benchmarks/bench_*.py; do echo "== $$b"; $(PY) $$b || exit 1; done

clean:
	rm -rf $(VENV) demo-output .pytest_cache .import_linter_cache
