"""Optimizers, learning-rate schedules, layer groups, freezing and gradual unfreezing.

A transformer is cut into *layer groups*, bottom to top: group 0 is everything before the first
transformer block (embeddings), groups 1..L are the blocks, group L+1 everything after them
(pooler, final norm, classifier head). Discriminative learning rates (ULMFiT, Howard & Ruder 2018)
give group g the rate ``lr * layer_lr_decay ** (L + 1 - g)``; gradual unfreezing trains the top
group first and unfreezes one more group downwards every ``unfreeze_every`` optimizer steps.

>>> groups = layer_groups(model)                         # doctest: +SKIP
>>> optimizer = build_optimizer(param_groups(model, args), args)   # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError

if TYPE_CHECKING:
    import torch

    from .args import TrainArgs

logger = logging.getLogger(__name__)

SCHEDULE_NAMES = {"linear": "linear", "cosine": "cosine", "constant": "constant_with_warmup"}


def _block_list_name(model: torch.nn.Module) -> str:
    """Qualified name of the longest ``nn.ModuleList`` (the stack of transformer blocks)."""
    import torch

    best, best_len = None, 0
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.ModuleList) and len(module) > best_len:
            if any(isinstance(child, torch.nn.Linear) for child in module.modules()):
                best, best_len = name, len(module)
    if best is None:
        raise ConfigError(
            f"found no stack of transformer blocks (nn.ModuleList) in {type(model).__name__}; "
            "layer freezing, layer_lr_decay and gradual_unfreeze need one. Drop those options"
        )
    return best


def layer_groups(model: torch.nn.Module) -> list[list[str]]:
    """Parameter names per layer group, bottom (embeddings) to top (head); all parameters.

    Returns:
        ``L + 2`` lists for a model of ``L`` blocks: ``[before, block 0, ..., block L-1, after]``.
    """
    blocks = _block_list_name(model)
    prefix = f"{blocks}."
    n_blocks = len(model.get_submodule(blocks))
    groups: list[list[str]] = [[] for _ in range(n_blocks + 2)]
    seen_block = False
    for name, _ in model.named_parameters():
        if name.startswith(prefix):
            groups[1 + int(name[len(prefix) :].split(".")[0])].append(name)
            seen_block = True
        else:
            groups[-1 if seen_block else 0].append(name)
    return groups


def freeze(model: torch.nn.Module, embeddings: bool = False, first_layers: int = 0) -> list[str]:
    """Stop training the embedding group and/or the first ``first_layers`` blocks.

    Returns:
        Names of the parameters that were trainable and are now frozen.
    """
    if not embeddings and not first_layers:
        return []
    groups = layer_groups(model)
    n_blocks = len(groups) - 2
    if first_layers > n_blocks:
        raise ConfigError(
            f"freeze_layers={first_layers} but the model has {n_blocks} transformer layers; "
            f"pass --freeze-layers between 0 and {n_blocks}"
        )
    names = set(groups[0] if embeddings else []).union(*groups[1 : 1 + first_layers])
    frozen = []
    for name, param in model.named_parameters():
        if name in names and param.requires_grad:
            param.requires_grad_(False)
            frozen.append(name)
    logger.info("froze %d parameter tensors", len(frozen))
    return frozen


def _no_decay(name: str, param: torch.Tensor) -> bool:
    return param.ndim < 2 or "norm" in name.lower()


def param_groups(
    model: torch.nn.Module, args: TrainArgs, own_lr: Mapping[str, float] | None = None
) -> list[dict[str, Any]]:
    """Optimizer parameter groups of the trainable parameters: per layer group lr, decay split.

    Each group carries ``lr``, ``weight_decay``, ``params`` and a ``name`` (e.g. ``layer_3``).
    Without layer-wise decay every group gets ``args.lr``. ``own_lr`` maps parameter names to a
    rate of their own (e.g. a freshly initialised head); they form extra groups named ``own_lr``.
    """
    trainable = {n for n, p in model.named_parameters() if p.requires_grad}
    if not trainable:
        raise ConfigError(
            "no parameter is left to train; check freeze_embeddings / freeze_layers / LoRA settings"
        )
    if args.layer_lr_decay < 1.0 or args.gradual_unfreeze:
        named_groups = layer_groups(model)
    else:
        named_groups = [[n for n, _ in model.named_parameters()]]
    own = {n: float(v) for n, v in (own_lr or {}).items() if n in trainable}
    params = dict(model.named_parameters())
    top = len(named_groups) - 1
    out = []
    for g, names in enumerate(named_groups):
        lr = args.lr * args.layer_lr_decay ** (top - g)
        label = "all" if len(named_groups) == 1 else _group_label(g, top)
        out += _decay_split([n for n in names if n in trainable and n not in own], params, lr,
                            args.weight_decay, label)  # fmt: skip
    for lr in sorted(set(own.values())):
        names = [n for n, v in own.items() if v == lr]
        out += _decay_split(names, params, lr, args.weight_decay, "own_lr")
    return out


def _decay_split(names, params, lr: float, weight_decay: float, label: str) -> list[dict]:
    """One group with weight decay and one without (biases, norms), empty ones dropped."""
    out = []
    for decay in (True, False):
        chosen = [params[n] for n in names if _no_decay(n, params[n]) != decay]
        if chosen:
            wd = weight_decay if decay else 0.0
            out.append({"params": chosen, "lr": lr, "weight_decay": wd, "name": label})
    return out


def _group_label(g: int, top: int) -> str:
    return "embeddings" if g == 0 else "head" if g == top else f"layer_{g - 1}"


def build_optimizer(groups: list[dict[str, Any]], args: TrainArgs) -> torch.optim.Optimizer:
    """AdamW or SGD (momentum, Nesterov) over ``groups`` as configured in ``args``."""
    import torch

    if args.optimizer == "adamw":
        kwargs = dict(lr=args.lr, betas=tuple(args.adam_betas), eps=args.adam_eps)
        try:  # the fused kernel (as Trainer's default): ~4x faster steps, no foreach temporaries
            return torch.optim.AdamW(groups, fused=True, **kwargs)
        except (RuntimeError, ValueError):  # a device or dtype without the fused kernel
            return torch.optim.AdamW(groups, **kwargs)
    return torch.optim.SGD(groups, lr=args.lr, momentum=args.momentum, nesterov=args.nesterov)


def warmup_steps(args: TrainArgs, total_steps: int) -> int:
    """Warm-up length: ``warmup_steps`` when set, else ``ceil(warmup_ratio * total_steps)``."""
    if args.warmup_steps is not None:
        return int(args.warmup_steps)
    return math.ceil(args.warmup_ratio * total_steps)


def build_scheduler(optimizer: torch.optim.Optimizer, args: TrainArgs, total_steps: int):
    """Linear / cosine decay or constant, after warm-up; stepped once per optimizer step."""
    from transformers import get_scheduler

    return get_scheduler(
        SCHEDULE_NAMES[args.scheduler],
        optimizer,
        num_warmup_steps=warmup_steps(args, total_steps),
        num_training_steps=total_steps,
    )


class TrainableSchedule:
    """Loop callback base: which parameters train is a function of the optimizer step
    (``apply(step)``), so a resumed run trains exactly as an uninterrupted one; ``apply(None)``
    at train end leaves every scheduled parameter trainable again."""

    def on_train_begin(self, loop) -> None:
        self.apply(loop.state.global_step)

    def on_step_begin(self, loop) -> None:
        self.apply(loop.state.global_step)

    def on_train_end(self, loop) -> None:
        self.apply(None)

    def apply(self, step: int | None) -> None:
        raise NotImplementedError


class GradualUnfreezing(TrainableSchedule):
    """Loop callback: start with the top layer group trainable, unfreeze one more every N steps.

    Only parameters that were trainable when the callback was built take part (groups frozen by
    ``freeze`` stay frozen). The trainable set is a function of the optimizer step, so a resumed
    run unfreezes exactly as an uninterrupted one.

    Args:
        model: the (unwrapped) model.
        every: optimizer steps between unfreezing; ``None`` picks it at train begin so that every
            group is trainable by the end of the first epoch.
    """

    def __init__(self, model: torch.nn.Module, every: int | None = None) -> None:
        self.model = model
        self.every = every
        params = dict(model.named_parameters())
        self.groups = [
            [params[n] for n in names if params[n].requires_grad] for names in layer_groups(model)
        ]
        self.groups = [g for g in self.groups if g][::-1]  # top first
        self.n_unfrozen = -1

    def on_train_begin(self, loop) -> None:
        if self.every is None:
            self.every = max(1, loop.steps_per_epoch // len(self.groups))
        super().on_train_begin(loop)

    def apply(self, step: int | None) -> None:
        """Make the top ``1 + step // every`` groups trainable (all when ``step`` is None)."""
        n = len(self.groups) if step is None else min(len(self.groups), 1 + step // self.every)
        if n == self.n_unfrozen:
            return
        for i, group in enumerate(self.groups):
            for param in group:
                param.requires_grad_(i < n)
        self.n_unfrozen = n
        logger.info("gradual unfreezing: %d of %d layer groups trainable", n, len(self.groups))
