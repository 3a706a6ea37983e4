"""Load any saved textxfer model folder and predict: baselines and fine-tuned models alike.

Every model folder textxfer writes holds ``textxfer.json`` with at least ``{"kind": ...}``; the kind
picks the loader below. A loader returns an object with ``label_names``, ``predict(texts) -> list[str]``
and ``predict_proba(texts) -> np.ndarray`` (rows sum to 1, columns in ``label_names`` order). A
multi-label model (``multi_label`` true) predicts a list of names per text, and its probabilities
are one per label (a row need not sum to 1).

>>> from textxfer.predict import load_predictor
>>> clf = load_predictor("runs/sst2-tfidf")          # doctest: +SKIP
>>> clf.predict(["a great movie"])                   # doctest: +SKIP
['positive']
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from .config import Args, field
from .errors import DataError
from .io import MARKER, read_run_info

# kind -> "module:function" taking the folder and returning a Predictor.
LOADERS = {
    "baseline": "textxfer.baselines.persist:load_predictor",
    "finetune": "textxfer.finetune.io:load_predictor",
    "fewshot": "textxfer.fewshot.io:load_predictor",
}

__all__ = ["LOADERS", "PredictArgs", "Predictor", "as_texts", "load_predictor", "model_info"]


@dataclass
class PredictArgs(Args):
    """What ``textxfer predict`` labels and where the predictions go."""

    model_dir: str | None = field(
        None, help="folder written by `textxfer baseline`, `finetune` or `fewshot`"
    )
    input: str | None = field(None, help="CSV/TSV/JSON/JSONL/Parquet file with a text column")
    text_column: str = field("text", help="text column of --input")
    out: str | None = field(None, help="write the predictions CSV here (default: print them)")
    overwrite: bool = field(
        False, help="replace the --out file when it exists", metadata={"per_run": True}
    )


class Predictor(Protocol):
    """What ``load_predictor`` returns."""

    label_names: list[str]

    def predict(self, texts: list[str]) -> list[str]: ...

    def predict_proba(self, texts: list[str]) -> np.ndarray: ...


def as_texts(texts) -> list[str]:
    """``texts`` as a list of strings; one string is refused (it would be read as characters).

    Raises:
        DataError: for a single string or a non-text value.
    """
    if isinstance(texts, (str, bytes)):
        raise DataError(
            "expected a list of texts, found a single string; wrap it in a list: [text]"
        )
    texts = list(texts)
    bad = [type(t).__name__ for t in texts if not isinstance(t, str)]
    if bad:
        raise DataError(f"expected texts (str), found {len(bad)} values of type {bad[0]}")
    return texts


def model_info(folder: str | Path) -> dict[str, Any]:
    """The marker of a saved model folder, with a clear error when it is not one."""
    folder = Path(folder)
    info = read_run_info(folder)
    if info is None:
        raise DataError(
            f"{str(folder)!r} is not a textxfer model folder: expected {MARKER} in it (written by "
            "`textxfer baseline`, `finetune` or `fewshot`); pass the folder given as --out there"
        )
    if info.get("kind") not in LOADERS:
        raise DataError(
            f"{folder} holds a {info.get('kind')!r} run, which predicts no labels; `textxfer "
            f"predict` takes folders of kind {sorted(LOADERS)} (from `textxfer baseline`, "
            "`finetune` or `fewshot`)"
        )
    return info


def load_predictor(folder: str | Path) -> Predictor:
    """Load a saved baseline or fine-tuned model folder as a ``Predictor``."""
    kind = model_info(folder)["kind"]
    module_name, func = LOADERS[kind].split(":")
    return getattr(importlib.import_module(module_name), func)(Path(folder))
