# Two commands set everything up on a fresh machine: `make run` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 8501
# pytest-xdist workers of `make test` (the browser tests stay on one of them, in order: tests/conftest.py)
TEST_WORKERS ?= 2

.PHONY: run test install install-dev bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

$(VENV)/.installed: requirements.txt pyproject.toml | $(BIN)/python
	@echo "Installing the requirements into $(VENV) (the first time takes a minute or two; pip shows its progress)..."
	$(BIN)/pip install -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -e .
	@echo "Compiling the engines once (Numba caches the machine code)..."
	$(BIN)/python -m mfcore.models.warm
	touch $@

$(VENV)/.installed-dev: requirements-dev.txt requirements.txt $(VENV)/.installed
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

install: $(VENV)/.installed
install-dev: $(VENV)/.installed-dev

run: install
	$(BIN)/streamlit run Home.py --server.port $(PORT)

test: install-dev
	$(BIN)/python -m pytest -q -n $(TEST_WORKERS) $(PYTEST_ARGS)

bench: install-dev
	$(BIN)/python benchmarks/engines.py

clean:
	rm -rf $(VENV) .pytest_cache test-artifacts build dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
