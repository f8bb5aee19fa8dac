# The two commands of the README: `make run` and `make test`. Both install what they need first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install run test lint messages clean

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: install
	$(BIN)/ehalsodag serve --demo --host 127.0.0.1 --port 8000

lint: install
	$(BIN)/ruff check .
	$(BIN)/lint-imports

test: install lint
	$(BIN)/python -m pytest -q -ra -n 2 --dist loadfile

# Re-extract the translatable strings and merge them into the Swedish catalog.
messages: install
	$(BIN)/pybabel extract -F babel.cfg -k lazy -o platform/ehalsodag/translations/messages.pot --no-location .
	$(BIN)/pybabel update -i platform/ehalsodag/translations/messages.pot -d platform/ehalsodag/translations -l sv --no-fuzzy-matching

clean:
	rm -rf $(VENV) var .pytest_cache test-artifacts
