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

install: $(INSTALLED)

run: install
	$(BIN)/campaign db upgrade
	$(BIN)/campaign demo
	$(BIN)/campaign users ensure-admin
	$(BIN)/campaign serve

# One test process per core (pytest-xdist); worksteal evens out the slow kill and browser
# tests, which mostly wait.
test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n auto --dist worksteal

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
