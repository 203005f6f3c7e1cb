# The two set-up commands of the README: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: run test install lint clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(INSTALLED): pyproject.toml examples/campaign-hello/pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[test]' -e examples/campaign-hello
	touch $@

# The bytecode of our own modules, which an editable install leaves uncompiled: where
# PYTHONDONTWRITEBYTECODE is set, every worker and test process would compile them again
# (half a second of each worker's start). Only changed files are compiled again.
install: $(INSTALLED)
	$(BIN)/python -m compileall -q core plugins webapp examples/campaign-hello

run: install
	$(BIN)/campaign db upgrade
	$(BIN)/campaign demo
	$(BIN)/campaign users ensure-admin
	$(BIN)/campaign serve

# One test process per core and one more (pytest-xdist): the kill and browser tests mostly
# wait, and worksteal hands their idle time to the others.
TEST_PROCESSES ?= $(shell $(PYTHON) -c 'import os; print((os.cpu_count() or 1) + 1)')

# The mass-print platform without the campaign-process bundle: engine, actions, archive and
# the campaign screens again with plugins.processes (and the workflows that need it) disabled.
WITHOUT_PROCESSES_TESTS := $(filter-out tests/test_engine_kill.py,$(wildcard tests/test_engine_*.py)) \
	$(wildcard tests/test_*_action.py) tests/test_print_engine.py tests/test_archive.py \
	tests/test_webapp_campaigns.py tests/test_webapp_archive.py tests/test_webapp_queries.py \
	tests/test_commands_campaigns.py

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n $(TEST_PROCESSES) --dist worksteal
	CAMPAIGN_DISABLE_PLUGINS=plugins.processes $(BIN)/python -m pytest -n $(TEST_PROCESSES) \
		--dist worksteal $(WITHOUT_PROCESSES_TESTS)

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
