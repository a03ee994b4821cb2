# genoflow developer tasks. `make test` and `make demo` install what they need themselves.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# mosdepth: QC coverage in the pipeline; chromium: the QC/lake HTML checked in a real browser;
# slurm-wlm + munge: the one-node Slurm cluster Toil runs the pipeline on in the tests.
# libhts-dev: Debian 12's mosdepth dlopens libhts.so, which only the -dev package provides
# (without it: "could not load: libhts.so").
OS_TOOLS := bwa samtools bcftools tabix bgzip jq mosdepth chromium slurmctld slurmd munged
OS_PACKAGES := bwa samtools bcftools tabix jq mosdepth libhts-dev chromium slurm-wlm munge
PYTEST_ARGS ?=

.PHONY: help install venv node-tools os-tools toil wes sapporo test check lint format demo clean

help:
	@echo "make demo     run the main job end to end on Azurite + genoflow server"
	@echo "make test     install everything needed, then run the test suite"
	@echo "make check    ruff lint + format check + mypy"
	@echo "make install  create .venv with genoflow and its extras"

venv: $(BIN)/.installed
$(BIN)/.installed: pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[server,dev]'
	touch $@
install: venv

node-tools: node_modules/.installed
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "npm is needed for Azurite: apt-get install -y nodejs npm"; exit 2; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

os-tools:
	@missing=""; for tool in $(OS_TOOLS); do command -v $$tool >/dev/null || missing="$$missing $$tool"; done; \
	command -v mosdepth >/dev/null && { mosdepth --version >/dev/null 2>&1 || missing="$$missing libhts-dev"; }; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing$$missing from the OS packages"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(OS_PACKAGES) >/dev/null; \
	  else \
	    echo "missing:$$missing; run: sudo apt-get install -y $(OS_PACKAGES)"; exit 2; \
	  fi; \
	fi

# Toil lives in its own virtualenv (it pins its own cwltool); appended to PATH for the tests.
# The server extra is Toil's WES server (`toil server --bypass_celery`, tests/interop/); its
# WES backend imports the aws extra.
TOIL_VENV := .venv-toil
toil: $(TOIL_VENV)/.installed-server
$(TOIL_VENV)/.installed-server:
	test -x $(TOIL_VENV)/bin/python || $(PYTHON) -m venv $(TOIL_VENV)
	$(TOIL_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(TOIL_VENV)/bin/python -m pip install --quiet 'toil[cwl,server,aws]>=9'
	touch $@

# The GA4GH reference WES client and server (wes-service) in their own virtualenv: the tests
# run its wes-client against genoflow server (tests/server/test_wes_client.py) and genoflow
# against its wes-server (tests/interop/).
WES_VENV := .venv-wes
wes: $(WES_VENV)/.installed
$(WES_VENV)/.installed:
	test -x $(WES_VENV)/bin/python || $(PYTHON) -m venv $(WES_VENV)
	$(WES_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(WES_VENV)/bin/python -m pip install --quiet 'wes-service>=5,<6'
	touch $@

# Sapporo (a WES server) in its own virtualenv: tests/interop/ runs it without Docker, with a
# run.sh whose cwltool function calls cwltool on the host (written by the test from the
# package's own run.sh); its run.sh needs jq.
SAPPORO_VENV := .venv-sapporo
sapporo: $(SAPPORO_VENV)/.installed
$(SAPPORO_VENV)/.installed:
	test -x $(SAPPORO_VENV)/bin/python || $(PYTHON) -m venv $(SAPPORO_VENV)
	$(SAPPORO_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(SAPPORO_VENV)/bin/python -m pip install --quiet 'sapporo>=2.4,<3'
	touch $@

test: venv node-tools os-tools toil wes sapporo
	PATH="$$PATH:$(CURDIR)/$(TOIL_VENV)/bin" $(BIN)/python -m pytest $(PYTEST_ARGS)

check: venv
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench
	$(BIN)/mypy

format: venv
	$(BIN)/ruff check --fix src tests bench
	$(BIN)/ruff format src tests bench

# The main job on this machine: Azurite + genoflow server (left running: genoflow local down).
# DEMO_ARGS=--force submits a new run instead of returning the existing one.
demo: venv node-tools os-tools
	$(BIN)/python -m genoflow demo run $(DEMO_ARGS)

clean:
	rm -rf $(VENV) $(TOIL_VENV) $(WES_VENV) $(SAPPORO_VENV) node_modules .pytest_cache .mypy_cache .ruff_cache build dist src/*.egg-info
