"""Save a fitted baseline to a folder and load it back as a ``Predictor``.

A baseline folder holds::

    textxfer.json     {"kind": "baseline", "method", "label_names", "pipeline", "encoder", versions}
    pipeline.skops    the fitted scikit-learn Pipeline (classes are label ids), in skops format
    vocabularies.json the pipeline's vocabularies (terms in column order), kept out of the skops
                      file: skops writes a dict entry by entry (52 MB and 7 s to load for sst2's
                      81k TF-IDF terms, against 2 MB and a fraction of a second as a JSON list)
    metrics.json      textxfer.metrics.evaluate output + fit_seconds, method, split sizes
    predictions.csv   text, gold, predicted, p_<label>... (probabilities when the model has them)
    config.yaml       every option used, sectioned (reusable as --config)
    README.md         the model card (``textxfer.card``)
    encoder/          features-* with a model other than "default": the frozen encoder itself

The pipeline is stored with skops, not pickle: loading builds only the types on an allowlist
(skops' defaults, which are scikit-learn's and numpy's own, plus textxfer's estimators and those a
plugin declares with ``register_baseline(..., trusted_types=...)``), so a crafted folder cannot run
code. Folders of older textxfer versions (``pipeline.joblib``, a pickle) are refused, never loaded.

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

from ..errors import DataError, require
from ..io import run_path, save_run
from ..predict import as_texts, model_info

logger = logging.getLogger(__name__)

KIND = "baseline"
PIPELINE_FILE = "pipeline.skops"
VOCABULARY_FILE = "vocabularies.json"
ENCODER_DIR = "encoder"
# textxfer's own estimators (skops trusts scikit-learn's and numpy's types already).
TRUSTED_TYPES = {
    "textxfer.baselines.bow.UnlabeledFitVectorizer",
    "textxfer.baselines.features.TransformerFeaturizer",
    "textxfer.baselines.word2vec.Word2VecVectorizer",
}


def trust_types(*names: str) -> None:
    """Allow more types (``module.Class``) in saved pipelines: a plugin baseline's own estimators."""
    TRUSTED_TYPES.update(names)


def _skops():
    return require("skops.io", extra="all", purpose="saving and loading baselines")


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


def save_baseline(
    result, out_dir: str | Path, texts, gold, config: dict | None = None, **output
) -> Path:
    """Write a ``BaselineResult`` to ``out_dir`` atomically (layout in the module docstring).

    Args:
        result: a ``BaselineResult`` from ``train_baseline``.
        out_dir: output folder; replaced as a whole if it exists.
        texts: the evaluation texts, in the order of ``result.predictions``.
        gold: their gold label ids (multi-label: 0/1 rows, like ``result.predictions``).
        config: more config sections for ``config.yaml`` (e.g. ``{"data": DataArgs(...)}``).
        **output: ``overwrite`` and ``inputs`` (``textxfer.io.prepare_output``).

    Returns:
        ``out_dir`` as a ``Path``.
    """
    import sklearn

    probabilities = _label_columns(result.pipeline, result.probabilities, result.label_names)
    method = result.args.method if result.args else None

    def payload(tmp: Path) -> dict:
        encoder = _save_encoders(result.pipeline, tmp)
        _dump(result.pipeline, tmp)
        frame = predictions_frame(
            texts, gold, result.predictions, result.label_names, probabilities
        )
        frame.to_csv(tmp / "predictions.csv", index=False)
        model_card(result, info, metrics, sections).write(tmp)
        return {"encoder": encoder}

    metrics = {**result.metrics, "method": method, "eval_split": result.eval_split,
               "n_train": result.n_train, "fit_seconds": result.fit_seconds}  # fmt: skip
    info = {"method": method, "label_names": list(result.label_names), "pipeline": PIPELINE_FILE,
            "sklearn_version": sklearn.__version__, "threshold": result.threshold,
            "task": "single-label" if result.threshold is None else "multi-label"}  # fmt: skip
    sections = {**(config or {}), "baseline": result.args}
    save_run(
        out_dir, kind=KIND, info=info, metrics=metrics, config=sections, payload=payload, **output
    )
    logger.info("saved baseline to %s", out_dir)
    return Path(out_dir)


