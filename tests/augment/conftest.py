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
