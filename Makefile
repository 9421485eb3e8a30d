# Two entry points for a fresh machine: `make demo` and `make test` (the README's quick start).
# Both create or reuse the virtual environment $(VENV), install torch first (`pip install torch==2.13.0`
# gives the CPU build on a machine without CUDA and the CUDA build on one with it), then this package
# with its test extra, pinned by constraints.txt.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.monai_lightseg-installed

.PHONY: install demo test lint clean-venv

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,dicom]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(PY) -m monai_lightseg demo

test: $(STAMP)
	$(PY) -m pytest -q -n auto

lint: $(STAMP)
	$(PY) -m flake8 monai_lightseg tests benchmarks scripts
	$(PY) -m isort --check-only monai_lightseg tests benchmarks scripts

clean-venv:
	rm -rf $(VENV)
