# Two entry points: `make demo` (main job) and `make test`. Each creates .venv if missing.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install bench-incidents

$(STAMP): pyproject.toml
	test -x $(VENV)/bin/python || $(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(VENV)/bin/opsgraph demo

test: $(STAMP)
	$(VENV)/bin/python -m pytest

bench-incidents: $(STAMP)
	$(VENV)/bin/opsgraph bench incidents --scenarios sims/scenarios --out out/incidents.json
