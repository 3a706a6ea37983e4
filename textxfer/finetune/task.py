"""The sequence-classification task: model, tokenized data, loss and gathered evaluation.

These are the task-specific pieces ``finetune`` plugs into the shared stage (``textxfer.train.stage``);
any stage that trains a classifier (e.g. fine-tuning after domain adaptation) can reuse them.

>>> model, new_keys = build_classifier(path, ["negative", "positive"])      # doctest: +SKIP
>>> encoded = encode(dataset, tokenizer, max_length=128)                    # doctest: +SKIP
>>> metrics = evaluate_split(accelerator, model, test_dl, label_names)      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..errors import ConfigError
from ..metrics import evaluate
from ..models import label_maps

if TYPE_CHECKING:
    import torch

# Batch keys that are not model inputs.
EXTRA_COLUMNS = ("labels", "idx")


def model_config(model_path: str, dropout: float | None = None, **kwargs: Any):
    """``AutoConfig`` of ``model_path`` (with ``kwargs``), every dropout probability set to
    ``dropout`` unless it is None."""
    from transformers import AutoConfig

    config = AutoConfig.from_pretrained(model_path, **kwargs)
    if dropout is not None:
        for key, value in config.to_dict().items():
            if "dropout" in key and isinstance(value, float):
                setattr(config, key, float(dropout))
    return config


def build_classifier(model_path: str, label_names: list[str], dropout: float | None = None):
    """``(model, new_keys)``: a sequence classifier with named labels; ``new_keys`` are the
    parameters the checkpoint did not provide (newly initialised head, pooler, ...)."""
    from transformers import AutoModelForSequenceClassification

    config = model_config(model_path, dropout, **label_maps(label_names))
    model, info = AutoModelForSequenceClassification.from_pretrained(
        model_path, config=config, ignore_mismatched_sizes=True, output_loading_info=True
    )
    mismatched = {k if isinstance(k, str) else k[0] for k in info.get("mismatched_keys", ())}
    return model, sorted(set(info.get("missing_keys", ())) | mismatched)


def encode(dataset, tokenizer, max_length: int, pad_to_max_length: bool = False):
    """Tokenize every split; keep ``label`` and add ``idx`` (row number) for exact gathering."""
    padding = "max_length" if pad_to_max_length else False

    def tokenize(batch):
        return tokenizer(batch["text"], truncation=True, max_length=max_length, padding=padding)

    out = {}
    for split, ds in dataset.items():
        extra = [c for c in ds.column_names if c != "label"]
        ds = ds.map(tokenize, batched=True, remove_columns=extra, desc=f"tokenize {split}")
        out[split] = ds.add_column("idx", list(range(len(ds))))
    return type(dataset)(out)


def class_weights(setting: str | list[float], labels: Sequence[int], n_labels: int):
    """Loss weights per class: None, balanced (``n / (k * count_c)``) or the given list."""
    import torch

    if isinstance(setting, str):
        if setting == "none":
            return None
        counts = np.bincount(np.asarray(labels, dtype=int), minlength=n_labels)
        weights = len(labels) / (n_labels * np.maximum(counts, 1))
        return torch.tensor(weights, dtype=torch.float32)
    if len(setting) != n_labels:
        raise ConfigError(
            f"class_weights has {len(setting)} values but the data has {n_labels} labels; "
            "give one weight per label, in label order"
        )
    return torch.tensor(setting, dtype=torch.float32)


def _inputs(batch: dict) -> dict:
    return {k: v for k, v in batch.items() if k not in EXTRA_COLUMNS}


class ClassificationLoss:
    """``loss_fn`` for ``TrainLoop``: (weighted) cross-entropy of the model's logits."""

    def __init__(self, weight: torch.Tensor | None = None) -> None:
        self.weight = weight

    def __call__(self, model, batch: dict) -> torch.Tensor:
        import torch.nn.functional as F

        logits = model(**_inputs(batch)).logits  # (batch, n_labels)
        weight = None if self.weight is None else self.weight.to(logits.device)
        return F.cross_entropy(logits.float(), batch["labels"], weight=weight)


def gather_predictions(accelerator, model, dataloader) -> dict[str, np.ndarray]:
    """Logits, labels and row ids of a prepared dataloader, gathered from every process.

    ``gather_for_metrics`` drops the samples Accelerate repeats to even out the last batch, so
    each row appears exactly once (``ids`` lets callers check that).
    """
    import torch

    logits, labels, ids = [], [], []
    model.eval()
    with torch.no_grad():
        for batch in dataloader:
            out = model(**_inputs(batch)).logits.float()
            out, y, i = accelerator.gather_for_metrics((out, batch["labels"], batch["idx"]))
            logits.append(out.cpu())
            labels.append(y.cpu())
            ids.append(i.cpu())
    return {
        "logits": torch.cat(logits).numpy(),
        "labels": torch.cat(labels).numpy(),
        "ids": torch.cat(ids).numpy(),
    }


def evaluate_split(accelerator, model, dataloader, label_names: list[str]) -> dict[str, Any]:
    """``metrics.evaluate`` on a prepared dataloader plus the mean cross-entropy ``loss``."""
    import torch

    pred = gather_predictions(accelerator, model, dataloader)
    logits = torch.from_numpy(pred["logits"])
    loss = torch.nn.functional.cross_entropy(logits, torch.from_numpy(pred["labels"]).long())
    metrics = evaluate(pred["labels"], pred["logits"].argmax(axis=1), label_names)
    return {**metrics, "loss": float(loss)}


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of an ``evaluate_split`` dict (for logging and model selection)."""
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
