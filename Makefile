# Two entry points (see README "Quick start"):
#   make run   -> set up .venv and run the main job (verdict table + figures)
#   make test  -> set up .venv and run the whole test suite
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test setup clean docs examples

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

setup: $(VENV)/.installed

run: setup
	$(VENV)/bin/lottery-theory verify --quick

test: setup
	$(PY) -m pytest -q -m "not slow"

docs: setup  # API reference from the docstrings -> docs/api/index.html
	$(PY) docs/build_api.py docs/api

examples: setup  # every script in examples/, full size
	for f in examples/*.py; do echo "== $$f"; $(PY) $$f || exit 1; done

clean:
	rm -rf $(VENV) results
