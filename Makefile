# One-command entry points; every target creates/refreshes the virtualenv first.
PYTHON ?= python3
VENV := .venv
STAMP := $(VENV)/.installed-stamp
OUT ?= out
DEMO_STEPS ?=

.PHONY: install demo test test-fast lint benchmark
install: $(STAMP)

$(STAMP): requirements.txt model/pyproject.toml
	$(PYTHON) -m venv $(VENV)
	@echo "installing requirements.txt and ./model into $(VENV) (log: $(VENV)/install.log)"
	@{ $(VENV)/bin/pip install -q --disable-pip-version-check --upgrade pip && \
	   $(VENV)/bin/pip install -q --disable-pip-version-check -r requirements.txt -e ./model; } \
	   > $(VENV)/install.log 2>&1 || { tail -n 40 $(VENV)/install.log; exit 1; }
	touch $(STAMP)

# The main job: the whole Kubeflow pipeline on the bundled sample corpus, run locally by kfp.local.
demo: install
	$(VENV)/bin/python -m pipelines.kubeflow run-local --workdir $(OUT)/pipeline $(if $(DEMO_STEPS),--param steps=$(DEMO_STEPS))

lint: install
	$(VENV)/bin/ruff check .

test: lint
	$(VENV)/bin/python -m pytest tests -q -n 2 --dist loadfile

# Unit tests only (no Beam job, no training beyond a few in-process steps): a few minutes.
test-fast: lint
	$(VENV)/bin/python -m pytest tests -q -n 2 --dist loadfile -m "not slow"

benchmark: install
	$(VENV)/bin/python benchmarks/preprocess.py
	$(VENV)/bin/python benchmarks/train_throughput.py --data $(OUT)/data
	$(VENV)/bin/python benchmarks/time_to_alignment.py --data $(OUT)/data
	$(VENV)/bin/python benchmarks/synthesis.py
	$(VENV)/bin/python benchmarks/pipeline_local.py
