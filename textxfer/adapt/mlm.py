"""Masked-LM pieces of domain adaptation: tokenization, masking, the loss and held-out perplexity.

Masking uses ``transformers.DataCollatorForLanguageModeling.torch_mask_tokens`` (80/10/10
replacement; with ``whole_word_mask`` every sub-token of a chosen word, found from the
tokenizer's ``offset_mapping``). It runs *inside the loss function*, not in the collate function:
``TrainLoop`` seeds every micro-batch, so the masks of a resumed run equal those of an
uninterrupted one. Held-out texts are masked once, with a generator seeded per text, so the
perplexity before and after adaptation is measured on exactly the same masked positions.

>>> from textxfer.adapt.mlm import masked_perplexity
>>> masked_perplexity("runs/adapted", ["a held-out review"])["perplexity"]   # doctest: +SKIP
41.7
"""

from __future__ import annotations

import contextlib
import logging
import math
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError, DataError

if TYPE_CHECKING:
    import torch

logger = logging.getLogger(__name__)

MODEL_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
MASK_TRIES = 50  # redraws when a draw masks nothing (very short texts)

__all__ = [
    "MLMCollator",
    "MaskedLMLoss",
    "draw_mask",
    "heldout_dataset",
    "heldout_perplexity",
    "make_masker",
    "masked_nll",
    "masked_perplexity",
    "perplexity_from_sums",
    "scored_positions_only",
    "tokenize_texts",
]


def make_masker(tokenizer, mlm_probability: float = 0.15, whole_word_mask: bool = False):
    """A ``DataCollatorForLanguageModeling`` used for its ``torch_mask_tokens``.

    Raises:
        ConfigError: the tokenizer has no mask token, or whole-word masking without a fast
            tokenizer (it needs ``offset_mapping``).
    """
    from transformers import DataCollatorForLanguageModeling

    if tokenizer.mask_token is None:
        raise ConfigError(
            f"the tokenizer of this model ({type(tokenizer).__name__}) has no mask token; masked-LM "
            "adaptation needs an encoder with [MASK] (BERT, RoBERTa, ...)"
        )
    if whole_word_mask and not tokenizer.is_fast:
        raise ConfigError(
            "whole_word_mask needs a fast tokenizer (offset mapping), found "
            f"{type(tokenizer).__name__}; pass --whole-word-mask false"
        )
    # Whole-word masking supports [MASK] replacement only; say so instead of warning at runtime.
    replace = {"mask_replace_prob": 1.0, "random_replace_prob": 0.0} if whole_word_mask else {}
    return DataCollatorForLanguageModeling(
        tokenizer,
        mlm_probability=float(mlm_probability),
        whole_word_mask=whole_word_mask,
        **replace,
    )


def tokenize_texts(texts: list[str], tokenizer, max_length: int, offsets: bool = False):
    """A ``datasets.Dataset`` of token ids, attention masks and special-token masks (plus offsets)."""
    import datasets

    def tokenize(batch):
        return tokenizer(
            batch["text"],
            truncation=True,
            max_length=max_length,
            return_special_tokens_mask=True,
            return_offsets_mapping=offsets,
        )

    ds = datasets.Dataset.from_dict({"text": list(texts)})
    return ds.map(tokenize, batched=True, remove_columns=["text"], desc="tokenize")


def draw_mask(masker, input_ids, special_tokens_mask, offset_mapping=None, generator=None):
    """``(masked_input_ids, labels)`` for a ``(batch, seq)`` batch; labels are -100 where unmasked.

    Draws again (up to ``MASK_TRIES`` times) when nothing was masked, so a loss is always defined.
    Randomness comes from ``generator``, or torch's global RNG when it is None.
    """
    masker.generator = generator
    for _ in range(MASK_TRIES):
        ids, labels = masker.torch_mask_tokens(
            input_ids.clone(),
            special_tokens_mask=special_tokens_mask.clone(),
            offset_mapping=offset_mapping,
        )
        if bool((labels != -100).any()):
            break
    return ids, labels


