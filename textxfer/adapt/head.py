"""A freshly initialised masked-LM head: trained alone first, at a rate of its own.

Checkpoints without a masked-LM head (the offline default all-MiniLM-L6-v2 is a sentence encoder)
get a random one. Trained together with the encoder from step 0, that head sends noise into the
encoder for many steps: measured on amazon_mds kitchen with the default body, 89 joint steps leave
the held-out perplexity at ~700 while every layer has moved. ``HeadWarmup`` therefore trains only
the fresh head for the first ``head_warmup`` share of the steps (the encoder frozen), and
``fresh_head_lr`` gives the head its own, larger rate, so the encoder only ever learns from a head
that already predicts words. The trainable set is a function of the optimizer step, so a resumed
run warms up exactly as an uninterrupted one.

>>> warmup = HeadWarmup(["cls.predictions.transform.dense.weight"], share=0.3)   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from ..train.optim import TrainableSchedule

logger = logging.getLogger(__name__)

__all__ = ["HeadWarmup", "fresh_parameters"]


def _matches(name: str, fresh: Sequence[str]) -> bool:
    """``name`` is one of ``fresh``, also under a peft prefix (``base_model.model.``)."""
    return any(name == f or name.endswith(f".{f}") for f in fresh)


def fresh_parameters(model, fresh_keys: Sequence[str]) -> list[str]:
    """Names of ``model``'s parameters that are fresh keys (tied copies appear once)."""
    return [n for n, _ in model.named_parameters() if _matches(n, fresh_keys)]


class HeadWarmup(TrainableSchedule):
    """Loop callback: only the fresh head trains for the first ``share`` of the optimizer steps,
    then every parameter that was trainable at train begin."""

    def __init__(self, fresh_keys: Sequence[str], share: float) -> None:
        self.fresh_keys, self.share = list(fresh_keys), float(share)
        self.steps = 0
        self.rest: list = []
        self.warming: bool | None = None

    def on_train_begin(self, loop) -> None:
        self.steps = math.ceil(self.share * loop.total_steps) if self.fresh_keys else 0
        model = loop.accelerator.unwrap_model(loop.model)
        self.rest = [p for n, p in model.named_parameters()
                     if p.requires_grad and not _matches(n, self.fresh_keys)]  # fmt: skip
        super().on_train_begin(loop)

    def apply(self, step: int | None) -> None:
        """Freeze the non-head parameters while ``step < steps`` (never when ``step`` is None)."""
        warming = step is not None and step < self.steps
        if warming == self.warming:
            return
        for param in self.rest:
            param.requires_grad_(not warming)
        self.warming = warming
        logger.info(
            "head warm-up: %s", f"head only until step {self.steps}" if warming else "all trainable"
        )
