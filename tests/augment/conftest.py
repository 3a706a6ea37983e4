"""Fixtures of the augmentation tests: a fresh cache per test and the tiny training split."""

from __future__ import annotations

import pytest

from textxfer.data import load_data


@pytest.fixture(autouse=True)
def _cache_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("TEXTXFER_CACHE", str(tmp_path / "cache_root"))


@pytest.fixture(scope="module")
def train(tiny_dataset_dir):
    return load_data(str(tiny_dataset_dir))["train"]


@pytest.fixture(scope="session")
def _wordnet_index_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("wordnet_index")


@pytest.fixture(autouse=True)
def _shared_wordnet_index(_wordnet_index_dir, monkeypatch):
    """One synonym index per session: building it is a one-off cost that the per-test cache would repeat."""
    from textxfer.augment import wnindex

    monkeypatch.setattr(wnindex, "index_dir", lambda: _wordnet_index_dir)
