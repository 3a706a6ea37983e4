"""Classical and frozen-feature baselines as scikit-learn pipelines.

- ``bow``: bag-of-words / TF-IDF vectorizers (word and char n-grams) and linear classifiers.
- ``word2vec``: ``Word2VecVectorizer``, pooled word2vec document vectors (gensim, optional).
- ``features``: ``TransformerFeaturizer``, pooled hidden states of a frozen transformer.
- ``factory``: ``BaselineArgs``, the pipeline builders and ``make_baseline(method, **params)``.
- ``methods``: the built-in baselines in the method registry; ``register_baseline`` adds one.
- ``train``: ``train_baseline(args, dataset) -> BaselineResult`` (fit, evaluate, save).
- ``persist``: save a fitted baseline folder, ``load_predictor(folder)``.

>>> from textxfer.baselines import make_baseline
>>> make_baseline("tfidf-svm", C=0.5).fit(["good", "bad"], [1, 0]).predict(["good"]).tolist()
[1]
"""

from __future__ import annotations

from .bow import make_linear, make_vectorizer
from .factory import BaselineArgs, build_pipeline, make_baseline
from .features import TransformerFeaturizer
from .methods import register_baseline
from .persist import BaselinePredictor, load_baseline, load_predictor, save_baseline
from .train import BaselineResult, run_baselines, summarize, train_baseline
from .word2vec import Word2VecVectorizer

__all__ = [
    "BaselineArgs",
    "BaselinePredictor",
    "BaselineResult",
    "TransformerFeaturizer",
    "Word2VecVectorizer",
    "build_pipeline",
    "load_baseline",
    "load_predictor",
    "make_baseline",
    "make_linear",
    "make_vectorizer",
    "register_baseline",
    "run_baselines",
    "save_baseline",
    "summarize",
    "train_baseline",
]
