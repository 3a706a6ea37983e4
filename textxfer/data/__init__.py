"""Labelled text data as a ``datasets.DatasetDict`` (train/dev/test, ``text`` + ``ClassLabel``).

- ``load``: ``DataArgs``, ``load_data`` and the sources it reads (files, folders, named datasets, Hub).
- ``readers``: one table file (CSV/TSV/JSON/JSONL/Parquet) -> checked ``text``/``label`` frame.
"""

from .load import (
    DataArgs,
    adaptation_texts,
    describe,
    few_shot,
    load_data,
    save_data,
    stratified_subsample,
)
from .readers import DataError

__all__ = [
    "DataArgs",
    "DataError",
    "adaptation_texts",
    "describe",
    "few_shot",
    "load_data",
    "save_data",
    "stratified_subsample",
]
