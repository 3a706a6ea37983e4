"""textxfer: transfer learning on text behind one library, one CLI and one results format.

The user-facing names below are imported lazily (PEP 562), so ``import textxfer`` stays cheap and
optional extras (nlpaug, gensim) are only needed by the functions that use them. The entry points that
share a name with their module are imported from it: ``from textxfer.finetune.run import finetune``
(likewise ``augment``, ``adapt``, ``compare``), so ``textxfer.finetune.run`` is always the module.

>>> import textxfer
>>> ds = textxfer.load_data("sst2", k=8)                                   # doctest: +SKIP
>>> textxfer.train_baseline(textxfer.BaselineArgs("tfidf-lr"), ds).metrics  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "AdaptArgs": "textxfer.adapt.args",
    "AugmentArgs": "textxfer.augment.pipeline",
    "BaselineArgs": "textxfer.baselines",
    "CompareArgs": "textxfer.compare.grid",
    "DataArgs": "textxfer.data.load",
    "DataError": "textxfer.data.readers",
    "LoraArgs": "textxfer.train.args",
    "ModelArgs": "textxfer.train.args",
    "ModelNotFoundError": "textxfer.models",
    "TrainArgs": "textxfer.train.args",
    "adaptation_texts": "textxfer.data.load",
    "describe": "textxfer.data.load",
    "evaluate": "textxfer.metrics",
    "few_shot": "textxfer.data.load",
    "load_data": "textxfer.data.load",
    "load_predictor": "textxfer.predict",
    "make_baseline": "textxfer.baselines",
    "resolve_model": "textxfer.models",
    "save_data": "textxfer.data.load",
    "stratified_subsample": "textxfer.data.load",
    "train_baseline": "textxfer.baselines",
    "write_report": "textxfer.compare.report",
}

__all__ = [
    "AdaptArgs",
    "AugmentArgs",
    "BaselineArgs",
    "CompareArgs",
    "DataArgs",
    "DataError",
    "LoraArgs",
    "ModelArgs",
    "ModelNotFoundError",
    "TrainArgs",
    "__version__",
    "adaptation_texts",
    "describe",
    "evaluate",
    "few_shot",
    "load_data",
    "load_predictor",
    "make_baseline",
    "resolve_model",
    "save_data",
    "stratified_subsample",
    "train_baseline",
    "write_report",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'textxfer' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])
