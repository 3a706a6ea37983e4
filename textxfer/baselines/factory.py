"""``BaselineArgs`` (the one list of baseline options), the pipeline builders, ``make_baseline``.

>>> from textxfer.baselines import make_baseline
>>> pipe = make_baseline("tfidf-lr", C=4.0, ngram_range=[1, 2])
>>> [name for name, _ in pipe.steps]
['vectorizer', 'clf']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from sklearn.pipeline import Pipeline

from ..chunking import (
    STRIDE_HELP,
    THRESHOLD_HELP,
    WINDOW_HELP,
    check_chunk_options,
    check_threshold,
)
from ..config import Args, field
from ..errors import ConfigError
from .bow import ANALYZERS, UnlabeledFitVectorizer, make_linear, make_vectorizer
from .features import BACKENDS as FEATURE_BACKENDS

KERNELS = ("linear", "rbf")
POOLINGS = ("mean", "cls")
W2V_POOLINGS = ("mean", "tfidf")


@dataclass
class BaselineArgs(Args):
    """Which baseline to fit (features + classifier) and its hyperparameters."""

    method: str = field("tfidf-lr", help="baseline method (see `textxfer baseline --help`)")
    analyzer: str = field("word", help=f"tfidf/bow n-grams: {' | '.join(ANALYZERS)}")
    ngram_range: list[int] = field([1, 2], help="word n-gram sizes [min, max]")
    char_ngram_range: list[int] = field([2, 5], help="character n-gram sizes [min, max]")
    min_df: int = field(1, help="tfidf/bow: drop terms in fewer training texts than this")
    max_features: int | None = field(None, help="tfidf/bow: keep the most frequent terms only")
    sublinear_tf: bool = field(True, help="tfidf: use 1 + log(tf)")
    C: float = field(1.0, help="inverse regularisation strength of lr/svm")
    clf_alpha: float | None = field(
        None, help="tfidf-sgd regularisation (default 1e-4) / tfidf-nb smoothing (default 1.0)"
    )
    class_weight: str | None = field(None, help="class weights: null or balanced")
    kernel: str = field("linear", help="svm kernel: linear (LinearSVC) or rbf (SVC)")
    max_iter: int = field(2000, help="iteration cap of the classifier's solver")
    w2v_size: int = field(100, help="word2vec vector size")
    w2v_window: int = field(5, help="word2vec context window")
    w2v_min_count: int = field(1, help="word2vec: ignore rarer words")
    w2v_epochs: int = field(20, help="word2vec training epochs")
    w2v_sg: bool = field(False, help="word2vec: skip-gram instead of CBOW")
    w2v_pooling: str = field("mean", help="word2vec document vector: mean | tfidf")
    w2v_vectors: str | None = field(None, help="pretrained KeyedVectors file instead of training")
    model: str = field("default", help="features-*: encoder ('default', a folder or Hub id)")
    feature_pooling: str = field("mean", help="features-*: pooling of hidden states: mean | cls")
    feature_batch_size: int = field(64, help="features-*: texts per forward pass")
    max_length: int = field(128, help="features-*: truncate texts to this many tokens")
    chunk_window: int | None = field(None, help="features-*: " + WINDOW_HELP)
    chunk_stride: int | None = field(None, help="features-*: " + STRIDE_HELP)
    chunk_aggregation: str = field(
        "mean", help="features-*: the mean of the window embeddings (mean only)"
    )
    threshold: float | None = field(None, help=THRESHOLD_HELP)
    feature_device: str = field("auto", help="features-*: auto | cpu | cuda")
    feature_backend: str = field(
        "torch",
        help="features-*: torch | onnx | onnx-int8 (ONNX Runtime on CPU, the onnx extra; int8 "
        "measured 1.5x torch on a 2-core AVX2 CPU, accuracy within ~0.6 points)",
    )
    feature_cache_dir: str | None = field(
        None, help="features-*: cache extracted features in this folder"
    )
    augment: str | None = field(None, help="augment the training split with this recipe (eda...)")
    n_aug: int | None = field(
        None, help="augmented copies per training text (with --augment; default: EDA's table)"
    )
    seed: int = field(42, help="random seed of the classifier, word2vec and augmentation")

    def validate(self) -> None:
        from ..compare.registry import get_method

        get_method(self.method, kind="baseline")
        self._check_choice("analyzer", ANALYZERS)
        self._check_choice("kernel", KERNELS)
        self._check_choice("feature_pooling", POOLINGS)
        self._check_choice("feature_backend", FEATURE_BACKENDS)
        self._check_choice("w2v_pooling", W2V_POOLINGS)
        self.ngram_range = _check_range("ngram_range", self.ngram_range)
        self.char_ngram_range = _check_range("char_ngram_range", self.char_ngram_range)
        if self.class_weight not in (None, "balanced"):
            raise ConfigError(
                f"class_weight must be null or 'balanced', found {self.class_weight!r}; "
                "pass --class-weight balanced or leave it out"
            )
        for name in ("min_df", "max_iter", "w2v_size", "w2v_window", "w2v_min_count"):
            _check_positive(name, getattr(self, name))
        for name in ("w2v_epochs", "feature_batch_size", "max_length"):
            _check_positive(name, getattr(self, name))
        check_chunk_options(self.chunk_window, self.chunk_stride, self.chunk_aggregation)
        if self.chunk_aggregation != "mean":
            raise ConfigError(
                f"features-* average the window embeddings (chunk_aggregation mean), found "
                f"{self.chunk_aggregation!r}: max and vote need per-window predictions, which "
                "finetune-* make; drop --chunk-aggregation here"
            )
        check_threshold(self.threshold)
        if self.n_aug is not None:
            _check_positive("n_aug", self.n_aug)
        if self.max_features is not None:
            _check_positive("max_features", self.max_features)
        self.C = _check_number("C", self.C)
        if self.clf_alpha is not None:
            self.clf_alpha = _check_number("clf_alpha", self.clf_alpha)
        if self.method == "tfidf-nb" and self.class_weight is not None:
            raise ConfigError(
                "tfidf-nb (ComplementNB) takes no class_weight (it already corrects for imbalance); "
                "drop --class-weight or pick another method"
            )

    def _check_choice(self, name: str, choices) -> None:
        value = getattr(self, name)
        if value not in choices:
            flag = "--" + name.replace("_", "-")
            raise ConfigError(
                f"{name} must be one of {list(choices)}, found {value!r}; pass e.g. {flag} "
                f"{next(iter(choices))}"
            )


def _check_range(name: str, value) -> list[int]:
    try:
        if isinstance(value, (str, bytes)):
            raise TypeError(value)
        low, high = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name} must be two integers [min, max], found {value!r}; e.g. --{name.replace('_', '-')} '[1, 2]'"
        ) from None
    if not 1 <= low <= high:
        raise ConfigError(f"{name} must satisfy 1 <= min <= max, found [{low}, {high}]")
    return [low, high]


def _check_number(name: str, value) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not number > 0:
        raise ConfigError(f"{name} must be a number > 0, found {value!r}; e.g. --{name} 1.0")
    return number


def _check_positive(name: str, value) -> None:
    if value is None or int(value) < 1:
        raise ConfigError(f"{name} must be a positive integer, found {value!r}")


def build_pipeline(args: BaselineArgs) -> Pipeline:
    """An unfitted scikit-learn ``Pipeline`` for ``args.method`` (from the method registry).

    The built-in steps are named ``vectorizer`` or ``features``, then ``scaler`` for dense
    features, then ``clf``; grid-search them as ``clf__C``, ``vectorizer__ngram_range`` and so on.
    """
    from ..compare.registry import get_method

    return get_method(args.method, kind="baseline").build(args)


def vectorizer_pipeline(args: BaselineArgs, classifier: str, tfidf: bool = True) -> Pipeline:
    """TF-IDF (or counts) of word/char n-grams, then a linear classifier."""
    vectorizer = make_vectorizer(
        analyzer=args.analyzer,
        ngram_range=tuple(args.ngram_range),
        char_ngram_range=tuple(args.char_ngram_range),
        tfidf=tfidf,
        min_df=args.min_df,
        max_features=args.max_features,
        sublinear_tf=args.sublinear_tf,
    )
    return Pipeline([("vectorizer", vectorizer), ("clf", make_classifier(args, classifier))])


def word2vec_pipeline(args: BaselineArgs, classifier: str) -> Pipeline:
    """Pooled word2vec document vectors, standardised, then a linear classifier."""
    from sklearn.preprocessing import StandardScaler

    from .word2vec import Word2VecVectorizer

    vectorizer = Word2VecVectorizer(
        vector_size=args.w2v_size,
        window=args.w2v_window,
        min_count=args.w2v_min_count,
        epochs=args.w2v_epochs,
        sg=int(args.w2v_sg),
        pooling=args.w2v_pooling,
        keyed_vectors=args.w2v_vectors,
        random_state=args.seed,
    )
    steps = [("vectorizer", vectorizer), ("scaler", StandardScaler())]
    return Pipeline([*steps, ("clf", make_classifier(args, classifier))])


def features_pipeline(args: BaselineArgs, classifier: str) -> Pipeline:
    """Frozen-transformer features, standardised, then a linear classifier."""
    from sklearn.preprocessing import StandardScaler

    from .features import TransformerFeaturizer

    features = TransformerFeaturizer(
        model=args.model,
        pooling=args.feature_pooling,
        batch_size=args.feature_batch_size,
        max_length=args.max_length,
        device=args.feature_device,
        chunk_window=args.chunk_window,
        chunk_stride=args.chunk_stride,
        backend=args.feature_backend,
        cache_dir=args.feature_cache_dir,
    )
    steps = [("features", features), ("scaler", StandardScaler())]
    return Pipeline([*steps, ("clf", make_classifier(args, classifier))])


def use_unlabeled(pipeline: Pipeline, unlabeled) -> Pipeline:
    """``pipeline`` with its ``vectorizer`` step also fitted on ``unlabeled`` texts (adaptation).

    The vocabulary and IDF (tfidf, bow) or word vectors (w2v) then cover the unlabelled texts'
    domain too; the classifier still learns from the labelled rows only.

    Raises:
        ConfigError: for frozen-feature baselines, which learn nothing from texts (adapt their
            encoder with ``textxfer adapt`` and pass the adapted folder as ``model`` instead).
    """
    name, step = pipeline.steps[0]
    if name != "vectorizer":
        raise ConfigError(
            "unlabeled texts adapt only vectorizer baselines (tfidf-*, bow-lr, w2v-lr), found a "
            f"{name!r} step; for features-* adapt the encoder (textxfer adapt) and pass its folder "
            "as --model"
        )
    return pipeline.set_params(vectorizer=UnlabeledFitVectorizer(step, list(unlabeled)))


def one_vs_rest(pipeline: Pipeline) -> Pipeline:
    """``pipeline`` with its last step (the classifier) in a ``OneVsRestClassifier``: one binary
    classifier per label, fitted on an ``(n, n_labels)`` 0/1 matrix (multi-label)."""
    from sklearn.multiclass import OneVsRestClassifier

    name, step = pipeline.steps[-1]
    return pipeline.set_params(**{name: OneVsRestClassifier(step)})


def make_classifier(args: BaselineArgs, kind: str):
    """The classifier ``kind`` (lr, svm, sgd, nb) configured from ``args``."""
    if kind == "svm" and args.kernel == "rbf":
        from sklearn.svm import SVC

        return SVC(C=args.C, kernel="rbf", class_weight=args.class_weight, random_state=args.seed)
    return make_linear(
        kind,
        C=args.C,
        class_weight=args.class_weight,
        alpha=args.clf_alpha,
        max_iter=args.max_iter,
        random_state=args.seed,
    )


def make_baseline(method: str = "tfidf-lr", **params) -> Pipeline:
    """An unfitted baseline ``Pipeline`` for ``method``, configured by ``BaselineArgs`` fields.

    Args:
        method: a registered baseline (``tfidf-lr``, ``tfidf-svm``, ``tfidf-sgd``, ``tfidf-nb``,
            ``bow-lr``, ``w2v-lr``, ``features-lr``, ``features-svm``, or one of yours).
        **params: any ``BaselineArgs`` field, e.g. ``C=4.0``, ``analyzer="word+char"``,
            ``model="default"``, ``seed=0``.

    Returns:
        ``sklearn.pipeline.Pipeline`` (see ``build_pipeline`` for the step names).

    Raises:
        ConfigError: an unknown method or parameter, or an invalid value.
    """
    known = {f.name for f in dataclasses.fields(BaselineArgs)} - {"method"}
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(
            f"unknown baseline parameter(s) {unknown}; expected some of {sorted(known)}"
        )
    return build_pipeline(BaselineArgs(method=method, **params))
