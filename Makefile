# The two commands of the README. Everything else is their plumbing.
SHELL := /bin/bash
VENV  := .venv
PY    := $(VENV)/bin/python
# The first Python >= 3.11 on PATH.
PYTHON ?= $(shell for p in python3.13 python3.12 python3.11 python3; do \
	command -v $$p >/dev/null && $$p -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null \
	&& { echo $$p; break; }; done)

.PHONY: demo test lint mutation

demo: $(VENV)/.installed
	$(VENV)/bin/smartcity demo

test: $(VENV)/.installed-test lint
	scripts/test-deps.sh
	$(PY) -m pytest -n 3 --dist loadfile

lint: $(VENV)/.installed-test
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy

# Mutation testing of the domain modules against their own tests ([tool.mutmut] in
# pyproject.toml; scores in MUTATION.md). Too slow for `make test` and CI. One module:
#   make mutation MUTANTS='river_monitor.trend.*'
MUTANTS ?=
mutation: $(VENV)/.installed-test
	$(PY) -c 'import mutmut' 2>/dev/null || $(PY) -m pip install --quiet 'mutmut>=3.8,<3.9'
	$(VENV)/bin/mutmut run $(if $(MUTANTS),'$(MUTANTS)')
	@$(VENV)/bin/mutmut results --all true | awk -F': ' '$$2 != "not checked" { m = $$1; \
		sub(/^ +/, "", m); sub(/\.[^.]*$$/, "", m); n[m]++; k[m] += ($$2 ~ /^(killed|timeout)$$/) } \
		END { for (m in n) printf "%-28s %4d / %4d killed\n", m, k[m], n[m] }'

$(VENV)/.installed: pyproject.toml
	@test -n "$(PYTHON)" || { echo "Python 3.11 or newer is required" >&2; exit 1; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-test: $(VENV)/.installed
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@
