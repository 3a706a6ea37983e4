"""Save a fitted baseline to a folder and load it back as a ``Predictor``.

A baseline folder holds::

    textxfer.json     {"kind": "baseline", "method", "label_names", "pipeline", "encoder", versions}
    pipeline.joblib   the fitted scikit-learn Pipeline (classes are label ids)
    metrics.json      textxfer.metrics.evaluate output + fit_seconds, method, split sizes
    predictions.csv   text, gold, predicted, p_<label>... (probabilities when the model has them)
    config.yaml       every option used, sectioned (reusable as --config)
    encoder/          features-* with a model other than "default": the frozen encoder itself

``pipeline.joblib`` is a pickle: load only folders you trust.

>>> from textxfer.predict import load_predictor
>>> clf = load_predictor("runs/sst2-tfidf")      # doctest: +SKIP
>>> clf.predict(["a great movie"])               # doctest: +SKIP
['positive']
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError
from ..io import save_run
from ..predict import model_info

logger = logging.getLogger(__name__)

KIND = "baseline"
PIPELINE_FILE = "pipeline.joblib"
ENCODER_DIR = "encoder"


def _featurizers(pipeline) -> list:
    from .features import TransformerFeaturizer

    return [step for _, step in pipeline.steps if isinstance(step, TransformerFeaturizer)]


def _save_encoders(pipeline, folder: Path) -> str | None:
    """Save non-default frozen encoders into ``folder/encoder`` so the folder is self-contained."""
    for featurizer in _featurizers(pipeline):
        if featurizer.model == "default":
            continue  # the pip-installed default resolves on any machine that has textxfer
        tokenizer, model = featurizer._encoder()
        tokenizer.save_pretrained(str(folder / ENCODER_DIR))
        model.save_pretrained(str(folder / ENCODER_DIR))
        return ENCODER_DIR
    return None


def _name(value, label_names) -> str:
    """A label id's name, or for a 0/1 row of a multi-label matrix its names as a JSON list."""
    if np.ndim(value) == 0:
        return label_names[int(value)]
    return json.dumps([label_names[i] for i in np.flatnonzero(value)])


def predictions_frame(texts, gold, predicted, label_names, probabilities=None) -> pd.DataFrame:
    """``text, gold, predicted`` (label names; JSON lists of names for multi-label 0/1 rows) and
    ``p_<label>`` columns when probabilities exist."""
    frame = pd.DataFrame(
        {
            "text": list(texts),
            "gold": [_name(v, label_names) for v in gold],
            "predicted": [_name(v, label_names) for v in predicted],
        }
    )
    if probabilities is not None:
        for j, name in enumerate(label_names):
            frame[f"p_{name}"] = probabilities[:, j]
    return frame


def save_baseline(result, out_dir: str | Path, texts, gold, config: dict | None = None) -> Path:
    """Write a ``BaselineResult`` to ``out_dir`` atomically (layout in the module docstring).

    Args:
        result: a ``BaselineResult`` from ``train_baseline``.
        out_dir: output folder; replaced as a whole if it exists.
        texts: the evaluation texts, in the order of ``result.predictions``.
        gold: their gold label ids (multi-label: 0/1 rows, like ``result.predictions``).
        config: more config sections for ``config.yaml`` (e.g. ``{"data": DataArgs(...)}``).

    Returns:
        ``out_dir`` as a ``Path``.
    """
    import joblib
    import sklearn

    probabilities = _label_columns(result.pipeline, result.probabilities, result.label_names)
    method = result.args.method if result.args else None

    def payload(tmp: Path) -> dict:
        encoder = _save_encoders(result.pipeline, tmp)
        joblib.dump(result.pipeline, tmp / PIPELINE_FILE)
        frame = predictions_frame(
            texts, gold, result.predictions, result.label_names, probabilities
        )
        frame.to_csv(tmp / "predictions.csv", index=False)
        return {"encoder": encoder}

    metrics = {**result.metrics, "method": method, "eval_split": result.eval_split,
               "n_train": result.n_train, "fit_seconds": result.fit_seconds}  # fmt: skip
    info = {"method": method, "label_names": list(result.label_names), "pipeline": PIPELINE_FILE,
            "sklearn_version": sklearn.__version__, "threshold": result.threshold,
            "task": "single-label" if result.threshold is None else "multi-label"}  # fmt: skip
    save_run(
        out_dir, kind=KIND, info=info, metrics=metrics,
        config={**(config or {}), "baseline": result.args}, payload=payload,
    )  # fmt: skip
    logger.info("saved baseline to %s", out_dir)
    return Path(out_dir)