class MLMCollator:
    """Pads a list of tokenized rows: ``labels`` with -100, ``offset_mapping`` with (0, 0).

    Deterministic (no masking here; see the module docstring).
    """

    def __init__(self, tokenizer) -> None:
        self.tokenizer = tokenizer

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        import torch

        rows = [dict(r) for r in rows]
        extra = {k: [r.pop(k) for r in rows] for k in ("labels", "offset_mapping") if k in rows[0]}
        batch = dict(self.tokenizer.pad(rows, return_tensors="pt"))
        width = batch["input_ids"].shape[1]
        left = self.tokenizer.padding_side == "left"
        for key, values in extra.items():
            fill = [-100] if key == "labels" else [[0, 0]]
            padded = [
                fill * (width - len(v)) + list(v) if left else list(v) + fill * (width - len(v))
                for v in values
            ]
            batch[key] = torch.tensor(padded, dtype=torch.long)
        return batch


def model_inputs(batch: dict) -> dict:
    """The keys of ``batch`` the model takes (ids, attention mask, token types)."""
    return {k: v for k, v in batch.items() if k in MODEL_INPUTS}


def _output_layer(model):
    """The vocabulary projection of a (DDP-, compile- or peft-wrapped) masked LM, or None."""
    inner = model
    while hasattr(inner, "module") and not hasattr(inner, "get_output_embeddings"):
        inner = inner.module  # DDP
    inner = getattr(inner, "_orig_mod", inner)  # torch.compile
    getter = getattr(inner, "get_output_embeddings", None)
    try:
        return getter() if getter else None
    except (AttributeError, NotImplementedError):
        return None


@contextlib.contextmanager
def scored_positions_only(model, scored):
    """Within the block, the model's vocabulary projection runs on the ``scored`` positions only,
    so ``logits`` come out ``(n_scored, vocab)`` instead of ``(batch, seq, vocab)``.

    The projection is most of the cost of a small encoder's masked-LM step (30k-word vocabulary,
    15% of the tokens scored). It is a forward pre-hook on ``get_output_embeddings()``: the math is
    unchanged, and a model whose head does not go through that layer keeps its full logits
    (``masked_nll`` takes both shapes).
    """
    layer = _output_layer(model)

    def select(module, args):
        hidden = args[0]
        if hidden.dim() == 3 and hidden.shape[:2] == scored.shape:
            return (hidden[scored], *args[1:])
        return None

    handle = layer.register_forward_pre_hook(select) if layer is not None else None
    try:
        yield
    finally:
        if handle is not None:
            handle.remove()


