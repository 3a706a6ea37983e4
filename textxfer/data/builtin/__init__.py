"""Datasets that ship inside textxfer, so a fresh install has real data with no download and no
environment variable. There is one: ``subj``, the subjectivity dataset v1.0 by Bo Pang and Lillian
Lee (CC BY 4.0; attribution, origin and changes in ``subj/SOURCE.md``), 9,000 train / 1,000 test
sentences labelled ``subjective`` / ``objective``, stored as gzipped ``text,label`` CSV.

A dataset of the same name under ``$TEXTXFER_DATASETS`` takes precedence.

>>> from textxfer.data.builtin import builtin_folder, builtin_names
>>> builtin_names()
['subj']
>>> sorted(p.name for p in builtin_folder("subj").glob("*.csv.gz"))
['test.csv.gz', 'train.csv.gz']
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent

__all__ = ["ROOT", "builtin_folder", "builtin_names"]


def builtin_names() -> list[str]:
    """Names of the built-in datasets (folders beside this module with a ``SOURCE.md``)."""
    return sorted(p.parent.name for p in ROOT.glob("*/SOURCE.md"))


def builtin_folder(name: str) -> Path | None:
    """The folder of built-in dataset ``name`` (train/test files), or None when there is none."""
    return ROOT / name if name in builtin_names() else None
