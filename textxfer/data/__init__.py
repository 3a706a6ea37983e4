"""Labelled text data as a ``datasets.DatasetDict`` (train/dev/test, ``text`` + ``ClassLabel``).

- ``load``: ``DataArgs``, ``load_data`` and the sources it reads (files, folders, named datasets, Hub).
- ``readers``: one table file (CSV/TSV/JSON/JSONL/Parquet) -> checked ``text``/``label`` frame.
- ``sampling``: seeded stratified held-out splits, few-shot subsets, capped splits.
- ``checks``: the one split check every consumer runs, and ``check_no_leak``.
"""

from ..errors import DataError
from .checks import check_no_leak, check_splits
from .load import DataArgs, adaptation_texts, describe, load_data, save_data
from .sampling import few_shot, stratified_split, stratified_subsample

__all__ = [
    "DataArgs",
    "DataError",
    "adaptation_texts",
    "check_no_leak",
    "check_splits",
    "describe",
    "few_shot",
    "load_data",
    "save_data",
    "stratified_split",
    "stratified_subsample",
]
