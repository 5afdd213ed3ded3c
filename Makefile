# lambdaclone — `make run` and `make test` are the only set-up a fresh machine needs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
PYTEST_ARGS ?=

.PHONY: help run test tools tools-run venv lint typecheck pytest bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

run: venv tools-run ## serve the API + console on http://127.0.0.1:8000 (local target, embedded store)
	$(UV) run lambdaclone serve

test: venv tools lint typecheck pytest ## every check and test, against the real tools

tools: ## find or build every external tool into the cache outside the repo
	bash tools/bootstrap.sh

tools-run: ## only what `make run` needs (the embedded store)
	bash tools/bootstrap.sh ferretdb

$(UV):
	@echo "[make] installing uv from PyPI ..."
	python3 -m pip install --quiet --user uv || python3 -m pip install --quiet --user --break-system-packages uv

venv: $(UV) ## the Python environment from uv.lock
	$(UV) sync --frozen --quiet

lint: venv ## ruff, the formatter and the layering contracts (pyproject's [tool.importlinter])
	$(UV) run ruff check .
	$(UV) run ruff format --check .
	$(UV) run lint-imports

typecheck: venv
	$(UV) run mypy

pytest: venv
	$(UV) run pytest $(PYTEST_ARGS)

bench: venv tools ## print the benchmark tables (see docs/benchmarks.md)
	$(UV) run python bench/all.py

clean: ## remove local state (not the tool cache)
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
