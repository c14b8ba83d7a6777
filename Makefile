# Celerity: `make help` lists the targets. `make run` and `make test` are all a fresh machine needs.
SHELL := /usr/bin/env bash
.SHELLFLAGS := -euo pipefail -c
.DEFAULT_GOAL := help

PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

$(STAMP): requirements/services.txt requirements/operator.txt requirements/client.txt requirements/dev.txt operator/pyproject.toml client/pyproject.toml
	@echo ">> creating $(VENV) with $(PYTHON) and installing pinned dependencies"
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --upgrade pip
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/dev.txt
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e operator/
	@$(BIN)/python -m pip install --quiet --disable-pip-version-check --no-deps -e client/
	@touch $@

.PHONY: help
help: ## list the targets
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: venv
venv: $(STAMP) ## create .venv and install the pinned dependencies

.PHONY: run
run: $(STAMP) ## run the whole platform locally (embedded Redis and Postgres unless REDIS_URL/DATABASE_URL are set)
	@exec $(BIN)/python -m devstack run

.PHONY: test
test: $(STAMP) tools ## lint, then run every test against real Redis, Postgres and Celery workers
	@$(MAKE) --no-print-directory lint
	@$(BIN)/python -m pytest $(PYTEST_ARGS)

.PHONY: lint
lint: $(STAMP) ## ruff, import contracts, mypy, shellcheck, hadolint
	@echo ">> lint"
	@$(BIN)/ruff check .
	@$(BIN)/ruff format --check .
	@PYTHONPATH=services:operator/src:client/src:. $(BIN)/lint-imports --no-cache
	@DATABASE_URL=postgres://lint@localhost/lint REDIS_URL=redis://localhost:6379/0 $(BIN)/mypy
	@files=$$(git ls-files '*.sh'); if [ -n "$$files" ]; then $(BIN)/shellcheck $$files; fi
	@files=$$(git ls-files '*Dockerfile'); if [ -n "$$files" ]; then $(BIN)/hadolint $$files; fi

.PHONY: fmt
fmt: $(STAMP) ## format and autofix
	@$(BIN)/ruff format .
	@$(BIN)/ruff check --fix .

.PHONY: tools
tools: ## install promtool, podman, runc and debootstrap (Debian's packages) when missing and possible
	@bash scripts/install-tools.sh

.PHONY: loadtest
loadtest: $(STAMP) ## run a load scenario (SCENARIO=chunked|chord|burst|mixed PROFILE=short|full TARGET=url TOKEN=...)
	@$(BIN)/python -m loadtests run $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(PROFILE),--profile $(PROFILE)) $(if $(TARGET),--target $(TARGET)) $(if $(TOKEN),--token $(TOKEN))

.PHONY: bench
bench: $(STAMP) ## benchmark Celerity against bare Celery (PLAN=default|peers|where|dispatch|knobs|chord|quick); refreshes docs/benchmarks.md
	@if [ "$(PLAN)" = "peers" ]; then \
		echo ">> installing requirements/peers.txt (the other task queues) into $(VENV)"; \
		$(BIN)/python -m pip install --quiet --disable-pip-version-check -r requirements/peers.txt; \
	fi
	@$(BIN)/python -m loadtests.bench $(if $(PLAN),--plan $(PLAN))

.PHONY: images
images: ## build the services and operator images with docker or podman (a local Debian base when none can be pulled)
	@bash scripts/images.sh

.PHONY: kind-up
kind-up: ## create a local kind cluster from scripts/kind/cluster.yaml
	@bash scripts/kind/up.sh

.PHONY: kind-load
kind-load: ## load the built images into the kind cluster
	@bash scripts/kind/load.sh

.PHONY: deploy
deploy: ## helm upgrade --install the chart into kind with charts/celerity/ci/values-kind.yaml
	@bash scripts/kind/deploy.sh

.PHONY: kind-test
kind-test: ## smoke test on kind: chunked and chord jobs succeed, the bulk pool scales up and back down
	@bash scripts/kind/smoke.sh

.PHONY: kind-down
kind-down: ## delete the kind cluster
	@bash scripts/kind/down.sh

.PHONY: clean
clean: ## remove local state (.run) and caches; keeps .venv
	@rm -rf .run .pytest_cache .mypy_cache .ruff_cache