def model_card(result, info: dict, metrics: dict, config: dict):
    """The card of a baseline folder: method, data, the evaluation, and how to load it."""
    from ..card import ModelCard, base_model_id, dataset_ids, describe_dataset

    method = info.get("method") or "baseline"
    data = config.get("data")
    dataset = getattr(data, "dataset", None)
    encoder = result.args.model if result.args and method.startswith("features") else None
    lines = [f"dataset: {describe_dataset(dataset)}",
             f"train: {result.n_train:,} rows; evaluated on {result.eval_split} "
             f"({metrics.get('n', 0):,} rows)"]  # fmt: skip
    if encoder:
        lines.append(
            f"frozen encoder: `{base_model_id(encoder) or encoder}` (features, not fine-tuned)"
        )
    load = (
        "from textxfer.predict import load_predictor\n\n"
        'classifier = load_predictor("THIS_FOLDER")\n'
        'classifier.predict(["a great movie"]), classifier.predict_proba(["a great movie"])'
    )
    note = (f"`{info.get('pipeline', PIPELINE_FILE)}` is a skops file: loading builds only "
            "trusted types, so it cannot run code.")  # fmt: skip
    return ModelCard(
        title=f"{method} on {dataset or 'text'}",
        summary=f"A scikit-learn text classifier (`{method}`) fitted by textxfer; "
        f"scikit-learn {info.get('sklearn_version')}.",
        library="sklearn", tags=["text-classification", "sklearn", method],
        base_model=base_model_id(encoder) if encoder else None, datasets=dataset_ids(dataset),
        labels=list(result.label_names), results={result.eval_split: metrics}, data=lines,
        config=config, how_to_load=load, notes=[note],
    )  # fmt: skip


def _parts(estimator) -> list:
    """Every estimator in a fitted pipeline (steps, unions, wrapped vectorizers), in a fixed order."""
    parts = [estimator]
    for _, child in [*getattr(estimator, "steps", []), *getattr(estimator, "transformer_list", [])]:
        parts += _parts(child)
    if getattr(estimator, "vectorizer_", None) is not None:  # UnlabeledFitVectorizer
        parts += _parts(estimator.vectorizer_)
    return parts


def _with_vocabulary(pipeline) -> list:
    """The parts whose ``vocabulary_`` maps terms to the columns 0..n-1."""
    return [
        part for part in _parts(pipeline)
        if isinstance(v := getattr(part, "vocabulary_", None), dict)
        and sorted(v.values()) == list(range(len(v)))
    ]  # fmt: skip


def _dump(pipeline, folder: Path) -> None:
    """``pipeline.skops`` without the vocabularies, and ``vocabularies.json`` with them."""
    from ..io import atomic_write_json

    owners = _with_vocabulary(pipeline)
    vocabularies = [o.vocabulary_ for o in owners]
    try:
        for owner in owners:
            owner.vocabulary_ = None
        _skops().dump(pipeline, folder / PIPELINE_FILE)
    finally:
        for owner, vocabulary in zip(owners, vocabularies):
            owner.vocabulary_ = vocabulary
    terms = [sorted(v, key=v.__getitem__) for v in vocabularies]
    atomic_write_json(folder / VOCABULARY_FILE, terms)


def _restore_vocabularies(pipeline, path: Path) -> None:
    owners = [p for p in _parts(pipeline) if hasattr(p, "vocabulary_") and p.vocabulary_ is None]
    terms = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else []
    if len(terms) != len(owners) or not all(isinstance(t, list) for t in terms):
        raise DataError(
            f"{path} does not match the pipeline ({len(terms)} vocabularies for {len(owners)} "
            "vectorizers); re-fit the baseline with `textxfer baseline ... --overwrite`"
        )
    for owner, words in zip(owners, terms):
        owner.vocabulary_ = {str(w): i for i, w in enumerate(words)}


