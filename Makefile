# One command sets up a fresh machine, one runs the tests (see README.md).
PYTHON ?= python3.11
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: setup test bench clean

setup:
	$(PYTHON) -m venv $(VENV)
	# torch first: on these machines `torch==2.13.0` resolves to the local CPU wheel,
	# so the editable install below finds it satisfied and pulls no CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -e ".[dev,bench]"

test:
	$(PY) -m pytest -q

bench:
	$(PY) bench/frontend.py
	$(PY) bench/vggish.py
	$(PY) bench/compatibility.py

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
