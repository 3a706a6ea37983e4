"""Config dataclasses of domain adaptation (continued masked-LM pretraining).

``AdaptArgs`` holds what is specific to masked-LM adaptation (masking, held-out perplexity, how
many texts); ``MLMTrainArgs`` is ``TrainArgs`` with defaults suited to the adaptation stage (one
pass and at least 150 steps at lr 1e-4, ``resolve_adapt_budget``; no dev evaluation, perplexity as
the metric). Model and LoRA settings reuse ``ModelArgs`` and
``LoraArgs``.

>>> from textxfer.adapt.args import AdaptArgs, MLMTrainArgs
>>> AdaptArgs(mlm_probability=0.2, whole_word_mask=True).whole_word_mask
True
>>> MLMTrainArgs(max_steps=100).eval_strategy
'no'
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from ..config import Args, field
from ..errors import ConfigError
from ..train.args import TrainArgs

MLM_METRICS = ("perplexity", "loss")
HEAD_WARMUP = 0.3  # see textxfer.adapt.head for why a fresh head trains alone first
FRESH_HEAD_LR = 1e-3
OBJECTIVES = ("auto", "mlm", "denoising")
DELETION_RATIO = 0.6  # TSDAE's setting (Wang et al., 2021)
# One pass over the texts, and at least this many optimizer steps: the budget measured on the
# amazon_mds pairs (README "Domain adaptation defaults"); 300 steps was no better there.
MIN_ADAPT_STEPS = 150
RECONSTRUCT_LENGTH = 64

__all__ = ["AdaptArgs", "MIN_ADAPT_STEPS", "MLMTrainArgs", "MLM_METRICS", "resolve_adapt_budget"]


@dataclass
class AdaptArgs(Args):
    """Adaptation: the objective, masking or word deletion, held-out perplexity and the texts."""

    mlm_probability: float = field(0.15, help="fraction of tokens (or words) masked per text")
    whole_word_mask: bool = field(
        False, help="mask every sub-token of a chosen word together (needs a fast tokenizer)"
    )
    heldout_fraction: float = field(
        0.1, help="fraction of the texts held out (seeded) to measure perplexity before/after"
    )
    max_heldout: int = field(200, help="cap on the held-out texts (keeps evaluation cheap)")
    max_texts: int | None = field(
        None, help="use at most this many adaptation texts (seeded sample; null: all)"
    )
    seed: int = field(42, help="seed of the held-out split, the text sample and evaluation masks")
    objective: str = field(
        "auto",
        help="mlm (masked-LM), denoising (TSDAE: rebuild each text from the sentence embedding of a "
        "copy with words deleted; textxfer.adapt.denoise), or auto: mlm for a checkpoint with its "
        "own masked-LM head or under LoRA, denoising for a sentence encoder without one",
    )
    deletion_ratio: float = field(
        DELETION_RATIO, help="denoising: share of the words deleted from the encoder's input"
    )
    reconstruct_length: int = field(
        RECONSTRUCT_LENGTH,
        help="denoising: tokens per text encoded and rebuilt (at most max_length; one vector "
        "carries the text, so long texts are cut here)",
    )
    adapted_share: float = field(
        1.0,
        help="share of the adaptation kept in the saved encoder: original + share x (adapted - "
        "original); 1 keeps all of it (textxfer.adapt.anchor has the measured trade-off)",
    )

    def validate(self) -> None:
        if not 0.0 < float(self.mlm_probability) < 1.0:
            raise ConfigError(
                f"mlm_probability must be in (0, 1), found {self.mlm_probability!r}; "
                "e.g. --mlm-probability 0.15"
            )
        if not 0.0 < float(self.heldout_fraction) < 1.0:
            raise ConfigError(
                f"heldout_fraction must be in (0, 1), found {self.heldout_fraction!r}; the perplexity "
                "before/after needs held-out texts, e.g. --heldout-fraction 0.1"
            )
        if int(self.max_heldout) < 1:
            raise ConfigError(
                f"max_heldout must be >= 1, found {self.max_heldout!r}; e.g. --max-heldout 200"
            )
        if self.objective not in OBJECTIVES:
            raise ConfigError(
                f"objective must be one of {list(OBJECTIVES)}, found {self.objective!r}; e.g. "
                "--objective denoising"
            )
        if not 0.0 < float(self.deletion_ratio) < 1.0:
            raise ConfigError(
                f"deletion_ratio must be in (0, 1), found {self.deletion_ratio!r}; e.g. --deletion-ratio 0.6"
            )
        if int(self.reconstruct_length) < 4:
            raise ConfigError(
                f"reconstruct_length must be >= 4 tokens, found {self.reconstruct_length!r}; e.g. "
                "--reconstruct-length 64"
            )
        if not 0.0 <= float(self.adapted_share) <= 1.0:
            raise ConfigError(
                f"adapted_share must be in [0, 1], found {self.adapted_share!r}; it is the share of "
                "the adaptation kept (1: all, 0.5: halfway back to the original), e.g. --adapted-share 0.5"
            )
        if self.max_texts is not None and int(self.max_texts) < 2:
            raise ConfigError(
                f"max_texts must be >= 2 (one to train on, one held out) or null, found "
                f"{self.max_texts!r}; e.g. --max-texts 2000"
            )


@dataclass
class MLMTrainArgs(TrainArgs):
    """How to train the MLM stage: ``TrainArgs`` with masked-LM defaults."""

    epochs: int | None = field(
        None,
        help=f"passes over the adaptation texts (null, with max_steps null: one pass and at least "
        f"{MIN_ADAPT_STEPS} optimizer steps)",
    )
    lr: float = field(1e-4, help="peak learning rate of the adaptation stage")
    warmup_ratio: float = field(0.06, help="fraction of the steps spent warming up")
    eval_strategy: str = field(
        "no", help="evaluate held-out perplexity each epoch, every eval_steps, or no"
    )
    best_metric: str = field("perplexity", help="held-out metric that picks the best model")
    load_best: bool = field(False, help="end with the best weights seen on the held-out texts")
    freeze_embeddings: bool = field(
        True,
        help="never train the embedding layer: the word embeddings are the masked-LM decoder too "
        "(tied), and Adam would move every vocabulary row each step, seen in the texts or not",
    )
    head_warmup: float = field(
        HEAD_WARMUP,
        help="masked-LM: share of the steps that train only a freshly initialised head, the "
        "encoder frozen (0: none; a checkpoint with its own head never warms up)",
    )
    fresh_head_lr: float | None = field(
        FRESH_HEAD_LR,
        help="learning rate of new weights: a fresh masked-LM head, or the denoising decoder's "
        "cross-attention and LM head (null: lr)",
    )

    def validate(self) -> None:
        super().validate()
        if self.eval_strategy != "no" and self.best_metric not in MLM_METRICS:
            raise ConfigError(
                f"best_metric must be one of {list(MLM_METRICS)} for masked-LM adaptation, found "
                f"{self.best_metric!r}; pass --best-metric perplexity"
            )
        if not 0.0 <= float(self.head_warmup) < 1.0:
            raise ConfigError(
                f"head_warmup must be in [0, 1), found {self.head_warmup!r}; the encoder needs "
                "some steps, e.g. --head-warmup 0.3 (0 trains head and encoder from step 0)"
            )
        if self.fresh_head_lr is not None and not float(self.fresh_head_lr) > 0:
            raise ConfigError(
                f"fresh_head_lr must be > 0 or null, found {self.fresh_head_lr!r}; e.g. --fresh-head-lr 1e-3"
            )
        if self.class_weights != "none":
            raise ConfigError(
                f"class_weights is a classification option, found {self.class_weights!r} for "
                "masked-LM adaptation; drop --class-weights"
            )


def resolve_adapt_budget(
    args: MLMTrainArgs, n_rows: int, processes: int = 1
) -> tuple[MLMTrainArgs, str | None]:
    """Fill an unset budget: ``max_steps = max(MIN_ADAPT_STEPS, one pass)`` when neither
    ``epochs`` nor ``max_steps`` is set; ``epochs`` from ``max_steps`` when only that is set.

    Returns ``(args, rule)``, ``rule`` a sentence on what was filled in (None when nothing was).

    >>> args, rule = resolve_adapt_budget(MLMTrainArgs(), n_rows=1600)  # 100 steps per pass
    >>> args.max_steps, args.epochs
    (150, 2)
    >>> resolve_adapt_budget(MLMTrainArgs(), n_rows=16000)[0].max_steps  # one pass: 1000 steps
    1000
    """
    from ..train.defaults import steps_per_epoch

    if args.epochs is not None:
        return args, None
    per_epoch = steps_per_epoch(n_rows, args.batch_size, processes, args.grad_accum)
    rule = None
    steps = args.max_steps
    if not steps:
        steps = max(MIN_ADAPT_STEPS, per_epoch)
        rule = (f"max_steps {steps} = max({MIN_ADAPT_STEPS}, one pass of {per_epoch} steps over "
                f"{n_rows} texts)")  # fmt: skip
    epochs = math.ceil(steps / per_epoch)
    return dataclasses.replace(args, max_steps=steps, epochs=epochs), rule
