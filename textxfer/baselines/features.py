"""Frozen transformer features: texts -> pooled hidden states of a pretrained encoder.

``TransformerFeaturizer`` is a scikit-learn transformer. The encoder is loaded on first use in
``fit``/``transform`` (never in ``__init__``), runs under ``torch.inference_mode`` in batches of
texts sorted by token count (the least padding), and its features can be cached on disk, keyed by the model,
the texts, the pooling, ``max_length`` and the chunking. With ``chunk_window`` a long text is cut
into token windows and its feature is the mean of the windows' (``textxfer.chunking``).

``backend="onnx"`` or ``"onnx-int8"`` runs the encoder with ONNX Runtime on CPU instead of torch
(the ``onnx`` extra; ``onnx_encoder``): the model is exported once (and quantised to int8 weights
for ``onnx-int8``) into textxfer's cache, and the feature cache key includes the backend.

>>> from textxfer.baselines.features import TransformerFeaturizer
>>> feats = TransformerFeaturizer("default", cache_dir="cache").fit_transform(["a film"])  # doctest: +SKIP
>>> feats.shape                                                                          # doctest: +SKIP
(1, 384)
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from ..io import atomic_file, file_fingerprint
from .word2vec import _as_texts

logger = logging.getLogger(__name__)

POOLINGS = ("mean", "cls")
BACKENDS = ("torch", "onnx", "onnx-int8")
CACHE_VERSION = 2


class TransformerFeaturizer(TransformerMixin, BaseEstimator):
    """Texts -> ``(n_texts, hidden_size)`` features from a frozen pretrained transformer.

    Args:
        model: ``"default"`` (the offline all-MiniLM-L6-v2), a local folder or a Hub id; resolved
            with ``textxfer.models.resolve_model``.
        pooling: ``"mean"`` (mean of the last hidden states over real tokens) or ``"cls"`` (the
            first token's hidden state).
        batch_size: texts per forward pass.
        max_length: truncate texts to this many tokens.
        device: ``"auto"`` (CUDA when available, else CPU), ``"cpu"``, ``"cuda"``, ``"cuda:1"``...
        backend: ``"torch"``, or ONNX Runtime on CPU: ``"onnx"`` (fp32) or ``"onnx-int8"``
            (int8 weights: faster on CPU; features differ slightly, and a little with the
            batch, as activations are quantised per batch).
        cache_dir: folder for cached features (``None``: no cache).
        progress: show a tqdm progress bar; ``None`` shows it only on a terminal.
        chunk_window: cut each text into windows of this many tokens and average their features
            (``None``: truncate to ``max_length``).
        chunk_stride: tokens of text from one window's start to the next (``None``: no overlap).

    Attributes:
        model_path_: the resolved model path or Hub id.
        n_features_out_: hidden size of the encoder.
        cache_hits_, cache_misses_: how many ``transform`` calls were served from / written to the
            cache.
        last_cache_path_: the cache file of the latest ``transform`` (``None`` without a cache).
        last_cache_hit_: whether the latest ``transform`` came from the cache.
    """

    def __init__(
        self,
        model: str = "default",
        pooling: str = "mean",
        batch_size: int = 64,
        max_length: int = 128,
        device: str = "auto",
        backend: str = "torch",
        cache_dir: str | None = None,
        progress: bool | None = None,
        chunk_window: int | None = None,
        chunk_stride: int | None = None,
    ):
        self.model = model
        self.pooling = pooling
        self.batch_size = batch_size
        self.max_length = max_length
        self.device = device
        self.backend = backend
        self.cache_dir = cache_dir
        self.progress = progress
        self.chunk_window = chunk_window
        self.chunk_stride = chunk_stride

    # -- scikit-learn API -------------------------------------------------------------------

    def fit(self, X, y=None):
        """Resolve and load the encoder; it learns nothing from ``X`` (the weights stay frozen)."""
        self._check_params()
        _as_texts(X)
        from ..models import check_max_length, resolve_model

        self.model_path_ = resolve_model(self.model)
        check_max_length(self.model_path_, self.max_length)
        self._drop_loaded()
        encoder = self._encoder()[1]
        self.n_features_out_ = int(encoder.config.hidden_size)
        self.cache_hits_ = 0
        self.cache_misses_ = 0
        self.last_cache_path_ = None
        self.last_cache_hit_ = False
        return self

    def transform(self, X) -> np.ndarray:
        """Features of ``X``, from the cache when the same texts were featurized before."""
        check_is_fitted(self, "model_path_")
        texts = _as_texts(X, allow_empty=True)
        if not texts:
            return np.zeros((0, self.n_features_out_), dtype=np.float32)
        path = self.cache_path(texts)
        self.last_cache_path_ = path
        self.last_cache_hit_ = path is not None and path.is_file()
        if self.last_cache_hit_:
            self.cache_hits_ += 1
            logger.info("features: cache hit %s (%d texts)", path, len(texts))
            return np.load(path)
        feats = self._encode(texts)
        if path is not None:
            self.cache_misses_ += 1
            with atomic_file(path, suffix=".npy") as tmp:
                np.save(tmp, feats)
            logger.info("features: cached %d x %d at %s", *feats.shape, path)
        return feats

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        """``feat0 .. feat{n-1}``."""
        check_is_fitted(self, "model_path_")
        return np.asarray([f"feat{i}" for i in range(self.n_features_out_)], dtype=object)

    # -- cache ------------------------------------------------------------------------------

    def cache_key(self, texts: list[str]) -> str:
        """Hex digest of model identity + texts + pooling + max_length (the cache file name)."""
        check_is_fitted(self, "model_path_")
        digest = hashlib.sha256()
        meta = {
            "v": CACHE_VERSION,
            "model": file_fingerprint(self.model_path_),
            "pooling": self.pooling,
            **(
                {"backend": self.backend} if self.backend != "torch" else {}
            ),  # torch keys as before
            "max_length": int(self.max_length),
            "n": len(texts),
        }
        if self.chunk_window is not None:  # absent otherwise: earlier cache files stay valid
            meta["chunk"] = [int(self.chunk_window), self.chunk_stride]
        digest.update(json.dumps(meta, sort_keys=True).encode())
        for text in texts:
            digest.update(text.encode("utf-8"))
            digest.update(b"\x00")
        return digest.hexdigest()[:32]

    def cache_path(self, texts: list[str]) -> Path | None:
        """Where the features of ``texts`` are (or would be) cached; ``None`` without a cache."""
        if self.cache_dir is None:
            return None
        return Path(self.cache_dir) / f"features-{self.cache_key(texts)}.npy"

    # -- encoder ----------------------------------------------------------------------------

    def _check_params(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"backend must be one of {list(BACKENDS)}, found {self.backend!r}")
        if self.backend != "torch" and self.device not in (None, "auto", "cpu"):
            raise ValueError(
                f"backend {self.backend!r} runs on CPU (ONNX Runtime), found device {self.device!r}; "
                "pass device cpu, or backend torch for a GPU"
            )
        if self.pooling not in POOLINGS:
            raise ValueError(f"pooling must be one of {list(POOLINGS)}, found {self.pooling!r}")
        for name in ("batch_size", "max_length"):
            if int(getattr(self, name)) < 1:
                raise ValueError(f"{name} must be >= 1, found {getattr(self, name)}")
        from ..chunking import check_chunk_options

        check_chunk_options(self.chunk_window, self.chunk_stride, "mean")

    def _torch_device(self):
        import torch

        if self.device in (None, "auto"):
            return torch.device("cuda" if torch.cuda.is_available() else "cpu")
        return torch.device(self.device)

    def _encoder(self):
        """(tokenizer, model), loaded once per instance and never pickled."""
        loaded = self.__dict__.get("_loaded")
        if loaded is None:
            from transformers import AutoModel, AutoTokenizer

            from ..models import load_pretrained

            tokenizer = AutoTokenizer.from_pretrained(self.model_path_)
            if self.backend == "torch":
                model = load_pretrained(AutoModel, self.model_path_)[0]
                model.to(self._torch_device()).eval()
            else:  # called like the torch model: the batching and pooling below stay the same
                from .onnx_encoder import load_onnx_encoder

                model = load_onnx_encoder(self.model_path_, quantize=self.backend == "onnx-int8")
            loaded = self.__dict__["_loaded"] = (tokenizer, model)
        return loaded

    def _drop_loaded(self) -> None:
        self.__dict__.pop("_loaded", None)

    def __getstate__(self):
        state = dict(super().__getstate__())
        state.pop("_loaded", None)
        return state

    def _encode(self, texts: list[str]) -> np.ndarray:
        """Every text's windows (one, truncated, without ``chunk_window``) tokenized at once and
        batched by token length, longest first (the least padding, and a batch too large for the
        device fails at once); then each text's mean over its windows."""
        import torch

        from ..chunking import cut, mean_per_text, padded_batches, warn_truncation
        from ..console import progress

        tokenizer, model = self._encoder()
        window, truncate = int(self.chunk_window or self.max_length), self.chunk_window is None
        enc, doc, n_windows = cut(tokenizer, texts, window, self.chunk_stride, truncate)
        order = np.argsort([-len(ids) for ids in enc["input_ids"]], kind="stable")
        enc, doc = {k: [v[i] for i in order] for k, v in enc.items()}, doc[order]
        size = int(self.batch_size)
        pooled = np.zeros((len(doc), self.n_features_out_), dtype=np.float32)
        batches = padded_batches(tokenizer, enc, size, model.device)
        total = -(-len(doc) // size)
        with torch.inference_mode():
            for start, b in zip(range(0, len(doc), size), progress(
                batches, total=total, desc="features", unit="batch", enabled=self.progress
            )):  # fmt: skip
                hidden = model(**b).last_hidden_state
                pooled[start : start + size] = self._pool(hidden, b["attention_mask"]).float().cpu()
        if truncate:
            warn_truncation(int((n_windows > 1).sum()), len(texts), window, "features")
        return mean_per_text(pooled, doc, len(texts))

    def _pool(self, hidden, mask):
        return pool_hidden(hidden, mask, self.pooling)


def pool_hidden(hidden, mask, pooling: str = "mean"):
    """``(batch, hidden)`` sentence embeddings from ``(batch, seq, hidden)`` states: the mean over
    real tokens (``mask`` 1), or the first token's state (``cls``)."""
    if pooling == "cls":
        return hidden[:, 0]
    mask = mask.unsqueeze(-1).to(hidden.dtype)  # (batch, seq, 1)
    return (hidden * mask).sum(1) / mask.sum(1).clamp(min=1.0)