def _read_pipeline(path: Path):
    """The pipeline in a skops file, building only trusted types."""
    from sklearn.base import BaseEstimator

    sio = _skops()
    try:
        untrusted = sio.get_untrusted_types(file=path)
        refused = sorted(set(untrusted) - TRUSTED_TYPES)
        if refused:
            raise DataError(
                f"{path} holds types textxfer does not trust ({refused[:5]}); building them could run "
                "code, so the file is not loaded. Load only baselines textxfer saved; a plugin "
                "baseline declares its own types with register_baseline(..., trusted_types=[...])"
            )
        pipeline = sio.load(path, trusted=list(untrusted))
    except DataError:
        raise
    except Exception as err:  # noqa: BLE001 - a damaged or foreign file is one clear error
        raise DataError(
            f"{path} could not be read as a skops pipeline ({type(err).__name__}: {err}); "
            "re-fit the baseline with `textxfer baseline ... --overwrite`"
        ) from err
    if not isinstance(pipeline, BaseEstimator) or not hasattr(pipeline, "predict"):
        raise DataError(f"{path} holds a {type(pipeline).__name__}, not a fitted estimator")
    return pipeline


def load_baseline(folder: str | Path):
    """(fitted pipeline, ``textxfer.json`` info) from a folder written by ``save_baseline``.

    Raises:
        DataError: not a baseline folder, an older pickle-based folder, a missing or untrusted
            pipeline file.
    """
    folder = Path(folder)
    info = model_info(folder)
    if info.get("kind") != KIND:
        raise DataError(f"{folder} holds a {info.get('kind')!r} model, not a baseline")
    name = info.get("pipeline", PIPELINE_FILE)
    if name != PIPELINE_FILE:
        raise DataError(
            f"{folder} names its pipeline {name!r}; textxfer loads only {PIPELINE_FILE} (skops). A "
            "pipeline.joblib folder was saved by an older textxfer as a pickle, which can run code "
            "when loaded, so it is never loaded; re-fit it: `textxfer baseline ... --out DIR --overwrite`"
        )
    path = run_path(folder, PIPELINE_FILE)
    if not path.is_file():
        raise DataError(
            f"{path} is missing, so {folder} is incomplete; re-fit it with "
            f"`textxfer baseline ... --out {folder} --overwrite`"
        )
    pipeline = _read_pipeline(path)
    _restore_vocabularies(pipeline, run_path(folder, VOCABULARY_FILE))
    for featurizer in _featurizers(pipeline):
        # The training run's cache folder may not exist (or be writable) where the model is used.
        featurizer.set_params(cache_dir=None)
        featurizer.model_path_ = _encoder_path(folder, info, featurizer)
    return pipeline, info


def _encoder_path(folder: Path, info: dict, featurizer) -> str:
    """The frozen encoder of a loaded pipeline: its copy in the folder, or the default model;
    never a path recorded at training time (it may point anywhere)."""
    from ..models import resolve_model

    if info.get("encoder"):
        return str(run_path(folder, ENCODER_DIR))
    if featurizer.model == "default":
        return resolve_model("default")
    raise DataError(
        f"{folder} uses the encoder {featurizer.model!r} but holds no copy of it ({ENCODER_DIR}/); "
        "re-fit the baseline with `textxfer baseline ... --overwrite`"
    )


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
        ids = self.pipeline.predict(as_texts(texts))
        return [self.label_names[int(i)] for i in ids]

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """``(n, n_labels)`` probabilities, columns in ``label_names`` order."""
        texts = as_texts(texts)
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


def load_predictor(folder: str | Path) -> BaselinePredictor:
    """Load a saved baseline folder as a ``BaselinePredictor`` (the ``Predictor`` protocol)."""
    pipeline, info = load_baseline(folder)
    return BaselinePredictor(pipeline, info["label_names"], info)