def load_baseline(folder: str | Path):
    """(fitted pipeline, ``textxfer.json`` info) from a folder written by ``save_baseline``."""
    import joblib

    folder = Path(folder)
    info = model_info(folder)
    if info.get("kind") != KIND:
        raise DataError(f"{folder} holds a {info.get('kind')!r} model, not a baseline")
    path = folder / info.get("pipeline", PIPELINE_FILE)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing; re-run `textxfer baseline ... --out {folder}`")
    pipeline = joblib.load(path)
    for featurizer in _featurizers(pipeline):
        # The training run's cache folder may not exist (or be writable) where the model is used.
        featurizer.set_params(cache_dir=None)
        if info.get("encoder"):
            featurizer.model_path_ = str(folder / info["encoder"])
    return pipeline, info


def _label_columns(
    pipeline, scores: np.ndarray | None, label_names: list[str]
) -> np.ndarray | None:
    """Reorder per-class columns (in ``classes_`` order) into ``label_names`` order."""
    if scores is None:
        return None
    out = np.zeros((len(scores), len(label_names)), dtype=float)
    out[:, np.asarray(pipeline.classes_, dtype=int)] = scores
    return out


class BaselinePredictor:
    """A loaded baseline: ``predict``/``predict_proba`` over label names (``textxfer.predict``).

    Classifiers without probabilities (svm) give a softmax of their decision scores from
    ``predict_proba``: rows sum to 1 and the argmax is the prediction, but they are not
    calibrated (``calibrated`` is False). Multi-label baselines (one-vs-rest) give one
    probability per label (a sigmoid of the decision scores for svm), and ``predict`` returns the
    label sets (lists of names) whose probability reaches ``threshold``.
    """

    def __init__(self, pipeline, label_names: list[str], info: dict | None = None):
        self.pipeline = pipeline
        self.label_names = list(label_names)
        self.info = info or {}
        self.calibrated = hasattr(pipeline, "predict_proba")
        self.multi_label = self.info.get("task") == "multi-label"
        self.threshold = self.info.get("threshold") or 0.5

    def predict(self, texts: list[str]) -> list:
        """Predicted label names (multi-label: a list of names per text)."""
        if self.multi_label:
            proba = self.predict_proba(texts)
            return [
                [n for n, p in zip(self.label_names, row) if p >= self.threshold] for row in proba
            ]
        ids = self.pipeline.predict(_check_texts(texts))
        return [self.label_names[int(i)] for i in ids]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """``(n, n_labels)`` probabilities, columns in ``label_names`` order."""
        texts = _check_texts(texts)
        if self.multi_label:
            from .train import multilabel_scores

            scores = multilabel_scores(self.pipeline, texts)
        elif self.calibrated:
            scores = self.pipeline.predict_proba(texts)
        else:
            scores = _softmax_scores(self.pipeline.decision_function(texts))
        return _label_columns(self.pipeline, scores, self.label_names)

    def evaluate(self, texts: list[str], labels: list[str]) -> dict:
        """``textxfer.metrics.evaluate`` of the predictions against gold label names (lists of
        names for multi-label).

        Raises:
            DataError: a gold label the model was not trained on.
        """
        from ..metrics import evaluate

        index = {name: i for i, name in enumerate(self.label_names)}
        sets = [[str(x) for x in lab] for lab in labels] if self.multi_label else None
        given = [x for s in sets for x in s] if sets is not None else [str(lab) for lab in labels]
        unseen = sorted(set(given) - set(index))
        if unseen:
            raise DataError(
                f"labels {unseen[:5]} were never seen in training (known: {self.label_names}); "
                "evaluate on data with the same label set, or retrain with those labels"
            )
        if sets is not None:
            from ..data.multilabel import multi_hot

            def ids(rows):
                return multi_hot([[index[x] for x in row] for row in rows], len(index))

            return evaluate(ids(sets), ids(self.predict(texts)), self.label_names)
        predicted = [index[name] for name in self.predict(texts)]
        return evaluate([index[str(lab)] for lab in labels], predicted, self.label_names)


def _softmax_scores(decision: np.ndarray) -> np.ndarray:
    decision = np.asarray(decision, dtype=float)
    if decision.ndim == 1:  # binary: one margin for classes_[1]
        decision = np.stack([-decision, decision], axis=1) / 2.0
    decision = decision - decision.max(axis=1, keepdims=True)
    exp = np.exp(decision)
    return exp / exp.sum(axis=1, keepdims=True)


def _check_texts(texts) -> list[str]:
    if isinstance(texts, str):
        raise DataError("expected a list of texts, found a single string; wrap it in a list")
    return list(texts)


def load_predictor(folder: str | Path) -> BaselinePredictor:
    """Load a saved baseline folder as a ``BaselinePredictor`` (the ``Predictor`` protocol)."""
    pipeline, info = load_baseline(folder)
    return BaselinePredictor(pipeline, info["label_names"], info)
