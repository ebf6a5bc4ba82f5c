# meritnet: `make demo` sets up and runs the main job; `make test` sets up and runs the tests.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
export HARDHAT_DISABLE_TELEMETRY_PROMPT := true

.PHONY: setup demo test test-fast bench clean

setup: $(VENV)/.installed node_modules/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

demo: setup
	$(BIN)/meritnet demo

test: setup
	npx forge test
	$(BIN)/python -m pytest

test-fast: setup
	$(BIN)/python -m pytest -m "not slow and not devnet and not ipfs"

bench: setup
	$(BIN)/python -m pip install --quiet -e ".[bench]"
	$(BIN)/python -m benchmarks.round_gas
	$(BIN)/python -m benchmarks.meritrank
	$(BIN)/python -m benchmarks.storage --ipfs
	$(BIN)/python -m benchmarks.e2e_round --steps 2000
	$(BIN)/python -m benchmarks.repops
	$(BIN)/python -m benchmarks.disputes

clean:
	rm -rf $(VENV) node_modules .meritnet .pytest_cache
