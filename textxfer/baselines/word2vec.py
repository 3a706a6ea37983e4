"""Document vectors from word2vec: train on the training texts (or load vectors), then pool.

``Word2VecVectorizer`` is a scikit-learn transformer: text -> dense ``(n_texts, vector_size)``
array, the mean (or IDF-weighted mean) of the vectors of a text's in-vocabulary tokens. A text
with no known token maps to the zero vector. The learned vectors are kept as a plain numpy array
and vocabulary dict, so a fitted pipeline pickles and predicts without gensim.

>>> from textxfer.baselines.word2vec import Word2VecVectorizer
>>> vec = Word2VecVectorizer(vector_size=8, epochs=5).fit(["a good film", "a bad film"])
>>> vec.transform(["good film", "unknown words"]).shape
(2, 8)
"""

from __future__ import annotations

import logging
import re
import zlib
from collections import Counter

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..errors import require
from ..models import load_word_vectors

logger = logging.getLogger(__name__)

POOLINGS = ("mean", "tfidf")
TOKEN_RE = r"(?u)\b\w+\b|[^\w\s]"


def _stable_hash(text: str) -> int:
    """A process-independent hash for gensim's per-word seeding (``hash`` is salted per run)."""
    return zlib.crc32(text.encode("utf-8"))


