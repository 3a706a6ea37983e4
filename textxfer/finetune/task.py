"""The sequence-classification task: model, tokenized data, loss and gathered evaluation.

These are the task-specific pieces ``finetune`` plugs into the shared stage (``textxfer.train.stage``);
any stage that trains a classifier (e.g. fine-tuning after domain adaptation) can reuse them.

Single-label tasks train with cross-entropy; multi-label ones (a ``List(ClassLabel)`` label) with
per-label binary cross-entropy, and predict the labels whose sigmoid reaches a threshold (tuned on
dev by default). With chunking every token window of a text is a training row with the text's
label, and evaluation aggregates the window logits per text (``textxfer.chunking``), so metrics
count texts, never windows.

>>> model, new_keys = build_classifier(path, ["negative", "positive"])      # doctest: +SKIP
>>> encoded = encode(dataset, tokenizer, max_length=128)                    # doctest: +SKIP
>>> metrics = evaluate_split(accelerator, model, test_dl, label_names)      # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..chunking import Chunking, aggregate, cut, warn_truncation
from ..data.multilabel import is_multilabel, label_names_of, multi_hot
from ..errors import ConfigError
from ..metrics import evaluate, tune_threshold
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


def build_classifier(
    model_path: str,
    label_names: list[str],
    dropout: float | None = None,
    multi_label: bool = False,
    from_scratch: bool = False,
):
    """``(model, new_keys)``: a sequence classifier with named labels (``problem_type``
    ``multi_label_classification`` for multi-label, so pipelines apply a sigmoid); ``new_keys``
    are the parameters the checkpoint did not provide (newly initialised head, pooler, ...).

    With ``from_scratch`` only the architecture (the config) is read and every weight is drawn at
    random (seeded by the caller): the same model trained without pretraining.
    """
    from transformers import AutoModelForSequenceClassification

    from ..models import load_pretrained

    config = model_config(model_path, dropout, **label_maps(label_names, multi_label))
    if from_scratch:
        model = AutoModelForSequenceClassification.from_config(config)
        return model, sorted(name for name, _ in model.named_parameters())
    model, info = load_pretrained(
        AutoModelForSequenceClassification, model_path, config=config, ignore_mismatched_sizes=True
    )
    mismatched = {k if isinstance(k, str) else k[0] for k in info.get("mismatched_keys", ())}
    return model, sorted(set(info.get("missing_keys", ())) | mismatched)


def encode(
    dataset,
    tokenizer,
    max_length: int,
    pad_to_max_length: bool = False,
    chunking: Chunking | None = None,
    where: str = "finetune",
):
    """Tokenize every split: one row per text truncated to ``max_length``, or with ``chunking``
    one row per token window. Rows keep ``label`` (a 0/1 float vector for multi-label) and get
    ``idx``, the row number of their text (exact gathering, and aggregation of windows).

    Warns when truncation shortens more than 10% of the texts (``textxfer.chunking``), naming
    the command ``where``.
    """
    window = chunking.window if chunking else max_length
    stride = chunking.stride if chunking else None
    padding = "max_length" if pad_to_max_length else False
    n_labels = len(label_names_of(dataset))
    multi = is_multilabel(dataset)

    def tokenize(batch, indices):
        enc, doc, n_windows = cut(
            tokenizer, batch["text"], window, stride, chunking is None, padding
        )
        labels = multi_hot(batch["label"], n_labels).astype(float) if multi else batch["label"]
        enc["label"] = [labels[d].tolist() if multi else labels[d] for d in doc]
        enc["idx"] = [indices[d] for d in doc]
        enc["n_windows"] = [int(n_windows[d]) for d in doc]
        return enc

    out, n_cut, n_texts = {}, 0, 0
    for split, ds in dataset.items():
        ds = ds.map(
            tokenize, batched=True, with_indices=True, remove_columns=ds.column_names,
            desc=f"tokenize {split}",
        )  # fmt: skip
        if chunking is None:
            n_cut += sum(n > 1 for n in ds["n_windows"])
            n_texts += len(ds)
        out[split] = ds.remove_columns("n_windows")
    if chunking is None:
        warn_truncation(n_cut, n_texts, max_length, where)
    return type(dataset)(out)


def class_weights(
    setting: str | list[float], labels: Sequence, n_labels: int, multi_label: bool = False
):
    """Loss weights per class: None, balanced (``n / (k * count_c)``; multi-label: the positive
    weight ``negatives / positives`` of each label) or the given list."""
    import torch

    if isinstance(setting, str):
        if setting == "none":
            return None
        if multi_label:
            positives = np.asarray(labels, dtype=float).sum(axis=0)
            weights = (len(labels) - positives) / np.maximum(positives, 1)
        else:
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


def _loss(logits, labels, weight=None, multi_label: bool = False):
    import torch.nn.functional as F

    weight = None if weight is None else weight.to(logits.device)
    if multi_label:
        return F.binary_cross_entropy_with_logits(logits.float(), labels.float(), pos_weight=weight)
    return F.cross_entropy(logits.float(), labels.long(), weight=weight)


class ClassificationLoss:
    """``loss_fn`` for ``TrainLoop``: (weighted) cross-entropy of the model's logits, or per-label
    binary cross-entropy (``weight`` is then each label's positive weight) for multi-label."""

    def __init__(self, weight: torch.Tensor | None = None, multi_label: bool = False) -> None:
        self.weight, self.multi_label = weight, multi_label

    def __call__(self, model, batch: dict) -> torch.Tensor:
        logits = model(**_inputs(batch)).logits  # (batch, n_labels)
        return _loss(logits, batch["labels"], self.weight, self.multi_label)


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


def evaluate_split(
    accelerator,
    model,
    dataloader,
    label_names: list[str],
    *,
    multi_label: bool = False,
    aggregation: str = "mean",
    threshold: float | None = None,
) -> dict[str, Any]:
    """``metrics.evaluate`` of the texts of a prepared dataloader, plus the mean row ``loss``.

    Rows of one text (token windows) are aggregated with ``aggregation``
    (``textxfer.chunking.aggregate``); a text is one row without chunking.

    Args:
        multi_label: sigmoid per label, label sets predicted by ``threshold``.
        aggregation: ``mean``, ``max`` or ``vote`` of the window logits.
        threshold: multi-label: the probability threshold; ``None`` tunes it on these rows
            (best micro-F1; use it on dev, then pass the result for test). Returned as
            ``threshold``.
    """
    import torch

    pred = gather_predictions(accelerator, model, dataloader)
    loss = _loss(torch.from_numpy(pred["logits"]), torch.from_numpy(pred["labels"]),
                 multi_label=multi_label)  # fmt: skip
    docs, proba = aggregate(pred["logits"], pred["ids"], aggregation, multi_label)
    first = np.unique(pred["ids"], return_index=True)[1]  # one row per text, in ``docs`` order
    gold = pred["labels"][first]
    if not multi_label:
        return {**evaluate(gold, proba.argmax(axis=1), label_names), "loss": float(loss)}
    if threshold is None:
        threshold = tune_threshold(gold, proba)
    metrics = evaluate(gold, (proba >= threshold).astype(int), label_names)
    return {**metrics, "threshold": float(threshold), "loss": float(loss)}


def scalar_metrics(metrics: dict[str, Any]) -> dict[str, float]:
    """The numeric entries of an ``evaluate_split`` dict (for logging and model selection)."""
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float))}
