"""The defaults rule: what the training settings left unset (null / auto) become for one run.

A setting whose best value depends on the regime is left unset in ``TrainArgs`` and filled in here
from (regime, training rows, batch size, processes) before training, by one function,
``resolve_train_args``. The filled-in values are what the run uses, what its ``config.yaml``
records (so ``--config OUT/config.yaml`` runs it again) and what the command prints.

The rule (also in the README, "Defaults that win"):

- ``lr``: full fine-tuning 5e-5; LoRA 1e-3 (the adapters start at zero and only a few weights
  move, so they need a ~20x larger step; at 5e-5 a LoRA classifier often never leaves the
  majority class); from scratch (random weights) 1e-4. ``auto`` runs a short probe on dev
  (``textxfer.train.lr_probe``).
- ``epochs``: at least 3 passes and at least 300 optimizer steps, ``max(3, ceil(300 / steps per
  epoch))``: 3 epochs for thousands of rows, more for a few hundred (500 rows at batch 16 -> 10).
- ``warmup_ratio``: 0.1 of the steps.
- ``eval_strategy`` ``auto``: evaluate on dev every epoch when the run has at most 10 epochs, else
  every ``ceil(total steps / 10)`` steps (tiny sets train for many short epochs).

>>> from textxfer.train.args import TrainArgs
>>> args, notes = resolve_train_args(TrainArgs(), "lora", n_train=500)
>>> args.lr, args.epochs, args.warmup_ratio, args.eval_strategy
(0.001, 10, 0.1, 'epoch')
"""

from __future__ import annotations

import dataclasses
import logging
import math
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    from .args import TrainArgs

logger = logging.getLogger(__name__)

REGIMES = ("full", "lora", "scratch")
DEFAULT_LR = {"full": 5e-5, "lora": 1e-3, "scratch": 1e-4}
MIN_EPOCHS = 3
MIN_STEPS = 300
WARMUP_RATIO = 0.1
MAX_EVALS = 10
# Below this rate a LoRA adapter barely moves in a normal budget: a full-fine-tuning rate.
LORA_LOW_LR = 2e-4

__all__ = [
    "DEFAULT_LR",
    "REGIMES",
    "describe_settings",
    "is_resolved",
    "resolve_train_args",
    "steps_per_epoch",
]


def steps_per_epoch(n_train: int, batch_size: int, processes: int = 1, grad_accum: int = 1) -> int:
    """Optimizer steps per pass over ``n_train`` rows, as ``TrainLoop`` counts them."""
    batches = math.ceil(max(1, n_train) / (batch_size * max(1, processes)))
    return max(1, math.ceil(batches / max(1, grad_accum)))


def is_resolved(args: TrainArgs) -> bool:
    """Whether every rule-filled setting has a concrete value (``lr`` a number)."""
    return (
        isinstance(args.lr, float)
        and args.epochs is not None
        and args.warmup_ratio is not None
        and args.eval_strategy != "auto"
    )


def resolve_train_args(
    args: TrainArgs, regime: str, n_train: int, processes: int = 1
) -> tuple[TrainArgs, dict[str, dict[str, Any]]]:
    """Fill the unset settings of ``args`` by the defaults rule (module docstring).

    Args:
        args: the user's settings; fields set to a value are kept as they are.
        regime: ``full``, ``lora`` or ``scratch``.
        n_train: training rows (after any augmentation).
        processes: data-parallel processes (the global batch is ``batch_size x processes``).

    Returns:
        ``(resolved args, notes)``; ``notes`` maps each filled-in field to ``{"value", "rule"}``.
        ``lr: auto`` stays ``"auto"`` (the probe resolves it: ``textxfer.train.lr_probe``).
    """
    if regime not in REGIMES:
        raise ConfigError(f"training regime must be one of {list(REGIMES)}, found {regime!r}")
    notes: dict[str, dict[str, Any]] = {}
    values: dict[str, Any] = {}
    if args.lr is None:
        values["lr"] = DEFAULT_LR[regime]
        notes["lr"] = {"value": values["lr"], "rule": f"{regime} default"}
    per_epoch = steps_per_epoch(n_train, args.batch_size, processes, args.grad_accum)
    epochs = args.epochs
    if epochs is None:
        if args.max_steps:
            epochs, rule = math.ceil(args.max_steps / per_epoch), "max_steps / steps per epoch"
        else:
            epochs = max(MIN_EPOCHS, math.ceil(MIN_STEPS / per_epoch))
            rule = f"max({MIN_EPOCHS}, ceil({MIN_STEPS} steps / {per_epoch} per epoch))"
        values["epochs"] = epochs
        notes["epochs"] = {"value": epochs, "rule": rule}
    if args.warmup_ratio is None:
        values["warmup_ratio"] = WARMUP_RATIO
        notes["warmup_ratio"] = {"value": WARMUP_RATIO, "rule": "default"}
    if args.eval_strategy == "auto":
        values.update(_eval_cadence(args.max_steps or epochs * per_epoch, epochs))
        few = values["eval_strategy"] == "epoch"
        rule = f"<= {MAX_EVALS} epochs" if few else f"> {MAX_EVALS} epochs: {MAX_EVALS} evaluations"
        notes["eval_strategy"] = {"value": values["eval_strategy"], "rule": rule}
        if not few:
            notes["eval_steps"] = {"value": values["eval_steps"], "rule": f"steps / {MAX_EVALS}"}
    resolved = dataclasses.replace(args, **values) if values else args
    warn_lr(resolved, regime)
    return resolved, notes


def _eval_cadence(total_steps: int, epochs: int) -> dict[str, Any]:
    if epochs <= MAX_EVALS:
        return {"eval_strategy": "epoch"}
    return {"eval_strategy": "steps", "eval_steps": max(1, math.ceil(total_steps / MAX_EVALS))}


def warn_lr(args: TrainArgs, regime: str) -> bool:
    """Warn (and return True) when a LoRA run uses a full-fine-tuning learning rate."""
    if regime == "lora" and isinstance(args.lr, float) and args.lr < LORA_LOW_LR:
        logger.warning(
            "LoRA at lr %g: that is a full-fine-tuning rate; LoRA adapters start at zero and "
            "barely move at it, and the classifier often predicts the majority class. The LoRA "
            "default is %g: drop --lr, or pass --lr auto to probe",
            args.lr, DEFAULT_LR["lora"],
        )  # fmt: skip
        return True
    return False


def describe_settings(notes: dict[str, dict[str, Any]]) -> str:
    """The filled-in settings with their rules, e.g. ``lr 0.001 (lora default); epochs 10 (...)``."""
    parts = []
    for name, note in notes.items():
        value = note["value"]
        shown = f"{value:g}" if isinstance(value, float) else str(value)
        parts.append(f"{name} {shown} ({note['rule']})")
    return "; ".join(parts) or "none (every setting was given)"
