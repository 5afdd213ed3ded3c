# lambdaclone — `make run` and `make test` are the only set-up a fresh machine needs.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV := $(shell command -v uv 2>/dev/null || echo $(HOME)/.local/bin/uv)
# mypy's cache outside the repo, like the tools: a clean clone checks only what changed
# (mypy keys it by its own version and each file's hash).
CHECK_CACHE ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/lambdaclone/checks
PYTEST_ARGS ?=
IMAGES ?=
REGISTRY ?=
REGISTRY_AUTHFILE ?=

.PHONY: help run test tools tools-run venv lint typecheck pytest bench bench-peers cluster images images-smoke push clean

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
	MYPY_CACHE_DIR=$(CHECK_CACHE)/mypy $(UV) run mypy

pytest: venv
	$(UV) run python -m tests.parts $(PYTEST_ARGS)

bench: venv tools ## print the benchmark tables (see docs/benchmarks.md)
	$(UV) run python bench/all.py

bench-peers: venv tools ## the invoke hop vs a Go reverse proxy and the worker called directly
	$(UV) run python -m bench.peers

cluster: venv ## a test cluster by hand: registry, control plane, kwok + real node, Traefik (Ctrl-C stops)
	$(UV) run python -m tests.fixtures.cluster up

images: ## build the container images (OCI layout in the cache; unchanged layers reused)
	python3 tools/images/build.py build $(IMAGES)

images-smoke: images ## run each image with runc (read-only root, uid 65532) and call it
	python3 tools/images/build.py smoke $(IMAGES)

push: images ## push the images: make images push REGISTRY=<host[:port]> [REGISTRY_AUTHFILE=f]
	@test -n "$(REGISTRY)" || { echo "usage: make push REGISTRY=<host[:port]>" >&2; exit 2; }
	python3 tools/images/build.py push --registry $(REGISTRY) $(if $(REGISTRY_AUTHFILE),--authfile $(REGISTRY_AUTHFILE)) $(IMAGES)

clean: ## remove local state (not the tool cache)
	rm -rf .venv .mypy_cache .ruff_cache .pytest_cache
