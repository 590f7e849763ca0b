# lakeforge: the project's interface. `make demo` runs the platform locally end to end; `make test` tests it.
# Everything is installed into a project-local virtualenv (.venv) from requirements.txt (exact pins).
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

ENV ?= local
# deploy/destroy outside local show the plan and ask on the terminal; AUTO_APPROVE=1 applies without asking.
AUTO_APPROVE ?=
export AUTO_APPROVE
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export JSII_RUNTIME_PACKAGE_CACHE_ROOT := $(CURDIR)/.cache/jsii
export TF_CLI_CONFIG_FILE := $(CURDIR)/.cache/terraform/cli.tfrc
export PYTHONDONTWRITEBYTECODE := 1
export SPARK_LOCAL_IP := 127.0.0.1
export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: help install browser tfconfig lambda artifacts synth deploy destroy outputs up down demo modules dashboard status test bench clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

$(STAMP): requirements.txt modules/requirements.txt
	@echo "[install] virtualenv $(VENV) from requirements.txt" >&2
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	@$(PY) -m pip install --quiet --no-deps --require-virtualenv -r requirements.txt
	@$(PY) -m pip check >/dev/null || { $(PY) -m pip check; exit 1; }
	@touch $@

install: $(STAMP) ## create .venv and install the pinned dependencies

browser: ## Debian's chromium (the dashboard's browser test), installed when missing
	@command -v chromium >/dev/null || { echo "[browser] apt-get install chromium" >&2; \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get install -y -q chromium >/dev/null 2>&1 || { $$SUDO apt-get update -q >/dev/null && \
	  $$SUDO apt-get install -y -q chromium >/dev/null; }; }

tfconfig: $(STAMP) ## write the Terraform CLI config (offline provider mirror, LAKEFORGE_TF_PROVIDER_MIRROR overrides)
	@$(PY) -m local_runtime.terraform >/dev/null

lambda: $(STAMP) ## build the deterministic Lambda zips into build/lambda
	@$(PY) -m bundling.lambda_zip

artifacts: lambda ## build every deterministic artifact (Lambda zips, the Glue/EMR shared-code zip)
	@$(PY) -m bundling.glue_libs

synth: $(STAMP) tfconfig ## build the artifacts and synthesize every stack into cdktf.out/stacks (nothing if no source changed)
	@$(PY) -m bundling.synth

deploy: preflight-deploy synth ## terraform apply the stack of ENV (local, dev, prod; outside local: plan, then ask)
	@$(PY) -m local_runtime.stacks deploy $(ENV)

destroy: preflight-destroy tfconfig ## terraform destroy the stack of ENV (outside local: destroy plan, then ask)
	@$(PY) -m local_runtime.stacks destroy $(ENV)

outputs: preflight-outputs tfconfig ## the stack outputs of ENV as JSON on stdout
	@$(PY) -m local_runtime.stacks outputs $(ENV)

# Bad input fails before any work: an unknown ENV, or a question that cannot be asked (no terminal, no AUTO_APPROVE=1).
preflight-%: $(STAMP)
	@$(PY) -m local_runtime.stacks check $* $(ENV)

up: $(STAMP) ## start the local services (idempotent; leaves them running)
	@$(PY) -m local_runtime.services up

down: ## stop the local services that `make up` started
	@if [ -x $(PY) ]; then $(PY) -m local_runtime.services down; fi

demo: $(STAMP) tfconfig ## run the whole platform locally end to end (leaves it running; `make down` stops it)
	@$(PY) -m local_runtime.demo

modules: $(STAMP) artifacts ## emit every construct as a standalone Terraform module into terraform-modules/ (committed)
	@$(PY) -m compose.terraform_modules

dashboard: $(STAMP) ## write the local dashboard page (build/dashboard.html) from the warehouse `make demo` loaded
	@$(PY) -m local_runtime.dashboard

status: $(STAMP) tfconfig ## the local platform's health per layer: runs, counts, errors, alarms firing, lag (exit 1 on ALARM)
	@$(PY) -m local_runtime.status

test: synth browser ## run every test (unit, Spark, synth + validate + checkov, end to end on the emulator)
	@$(PY) -m pytest

bench: synth ## run the benchmarks and write BENCHMARKS.md
	@$(PY) -m benchmarks.run

clean: down ## remove build products, synthesized stacks, local state
	rm -rf build cdktf.out .state .pytest_cache
