"""``train_baseline``: fit a baseline on the train split, evaluate it, optionally save it.

This is the one entry point that the CLI (``textxfer baseline``), the recipe, the notebook and the
comparison grid call.

>>> from textxfer import load_data
>>> from textxfer.baselines import BaselineArgs, train_baseline
>>> result = train_baseline(BaselineArgs("tfidf-lr"), load_data("sst2"))   # doctest: +SKIP
>>> round(result.metrics["accuracy"], 3)                                    # doctest: +SKIP
0.8
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..data.checks import check_splits
from ..data.multilabel import is_multilabel, multi_hot
from ..errors import ConfigError
from ..metrics import evaluate, tune_threshold
from .factory import BaselineArgs, build_pipeline, one_vs_rest, use_unlabeled

logger = logging.getLogger(__name__)


@dataclass
class BaselineResult:
    """What ``train_baseline`` returns.

    Attributes:
        metrics: ``textxfer.metrics.evaluate`` output on the evaluation split.
        fit_seconds: wall time of ``pipeline.fit`` on the training split.
        pipeline: the fitted scikit-learn ``Pipeline`` (classes are label ids).
        predictions: predicted label ids on the evaluation split (multi-label: an
            ``(n, n_labels)`` 0/1 matrix of the predicted sets).
        label_names: label names in id order.
        probabilities: ``(n, n_labels)`` class probabilities, or ``None`` when the classifier
            has no ``predict_proba`` (svm); multi-label: one probability per label (a sigmoid of
            the decision scores for svm).
        eval_split: name of the evaluation split.
        n_train: training rows (after augmentation).
        args: the ``BaselineArgs`` used.
        out_dir: where the result was saved, if it was.
        threshold: multi-label: the probability from which a label is predicted.
    """

    metrics: dict
    fit_seconds: float
    pipeline: Any
    predictions: np.ndarray
    label_names: list[str]
    probabilities: np.ndarray | None = None
    eval_split: str = "test"
    n_train: int = 0
    args: BaselineArgs | None = None
    out_dir: Path | None = None
    threshold: float | None = None


def augment_train(dataset, recipe: str, n_aug: int, seed: int):
    """``dataset`` with its train split augmented by ``textxfer.augment.augment`` (others untouched)."""
    import datasets

    from ..augment import augment

    train = augment(dataset["train"], recipe, n_aug=n_aug, seed=seed, num_proc=1)
    logger.info("augment %s: train %d -> %d rows", recipe, len(dataset["train"]), len(train))
    return datasets.DatasetDict({**dataset, "train": train})


def predict_scores(pipeline, texts: list[str]) -> np.ndarray | None:
    """``predict_proba`` of a fitted pipeline, or ``None`` when its classifier has none."""
    if not hasattr(pipeline, "predict_proba"):
        return None
    return np.asarray(pipeline.predict_proba(texts))


def multilabel_scores(pipeline, texts: list[str]) -> np.ndarray:
    """One probability per label of a fitted one-vs-rest pipeline (a sigmoid of the decision
    scores when the classifier has no ``predict_proba``)."""
    scores = predict_scores(pipeline, texts)
    if scores is None:
        scores = 1.0 / (1.0 + np.exp(-np.asarray(pipeline.decision_function(texts), dtype=float)))
    return scores


def _fit_predict_sets(pipeline, dataset, eval_split: str, args: BaselineArgs, n_labels: int):
    """Multi-label: fit one-vs-rest, tune the threshold on dev (unless it is the evaluation split
    or ``args.threshold`` is set); ``(fit seconds, gold, predicted sets, scores, threshold)``."""
    train, texts = dataset["train"], list(dataset[eval_split]["text"])
    start = time.perf_counter()
    pipeline.fit(list(train["text"]), multi_hot(train["label"], n_labels))
    fit_seconds = time.perf_counter() - start
    threshold = args.threshold
    if threshold is None and eval_split != "dev":
        dev = dataset["dev"]
        threshold = tune_threshold(
            multi_hot(dev["label"], n_labels), multilabel_scores(pipeline, list(dev["text"]))
        )
    threshold = 0.5 if threshold is None else threshold
    scores = multilabel_scores(pipeline, texts)
    gold = multi_hot(dataset[eval_split]["label"], n_labels)
    return fit_seconds, gold, (scores >= threshold).astype(int), scores, threshold


def train_baseline(
    args: BaselineArgs,
    dataset,
    out_dir: str | Path | None = None,
    eval_split: str = "test",
    config: dict | None = None,
    unlabeled: list[str] | None = None,
    **output: Any,
) -> BaselineResult:
    """Fit ``args.method`` on ``dataset["train"]``, evaluate on ``dataset[eval_split]``.

    Args:
        args: the baseline and its hyperparameters (``args.augment`` augments the train split).
        dataset: a ``datasets.DatasetDict`` from ``textxfer.load_data`` (``text``, ``label``).
        out_dir: when given, save the fitted pipeline, ``metrics.json``, ``predictions.csv``,
            ``config.yaml`` and ``textxfer.json`` there (atomically; see ``persist.save_baseline``).
        eval_split: split to evaluate on.
        config: extra config sections to record in ``config.yaml`` (e.g. the ``DataArgs``).
        unlabeled: unlabelled texts the vectorizer is also fitted on (domain adaptation, see
            ``factory.use_unlabeled``); none of them may occur in the evaluation split.
        **output: ``overwrite`` and ``inputs`` for ``out_dir`` (``textxfer.io.prepare_output``).

    Returns:
        A ``BaselineResult``.

    Raises:
        DataError: unusable splits (``textxfer.data.check_splits``), or unlabelled texts that occur in
            the evaluation split.
    """
    label_names = check_splits(dataset, (eval_split,))
    multi = is_multilabel(dataset)
    if not multi and args.threshold is not None:
        logger.warning("threshold=%s is for multi-label data; single-label predictions take "
                       "the most probable class", args.threshold)  # fmt: skip
    if args.augment:
        dataset = augment_train(dataset, args.augment, args.n_aug, args.seed)
    train, test = dataset["train"], dataset[eval_split]
    pipeline = build_pipeline(args)
    if multi:
        pipeline = one_vs_rest(pipeline)
    if unlabeled is not None:
        from ..adapt.run import check_no_leak

        check_no_leak(unlabeled, test["text"], where=f"the {eval_split} split")
        pipeline = use_unlabeled(pipeline, unlabeled)
    texts = list(test["text"])
    threshold = None
    if multi:
        fit_seconds, gold, predictions, scores, threshold = _fit_predict_sets(
            pipeline, dataset, eval_split, args, len(label_names)
        )
    else:
        start = time.perf_counter()
        _fit(pipeline, list(train["text"]), np.asarray(train["label"], dtype=int), args, unlabeled)
        fit_seconds = time.perf_counter() - start
        gold, predictions = test["label"], np.asarray(pipeline.predict(texts), dtype=int)
        scores = predict_scores(pipeline, texts)
    metrics = evaluate(gold, predictions, label_names)
    result = BaselineResult(
        metrics=metrics if threshold is None else {**metrics, "threshold": threshold},
        fit_seconds=fit_seconds,
        pipeline=pipeline,
        predictions=predictions,
        label_names=label_names,
        probabilities=scores,
        eval_split=eval_split,
        n_train=len(train),
        args=args,
        threshold=threshold,
    )
    logger.info(
        "%s: %s accuracy %.4f, macro-F1 %.4f, fit %.1fs on %d rows",
        args.method,
        eval_split,
        result.metrics["accuracy"],
        result.metrics["macro_f1"],
        fit_seconds,
        len(train),
    )
    if out_dir is not None:
        from .persist import save_baseline

        result.out_dir = save_baseline(result, out_dir, texts, list(gold), config=config, **output)
    return result


def _fit(pipeline, texts: list[str], labels, args: BaselineArgs, unlabeled) -> None:
    """``pipeline.fit`` with a clear error when ``min_df`` leaves the vectorizer no term."""
    n_docs = len(texts) + len(unlabeled or [])
    step = getattr(pipeline, "named_steps", {}).get("vectorizer")
    has_vocabulary = step is not None and any(k.endswith("min_df") for k in step.get_params())
    if has_vocabulary and args.min_df > n_docs:
        raise ConfigError(
            f"min_df {args.min_df} is larger than the {n_docs} training texts, so no term can be "
            f"kept; pass --min-df {min(n_docs, 2)} or less (a term must occur in min_df texts)"
        )
    try:
        pipeline.fit(texts, labels)
    except ValueError as err:
        if has_vocabulary and ("no terms remain" in str(err) or "min_df" in str(err)):
            raise ConfigError(
                f"min_df {args.min_df} keeps no term of the {n_docs} training texts ({err}); "
                "lower --min-df"
            ) from err
        raise


def run_baselines(
    methods: list[str],
    args: BaselineArgs,
    dataset,
    out_dir: str | Path | None = None,
    eval_split: str = "test",
    config: dict | None = None,
    nested: bool = True,
    **output: Any,
) -> dict[str, BaselineResult]:
    """``train_baseline`` for each method with otherwise the same ``args``.

    Args:
        methods: registered baseline names (``textxfer.compare.registry.method_names``).
        args: shared options; ``args.method`` is replaced by each method in turn.
        dataset: the ``DatasetDict`` to fit and evaluate on.
        out_dir: when given, each method is saved to ``out_dir/<method>`` (``nested``), or a single
            method to ``out_dir`` itself.
        eval_split: split to evaluate on.
        config: extra config sections recorded in each saved ``config.yaml``.
        nested: one sub-folder per method.
        **output: ``overwrite`` and ``inputs`` (``textxfer.io.prepare_output``).

    Returns:
        method -> ``BaselineResult``, in the order given (pass it to ``summarize``).
    """
    results = {}
    for method in methods:
        method_args = dataclasses.replace(args, method=method)
        folder = None if out_dir is None else Path(out_dir) / method if nested else Path(out_dir)
        results[method] = train_baseline(method_args, dataset, folder, eval_split, config, **output)
    return results


def summarize(results: dict[str, BaselineResult]):
    """One row per method: accuracy, macro-F1, fit seconds, training rows (a pandas frame)."""
    import pandas as pd

    rows = [
        {
            "method": name,
            "accuracy": r.metrics["accuracy"],
            "macro_f1": r.metrics["macro_f1"],
            "fit_seconds": r.fit_seconds,
            "n_train": r.n_train,
            "n_eval": r.metrics["n"],
        }
        for name, r in results.items()
    ]
    return pd.DataFrame(rows)
