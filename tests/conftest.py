"""Shared fixtures: tiny local datasets and a tiny random BERT, built once per session, offline."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

# The tiny sentences live in scripts/ftutil.py, which the torchrun scripts import too.
sys.path.insert(0, str(Path(__file__).parent / "scripts"))
import ftutil  # noqa: E402


@pytest.fixture(scope="session")
def tiny_dataset_dir(tmp_path_factory) -> Path:
    """A folder with train (20 rows), dev (8) and test (8) CSVs of the tiny sentiment set."""
    return ftutil.write_data(tmp_path_factory.mktemp("tiny_data"))


@pytest.fixture(scope="session")
def _tiny_bert_master(tmp_path_factory) -> Path:
    from textxfer.testing import make_tiny_bert

    texts = [t for t, _ in ftutil.rows()] * 3
    return make_tiny_bert(tmp_path_factory.mktemp("tiny_bert_master"), texts=texts)


@pytest.fixture()
def tiny_bert(_tiny_bert_master, tmp_path) -> Path:
    """A private copy of a tiny random BERT (hidden 32, 2 layers, MLM head) with its WordPiece tokenizer."""
    return Path(shutil.copytree(_tiny_bert_master, tmp_path / "tiny_bert"))


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The real datasets folder (../shared/datasets); tests needing it skip when it is absent."""
    root = Path(os.environ.get("TEXTXFER_DATASETS", SHARED_DATASETS))
    if not root.is_dir():
        pytest.skip(f"real datasets not found at {root}")
    return root


@pytest.fixture(scope="session")
def _cache_root(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("textxfer_cache")


@pytest.fixture(autouse=True)
def _datasets_env(monkeypatch, request, _cache_root):
    """Point TEXTXFER_DATASETS at the shared folder when it exists, keep the Hub offline, cache in tmp."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")
    monkeypatch.setenv("TOKENIZERS_PARALLELISM", "false")
    monkeypatch.setenv("TEXTXFER_CACHE", str(_cache_root))  # never write the user's ~/.cache
    if "TEXTXFER_DATASETS" not in os.environ and SHARED_DATASETS.is_dir():
        monkeypatch.setenv("TEXTXFER_DATASETS", str(SHARED_DATASETS))


# --- fine-tuning modules: one tiny BERT and data folder per module, quiet transformers -------------


@pytest.fixture(scope="module")
def quiet_transformers():
    """No progress bars / load reports and one torch thread for a module (restored after)."""
    with ftutil.quiet():
        yield


@pytest.fixture(scope="module")
def bert(tmp_path_factory) -> Path:
    """A tiny random BERT (ftutil.make_bert) shared by the tests of one module."""
    return ftutil.make_bert(tmp_path_factory.mktemp("bert"))


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    """The 20-row tiny sentiment folder of ftutil (train / dev / test CSV)."""
    return ftutil.write_data(tmp_path_factory.mktemp("data"))
