# xtransfer developer targets. `make test` is what CI runs (see .ci/run).
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip

.PHONY: setup demo test test-slow lint format assets bench bench-gpu clean

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
	$(PY) scripts/make_demo_udfeats.py
	$(PY) scripts/make_demo_captions.py
	$(PY) scripts/make_demo_dual_encoder.py
	$(PY) scripts/make_demo_translated.py
	$(PY) scripts/make_demo_nli_extra.py

bench: setup                     ## performance ratios against HF Trainer baselines (CPU: a few minutes)
	$(PY) scripts/bench.py

bench-gpu:                       ## the one GPU check (< 8 min on one H100): XLM-R Large vs HF Trainer, profile
	PYTHON=$(if $(wildcard $(PY)),$(PY),python3) bash scripts/gpu_check.sh

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

# ---- paper tables (issue 6): sweep, then `xtransfer table` writes table.md/.csv and heatmaps ----
# `make table-NAME` runs at demo scale (tiny model, embedded data, offline, minutes on 2 cores);
# `make table-NAME SCALE=paper` the paper's grid with XLM-R large, Hub data and the X-STILTs
# recipe. Sweeps: src/xtransfer/conf/experiment/table_NAME[_paper].yaml. Outputs:
# $(TABLE_ROOT)/NAME/{runs,table.md,table.csv,heatmap.png,heatmap.pdf}; one phase cache for all
# tables ($(TABLE_ROOT)/cache), so the rows the tables share are trained once.
TABLE_ROOT ?= outputs/tables$(if $(filter paper,$(SCALE)),/paper)
TABLE_PAPER_ARGS := model=xlmr-large data=hub trainer=xstilts
# $(call paper_table,NAME,EXTRA RUN FOLDERS FOR THE GRID,EXTRA TABLE ARGS)
define paper_table
	$(if $(filter demo paper,$(SCALE)),,$(error SCALE must be demo or paper, not $(SCALE)))
	$(VENV)/bin/xtransfer train -m +experiment=table_$(1)$(if $(filter paper,$(SCALE)),_paper) \
	    output_root=$(TABLE_ROOT)/$(1) cache_dir=$(TABLE_ROOT)/cache \
	    $(if $(filter paper,$(SCALE)),$(TABLE_PAPER_ARGS))
	$(VENV)/bin/xtransfer table $(TABLE_ROOT)/$(1)/runs $(2) $(3) \
	    --output $(TABLE_ROOT)/$(1)/table.md --figure $(TABLE_ROOT)/$(1)/heatmap.png
	$(VENV)/bin/xtransfer table $(TABLE_ROOT)/$(1)/runs $(2) $(3) --format csv \
	    --output $(TABLE_ROOT)/$(1)/table.csv --figure $(TABLE_ROOT)/$(1)/heatmap.pdf > /dev/null
endef

.PHONY: tables table-main table-multitask table-mlm table-translated

tables: table-main table-multitask table-mlm table-translated

table-main: setup                ## intermediate x target grid against no intermediate task
	$(call paper_table,main,,$(if $(filter paper,$(SCALE)),--reference xlmr-large))

table-multitask: table-main      ## multi-task intermediate training beside the single-task rows
	$(call paper_table,multitask,$(TABLE_ROOT)/main/runs)

table-mlm: table-main            ## continued-MLM control: intermediate task + masked LM
	$(call paper_table,mlm,$(TABLE_ROOT)/main/runs)

table-translated: table-main     ## translated (non-English) intermediate data vs English
	$(call paper_table,translated,$(TABLE_ROOT)/main/runs)
