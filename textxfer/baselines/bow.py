"""Bag-of-words and TF-IDF features (word and character n-grams) and the linear models on top.

Everything here returns plain scikit-learn estimators, so the pipelines built from them clone,
grid-search and pickle like any other.

>>> from sklearn.pipeline import make_pipeline
>>> from textxfer.baselines.bow import make_linear, make_vectorizer
>>> clf = make_pipeline(make_vectorizer(analyzer="word", ngram_range=(1, 2)), make_linear("lr"))
>>> clf.fit(["good film", "bad film"], [1, 0]).predict(["a good one"]).tolist()
[1]
"""

from __future__ import annotations

from typing import Any

from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer
from sklearn.pipeline import FeatureUnion

ANALYZERS = ("word", "char", "char_wb", "word+char")
LINEAR_MODELS = ("lr", "svm", "sgd", "nb")

# Method defaults when the caller passes alpha=None.
DEFAULT_ALPHA = {"sgd": 1e-4, "nb": 1.0}


def make_vectorizer(
    analyzer: str = "word",
    ngram_range: tuple[int, int] = (1, 2),
    char_ngram_range: tuple[int, int] = (2, 5),
    tfidf: bool = True,
    min_df: int | float = 1,
    max_features: int | None = None,
    sublinear_tf: bool = True,
    lowercase: bool = True,
):
    """A text -> sparse matrix vectorizer: word n-grams, character n-grams, or both side by side.

    Args:
        analyzer: ``"word"``, ``"char"``, ``"char_wb"`` (char n-grams inside word boundaries) or
            ``"word+char"`` (a ``FeatureUnion`` of word and ``char_wb`` features).
        ngram_range: (min, max) word n-gram sizes.
        char_ngram_range: (min, max) character n-gram sizes.
        tfidf: TF-IDF weights (``TfidfVectorizer``); False gives raw counts (``CountVectorizer``).
        min_df: drop terms in fewer documents than this (int) or this fraction (float).
        max_features: keep only the most frequent terms (per analyzer).
        sublinear_tf: use ``1 + log(tf)`` (TF-IDF only).
        lowercase: lowercase before tokenising.

    Returns:
        An unfitted ``TfidfVectorizer``/``CountVectorizer``, or a ``FeatureUnion`` of two.
    """
    if analyzer not in ANALYZERS:
        raise ValueError(f"analyzer must be one of {list(ANALYZERS)}, found {analyzer!r}")

    def one(kind: str, ngrams: tuple[int, int]):
        kwargs: dict[str, Any] = dict(
            analyzer=kind,
            ngram_range=tuple(ngrams),
            min_df=min_df,
            max_features=max_features,
            lowercase=lowercase,
        )
        if tfidf:
            return TfidfVectorizer(sublinear_tf=sublinear_tf, **kwargs)
        return CountVectorizer(**kwargs)

    if analyzer == "word+char":
        return FeatureUnion(
            [("word", one("word", ngram_range)), ("char", one("char_wb", char_ngram_range))]
        )
    return one(analyzer, ngram_range if analyzer == "word" else char_ngram_range)


def make_linear(
    kind: str = "lr",
    C: float = 1.0,
    class_weight: str | dict | None = None,
    alpha: float | None = None,
    max_iter: int = 2000,
    random_state: int | None = 0,
):
    """A linear classifier for sparse or dense features.

    Args:
        kind: ``"lr"`` (``LogisticRegression``), ``"svm"`` (``LinearSVC``), ``"sgd"``
            (``SGDClassifier`` with the modified Huber loss, which gives probabilities) or ``"nb"``
            (``ComplementNB``; needs non-negative features such as counts or TF-IDF).
        C: inverse regularisation strength (lr, svm).
        class_weight: ``None``, ``"balanced"`` or a dict of class -> weight (not used by nb).
        alpha: regularisation (sgd, default 1e-4) or additive smoothing (nb, default 1.0).
        max_iter: iteration cap of the solver.
        random_state: seed of the solver's randomness.

    Returns:
        An unfitted scikit-learn classifier.
    """
    from sklearn.linear_model import LogisticRegression, SGDClassifier
    from sklearn.naive_bayes import ComplementNB
    from sklearn.svm import LinearSVC

    if kind not in LINEAR_MODELS:
        raise ValueError(f"linear model must be one of {list(LINEAR_MODELS)}, found {kind!r}")
    alpha = DEFAULT_ALPHA.get(kind) if alpha is None else alpha
    if kind == "lr":
        return LogisticRegression(
            C=C, class_weight=class_weight, max_iter=max_iter, random_state=random_state
        )
    if kind == "svm":
        return LinearSVC(
            C=C, class_weight=class_weight, max_iter=max_iter, random_state=random_state
        )
    if kind == "sgd":
        return SGDClassifier(
            loss="modified_huber",
            alpha=alpha,
            class_weight=class_weight,
            max_iter=max_iter,
            tol=1e-4,
            random_state=random_state,
        )
    return ComplementNB(alpha=alpha)


class UnlabeledFitVectorizer(TransformerMixin, BaseEstimator):
    """Fit ``vectorizer`` on the training texts plus ``unlabeled`` texts; transform as it does.

    Domain adaptation for bag-of-words features: the vocabulary and IDF weights (or word2vec
    vectors) also come from unlabelled texts of the target domain, so target-only words get a
    column (the classifier still learns weights only from labelled rows).

    Args:
        vectorizer: an unfitted text vectorizer (e.g. from ``make_vectorizer``); cloned in ``fit``.
        unlabeled: extra texts used only to fit the vectorizer.

    Attributes:
        vectorizer_: the fitted clone.
        n_unlabeled_: how many unlabelled texts it was fitted on.
    """

    def __init__(self, vectorizer=None, unlabeled=()):
        self.vectorizer = vectorizer
        self.unlabeled = unlabeled

    def fit(self, X, y=None):
        """Fit a clone of ``vectorizer`` on ``list(X) + list(unlabeled)``."""
        from sklearn.base import clone

        if self.vectorizer is None:
            raise ValueError("UnlabeledFitVectorizer needs a vectorizer, found None")
        extra = [str(t) for t in self.unlabeled]
        self.vectorizer_ = clone(self.vectorizer).fit([*list(X), *extra])
        self.n_unlabeled_ = len(extra)
        return self

    def transform(self, X):
        """``vectorizer_.transform(X)``."""
        from sklearn.utils.validation import check_is_fitted

        check_is_fitted(self, "vectorizer_")
        return self.vectorizer_.transform(X)

    def get_feature_names_out(self, input_features=None):
        """Feature names of the fitted vectorizer."""
        return self.vectorizer_.get_feature_names_out()
