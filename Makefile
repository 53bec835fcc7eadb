# The two commands of the README, `make train` and `make test`, and `make bench`.
# Each installs what it needs on a fresh Debian-like machine.
PYTHON ?= python3
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: train test bench data

data:
	bash scripts/install-data.sh

train: data
	$(PIP) -e ".[train]"
	$(PYTHON) -m chainrule.cli train $(ARGS)

test: data
	$(PIP) -e ".[test]"
	$(PYTHON) -m pytest $(PYTEST_ARGS)

bench: data
	$(PIP) -e ".[bench]"
	$(PYTHON) -m benchmarks $(ARGS)