def masked_nll(logits, labels) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-row sum of the negative log-likelihood over masked tokens, and their count.

    Args:
        logits: ``(batch, seq, vocab)``, or ``(n_scored, vocab)`` for the scored positions only
            (row-major order, from ``scored_positions_only``).
        labels: ``(batch, seq)``, -100 where no prediction is scored.

    Returns:
        ``(sums, counts)``, each of shape ``(batch,)``.
    """
    import torch
    import torch.nn.functional as F

    scored = labels != -100  # (batch, seq)
    rows = scored.nonzero()[:, 0]
    picked = logits[scored] if logits.dim() == 3 else logits  # (n_masked, vocab)
    nll = F.cross_entropy(picked.float(), labels[scored], reduction="none")  # (n_masked,)
    sums = torch.zeros(labels.shape[0], device=logits.device).index_add_(0, rows, nll)
    return sums, scored.sum(dim=1)


class MaskedLMLoss:
    """``loss_fn`` for ``TrainLoop``: mask the batch (global RNG, seeded by the loop), mean NLL."""

    def __init__(self, masker) -> None:
        self.masker = masker

    def __call__(self, model, batch: dict) -> torch.Tensor:
        device = batch["input_ids"].device
        offsets = batch.get("offset_mapping")
        ids, labels = draw_mask(
            self.masker,
            batch["input_ids"].cpu(),
            batch["special_tokens_mask"].cpu(),
            None if offsets is None else offsets.cpu(),
        )
        inputs = {**model_inputs(batch), "input_ids": ids.to(device)}
        labels = labels.to(device)
        with scored_positions_only(model, labels != -100):
            logits = model(**inputs).logits
        sums, counts = masked_nll(logits, labels)
        return sums.sum() / counts.sum().clamp(min=1)


def heldout_dataset(texts: list[str], tokenizer, masker, max_length: int, seed: int):
    """Tokenized ``texts`` masked once, deterministically (text i uses a generator seeded by
    ``seed`` and i), with ``labels``; the same texts and seed always give the same masks."""
    import torch

    offsets = bool(masker.whole_word_mask)
    ds = tokenize_texts(texts, tokenizer, max_length, offsets=offsets)

    def mask_one(row, index):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + index)
        ids, labels = draw_mask(
            masker,
            torch.tensor([row["input_ids"]]),
            torch.tensor([row["special_tokens_mask"]]),
            torch.tensor([row["offset_mapping"]]) if offsets else None,
            generator=gen,
        )
        return {"input_ids": ids[0].tolist(), "labels": labels[0].tolist()}

    drop = ["special_tokens_mask", *(["offset_mapping"] if offsets else [])]
    masked = ds.map(mask_one, with_indices=True, remove_columns=drop, desc="mask held-out")
    masker.generator = None
    return masked


def perplexity_from_sums(total_nll: float, n_tokens: int) -> dict[str, float]:
    """``{"loss": mean NLL, "perplexity": exp(loss), "n_masked_tokens": n}``."""
    if n_tokens == 0:
        raise DataError("no held-out token was masked; give longer or more held-out texts")
    loss = total_nll / n_tokens
    return {
        "loss": loss,
        "perplexity": math.exp(min(loss, 700.0)),
        "n_masked_tokens": int(n_tokens),
    }


def evaluate_perplexity(model, dataloader, gather=None) -> dict[str, float]:
    """Masked-LM loss and perplexity over a dataloader of a ``heldout_dataset``.

    Args:
        model: a masked-LM model (possibly prepared by Accelerate).
        dataloader: batches with ``labels``.
        gather: ``accelerator.gather_for_metrics`` under several processes (drops the rows
            Accelerate repeats to even out the last batch), or None in one process.
    """

    def row_sums(batch):
        with scored_positions_only(model, batch["labels"] != -100):
            logits = model(**model_inputs(batch)).logits
        return masked_nll(logits, batch["labels"])

    return heldout_perplexity(model, dataloader, row_sums, gather)


def heldout_perplexity(model, dataloader, row_sums, gather=None) -> dict[str, float]:
    """``perplexity_from_sums`` over a dataloader, in eval mode without gradients.

    ``row_sums(batch) -> (NLL sums, token counts)``, one value per row, so that ``gather``
    (``accelerator.gather_for_metrics``) can drop the rows Accelerate repeats.
    """
    import torch

    total, count = 0.0, 0
    was_training = model.training
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        for batch in dataloader:
            sums, counts = row_sums({k: v.to(device) for k, v in batch.items()})
            if gather is not None:
                sums, counts = gather((sums, counts))
            total += float(sums.sum())
            count += int(counts.sum())
    model.train(was_training)
    return perplexity_from_sums(total, count)


def masked_perplexity(
    model,
    texts: list[str],
    tokenizer=None,
    mlm_probability: float = 0.15,
    whole_word_mask: bool = False,
    max_length: int = 128,
    batch_size: int = 32,
    seed: int = 42,
) -> dict[str, float]:
    """Perplexity of a masked LM on ``texts`` with deterministic masks, in this process.

    Args:
        model: an ``AutoModelForMaskedLM`` instance, or a folder / Hub id to load one from.
        texts: the texts to score.
        tokenizer: needed when ``model`` is an instance (default: loaded from the folder).
        mlm_probability, whole_word_mask: masking, as in ``AdaptArgs``.
        max_length: truncate texts to this many tokens.
        batch_size: texts per forward pass.
        seed: seed of the masks (same seed, same masked positions).

    Returns:
        ``{"loss", "perplexity", "n_masked_tokens"}``.
    """
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from ..train.accel import eval_dataloader

    if isinstance(model, str) or hasattr(model, "__fspath__"):
        tokenizer = tokenizer or AutoTokenizer.from_pretrained(str(model))
        model = AutoModelForMaskedLM.from_pretrained(str(model))
    if tokenizer is None:
        raise ConfigError("masked_perplexity needs tokenizer= when model is a model instance")
    masker = make_masker(tokenizer, mlm_probability, whole_word_mask)
    data = heldout_dataset(list(texts), tokenizer, masker, max_length, seed)
    dl = eval_dataloader(data, batch_size, MLMCollator(tokenizer))
    return evaluate_perplexity(model, dl)
