"""Keep a share of the adaptation: interpolate the adapted encoder towards the original.

``adapted_share`` saves ``original + share x (adapted - original)`` (weight-space interpolation,
as in WiSE-FT, Wortsman et al. 2022). Full training interpolates every parameter that has an
original (a fresh head has none and is kept as trained); LoRA scales each adapter's update by
the share, which is the same thing for the merged weights (the update is linear in its scale).

Why it exists, and why the default is 1 (all of it). The offline default body (all-MiniLM-L6-v2)
is a sentence encoder without a masked-LM head; in 150 masked-LM steps (the preset's budget then)
the fresh head reaches a held-out perplexity of a few hundred (amazon_mds kitchen 240-360), and
the same trained head scores 877 on the original encoder, 540 halfway and 324 on the adapted one
(kitchen, seed 0): most of the adaptation is the encoder (~1% per layer) re-learning token
prediction. Measured on the amazon_mds pairs (800 source rows, 400 target test rows, 3 seeds;
gain of adapted over plain, points):

=================  ==============  ==============  ==============
pair               method          share 1         share 0.5
=================  ==============  ==============  ==============
books->kitchen     finetune-full   -1.0 ± 0.9      -0.5 ± 0.7
books->kitchen     features-lr     +6.9 ± 1.2      +1.8 ± 0.0
kitchen->books     finetune-full   +0.1 ± 3.0      -2.8 ± 3.5
kitchen->books     features-lr     (not kept)      -0.8 ± 0.5
=================  ==============  ==============  ==============

On books->kitchen fine-tuning accuracy falls as the share grows on every seed (plain / 0.5 / 1:
0.9025 / 0.900 / 0.8975, 0.9025 / 0.9025 / 0.8975, 0.905 / 0.8925 / 0.885), and half the move
halves the loss, but it gives up most of the gain of frozen features; on kitchen->books it is no
better for fine-tuning. So the share is a knob (e.g. ``--adapted-share 0.5`` before fine-tuning
on books->kitchen-like pairs), not a default. These are masked-LM numbers; a head-less encoder is
now adapted by denoising by default (``textxfer.adapt.denoise``), and the share applies to both.

>>> original = snapshot(model, fresh_keys=["cls.predictions.bias"])    # doctest: +SKIP
>>> keep_share(model, original, 0.5)                                    # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import torch

from ..train.lora import is_peft_model
from .head import _matches

logger = logging.getLogger(__name__)

__all__ = ["keep_share", "snapshot"]


def snapshot(model: torch.nn.Module, fresh_keys: Sequence[str]) -> dict[str, torch.Tensor]:
    """CPU copies of ``model``'s parameters that the checkpoint provided (not ``fresh_keys``)."""
    return {
        name: param.detach().to("cpu", copy=True)
        for name, param in model.named_parameters()
        if not _matches(name, fresh_keys)
    }


@torch.no_grad()
def keep_share(model: torch.nn.Module, original: dict[str, torch.Tensor], share: float) -> None:
    """In place: every parameter with an original becomes ``original + share x (now - original)``;
    under LoRA every adapter's scale is multiplied by ``share``."""
    share = float(share)
    if is_peft_model(model):
        _scale_adapters(model, share)
        return
    for name, param in model.named_parameters():
        if name in original:
            start = original[name].to(param.device, param.dtype)
            param.copy_(start + share * (param - start))
    logger.info(
        "kept %.0f%% of the adaptation (%d tensors interpolated)", 100 * share, len(original)
    )


def _scale_adapters(model: torch.nn.Module, share: float) -> None:
    from peft.tuners.lora import LoraLayer

    layers = [m for m in model.modules() if isinstance(m, LoraLayer)]
    for layer in layers:
        for name in layer.scaling:
            layer.scaling[name] *= share
    logger.info("kept %.0f%% of the adaptation: %d LoRA updates scaled", 100 * share, len(layers))
