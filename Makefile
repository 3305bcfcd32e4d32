# One command sets up a fresh machine, one runs the tests (see README.md).
# pyproject.toml declares compatible ranges; constraints.txt pins the exact set that
# `make setup` (and so CI) installs. PYTHON may be any of 3.10-3.12, e.g.
# `make setup PYTHON=python3.12 CONSTRAINTS=` (the pins are resolved on Python 3.11, so
# another Python installs from the ranges alone: leave CONSTRAINTS empty).
PYTHON ?= python3.11
VENV ?= .venv
CONSTRAINTS ?= constraints.txt
PY := $(VENV)/bin/python
PIP_CONSTRAINTS := $(if $(CONSTRAINTS),-c $(CONSTRAINTS))

.PHONY: setup test bench constraints clean

setup:
	$(PYTHON) -m venv $(VENV)
	# torch first: on these machines `torch==2.13.0` resolves to the local CPU wheel,
	# so the editable install below finds it satisfied and pulls no CUDA packages.
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet $(PIP_CONSTRAINTS) -e ".[dev,bench]"

test:
	$(PY) -m pytest -q

bench:
	$(PY) bench/frontend.py
	$(PY) bench/vggish.py
	$(PY) bench/compatibility.py

# Re-resolve the ranges in pyproject.toml in a scratch venv and rewrite constraints.txt
# with the newest versions they admit (then run `make setup test` and commit the file).
constraints:
	rm -rf build/constraints-venv
	$(PYTHON) -m venv build/constraints-venv
	build/constraints-venv/bin/python -m pip install --quiet torch==2.13.0
	build/constraints-venv/bin/python -m pip install --quiet -e ".[dev,bench]"
	{ sed -n '/^#/p' constraints.txt; \
	  build/constraints-venv/bin/python -m pip freeze --exclude-editable | sed 's/^\(torch==[^+]*\)+.*/\1/'; \
	} > constraints.txt.new
	mv constraints.txt.new constraints.txt
	rm -rf build/constraints-venv

clean:
	rm -rf $(VENV) build src/*.egg-info .pytest_cache
