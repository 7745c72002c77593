# ssod developer entry points. `make test` and `make demo` work on a fresh machine: they create
# .venv and install ssod with its test extras first.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: venv check test lint typecheck pytest demo bench clean interop-clients test-interop

$(STAMP): pyproject.toml tests/constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -c tests/constraints.txt -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Style, format, and the dependency rules of docs/architecture.md (pyproject.toml [tool.importlinter]).
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-cache

typecheck: $(STAMP)
	$(BIN)/mypy client/ssod daemon/ssod bench scripts
	cd tests && MYPYPATH=../daemon:../client ../$(BIN)/mypy --config-file ../pyproject.toml .

pytest: $(STAMP)
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The quick check before a commit (under a minute): lint, types and the unit tests (tests/unit:
# pure logic, no daemon). `make test` runs everything.
check: $(STAMP)
	@set -e; start=$$(date +%s); \
	$(MAKE) --no-print-directory lint; \
	$(MAKE) --no-print-directory typecheck; types_end=$$(date +%s); \
	$(BIN)/python -m pytest -q -p no:cacheprovider tests/unit $(PYTEST_ARGS); end=$$(date +%s); \
	echo "make check: lint and types $$((types_end-start))s, unit tests $$((end-types_end))s"

# Lint, types, then the whole test suite; prints how long each part took.
test: $(STAMP)
	@set -e; start=$$(date +%s); \
	$(MAKE) --no-print-directory lint; lint_end=$$(date +%s); \
	$(MAKE) --no-print-directory typecheck; type_end=$$(date +%s); \
	$(MAKE) --no-print-directory pytest; end=$$(date +%s); \
	echo "make test: lint $$((lint_end-start))s, typecheck $$((type_end-lint_end))s, pytest $$((end-type_end))s"

# The real AWS clients tests/interop drives (AWS CLI v1 and v2, the JS SDK); idempotent.
interop-clients:
	bash tests/interop/install_clients.sh

test-interop: $(STAMP) interop-clients
	$(BIN)/python -m pytest -m interop $(PYTEST_ARGS)

# ssod's main job on the built-in emulator, in a throwaway HOME; runs until Ctrl-C.
demo: $(STAMP)
	$(BIN)/python scripts/demo.py

# Benchmarks against the emulator (not part of `make test`): about 7 minutes; writes
# docs/performance.md and its plots. BENCH_ARGS=--quick for under 3 minutes.
bench: $(STAMP)
	$(BIN)/python -m pip install --quiet -c tests/constraints.txt -e '.[test,bench]'
	bash bench/install_tools.sh
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The virtual environment and every cache, wherever a tool left it (tests/.mypy_cache too); the
# interop clients (.interop, tests/interop/js/node_modules) stay: `make interop-clients` is slow.
clean:
	rm -rf $(VENV) build dist
	find . -path ./.git -prune -o -path ./.interop -prune -o -name node_modules -prune -o \
	    \( -name __pycache__ -o -name .mypy_cache -o -name .pytest_cache -o -name .ruff_cache \
	    -o -name .hypothesis -o -name '*.egg-info' \) -prune -exec rm -rf {} +
