"""LoRA adapters with peft: ``LoraArgs`` -> ``peft.LoraConfig``, for classifiers and masked LMs.

Target modules come from peft's own table, plus the encoders it lacks (below). For a classifier the
head, and any module the checkpoint did not provide (a newly initialised pooler, say), go to
``modules_to_save`` so they train fully and travel with the adapter; a masked LM trains its head in
place (its decoder is tied to the input embeddings, which must stay frozen).

>>> from textxfer.train.lora import apply_lora
>>> model = apply_lora(model, LoraArgs(lora=True, lora_r=8))        # doctest: +SKIP
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, require

if TYPE_CHECKING:
    import torch

    from .args import LoraArgs

logger = logging.getLogger(__name__)

# Encoders missing from peft's TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING: attention
# query/value projections, as the LoRA paper adapts.
EXTRA_TARGET_MODULES = {
    "albert": ["query", "value"],
    "camembert": ["query", "value"],
    "distilbert": ["q_lin", "v_lin"],
    "ernie": ["query", "value"],
    "modernbert": ["Wqkv"],
    "mpnet": ["q", "v"],
    "xlnet": ["q", "v"],
}
TASKS = ("seq_cls", "mlm")


def _peft():
    return require("peft", extra="all", purpose="LoRA")


def default_target_modules(model: torch.nn.Module) -> list[str]:
    """Module names LoRA adapts by default for ``model``'s architecture.

    Raises:
        ConfigError: for an unknown architecture, listing its linear layer names.
    """
    import torch

    model_type = getattr(getattr(model, "config", None), "model_type", None)
    mapping = _peft().utils.constants.TRANSFORMERS_MODELS_TO_LORA_TARGET_MODULES_MAPPING
    if model_type in mapping:
        return list(mapping[model_type])
    if model_type in EXTRA_TARGET_MODULES:
        return list(EXTRA_TARGET_MODULES[model_type])
    linear = sorted(
        {n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    )
    raise ConfigError(
        f"no default LoRA target modules for model type {model_type!r}; pass "
        f"--lora-target-modules with some of its linear layers: {linear[:12]}"
    )


def head_modules(model: torch.nn.Module, new_keys: Iterable[str] = ()) -> list[str]:
    """Modules that must train fully under LoRA: the head and every newly initialised module.

    Args:
        model: a ``*ForSequenceClassification`` model.
        new_keys: parameter names the checkpoint did not provide (``missing_keys`` of loading).

    Returns:
        Module names for ``LoraConfig.modules_to_save``, e.g. ``["classifier"]``.
    """
    base = getattr(model, "base_model_prefix", None)
    names = {
        name
        for name, child in model.named_children()
        if name != base and any(True for _ in child.parameters())
    }
    names.update(key.rsplit(".", 1)[0] for key in new_keys if "." in key)
    return sorted(names)


def lora_config(
    model: torch.nn.Module, args: LoraArgs, new_keys: Iterable[str] = (), task="seq_cls"
):
    """``peft.LoraConfig`` from ``args`` for a classifier (``seq_cls``) or a masked LM (``mlm``)."""
    peft = _peft()
    targets = args.lora_target_modules or default_target_modules(model)
    present = {n.split(".")[-1] for n, _ in model.named_modules()}
    missing = [t for t in targets if t not in present and "." not in t]
    if missing:
        raise ConfigError(
            f"lora_target_modules {missing} not found in {type(model).__name__}; "
            f"pass --lora-target-modules with module names of the model (e.g. {sorted(present)[:8]})"
        )
    extra = list(args.lora_modules_to_save or [])
    to_save = (
        sorted(set(head_modules(model, new_keys)) | set(extra)) if task == "seq_cls" else extra
    )
    return peft.LoraConfig(
        task_type=peft.TaskType.SEQ_CLS if task == "seq_cls" else None,
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=list(targets),
        modules_to_save=to_save or None,
        bias=args.lora_bias,
    )


def active_lora(args: LoraArgs | None) -> LoraArgs | None:
    """``args`` when LoRA is on, else None; LoRA options without ``lora: true`` are refused (they
    would be ignored and the whole model trained).

    Raises:
        ConfigError: naming the options and the fix.
    """
    if args is None or args.lora:
        return args
    from ..config import changed_fields, flags

    given = changed_fields(args, ignore=("lora",))
    if given:
        raise ConfigError(
            f"{flags(given)} set the LoRA adapter, but LoRA is off, so they would be ignored and "
            "every weight trained; pass --lora to train a LoRA adapter, or drop them"
        )
    return None


def apply_lora(
    model: torch.nn.Module, args: LoraArgs, new_keys: Iterable[str] = (), task: str = "seq_cls"
):
    """Wrap ``model`` in a ``peft.PeftModel`` with a LoRA adapter (base weights frozen).

    Args:
        model: a sequence classifier (``task="seq_cls"``) or a masked LM (``task="mlm"``).
        args: rank, alpha, dropout, target modules, extra modules to save, bias.
        new_keys: parameters the checkpoint did not provide (they train fully).
        task: ``seq_cls`` or ``mlm``.
    """
    if task not in TASKS:
        raise ConfigError(f"LoRA task must be one of {list(TASKS)}, found {task!r}")
    config = lora_config(model, args, new_keys, task)
    prefix = f"{model.base_model_prefix}."
    head = (
        [p for n, p in model.named_parameters() if not n.startswith(prefix)]
        if task == "mlm"
        else []
    )
    wrapped = _peft().get_peft_model(model, config)
    for param in head:
        param.requires_grad_(True)
    trainable, total = count_parameters(wrapped)
    logger.info(
        "LoRA r=%d on %s; modules_to_save %s; trainable %d of %d parameters (%.2f%%)",
        args.lora_r, config.target_modules, config.modules_to_save, trainable, total,
        100.0 * trainable / total,
    )  # fmt: skip
    return wrapped


def is_peft_model(model: torch.nn.Module) -> bool:
    """True for a ``peft.PeftModel`` (without importing peft when it is not loaded)."""
    return any(cls.__module__.startswith("peft.") for cls in type(model).__mro__)


def count_parameters(model: torch.nn.Module) -> tuple[int, int]:
    """(trainable, total) parameter counts; for peft models as ``get_nb_trainable_parameters``."""
    if hasattr(model, "get_nb_trainable_parameters"):
        trainable, total = model.get_nb_trainable_parameters()
        return int(trainable), int(total)
    params = list(model.parameters())
    return sum(p.numel() for p in params if p.requires_grad), sum(p.numel() for p in params)


def merge_lora(model: torch.nn.Module) -> torch.nn.Module:
    """Fold the adapter into the base weights: a plain ``transformers`` model (in place)."""
    return model.merge_and_unload() if is_peft_model(model) else model


def load_adapter(adapter_dir: str | Path, base_model: torch.nn.Module):
    """Attach a saved adapter (``adapter_config.json`` + weights) to ``base_model``."""
    return _peft().PeftModel.from_pretrained(base_model, str(adapter_dir))
