"""textxfer: transfer learning on text behind one library, one CLI and one results format."""

from __future__ import annotations

__version__ = "0.1.0"

from .data import (
    DataArgs,
    DataError,
    describe,
    few_shot,
    load_data,
    save_data,
    stratified_subsample,
)
from .models import ModelNotFoundError, resolve_model

__all__ = [
    "DataArgs",
    "DataError",
    "ModelNotFoundError",
    "__version__",
    "describe",
    "few_shot",
    "load_data",
    "resolve_model",
    "save_data",
    "stratified_subsample",
]
