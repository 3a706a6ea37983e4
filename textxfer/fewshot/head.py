"""The logistic-regression head on the tuned sentence embeddings, kept as plain numbers.

scikit-learn fits it; ``LinearHead`` keeps only its coefficients, so a saved head is a JSON file
(never a pickle) and predictions in the run and from a saved folder go through the same code.
``predict_proba`` reproduces ``LogisticRegression.predict_proba`` (sigmoid for two classes,
softmax otherwise); columns follow the label order, with zeros for labels the head never saw.

>>> import numpy as np
>>> head = fit_head(np.array([[0.0, 1.0], [1.0, 0.0]]), [0, 1], n_labels=2)
>>> head.predict_proba(np.array([[0.0, 1.0]])).argmax(axis=1).tolist()
[0]
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from ..errors import DataError

__all__ = ["LinearHead", "fit_head", "normalize_rows"]


def normalize_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


@dataclass
class LinearHead:
    """A fitted linear classifier: ``coef`` (k or 1, d), ``intercept`` (k or 1), label ids ``classes``."""

    coef: list[list[float]]
    intercept: list[float]
    classes: list[int]
    n_labels: int
    normalize: bool = True

    def predict_proba(self, embeddings: np.ndarray) -> np.ndarray:
        """Probabilities ``(n, n_labels)`` of raw embeddings (normalised here when ``normalize``)."""
        x = np.asarray(embeddings, dtype=np.float64)
        if self.normalize:
            x = normalize_rows(x)
        scores = x @ np.asarray(self.coef).T + np.asarray(self.intercept)  # (n, k) or (n, 1)
        if scores.shape[1] == 1:  # binary: sklearn's sigmoid of the positive-class score
            positive = 1.0 / (1.0 + np.exp(-scores[:, 0]))
            probs = np.stack([1.0 - positive, positive], axis=1)
        else:
            scores = scores - scores.max(axis=1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(axis=1, keepdims=True)
        out = np.zeros((len(x), self.n_labels))
        out[:, self.classes] = probs
        return out

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> LinearHead:
        """Back from ``to_dict`` (e.g. ``head.json``), with a clear error when it is not a head."""
        try:
            head = cls(**{k: data[k] for k in ("coef", "intercept", "classes", "n_labels")},
                       normalize=bool(data.get("normalize", True)))  # fmt: skip
        except (KeyError, TypeError) as err:
            raise DataError(
                f"not a linear head (expected coef, intercept, classes, n_labels): {err}"
            ) from err
        if len(head.coef) != len(head.intercept):
            raise DataError(
                f"linear head: {len(head.coef)} coefficient rows but {len(head.intercept)} intercepts"
            )
        return head


def fit_head(
    embeddings: np.ndarray,
    labels,
    n_labels: int,
    c: float = 1.0,
    max_iter: int = 1000,
    balanced: bool = False,
    normalize: bool = True,
) -> LinearHead:
    """Fit an L2 logistic regression (lbfgs) on embeddings; returns its ``LinearHead``."""
    from sklearn.linear_model import LogisticRegression

    x = normalize_rows(np.asarray(embeddings, dtype=np.float64)) if normalize else embeddings
    clf = LogisticRegression(
        C=float(c), max_iter=int(max_iter), class_weight="balanced" if balanced else None
    )
    clf.fit(x, np.asarray(labels, dtype=int))
    return LinearHead(
        coef=clf.coef_.tolist(), intercept=clf.intercept_.tolist(),
        classes=[int(c) for c in clf.classes_], n_labels=int(n_labels), normalize=normalize,
    )  # fmt: skip
