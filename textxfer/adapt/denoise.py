"""Denoising adaptation for sentence encoders (TSDAE: Wang, Reimers & Gurevych, 2021).

Masked-LM adaptation needs a masked-LM head. A sentence encoder such as the offline default
all-MiniLM-L6-v2 has none, and a fresh head cannot learn token prediction from its frozen
outputs: trained alone for 200 steps (at 1e-3 or 3e-3) its held-out loss stays at 6.55 (perplexity
about 700) on amazon_mds kitchen. So the encoder itself has to learn to predict tokens, which is not
what fine-tuning wants from it: after 150 such steps, fine-tuning accuracy fell on both
amazon_mds pairs measured (``textxfer.adapt.anchor``).

The denoising objective adapts what such an encoder is for, its sentence embedding. The encoder
reads a text with ``deletion_ratio`` of its words deleted and pools it (mean over tokens) into one
vector; a decoder reconstructs the original text from that vector alone (causal self-attention,
cross-attention to the one vector). The decoder is a copy of the encoder's architecture and
weights (its cross-attention and LM head are new) and is discarded; only the encoder is saved. Its
gradient reaches the encoder only through the pooled vector, so the encoder learns to put the
target domain's content into its embedding instead of learning token prediction.

Word deletion runs inside the loss function from torch's RNG, which ``TrainLoop`` seeds per
micro-batch, so a resumed run deletes the same words as an uninterrupted one. Held-out texts are
noised once, seeded per text, so the reconstruction perplexity before and after adaptation is
measured on the same inputs.

Measured on the amazon_mds pairs (``textxfer crossdomain PAIR --seeds 0,1,2 --limit 800
--adapt-config recipes/configs/adapt.yaml``: 150 steps, 800 source rows, 400 target test rows;
gain of adapted over plain in points, mean ± sd over the 3 seeds):

=================  ==============  ==================  ==============
pair               method          masked-LM           denoising
=================  ==============  ==================  ==============
books->kitchen     finetune-full   -1.0 ± 0.9          -0.5 ± 0.9
books->kitchen     features-lr     +6.9 ± 1.2          +6.0 ± 1.2
kitchen->books     finetune-full   +0.1 ± 3.0          +0.1 ± 1.1
kitchen->books     features-lr     -0.8 ± 0.5 (0.5)    +1.6 ± 3.6
=================  ==============  ==================  ==============

Against masked-LM, denoising loses half as much on books->kitchen fine-tuning and has a third of
the spread on kitchen->books. That is why ``objective: auto`` picks it for a head-less encoder.
Fine-tuning gains are still within noise. (0.5: the masked-LM features-lr cell of kitchen->books
was measured at ``adapted_share`` 0.5 only.)
Twice the steps (300) is no better: fine-tuning -1.3 ± 1.5 on books->kitchen and +1.0 ± 2.1 on
kitchen->books, frozen features +3.4 ± 2.2 and +1.3 ± 1.0, so the default budget stays at 150 steps
(``textxfer.adapt.args.resolve_adapt_budget``).

>>> from textxfer.adapt import AdaptArgs
>>> AdaptArgs(objective="denoising", deletion_ratio=0.6).deletion_ratio
0.6
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from ..errors import ConfigError
from .mlm import heldout_perplexity

logger = logging.getLogger(__name__)

__all__ = [
    "DenoisingAutoEncoder",
    "DenoisingCollator",
    "DenoisingLoss",
    "delete_words",
    "denoising_heldout",
    "evaluate_reconstruction",
    "load_denoiser",
    "tokenize_words",
]


def tokenize_words(texts: list[str], tokenizer, max_length: int):
    """A ``datasets.Dataset`` of token ids, attention masks and each token's word index
    (-1 for special tokens), the unit word deletion works on."""
    import datasets

    if not tokenizer.is_fast:
        raise ConfigError(
            f"denoising adaptation deletes whole words and needs a fast tokenizer (word ids), found "
            f"{type(tokenizer).__name__}; pass --objective mlm"
        )

    def tokenize(batch):
        enc = tokenizer(batch["text"], truncation=True, max_length=max_length)
        enc["word_ids"] = [
            [-1 if w is None else w for w in enc.word_ids(i)] for i in range(len(batch["text"]))
        ]
        return dict(enc)

    ds = datasets.Dataset.from_dict({"text": list(texts)})
    return ds.map(tokenize, batched=True, remove_columns=["text"], desc="tokenize")


def delete_words(input_ids, word_ids, attention_mask, ratio: float, pad_id: int, generator=None):
    """``(noisy_input_ids, noisy_attention_mask)``: each word of each row is deleted with
    probability ``ratio`` (special tokens stay; at least one word stays), left-aligned and padded.

    Args:
        input_ids, word_ids, attention_mask: ``(batch, seq)`` tensors; ``word_ids`` is -1 on
            special and padding tokens.
        ratio: the deletion probability per word.
        pad_id: the tokenizer's padding id.
        generator: a ``torch.Generator``, or None for torch's global RNG.
    """
    rows = []
    for ids, words, mask in zip(input_ids, word_ids, attention_mask, strict=True):
        real = mask.bool()
        n_words = int(words[real].max()) + 1 if bool((words[real] >= 0).any()) else 0
        keep_word = torch.rand(max(n_words, 1), generator=generator) >= ratio
        if n_words and not bool(keep_word[:n_words].any()):
            keep_word[torch.randint(n_words, (1,), generator=generator)] = True
        keep = real & ((words < 0) | keep_word[words.clamp(min=0)])
        rows.append(ids[keep])
    width = max(len(r) for r in rows)
    noisy = torch.full((len(rows), width), pad_id, dtype=input_ids.dtype)
    noisy_mask = torch.zeros((len(rows), width), dtype=attention_mask.dtype)
    for i, row in enumerate(rows):
        noisy[i, : len(row)] = row
        noisy_mask[i, : len(row)] = 1
    return noisy, noisy_mask


class DenoisingCollator:
    """Pads token ids (``pad_id``), attention masks and word ids (-1) of tokenized rows, and the
    fixed noisy inputs of held-out rows. Deterministic: deletion happens in the loss."""

    KEYS = {"input_ids": None, "attention_mask": 0, "word_ids": -1,
            "noisy_input_ids": None, "noisy_attention_mask": 0}  # fmt: skip

    def __init__(self, pad_id: int) -> None:
        self.pad_id = pad_id

    def __call__(self, rows: list[dict[str, Any]]) -> dict[str, torch.Tensor]:
        batch = {}
        for key, fill in self.KEYS.items():
            if key not in rows[0]:
                continue
            values = [list(r[key]) for r in rows]
            width = max(len(v) for v in values)
            fill = self.pad_id if fill is None else fill
            padded = [v + [fill] * (width - len(v)) for v in values]
            batch[key] = torch.tensor(padded, dtype=torch.long)
        return batch


def _mean_pool(hidden, mask):
    weights = mask.unsqueeze(-1).to(hidden.dtype)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1e-9)


class DenoisingAutoEncoder(torch.nn.Module):
    """Encoder + decoder; ``forward`` returns each row's summed reconstruction NLL and token
    count (per row, so ``gather_for_metrics`` can drop the rows Accelerate repeats)."""

    def __init__(self, encoder, decoder) -> None:
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, input_ids, attention_mask, noisy_input_ids, noisy_attention_mask):
        hidden = self.encoder(input_ids=noisy_input_ids, attention_mask=noisy_attention_mask)
        vector = _mean_pool(hidden.last_hidden_state, noisy_attention_mask)[:, None]
        logits = self.decoder(
            input_ids=input_ids, attention_mask=attention_mask, encoder_hidden_states=vector,
            encoder_attention_mask=torch.ones(vector.shape[:2], dtype=attention_mask.dtype,
                                              device=vector.device),
        ).logits  # fmt: skip
        labels = input_ids[:, 1:].masked_fill(attention_mask[:, 1:] == 0, -100)
        nll = torch.nn.functional.cross_entropy(
            logits[:, :-1].transpose(1, 2).float(), labels, ignore_index=-100, reduction="none"
        )  # (batch, seq - 1), 0 where ignored
        return nll.sum(1), (labels != -100).sum(1)


def load_denoiser(model_path: str):
    """``(model, fresh_keys)``: the encoder and a decoder copy of it with cross-attention.

    ``fresh_keys`` are the decoder's new parameters (cross-attention, LM head). The decoder's word
    embeddings (its tied output layer) are frozen, as the encoder's are under
    ``freeze_embeddings``; the encoder's pooler, which mean pooling does not use, is frozen.

    Raises:
        ConfigError: the architecture has no causal-LM class that takes cross-attention.
    """
    from transformers import AutoModel, AutoModelForCausalLM

    from ..models import load_pretrained

    encoder, _ = load_pretrained(AutoModel, model_path)
    try:
        decoder, info = load_pretrained(
            AutoModelForCausalLM,
            model_path,
            new_parts=("crossattention",),
            is_decoder=True,
            add_cross_attention=True,
        )
    except (ValueError, TypeError) as err:
        raise ConfigError(  # transformers' message lists every causal-LM class: not repeated
            f"{model_path} is a {encoder.config.model_type!r} model, which has no decoder class "
            "with cross-attention; denoising adaptation needs one (BERT, RoBERTa, ...): pass "
            "--objective mlm"
        ) from err
    for module in (decoder.get_input_embeddings(), getattr(encoder, "pooler", None)):
        for param in module.parameters() if module is not None else ():
            param.requires_grad_(False)
    model = DenoisingAutoEncoder(encoder, decoder)
    fresh = sorted(f"decoder.{k}" for k in info.get("missing_keys", ()))
    logger.info(
        "denoising adaptation: a decoder copy of the encoder with %d new tensors", len(fresh)
    )
    return model, fresh


class DenoisingLoss:
    """``loss_fn(model, batch)``: deletes words (torch's seeded RNG), then the mean NLL."""

    def __init__(self, ratio: float, pad_id: int) -> None:
        self.ratio, self.pad_id = float(ratio), pad_id

    def __call__(self, model, batch: dict) -> torch.Tensor:
        noisy, noisy_mask = delete_words(
            batch["input_ids"].cpu(), batch["word_ids"].cpu(), batch["attention_mask"].cpu(),
            self.ratio, self.pad_id,
        )  # fmt: skip
        device = batch["input_ids"].device
        nll, count = model(batch["input_ids"], batch["attention_mask"], noisy.to(device),
                           noisy_mask.to(device))  # fmt: skip
        return nll.sum() / count.sum().clamp(min=1)


def denoising_heldout(texts: list[str], tokenizer, max_length: int, ratio: float, seed: int):
    """Held-out rows with their noisy inputs drawn once, seeded per text."""
    ds = tokenize_words(texts, tokenizer, max_length)

    def noise_one(row, index):
        gen = torch.Generator().manual_seed(seed * 1_000_003 + index)
        noisy, _ = delete_words(
            torch.tensor([row["input_ids"]]), torch.tensor([row["word_ids"]]),
            torch.tensor([row["attention_mask"]]), ratio, tokenizer.pad_token_id, generator=gen,
        )  # fmt: skip
        return {"noisy_input_ids": noisy[0].tolist(), "noisy_attention_mask": [1] * noisy.shape[1]}

    return ds.map(noise_one, with_indices=True, desc="noise held-out")


def evaluate_reconstruction(model, dataloader, gather=None) -> dict[str, float]:
    """Held-out reconstruction loss and perplexity (``gather`` as in ``evaluate_perplexity``)."""

    def row_sums(batch):
        return model(batch["input_ids"], batch["attention_mask"], batch["noisy_input_ids"],
                     batch["noisy_attention_mask"])  # fmt: skip

    return heldout_perplexity(model, dataloader, row_sums, gather)
