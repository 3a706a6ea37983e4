"""Long documents: cut texts into token windows, aggregate per-window scores per document.

One set of options means the same in fine-tuning (``ModelArgs``) and frozen features
(``BaselineArgs``): ``chunk_window`` (tokens per window, special tokens included; null: truncate to
``max_length``), ``chunk_stride`` (tokens of text from one window's start to the next; null: the
whole window, no overlap) and ``chunk_aggregation`` (how window logits become a document's:
``mean``, ``max`` or ``vote``). Fine-tuning trains on every window with its document's label and
predicts with the aggregated logits; features take the mean of the window embeddings (for a
linear classifier that is the mean of the window logits).

Truncation is the same cut keeping only the first window, so one tokenizer pass also counts the
texts it shortens (``warn_truncation``).

>>> import numpy as np
>>> logits = np.array([[2.0, 0.0], [0.0, 1.0], [0.0, 3.0]])   # 3 windows of documents 0, 0, 1
>>> docs, proba = aggregate(logits, np.array([0, 0, 1]), "mean")
>>> docs.tolist(), proba.argmax(axis=1).tolist()
([0, 1], [0, 1])
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from .errors import ConfigError

logger = logging.getLogger(__name__)

AGGREGATIONS = ("mean", "max", "vote")
WARN_SHARE = 0.10  # warn when truncation shortens more than this share of the texts
MIN_WINDOW = 8
# vote ties are broken by the mean window probability, scaled far below one vote
VOTE_TIEBREAK = 1e-6

WINDOW_HELP = (
    "long texts: cut each into windows of this many tokens (special tokens included) instead of "
    "truncating to max_length; null: truncate"
)
STRIDE_HELP = "chunking: tokens of text from one window's start to the next (null: no overlap)"
AGGREGATION_HELP = "chunking: how window logits make a text's prediction: mean | max | vote"
THRESHOLD_HELP = "multi-label: a label is predicted when its probability >= this; null: tuned on dev (best micro-F1)"

__all__ = [
    "AGGREGATIONS",
    "Chunking",
    "aggregate",
    "check_chunk_options",
    "chunking_from",
    "cut",
    "mean_per_text",
    "warn_truncation",
]


@dataclass(frozen=True)
class Chunking:
    """Resolved chunking settings (``chunk_window`` is set)."""

    window: int
    stride: int | None = None
    aggregation: str = "mean"

    def to_dict(self) -> dict[str, Any]:
        """The settings under the option names (recorded in a saved model's ``textxfer.json``)."""
        return {
            "chunk_window": self.window,
            "chunk_stride": self.stride,
            "chunk_aggregation": self.aggregation,
        }


def check_chunk_options(
    window: int | None, stride: int | None, aggregation: str, allowed: Sequence[str] = AGGREGATIONS
) -> None:
    """Range checks shared by every config that has the chunk options.

    Raises:
        ConfigError: naming the option and the fix.
    """
    if aggregation not in allowed:
        raise ConfigError(
            f"chunk_aggregation must be one of {list(allowed)}, found {aggregation!r}; "
            f"e.g. --chunk-aggregation {allowed[0]}"
        )
    if window is None:
        if stride is not None:
            raise ConfigError(
                f"chunk_stride={stride} needs chunk_window (the window size); pass e.g. "
                "--chunk-window 256, or drop --chunk-stride"
            )
        return
    if window < MIN_WINDOW:
        raise ConfigError(
            f"chunk_window must be >= {MIN_WINDOW} tokens or null, found {window}; e.g. --chunk-window 256"
        )
    if stride is not None and not 1 <= stride <= window:
        raise ConfigError(
            f"chunk_stride must be in [1, chunk_window={window}] or null (no overlap), found {stride}; "
            f"e.g. --chunk-stride {window // 2}"
        )


def check_threshold(threshold: float | None) -> None:
    """A multi-label threshold is null (tuned on dev) or a probability in (0, 1)."""
    if threshold is not None and not 0.0 < threshold < 1.0:
        raise ConfigError(
            f"threshold must be in (0, 1) or null (tuned on dev), found {threshold!r}; e.g. --threshold 0.5"
        )


def chunking_from(args: Any) -> Chunking | None:
    """The ``Chunking`` of a config with the chunk options (``None`` when ``chunk_window`` is null)."""
    window = getattr(args, "chunk_window", None)
    if window is None:
        return None
    return Chunking(int(window), args.chunk_stride, args.chunk_aggregation)


def _overlap(tokenizer, window: int, stride: int | None) -> int:
    """The tokenizer's ``stride`` argument (tokens repeated between windows) for a step of ``stride``."""
    text_tokens = window - tokenizer.num_special_tokens_to_add(pair=False)
    if text_tokens < 1:
        raise ConfigError(f"chunk_window={window} leaves no room for text after the special tokens")
    step = text_tokens if stride is None else int(stride)
    if step > text_tokens:
        raise ConfigError(
            f"chunk_stride={step} is more than the {text_tokens} text tokens of a {window}-token "
            f"window (special tokens take the rest), so text would be skipped; pass --chunk-stride "
            f"{text_tokens} or less"
        )
    return text_tokens - step


def cut(
    tokenizer,
    texts: list[str],
    window: int,
    stride: int | None = None,
    first_only: bool = False,
    padding: bool | str = False,
) -> tuple[dict[str, list], np.ndarray, int]:
    """Tokenize ``texts`` into windows of at most ``window`` tokens.

    Args:
        tokenizer: a fast tokenizer (its ``overflow_to_sample_mapping`` says which text a window
            came from).
        texts: the documents.
        window: tokens per window, special tokens included.
        stride: tokens of text between window starts (``None``: no overlap).
        first_only: keep only each text's first window: plain truncation to ``window``.
        padding: passed to the tokenizer (``"max_length"`` pads every window to ``window``).

    Returns:
        ``(encoding, doc, n_windows)``: model inputs (lists, one row per window), the text index
        of each row, and each text's number of windows before ``first_only`` (truncation
        shortens the texts with more than one).
    """
    overlap = 0 if first_only else _overlap(tokenizer, window, stride)
    enc = tokenizer(
        list(texts), truncation=True, max_length=window, stride=overlap, padding=padding,
        return_overflowing_tokens=True, verbose=False,
    )  # fmt: skip
    if "overflow_to_sample_mapping" not in enc:
        raise ConfigError(
            f"cutting texts into windows needs a fast tokenizer, found {type(tokenizer).__name__}; "
            "use a model whose tokenizer.json is saved (AutoTokenizer with use_fast=True)"
        )
    doc = np.asarray(enc.pop("overflow_to_sample_mapping"), dtype=int)
    n_windows = np.bincount(doc, minlength=len(texts))
    enc = {k: list(v) for k, v in enc.items()}
    if first_only:
        keep = np.flatnonzero(np.r_[True, doc[1:] != doc[:-1]]) if len(doc) else doc
        enc = {k: [v[i] for i in keep] for k, v in enc.items()}
        doc = doc[keep]
    return enc, doc, n_windows


def mean_per_text(rows: np.ndarray, text_ids: np.ndarray, n_texts: int) -> np.ndarray:
    """``(n_texts, d)`` float32: each text's mean over its window rows (``text_ids`` in
    ``0 .. n_texts - 1``, any order); raises when a text has no row."""
    counts = np.bincount(np.asarray(text_ids, dtype=int), minlength=n_texts)
    if len(counts) != n_texts or (counts == 0).any():
        raise RuntimeError(
            f"embeddings of {int((counts == 0).sum())} texts are missing "
            f"({len(counts)} text ids for {n_texts} texts)"
        )
    sums = np.zeros((n_texts, rows.shape[1]), dtype=np.float64)
    np.add.at(sums, text_ids, rows)
    return (sums / counts[:, None]).astype(np.float32)


def padded_batches(tokenizer, enc: dict[str, list], batch_size: int, device=None):
    """Tensor batches (padded per batch) of ``batch_size`` rows of a ``cut`` encoding, in order."""
    n = len(enc["input_ids"])
    for start in range(0, n, batch_size):
        batch = tokenizer.pad(
            {k: v[start : start + batch_size] for k, v in enc.items()}, return_tensors="pt"
        )
        yield batch.to(device) if device is not None else batch


def warn_truncation(n_cut: int, n_texts: int, max_length: int, where: str) -> float:
    """Log a warning when truncation shortens more than ``WARN_SHARE`` of the texts; the share."""
    share = n_cut / n_texts if n_texts else 0.0
    if share > WARN_SHARE:
        logger.warning(
            "%s: %d of %d texts (%.0f%%) are longer than max_length=%d tokens and are cut short; "
            "pass --chunk-window %d (chunk_window) to use all of each text, or a larger --max-length",
            where, n_cut, n_texts, 100 * share, max_length, max_length,
        )  # fmt: skip
    return share


def _softmax(x: np.ndarray) -> np.ndarray:
    x = x - x.max(axis=1, keepdims=True)
    e = np.exp(x)
    return e / e.sum(axis=1, keepdims=True)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


def probabilities(logits: np.ndarray, multi_label: bool = False) -> np.ndarray:
    """Softmax (single-label) or per-label sigmoid (multi-label) of ``logits``."""
    logits = np.asarray(logits, dtype=np.float64)
    return _sigmoid(logits) if multi_label else _softmax(logits)


def aggregate(
    logits: np.ndarray, doc: np.ndarray, how: str = "mean", multi_label: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Document probabilities from window logits.

    Args:
        logits: ``(n_windows, n_labels)``.
        doc: the document id of each window (any order; ids need not be contiguous).
        how: ``mean`` or ``max`` of the window logits (then softmax, or sigmoid for multi-label),
            or ``vote``: the share of windows whose argmax is each class (ties go to the higher
            mean window probability); single-label only.
        multi_label: per-label sigmoid instead of a softmax.

    Returns:
        ``(docs, proba)``: the sorted unique document ids and ``(n_docs, n_labels)`` probabilities.

    Raises:
        ConfigError: an unknown ``how``, or ``vote`` for multi-label.
    """
    logits = np.asarray(logits, dtype=np.float64)
    docs, row = np.unique(np.asarray(doc), return_inverse=True)
    counts = np.bincount(row, minlength=len(docs)).astype(np.float64)[:, None]
    if how == "max":
        pooled = np.full((len(docs), logits.shape[1]), -np.inf)
        np.maximum.at(pooled, row, logits)
        return docs, probabilities(pooled, multi_label)
    if how == "mean":
        pooled = np.zeros((len(docs), logits.shape[1]))
        np.add.at(pooled, row, logits)
        return docs, probabilities(pooled / counts, multi_label)
    if how != "vote":
        raise ConfigError(f"chunk_aggregation must be one of {list(AGGREGATIONS)}, found {how!r}")
    if multi_label:
        raise ConfigError(
            "chunk_aggregation 'vote' picks one class per window, so it is for single-label tasks; "
            "use --chunk-aggregation mean or max for multi-label"
        )
    votes = np.zeros((len(docs), logits.shape[1]))
    np.add.at(votes, (row, logits.argmax(axis=1)), 1.0)
    mean_proba = np.zeros_like(votes)
    np.add.at(mean_proba, row, _softmax(logits))
    scores = votes / counts + VOTE_TIEBREAK * mean_proba / counts
    return docs, scores / scores.sum(axis=1, keepdims=True)