class Word2VecVectorizer(TransformerMixin, BaseEstimator):
    """Texts -> pooled word2vec vectors.

    Args:
        vector_size: dimensionality of trained vectors (ignored when ``keyed_vectors`` is given).
        window: context window of word2vec training.
        min_count: ignore words rarer than this when training.
        epochs: training epochs over the training texts.
        sg: 1 for skip-gram, 0 for CBOW.
        pooling: ``"mean"`` or ``"tfidf"`` (mean weighted by the tokens' IDF in the training texts).
        keyed_vectors: path of pretrained vectors (word2vec ``.bin`` or ``.txt``) to use instead
            of training (see ``textxfer.models.load_word_vectors``).
        lowercase: lowercase texts before tokenising.
        random_state: seed of word2vec training (training runs with one worker, so it is
            deterministic for a seed).

    Attributes:
        vocabulary_: token -> row of ``vectors_``.
        vectors_: ``(n_tokens, vector_size)`` float32 word vectors.
        idf_: ``(n_tokens,)`` IDF weights (ones for mean pooling).
        n_features_out_: ``vector_size`` of the output.
        oov_rate_: fraction of training tokens with no vector.
    """

    def __init__(
        self,
        vector_size: int = 100,
        window: int = 5,
        min_count: int = 1,
        epochs: int = 20,
        sg: int = 0,
        pooling: str = "mean",
        keyed_vectors: str | None = None,
        lowercase: bool = True,
        random_state: int | None = 0,
    ):
        self.vector_size = vector_size
        self.window = window
        self.min_count = min_count
        self.epochs = epochs
        self.sg = sg
        self.pooling = pooling
        self.keyed_vectors = keyed_vectors
        self.lowercase = lowercase
        self.random_state = random_state

    def _tokenize(self, text: str) -> list[str]:
        return re.findall(TOKEN_RE, text.lower() if self.lowercase else text)

    def _check_params(self) -> None:
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {list(POOLINGS)}, found {self.pooling!r}")
        for name in ("vector_size", "window", "min_count", "epochs"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, found {getattr(self, name)}")

    def _train(self, docs: list[list[str]]):
        gensim = require("gensim", extra="w2v", purpose="word2vec baselines")
        top = Counter(t for d in docs for t in d).most_common(1)[0][1]
        if top < int(self.min_count):
            raise ValueError(
                f"no token occurs min_count={self.min_count} times in the training texts (the most "
                f"frequent occurs {top} times); lower min_count (--w2v-min-count)"
            )
        docs = [d for d in docs if d]
        model = gensim.models.Word2Vec(
            sentences=docs,
            vector_size=int(self.vector_size),
            window=int(self.window),
            min_count=int(self.min_count),
            sg=int(self.sg),
            epochs=int(self.epochs),
            workers=1,
            seed=0 if self.random_state is None else int(self.random_state),
            hashfxn=_stable_hash,
        )
        return model.wv

    def fit(self, X, y=None):
        """Train (or load) word vectors and the pooling weights on the texts ``X``."""
        self._check_params()
        texts = _as_texts(X)
        docs = [self._tokenize(t) for t in texts]
        if not any(docs):
            raise ValueError("every training text is empty after tokenising; nothing to learn")
        if self.keyed_vectors:
            wv = load_word_vectors(self.keyed_vectors)
        else:
            wv = self._train(docs)
        vocabulary = {token: i for i, token in enumerate(wv.index_to_key)}
        oov_rate = _oov_rate(docs, vocabulary)
        if oov_rate == 1.0:
            raise ValueError(
                f"all {len(texts)} training texts are out of vocabulary: none of their tokens has a "
                f"vector in {self.keyed_vectors!r}; check the vectors' language and casing "
                "(lowercase=True lowercases the texts), or train vectors on the texts instead"
            )
        self.vocabulary_ = vocabulary
        self.vectors_ = np.asarray(wv.vectors, dtype=np.float32)
        self.n_features_out_ = int(self.vectors_.shape[1])
        self.oov_rate_ = oov_rate
        self.idf_ = self._fit_idf(docs)
        logger.info(
            "word2vec: %d words x %d dims, training OOV rate %.1f%%",
            len(self.vocabulary_),
            self.n_features_out_,
            100 * self.oov_rate_,
        )
        return self

    def _fit_idf(self, docs: list[list[str]]) -> np.ndarray:
        idf = np.ones(len(self.vocabulary_), dtype=np.float32)
        if self.pooling != "tfidf":
            return idf
        df = Counter(t for d in docs for t in set(d) if t in self.vocabulary_)
        n = len(docs)
        for token, count in df.items():
            idf[self.vocabulary_[token]] = (
                np.log((1 + n) / (1 + count)) + 1.0
            )  # sklearn's smooth idf
        # Tokens never seen in training texts (pretrained vectors) get the largest IDF.
        unseen = np.ones(len(idf), dtype=bool)
        unseen[[self.vocabulary_[t] for t in df]] = False
        idf[unseen] = np.log(1 + n) + 1.0
        return idf

    def transform(self, X) -> np.ndarray:
        """Pool each text's word vectors; texts with no known token become zero vectors."""
        check_is_fitted(self, "vectors_")
        texts = _as_texts(X, allow_empty=True)
        out = np.zeros((len(texts), self.n_features_out_), dtype=np.float32)
        n_oov = 0
        for row, text in enumerate(texts):
            ids = [self.vocabulary_[t] for t in self._tokenize(text) if t in self.vocabulary_]
            if not ids:
                n_oov += 1
                continue
            weights = self.idf_[ids]
            out[row] = weights @ self.vectors_[ids] / weights.sum()
        if n_oov:
            logger.info(
                "word2vec: %d of %d texts have no known token (zero vectors)", n_oov, len(texts)
            )
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``w2v0 .. w2v{n-1}``."""
        check_is_fitted(self, "vectors_")
        return np.asarray([f"w2v{i}" for i in range(self.n_features_out_)], dtype=object)


def _oov_rate(docs: list[list[str]], vocabulary: dict) -> float:
    """Fraction of the tokens in ``docs`` that have no vector."""
    tokens = [t for d in docs for t in d]
    return sum(t not in vocabulary for t in tokens) / max(len(tokens), 1)


def _as_texts(X, allow_empty: bool = False) -> list[str]:
    """A list of strings from a list/array/Series of texts, with a clear error otherwise."""
    from ..predict import as_texts

    texts = as_texts(X)
    if not texts and not allow_empty:
        raise ValueError("expected at least one training text, found none (empty training set)")
    return texts
