# conveyor: the README's two commands are `make demo` and `make test`; the rest are their parts.
SHELL := /bin/bash
.DEFAULT_GOAL := help
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: help deps venv k8s lint typecheck imports check unit test demo bench testenv-up testenv-down clean

help:
	@echo "make test   install what is missing, start the real services, run every check and test"
	@echo "make demo   sandbox + conveyor daemon: push an image, watch it released, roll it back"
	@echo "parts: deps venv k8s lint typecheck imports unit testenv-up testenv-down bench clean"

deps:  ## Debian packages (docker-registry, openssh-server, apache2-utils, git, gpg, chromium)
	@scripts/install-deps

$(STAMP): requirements.lock pyproject.toml scripts/bootstrap-venv
	@scripts/bootstrap-venv

venv: $(STAMP)

k8s:  ## etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kubectl, kwok (cached)
	@scripts/build-k8s >/dev/null

lint: $(STAMP)
	@echo "[check] ruff"
	@$(BIN)/ruff check src tests
	@$(BIN)/ruff format --check src tests

typecheck: $(STAMP)
	@echo "[check] mypy --strict"
	@$(BIN)/mypy

imports: $(STAMP)
	@echo "[check] import-linter"
	@$(BIN)/lint-imports

check: lint typecheck imports

unit: $(STAMP)
	@$(BIN)/pytest -m "not integration" -q

test: deps venv k8s check
	@scripts/run-tests

demo: deps venv k8s
	@scripts/demo

bench: deps venv k8s
	@scripts/run-bench

testenv-up: deps venv k8s
	@scripts/testenv up

testenv-down:
	@scripts/testenv down

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
