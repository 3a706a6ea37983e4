"""Contextual substitution and insertion with a local masked-LM, batched.

Each text gets its chosen words replaced by (or new slots filled with) the mask token; all masks
of a batch are predicted in one forward pass, and the new word is drawn from the ``top_k``
whole-word predictions (original word excluded) with the row's own ``random.Random``, weighted
by the model's probabilities. Runs in the calling process (batching, not processes, is what
makes a masked LM fast); the batches depend only on the rows, so results do not depend on
``num_proc``.
"""

from __future__ import annotations

import logging
import random

from ..errors import ConfigError
from .ops import WordOp, match_case, split_token, word_key
from .recipes import OpSpec

logger = logging.getLogger(__name__)


class MaskedLMOp(WordOp):
    """Substitute (``op: substitute``) or insert (``op: insert``) words predicted by a masked LM."""

    contextual = True

    def __init__(
        self,
        spec: OpSpec,
        alpha: float,
        model_path: str,
        batch_size: int = 32,
        device: str | None = None,
    ) -> None:
        super().__init__(spec, alpha)
        self.model_path, self.batch_size, self.device = model_path, batch_size, device
        self._loaded = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_loaded": None}

    def _load(self):
        if self._loaded is None:
            self._loaded = _load_model(self.model_path, self.device)
        return self._loaded

    def _plan(self, text: str, rng: random.Random, mask: str):
        """(tokens with masks, [(token index, prefix, original core or None, suffix)])."""
        tokens = text.split()
        if self.spec.op == "substitute":
            slots = [(i, *split_token(t)) for i, t in enumerate(tokens)]
            slots = [s for s in slots if word_key(s[2])]
            chosen = sorted(rng.sample(slots, min(self.count(len(tokens)), len(slots))))
            for i, prefix, _, suffix in chosen:
                tokens[i] = prefix + mask + suffix
            return tokens, chosen
        if not tokens:
            return tokens, []
        for _ in range(self.count(len(tokens))):
            tokens.insert(rng.randrange(len(tokens) + 1), mask)
        chosen = [(i, "", None, "") for i, t in enumerate(tokens) if t == mask]
        return tokens, chosen

    def apply_batch(self, texts: list[str], rngs: list[random.Random]) -> list[str]:
        """Augment ``texts`` (one rng per text), predicting masks in batches of ``batch_size``."""
        tokenizer = self._load()[0]
        plans = [self._plan(t, r, tokenizer.mask_token) for t, r in zip(texts, rngs)]
        out = list(texts)
        todo = sorted((i for i, p in enumerate(plans) if p[1]), key=lambda i: len(plans[i][0]))
        for start in range(0, len(todo), self.batch_size):
            rows = todo[start : start + self.batch_size]
            fills = self._predict(
                [" ".join(plans[i][0]) for i in rows],
                [plans[i][1] for i in rows],
                [rngs[i] for i in rows],
            )
            for i, words in zip(rows, fills):
                out[i] = _render(plans[i][0], plans[i][1], words)
        return out

    def _predict(self, masked: list[str], slots: list[list], rngs: list[random.Random]):
        import torch

        tokenizer, model, device, valid = self._load()
        limit = min(tokenizer.model_max_length, model.config.max_position_embeddings)
        enc = tokenizer(
            masked, padding=True, truncation=True, max_length=limit, return_tensors="pt"
        )
        with torch.no_grad():
            logits = model(**enc.to(device)).logits.float()  # (batch, seq, vocab)
        logits[:, :, ~valid.to(device)] = float("-inf")
        fills = []
        for row, (row_slots, rng) in enumerate(zip(slots, rngs)):
            positions = (enc["input_ids"][row] == tokenizer.mask_token_id).nonzero().flatten()
            words = []
            for pos, (_, _, core, _) in zip(positions.tolist(), row_slots):
                words.append(self._draw(logits[row, pos], tokenizer, core, rng))
            fills.append(words + [None] * (len(row_slots) - len(words)))  # truncated: no fill
        return fills

    def _draw(self, scores, tokenizer, original: str | None, rng: random.Random) -> str | None:
        import torch

        top = torch.topk(scores, min(self.spec.top_k + 1, scores.numel()))
        words, weights = [], []
        for score, idx in zip(top.values.tolist(), top.indices.tolist()):
            word = _clean(tokenizer.convert_ids_to_tokens(idx))
            if score == float("-inf") or (original and word == original.lower()):
                continue
            words.append(word)
            weights.append(score)
        if not words:
            return None
        words, weights = words[: self.spec.top_k], weights[: self.spec.top_k]
        probs = torch.softmax(torch.tensor(weights), 0).tolist()
        return rng.choices(words, weights=probs)[0]


_MODELS: dict[tuple[str, str | None], tuple] = {}


def _load_model(path: str, device: str | None) -> tuple:
    """(tokenizer, model, device, whole-word vocab mask), loaded once per process and path."""
    if (path, device) not in _MODELS:
        import torch
        from transformers import AutoModelForMaskedLM, AutoTokenizer

        where = device or ("cuda" if torch.cuda.is_available() else "cpu")
        tokenizer = AutoTokenizer.from_pretrained(path)
        if tokenizer.mask_token_id is None:
            raise ConfigError(f"tokenizer of {path!r} has no mask token; pass a masked-LM model")
        model = AutoModelForMaskedLM.from_pretrained(path).to(where).eval()
        _MODELS[(path, device)] = (tokenizer, model, where, _word_vocab(tokenizer))
        logger.info("masked LM %s loaded on %s", path, where)
    return _MODELS[(path, device)]


def _clean(token: str) -> str:
    return token.lstrip("Ġ▁")


def _word_vocab(tokenizer):
    """Bool mask over the vocabulary: tokens that are whole content words (no ``##`` pieces)."""
    import torch

    vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
    marked = any(t.startswith(("Ġ", "▁")) for t in vocab)  # BPE/SentencePiece word starts
    keep = [
        (not marked or t.startswith(("Ġ", "▁")))
        and len(_clean(t)) > 1
        and word_key(_clean(t)) == _clean(t)
        for t in vocab
    ]
    return torch.tensor(keep, dtype=torch.bool)


def _render(tokens: list[str], slots: list, words: list[str | None]) -> str:
    """Put predicted words into the masked slots (original word / no insertion when None)."""
    tokens = list(tokens)
    drop = set()
    for (i, prefix, core, suffix), word in zip(slots, words):
        if word is None:
            if core is None:
                drop.add(i)
            else:
                tokens[i] = prefix + core + suffix
        else:
            tokens[i] = prefix + (match_case(core, word) if core else word) + suffix
    return " ".join(t for i, t in enumerate(tokens) if i not in drop)
