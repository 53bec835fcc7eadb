# The two commands of the README: `make train` and `make test`.
# Each installs what it needs on a fresh Debian-like machine.
PYTHON ?= python3
PIP = $(PYTHON) -m pip install --quiet --disable-pip-version-check

.PHONY: train test data

data:
	bash scripts/install-data.sh

train: data
	$(PIP) -e ".[train]"
	$(PYTHON) -m chainrule.cli train $(ARGS)

test: data
	$(PIP) -e ".[test]"
	$(PYTHON) -m pytest $(PYTEST_ARGS)
