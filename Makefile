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

# ---- research studies (SPEC §11): sweep, then `xtransfer study NAME` writes table + figures --------
# `make study-NAME` runs the demo scale (tiny model, embedded data, offline, minutes on a laptop);
# `make study-NAME SCALE=paper` the full grid with XLM-R large, Hub data and the X-STILTs recipe
# (experiment file study_<name>_paper.yaml). Outputs: $(STUDY_ROOT)/NAME/{runs,cache,report}.
SCALE ?= demo
STUDY_PAPER_ARGS := model=xlmr-large data=hub trainer=xstilts
STUDY_ROOT ?= outputs/studies$(if $(filter paper,$(SCALE)),/paper)
# $(call study,NAME,EXPERIMENT,EXTRA STUDY ARGS): the sweep, then the analysis.
define study
	$(VENV)/bin/xtransfer train -m +experiment=study_$(2)$(if $(filter paper,$(SCALE)),_paper) \
	    output_root=$(STUDY_ROOT)/$(1) $(if $(filter paper,$(SCALE)),$(STUDY_PAPER_ARGS))
	$(VENV)/bin/xtransfer study $(1) $(STUDY_ROOT)/$(1) --out $(STUDY_ROOT)/$(1)/report $(3)
endef

.PHONY: studies study-sequential study-data-volume study-morphology study-multimodal study-alignment

studies: study-sequential study-data-volume study-morphology study-multimodal study-alignment

study-sequential: setup          ## single vs multi-task vs sequential, same example budget (XTREME-R)
	$(call study,sequential,sequential)

study-data-volume: setup         ## zero-shot gain vs CC-100 size per language (correlations + scatter)
	$(call study,data-volume,data_volume)

study-morphology: setup          ## FEATS vs POS-only vs no intermediate; agglutinative group vs rest
	$(call study,morphology,morphology)

study-multimodal: setup          ## image-text contrastive intermediate task vs text-only (XNLI, XCOPA)
	$(call study,multimodal,multimodal)

study-alignment: setup           ## English vs translated vs mixed intermediate data; per-layer alignment
	$(call study,alignment,alignment)

clean:
	rm -rf outputs multirun .pytest_cache .ruff_cache
