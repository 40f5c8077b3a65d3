# Two entry points: `make demo` (main job) and `make test`. Each creates .venv if missing.
PYTHON ?= python3
VENV ?= .venv
STAMP := $(VENV)/.installed-stamp

.PHONY: demo test install bench-incidents bench-deps

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

# Peers for `python -m bench.peers`: the `bench` extra, plus NannyML without CUDA. nannyml's
# FLAML[automl] requirement pulls xgboost, whose wheel pulls nvidia-nccl-cu12; so nannyml (and
# segment-analytics-python, whose python-dateutil~=2.2 pin would downgrade pandas' dateutil) go in
# without their dependencies, then only what `import nannyml` needs, with xgboost-cpu for flaml.automl.
NANNYML_DEPS := 'flaml>=2.3.3,<3' 'xgboost-cpu<3' 'lightgbm>=3.3,<4.6' 'matplotlib>=3.7,<4' \
	'seaborn>=0.13,<0.14' 'category-encoders>=2.3,<3' 'pyjwt[crypto]' requests python-dateutil

bench-deps: $(STAMP)
	$(VENV)/bin/pip install -q -e '.[bench]'
	$(VENV)/bin/pip install -q --no-deps nannyml==0.13.1 'segment-analytics-python>=2.3,<3'
	$(VENV)/bin/pip install -q $(NANNYML_DEPS)
	$(VENV)/bin/python -W ignore -c "import nannyml; nannyml.CBPE; print('nannyml', nannyml.__version__, 'ready')"
	@if $(VENV)/bin/pip list 2>/dev/null | grep -i '^nvidia'; then echo 'CUDA packages got in' >&2; exit 1; fi
