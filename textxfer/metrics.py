"""One evaluation function for every method in textxfer: scikit-learn metrics as a plain dict."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .errors import DataError


def evaluate(y_true: Sequence[int], y_pred: Sequence[int], label_names: Sequence[str]) -> dict:
    """Accuracy, macro-F1, per-class precision/recall/F1/support and the confusion matrix.

    Args:
        y_true: gold label ids.
        y_pred: predicted label ids (same length).
        label_names: names in id order; every id in ``range(len(label_names))`` is reported.

    Raises:
        DataError: lengths differ, nothing to evaluate, or an id outside ``label_names``.

    Returns:
        A JSON-ready dict: ``accuracy``, ``macro_f1``, ``n``, ``per_class`` (name -> precision,
        recall, f1, support), ``confusion_matrix`` (rows = gold, columns = predicted), ``labels``.

    >>> evaluate([0, 1, 1], [0, 1, 0], ["neg", "pos"])["accuracy"]
    0.6666666666666666
    """
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
        "per_class": {
            name: {
                "precision": float(p),
                "recall": float(r),
                "f1": float(f),
                "support": int(s),
            }
            for name, p, r, f, s in zip(label_names, precision, recall, f1, support)
        },
        "confusion_matrix": confusion_matrix(y_true, y_pred, labels=ids).tolist(),
        "labels": list(label_names),
    }
