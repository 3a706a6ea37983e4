"""The built-in baselines, registered as methods of the one registry (``textxfer.compare.registry``).

``register_baseline`` is how a baseline joins: a name and a ``build(BaselineArgs) -> Pipeline``. It is
then a choice of ``textxfer baseline --method``, a method of compare grids, and (with
``adaptation``) of cross-domain runs; ``textxfer predict`` loads its saved folders.

>>> from sklearn.dummy import DummyClassifier
>>> from sklearn.feature_extraction.text import CountVectorizer
>>> from sklearn.pipeline import Pipeline
>>> register_baseline("demo-majority", lambda args: Pipeline(
...     [("vectorizer", CountVectorizer()), ("clf", DummyClassifier())]))   # doctest: +SKIP
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from ..compare.registry import MethodResult, MethodRun, register_method
from .factory import BaselineArgs, features_pipeline, vectorizer_pipeline, word2vec_pipeline

__all__ = ["BUILTIN_BASELINES", "register_baseline", "run_baseline"]

# name -> (pipeline builder, cross-domain adaptation, help)
BUILTIN_BASELINES = {
    "tfidf-lr": (functools.partial(vectorizer_pipeline, classifier="lr"), "vectorizer",
                 "TF-IDF word n-grams + logistic regression"),
    "tfidf-svm": (functools.partial(vectorizer_pipeline, classifier="svm"), "vectorizer",
                  "TF-IDF word n-grams + linear SVM"),
    "tfidf-sgd": (functools.partial(vectorizer_pipeline, classifier="sgd"), "vectorizer",
                  "TF-IDF word n-grams + SGD (modified Huber loss)"),
    "tfidf-nb": (functools.partial(vectorizer_pipeline, classifier="nb"), "vectorizer",
                 "TF-IDF word n-grams + complement naive Bayes"),
    "bow-lr": (functools.partial(vectorizer_pipeline, classifier="lr", tfidf=False), "vectorizer",
               "bag-of-words counts + logistic regression"),
    "w2v-lr": (functools.partial(word2vec_pipeline, classifier="lr"), "vectorizer",
               "pooled word2vec document vectors + logistic regression"),
    "features-lr": (functools.partial(features_pipeline, classifier="lr"), "encoder",
                    "frozen-transformer features + logistic regression"),
    "features-svm": (functools.partial(features_pipeline, classifier="svm"), "encoder",
                     "frozen-transformer features + linear SVM"),
}  # fmt: skip


def register_baseline(
    name: str,
    build: Callable[[BaselineArgs], object],
    *,
    adaptation: str | None = None,
    help: str = "",
    replace: bool = False,
    trusted_types: tuple[str, ...] = (),
) -> None:
    """Register a scikit-learn baseline (see the module docstring).

    Args:
        name: the method name.
        build: ``build(BaselineArgs) -> unfitted Pipeline`` (classes are label ids). A first step
            named ``vectorizer`` can be fitted on unlabelled texts too (cross-domain adaptation).
        adaptation: ``vectorizer``, ``encoder`` (``BaselineArgs.model`` is the encoder) or None.
        help: one line for ``--help`` and the README.
        replace: replace a method of that name.
        trusted_types: ``module.Class`` names of the baseline's own estimators, which saved
            folders may then hold (``textxfer.baselines.persist``: skops builds only trusted types).
    """
    from .persist import trust_types

    trust_types(*trusted_types)
    register_method(
        name, kind="baseline", sections={"baseline": BaselineArgs}, run=run_baseline,
        fixed={"method": name}, adaptation=adaptation, build=build, help=help, replace=replace,
    )  # fmt: skip


def _linear_params(pipeline) -> int | None:
    est = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    if hasattr(est, "estimators_"):  # one-vs-rest (multi-label): one classifier per label
        counts = [_linear_params(e) for e in est.estimators_]
        return sum(c for c in counts if c) or None
    total = 0
    for attr in ("coef_", "intercept_", "feature_log_prob_", "class_log_prior_"):
        value = getattr(est, attr, None)
        if value is not None and hasattr(value, "size"):
            total += int(value.size)
    return total or None


def run_baseline(run: MethodRun) -> MethodResult:
    """Fit and evaluate a baseline with ``train_baseline``; with cross-domain unlabelled texts,
    the vectorizer is fitted on them too."""
    from .train import train_baseline

    result = train_baseline(
        run.configs["baseline"], run.dataset, eval_split=run.eval_split, unlabeled=run.unlabeled
    )
    return MethodResult(result.metrics, result.fit_seconds, _linear_params(result.pipeline))


for _name, (_build, _adaptation, _help) in BUILTIN_BASELINES.items():
    register_baseline(_name, _build, adaptation=_adaptation, help=_help)
