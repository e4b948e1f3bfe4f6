# xtransfer developer targets. `make test` is what CI runs (see .ci/run).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: setup demo test test-slow lint format assets bench clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install -q --upgrade pip
	$(PIP) install -q -e '.[dev,plots]'
	touch $@

setup: $(VENV)/.installed

demo: setup                      ## the offline demo: tiny model, embedded data, all three phases
	$(VENV)/bin/xtransfer train

test: setup                      ## default suite (< 15 min on 2 cores)
	$(VENV)/bin/pytest -q -m "not slow"

test-slow: setup                 ## longer end-to-end runs
	$(VENV)/bin/pytest -q -m slow

lint: setup
	$(VENV)/bin/ruff check src tests scripts
	$(VENV)/bin/ruff format --check src tests scripts

format: setup
	$(VENV)/bin/ruff format src tests scripts
	$(VENV)/bin/ruff check --fix src tests scripts

assets: setup                    ## regenerate the embedded demo data and tiny tokenizer
	$(PY) scripts/make_demo_data.py
	$(PY) scripts/build_tiny_model.py
	$(PY) scripts/make_demo_qa.py
	$(PY) scripts/make_demo_tagging.py
	$(PY) scripts/make_demo_mc.py
	$(PY) scripts/make_demo_retrieval.py

bench: setup                     ## performance ratios against HF Trainer baselines (CPU: a few minutes)
	$(PY) scripts/bench.py

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache
