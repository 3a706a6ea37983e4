"""One evaluation function for every method in textxfer: scikit-learn metrics as a plain dict.

Single-label predictions are label ids; multi-label ones are ``(n, n_labels)`` 0/1 matrices (the
label sets), scored with subset accuracy and micro/macro-F1. ``tune_threshold`` picks the sigmoid
threshold that turns multi-label scores into sets (on dev).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import DataError

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(1, 20))  # 0.05 .. 0.95


def evaluate(y_true: Sequence, y_pred: Sequence, label_names: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        y_true: gold label ids, or for multi-label an ``(n, n_labels)`` 0/1 matrix.
        y_pred: predicted label ids (same length), or a 0/1 matrix like ``y_true``.
        label_names: names in id order; every id in ``range(len(label_names))`` is reported.

    Raises:
        DataError: lengths differ, nothing to evaluate, or an id outside ``label_names``.

    Returns:
        A JSON-ready dict: ``accuracy``, ``macro_f1``, ``n``, ``per_class`` (name -> precision,
        recall, f1, support), ``confusion_matrix`` (rows = gold, columns = predicted), ``labels``.
        Multi-label: ``task: multi-label``, ``accuracy`` and ``subset_accuracy`` (every label of a
        row right), ``micro_f1``, ``macro_f1``, ``samples_f1``, ``hamming_loss``, ``per_class`` and
        ``label_confusion`` (name -> [[tn, fp], [fn, tp]]) instead of the confusion matrix.

    >>> evaluate([0, 1, 1], [0, 1, 0], ["neg", "pos"])["accuracy"]
    0.6666666666666666
    """
    if np.ndim(y_true) == 2 or np.ndim(y_pred) == 2:
        return _evaluate_sets(np.asarray(y_true), np.asarray(y_pred), label_names)
    from sklearn.metrics import (
        accuracy_score,
        confusion_matrix,
        f1_score,
        precision_recall_fscore_support,
    )

    y_true = np.asarray(y_true, dtype=int)
    y_pred = np.asarray(y_pred, dtype=int)
    if y_true.shape != y_pred.shape:
        raise DataError(f"y_true and y_pred differ in length: {len(y_true)} vs {len(y_pred)}")
    if len(y_true) == 0:
        raise DataError("nothing to evaluate: y_true is empty; check the evaluation split has rows")
    ids = list(range(len(label_names)))
    for name, values in (("y_true", y_true), ("y_pred", y_pred)):
        outside = sorted(set(values.tolist()) - set(ids))
        if outside:  # sklearn would drop them from the per-class counts without a word
            raise DataError(
                f"{name} has label id(s) {outside[:5]} outside the {len(ids)} label names "
                f"{list(label_names)[:10]} (ids 0..{len(ids) - 1}); pass every label name, in id order"
            )
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=ids, zero_division=0
    )
    return {
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "macro_f1": float(f1_score(y_true, y_pred, labels=ids, average="macro", zero_division=0)),
        "n": int(len(y_true)),
        "per_class": _per_class(label_names, precision, recall, f1, support),
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        "labels": list(label_names),
    }


def _per_class(label_names, precision, recall, f1, support) -> dict:
    return {
        name: {"precision": float(p), "recall": float(r), "f1": float(f), "support": int(s)}
        for name, p, r, f, s in zip(label_names, precision, recall, f1, support)
    }


def _evaluate_sets(y_true: np.ndarray, y_pred: np.ndarray, label_names: Sequence[str]) -> dict:
    """``evaluate`` for multi-label 0/1 matrices."""
    from sklearn.metrics import (
        accuracy_score,
        f1_score,
        hamming_loss,
        multilabel_confusion_matrix,
        precision_recall_fscore_support,
    )

    if y_true.shape != y_pred.shape or y_true.ndim != 2 or y_true.shape[1] != len(label_names):
        raise ValueError(
            f"multi-label y_true and y_pred must both be (n, {len(label_names)}) 0/1 matrices, "
            f"found {y_true.shape} and {y_pred.shape}"
        )
    if len(y_true) == 0:
        raise ValueError(
            "nothing to evaluate: y_true is empty; check the evaluation split has rows"
        )
    y_true, y_pred = y_true.astype(int), y_pred.astype(int)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, zero_division=0
    )
    subset = float(accuracy_score(y_true, y_pred))  # scikit-learn: exact-set match per row

    def f1_avg(average: str) -> float:
        return float(f1_score(y_true, y_pred, average=average, zero_division=0))

    return {
        "task": "multi-label",
        "accuracy": subset,
        "subset_accuracy": subset,
        "micro_f1": f1_avg("micro"),
        "macro_f1": f1_avg("macro"),
        "samples_f1": f1_avg("samples"),
        "hamming_loss": float(hamming_loss(y_true, y_pred)),
        "n": int(len(y_true)),
        "per_class": _per_class(label_names, precision, recall, f1, support),
        "label_confusion": {
            name: m.tolist()
            for name, m in zip(label_names, multilabel_confusion_matrix(y_true, y_pred))
        },
        "labels": list(label_names),
    }


def tune_threshold(y_true, scores, thresholds: Sequence[float] = THRESHOLDS) -> float:
    """The score threshold with the best micro-F1 of ``scores >= t`` against the 0/1 ``y_true``
    (ties: the one closest to 0.5).

    >>> tune_threshold([[1, 0], [0, 1]], [[0.4, 0.1], [0.2, 0.3]])
    0.3
    """
    from sklearn.metrics import f1_score

    y_true, scores = np.asarray(y_true, dtype=int), np.asarray(scores, dtype=float)

    def key(t: float) -> tuple[float, float]:
        pred = (scores >= t).astype(int)
        return float(f1_score(y_true, pred, average="micro", zero_division=0)), -abs(t - 0.5)

    return float(max(thresholds, key=key))


def headline(metrics: dict) -> str:
    """The one-line summary commands print: accuracy and macro-F1, or for multi-label the subset
    accuracy, micro- and macro-F1 and the threshold.

    >>> headline({"accuracy": 0.9, "macro_f1": 0.85})
    'accuracy 0.9000, macro-F1 0.8500'
    """
    if metrics.get("task") != "multi-label":
        return f"accuracy {metrics['accuracy']:.4f}, macro-F1 {metrics['macro_f1']:.4f}"
    return (
        f"subset accuracy {metrics['accuracy']:.4f}, micro-F1 {metrics['micro_f1']:.4f}, "
        f"macro-F1 {metrics['macro_f1']:.4f} (threshold {metrics.get('threshold', 0.5):g})"
    )
