# Two commands for a fresh machine with Python 3.11:  make demo  |  make test
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup demo test test-fast wheel-check bench clean

setup: $(VENV)/.installed

# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "syntwin needs Python 3.11"'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e ".[sdv,test]"
	@touch $@

demo: setup
	$(BIN)/syntwin run seer_breast_twins --out runs/demo --overwrite

test: setup
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not heavy"

# Build the wheel, install it in a clean venv and use it from outside the repository.
wheel-check: setup
	rm -rf build dist /tmp/syntwin-wheel-venv
	$(BIN)/pip wheel --quiet --no-deps -w dist .
	$(PY) -m venv /tmp/syntwin-wheel-venv
	/tmp/syntwin-wheel-venv/bin/pip install --quiet torch==2.13.0
	/tmp/syntwin-wheel-venv/bin/pip install --quiet dist/syntwin-*.whl
	cd /tmp && /tmp/syntwin-wheel-venv/bin/python -c "import syntwin, syntwin.graphs, syntwin.synthesis, syntwin.agents, syntwin.cohort, syntwin.scenario, syntwin.pipeline; from syntwin.scenario.load import shipped_scenarios; s = shipped_scenarios(); assert 'seer_breast_twins' in s, s; print('wheel ok:', sorted(s))"
	cd /tmp && /tmp/syntwin-wheel-venv/bin/syntwin --help > /dev/null
	cd /tmp && /tmp/syntwin-wheel-venv/bin/syntwin validate seer_breast_twins

clean:
	rm -rf $(VENV) build dist runs *.egg-info
