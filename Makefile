# Two commands for a fresh machine with Python 3.11:  make demo  |  make test
PY ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: setup setup-test demo test test-heavy test-all wheel-check docs bench clean

# `setup` installs what the default scenario needs (no BUSL SDV); `setup-test` adds the test extras.
setup: $(VENV)/.installed
setup-test: $(VENV)/.installed-test

# torch is installed first and pinned: an unpinned torch pulls a multi-GB CUDA build.
$(VENV)/.installed: pyproject.toml
	$(PY) -c 'import sys; assert sys.version_info[:2] == (3, 11), "syntwin needs Python 3.11"'
	$(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet torch==2.13.0
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(BIN)/pip install --quiet -e ".[test]"
	@touch $@

# Exit 3 is the privacy gate refusing the release (the run and its report are still published, the reasons
# printed): an outcome of the demo, not a failure of it.
demo: setup
	$(BIN)/syntwin run seer_breast_twins --out runs/demo --overwrite || test $$? -eq 3

# `test` is the README's test command (13 minutes on 2 cores); CI also runs `test-heavy` (the slow,
# minutes-long end-to-end runs: byte identity of every method, the real SEER subset, faults, batch, clusters).
test: setup-test
	$(BIN)/python -m pytest -m "not heavy"

test-heavy: setup-test
	$(BIN)/python -m pytest -m heavy

test-all: setup-test
	$(BIN)/python -m pytest

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
	# what `make demo` installs holds no BUSL-1.1 package (SDV and its companions are the `sdv` extra)
	/tmp/syntwin-wheel-venv/bin/pip list --format=freeze | grep -iE "^(sdv|ctgan|rdt|copulas|deepecho|sdmetrics)==" \
		&& { echo "BUSL package in the default install" >&2; exit 1; } || echo "no BUSL package in the default install"

# The API reference from the docstrings; --strict turns a broken docstring or link into an error.
docs: setup
	$(BIN)/pip install --quiet -e ".[docs]"
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build dist runs *.egg-info
