"""Sentence pairs from a labelled set, their batches and the cosine-similarity objective.

Pairs (SetFit, Tunstall et al. 2022): every labelled example is the anchor of
``pairs_per_example`` pairs, half with a partner of the same label (target similarity 1) and half
with a partner of another label (target 0). Partners are drawn with a seeded generator, without
replacement while the pool lasts, so the pair set is a pure function of (labels, settings, seed):
a resumed run trains on exactly the pairs of an uninterrupted one. ``max_pairs`` lowers the pairs
per example (to at least one of each kind) for large training sets.

The objective is SetFit's ``CosineSimilarityLoss``: the mean squared error between the cosine
similarity of the two pooled embeddings and the pair's target. Both sentences of a batch go
through the encoder in one forward pass (one DDP reduction per step).

>>> pairs = sample_pairs([0, 0, 1, 1], pairs_per_example=2, seed=0)
>>> len(pairs), sorted(set(pairs.target.tolist()))
(8, [0.0, 1.0])
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..errors import DataError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

__all__ = ["CosineSimilarityLoss", "PairCollator", "PairDataset", "Pairs", "embed", "sample_pairs"]


@dataclass
class Pairs:
    """Row indices of the two sentences of each pair and the target cosine similarity."""

    left: np.ndarray  # (n_pairs,) int
    right: np.ndarray  # (n_pairs,) int
    target: np.ndarray  # (n_pairs,) float32, 1 same label, 0 different

    def __len__(self) -> int:
        return len(self.left)


def _draw(rng: np.random.Generator, pool: np.ndarray, size: int) -> np.ndarray:
    return rng.choice(pool, size=size, replace=len(pool) < size)


def sample_pairs(labels, pairs_per_example: int, seed: int, max_pairs: int | None = None) -> Pairs:
    """Balanced positive / negative pairs anchored on every example (see the module docstring).

    Args:
        labels: label id of every training example.
        pairs_per_example: pairs per anchor; ``pairs_per_example // 2`` are positive.
        seed: seed of the partner draws.
        max_pairs: cap on the total; the pairs per anchor are lowered to fit (at least 2).

    Raises:
        DataError: fewer than two labels (no negative pair exists).
    """
    labels = np.asarray(labels, dtype=int)
    classes = np.unique(labels)
    if len(classes) < 2:
        raise DataError(
            f"contrastive pairs need examples of at least 2 labels, found {classes.tolist()}; "
            "give the training split examples of every label"
        )
    n = len(labels)
    per = int(pairs_per_example)
    if max_pairs is not None and n * per > max_pairs:
        per = max(2, int(max_pairs) // n)
        logger.info("contrastive pairs: %d per example to stay within max_pairs", per)
    n_pos, n_neg = per // 2, per - per // 2
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    left, right, target = [], [], []
    for i, label in enumerate(labels):
        same = members[label][members[label] != i]
        same = same if len(same) else np.array([i])  # a lone example pairs with itself
        others = np.flatnonzero(labels != label)
        for partners, value in ((_draw(rng, same, n_pos), 1.0), (_draw(rng, others, n_neg), 0.0)):
            left.append(np.full(len(partners), i))
            right.append(partners)
            target.append(np.full(len(partners), value, dtype=np.float32))
    pairs = Pairs(np.concatenate(left), np.concatenate(right), np.concatenate(target))
    if max_pairs is not None and len(pairs) > max_pairs:  # n alone exceeds the cap
        keep = np.sort(rng.permutation(len(pairs))[: int(max_pairs)])
        pairs = Pairs(pairs.left[keep], pairs.right[keep], pairs.target[keep])
    return pairs


class PairDataset:
    """A map-style dataset of pairs over tokenized rows: item ``k`` is ``(row a, row b, target)``."""

    def __init__(self, rows, pairs: Pairs) -> None:
        self.rows, self.pairs = rows, pairs

    def __len__(self) -> int:
        return len(self.pairs)

    def content_hash(self) -> str:
        """sha256 (16 hex digits) of the rows and the pairs (a checkpoint's data fingerprint)."""
        import hashlib

        from ..train.stage import dataset_hash

        digest = hashlib.sha256(dataset_hash(self.rows).encode())
        for part in (self.pairs.left, self.pairs.right, self.pairs.target):
            digest.update(np.ascontiguousarray(part).tobytes())
        return digest.hexdigest()[:16]

    def __getitem__(self, k: int) -> dict:
        if isinstance(k, str):
            raise KeyError(
                f"a pair dataset has no column {k!r}; group_by_length is not supported here"
            )
        p = self.pairs
        return {
            "a": self.rows[int(p.left[k])],
            "b": self.rows[int(p.right[k])],
            "target": float(p.target[k]),
        }


class PairCollator:
    """Pads the first and the second sentences of a batch together: rows ``0..B-1`` are the first
    sentences, ``B..2B-1`` the second; ``labels`` holds the targets. Deterministic."""

    def __init__(self, tokenizer) -> None:
        from transformers import DataCollatorWithPadding

        self.pad = DataCollatorWithPadding(tokenizer)

    def __call__(self, items: list[dict]) -> dict:
        import torch

        keys = ("input_ids", "attention_mask", "token_type_ids")
        rows = [
            {k: r[k] for k in keys if k in r}
            for side in ("a", "b")
            for r in (i[side] for i in items)
        ]
        batch = dict(self.pad(rows))
        batch["labels"] = torch.tensor([i["target"] for i in items], dtype=torch.float32)
        return batch


def embed(model, batch: dict, pooling: str = "mean") -> torch.Tensor:
    """Pooled last hidden states of the model's inputs in ``batch``."""
    from ..adapt.mlm import model_inputs
    from ..baselines.features import pool_hidden

    hidden = model(**model_inputs(batch)).last_hidden_state  # (batch, seq, hidden)
    return pool_hidden(hidden, batch["attention_mask"], pooling)


class CosineSimilarityLoss:
    """``loss_fn`` for ``TrainLoop``: MSE between the pairs' cosine similarity and their target."""

    def __init__(self, pooling: str = "mean") -> None:
        self.pooling = pooling

    def __call__(self, model, batch: dict) -> torch.Tensor:
        import torch.nn.functional as F

        emb = embed(model, batch, self.pooling).float()
        half = len(batch["labels"])
        cosine = F.cosine_similarity(emb[:half], emb[half:], dim=-1)
        return F.mse_loss(cosine, batch["labels"].to(cosine.device))
