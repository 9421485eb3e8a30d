# Two entry points for a fresh machine: `make demo` and `make test` (the README's quick start).
# Both create or reuse the virtual environment $(VENV), install torch first (`pip install torch==2.13.0`
# gives the CPU build on a machine without CUDA and the CUDA build on one with it), then this package
# with its test extra, pinned by constraints.txt.
VENV ?= .venv
PYTHON ?= python3
PY := $(VENV)/bin/python
STAMP := $(VENV)/.monai_lightseg-installed

# MONAI Label runs in its own environment (apps/lightseg_label/requirements.txt says why): monailabel without
# its dependencies, then its requirements minus torchvision and sam2 with pydicom < 3, then this package
# without its dependencies (its pydicom >= 3 pin is what MONAI Label's pydicom-seg cannot take).
MLVENV ?= .venv-monailabel
MLPY := $(MLVENV)/bin/python
MLSTAMP := $(MLVENV)/.monai_lightseg-installed
MLREQ := apps/lightseg_label

.PHONY: install monailabel-env demo test lint clean-venv

$(STAMP): setup.cfg pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet torch==2.13.0
	$(PY) -m pip install --quiet -c constraints.txt -e ".[test,dicom,federated]"
	touch $(STAMP)

install: $(STAMP)

$(MLSTAMP): setup.cfg $(MLREQ)/requirements.txt $(MLREQ)/constraints.txt
	test -x $(MLPY) || $(PYTHON) -m venv $(MLVENV)
	$(MLPY) -m pip install --quiet --upgrade pip
	$(MLPY) -m pip install --quiet torch==2.13.0
	$(MLPY) -m pip install --quiet --no-deps monailabel==0.8.5
	$(MLPY) -m pip install --quiet -c $(MLREQ)/constraints.txt -r $(MLREQ)/requirements.txt
	$(MLPY) -m pip install --quiet --no-deps -e .
	touch $(MLSTAMP)

monailabel-env: $(MLSTAMP)

demo: $(STAMP)
	$(PY) -m monai_lightseg demo

test: $(STAMP) $(MLSTAMP)
	$(PY) -m pytest -q -n auto

lint: $(STAMP)
	$(PY) -m flake8 monai_lightseg tests benchmarks scripts apps
	$(PY) -m isort --check-only monai_lightseg tests benchmarks scripts apps

clean-venv:
	rm -rf $(VENV) $(MLVENV)
