"""Load any saved textxfer model folder and predict: baselines and fine-tuned models alike.

Every model folder textxfer writes holds ``textxfer.json`` with at least ``{"kind": ...}``; the kind
picks the loader below. A loader returns an object with ``label_names``, ``predict(texts) -> list[str]``
and ``predict_proba(texts) -> np.ndarray`` (rows sum to 1, columns in ``label_names`` order).

>>> from textxfer.predict import load_predictor
>>> clf = load_predictor("runs/sst2-tfidf")          # doctest: +SKIP
>>> clf.predict(["a great movie"])                   # doctest: +SKIP
['positive']
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .io import read_json

MARKER = "textxfer.json"

# kind -> "module:function" taking the folder and returning a Predictor.
LOADERS = {
    "baseline": "textxfer.baselines.persist:load_predictor",
    "finetune": "textxfer.finetune.io:load_predictor",
}


class Predictor(Protocol):
    """What ``load_predictor`` returns."""

    label_names: list[str]

    def predict(self, texts: list[str]) -> list[str]: ...

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...


def model_info(folder: str | Path) -> dict[str, Any]:
    """The ``textxfer.json`` of a saved model folder, with a clear error when it is not one."""
    folder = Path(folder)
    marker = folder / MARKER
    if not marker.is_file():
        raise FileNotFoundError(
            f"{str(folder)!r} is not a textxfer model folder: expected {MARKER} in it (written by "
            "`textxfer baseline` or `textxfer finetune`); pass the folder given as --out there"
        )
    info = read_json(marker)
    if info.get("kind") not in LOADERS:
        raise ValueError(
            f"{marker} has kind {info.get('kind')!r}; expected one of {sorted(LOADERS)}"
        )
    return info


def load_predictor(folder: str | Path) -> Predictor:
    """Load a saved baseline or fine-tuned model folder as a ``Predictor``."""
    kind = model_info(folder)["kind"]
    module_name, func = LOADERS[kind].split(":")
    return getattr(importlib.import_module(module_name), func)(Path(folder))
