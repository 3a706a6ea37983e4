"""Save and load contrastive few-shot models: the tuned encoder plus a JSON head.

Layout of a saved folder (written atomically)::

    DIR/config.json, model.safetensors, tokenizer files   the tuned encoder (AutoModel)
    DIR/head.json                                         the logistic-regression head (numbers)
    DIR/textxfer.json        {"kind": "fewshot", method, label_names, pooling, max_length,
                              chunking, head}
    DIR/metrics.json, train_log.jsonl, config.yaml        results, history, resolved config

Nothing in the folder is a pickle: the encoder is safetensors, the head JSON. The encoder folder is
also a plain model for ``--model DIR`` (``features-lr``, ``finetune``).

>>> from textxfer.predict import load_predictor
>>> clf = load_predictor("runs/fewshot/sst2")      # doctest: +SKIP
>>> clf.predict(["a great movie"])                 # doctest: +SKIP
['positive']
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..io import atomic_write_json, read_json, save_run
from ..predict import model_info
from .head import LinearHead

logger = logging.getLogger(__name__)

KIND = "fewshot"
HEAD_FILE = "head.json"

__all__ = ["HEAD_FILE", "KIND", "ContrastivePredictor", "load_predictor", "save_contrastive"]


def save_contrastive(
    folder: str | Path,
    model,
    tokenizer,
    head: LinearHead,
    *,
    info: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    history: list[dict] | None = None,
    config: dict[str, Any] | None = None,
) -> Path:
    """Write a contrastive model folder atomically (layout in the module docstring)."""

    def payload(tmp: Path) -> dict[str, Any]:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        atomic_write_json(tmp / HEAD_FILE, head.to_dict())
        return {"method": "contrastive-lr", "head": HEAD_FILE}

    save_run(folder, kind=KIND, info=info, metrics=metrics, config=config, history=history,
             payload=payload)  # fmt: skip
    logger.info("saved the contrastive model to %s", folder)
    return Path(folder)


class ContrastivePredictor:
    """``Predictor`` over a tuned encoder and its head: ``predict`` and ``predict_proba``."""

    def __init__(self, featurizer, head: LinearHead, label_names: list[str]) -> None:
        self.featurizer, self.head = featurizer, head
        self.label_names = list(label_names)

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), n_labels)``, columns in label order."""
        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, len(self.label_names)))
        return self.head.predict_proba(self.featurizer.transform(texts))

    def predict(self, texts: list[str]) -> list[str]:
        """Predicted label names."""
        return [self.label_names[i] for i in self.predict_proba(texts).argmax(axis=1)]


def load_predictor(folder: str | Path) -> ContrastivePredictor:
    """Load a ``textxfer fewshot`` output folder as a ``Predictor`` (for ``textxfer predict``)."""
    from ..baselines.features import TransformerFeaturizer

    folder = Path(folder)
    info = model_info(folder)
    head_path = folder / info.get("head", HEAD_FILE)
    if not head_path.is_file():
        raise DataError(
            f"{folder} has no {head_path.name}; expected a folder of `textxfer fewshot`"
        )
    head = LinearHead.from_dict(read_json(head_path))
    names = info["label_names"]
    if head.n_labels != len(names):
        raise DataError(
            f"{head_path} scores {head.n_labels} labels but the folder names {len(names)}: {names}"
        )
    chunking = info.get("chunking") or {}
    featurizer = TransformerFeaturizer(
        model=str(folder), pooling=info.get("pooling", "mean"),
        max_length=int(info.get("max_length", 128)), progress=False,
        chunk_window=chunking.get("chunk_window"), chunk_stride=chunking.get("chunk_stride"),
    )  # fmt: skip
    featurizer.fit(["."])  # loads the encoder; the featurizer learns nothing from texts
    return ContrastivePredictor(featurizer, head, names)
