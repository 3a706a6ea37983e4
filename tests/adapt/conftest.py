"""Fixtures of the adaptation tests."""

from __future__ import annotations

from pathlib import Path

import ftutil
import pytest


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    """A tiny BERT saved without a masked-LM head (like the default sentence encoder)."""
    from textxfer.testing import make_tiny_bert

    texts = [t for t, _ in ftutil.rows()]
    return make_tiny_bert(tmp_path_factory.mktemp("encoder"), texts=texts * 3, with_mlm_head=False)
