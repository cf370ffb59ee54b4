# Two commands for a fresh machine:
#   make demo   - create .venv, install freqlens (CPU torch), run the fp1d experiment, print where the report is
#   make test   - create .venv, install freqlens with test extras, run the test suite
PY ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# A CPU build of torch; override e.g. TORCH_SPEC="torch==2.13.0" or a CUDA wheel on a GPU machine.
TORCH_SPEC ?= torch==2.13.0
RUNS_DIR ?= runs

.PHONY: demo test install clean bench

$(BIN)/python:
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/pip install -q "$(TORCH_SPEC)"
	$(BIN)/pip install -q -e ".[test,nongd,ray]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/freqlens run fp1d --runs-dir $(RUNS_DIR)

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/python benchmarks/bench_loop.py

clean:
	rm -rf $(VENV) build src/*.egg-info
