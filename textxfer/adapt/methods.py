"""Adapt-then-fine-tune methods of the method registry: ``adapt-finetune`` and
``adapt-finetune-lora``.

Adaptation (``objective`` auto: masked-LM, or denoising for an encoder without a masked-LM head)
on the cell's own training texts (task-adaptive; plus the grid's unlabelled texts when it has
them), then full or LoRA fine-tuning from the adapted encoder. Options: the fine-tuning stage's
sections ``model`` / ``train`` / ``lora``, and the adaptation stage's ``adapt``
(``AdaptArgs``) and ``mlm`` (``MLMTrainArgs``), e.g. ``{mlm: {max_steps: 30, lr: 1e-4}}``.
"""

from __future__ import annotations

import dataclasses
import shutil

from ..compare.registry import MethodResult, MethodRun, register_method
from ..data.checks import check_no_leak
from ..finetune.methods import FINETUNE_SECTIONS, GRID_DEFAULTS, SMOKE_TRAINING, run_finetune
from .args import AdaptArgs, MLMTrainArgs

__all__ = ["ADAPT_SECTIONS", "adaptation_corpus", "run_adapt_finetune"]

ADAPT_SECTIONS = {**FINETUNE_SECTIONS, "adapt": AdaptArgs, "mlm": MLMTrainArgs}


def adaptation_corpus(dataset, eval_split: str, unlabeled: list[str] | None = None) -> list[str]:
    """Task-adaptive texts: the training texts (minus any in ``eval_split``) plus ``unlabeled``.

    Raises:
        DataError: when an ``unlabeled`` text occurs in the evaluation split.
    """
    held_out = list(dataset[eval_split]["text"])
    blocked = set(held_out)
    texts = [t for t in dataset["train"]["text"] if t not in blocked] + list(unlabeled or [])
    check_no_leak(texts, held_out, where=f"the {eval_split} split")
    return texts


def run_adapt_finetune(run: MethodRun) -> MethodResult:
    """Adapt on the task's texts, fine-tune from the adapted encoder; ``fit_seconds`` covers both."""
    from .run import adapt

    c = run.configs
    folder = run.work_dir / "adapted"
    mlm = dataclasses.replace(c["mlm"], out=str(folder), overwrite=True)  # the cell's scratch
    texts = adaptation_corpus(run.dataset, run.eval_split, run.unlabeled)
    encoder = dataclasses.replace(
        c["model"], chunk_window=None, chunk_stride=None
    )  # MLM: no windows
    adapted = adapt(encoder, texts, c["adapt"], mlm)
    tuned = dataclasses.replace(c["model"], model=str(folder))
    result = run_finetune(dataclasses.replace(run, configs={**c, "model": tuned}))
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(mlm.checkpoint_folder(), ignore_errors=True)
    result.fit_seconds += adapted.metrics["seconds"]
    return result


for _name, _lora in (("adapt-finetune", False), ("adapt-finetune-lora", True)):
    register_method(
        _name, kind="adapt", sections=ADAPT_SECTIONS, run=run_adapt_finetune,
        fixed={"lora": _lora, "out": None}, defaults=GRID_DEFAULTS, smoke=SMOKE_TRAINING,
        help="adaptation on the task's texts (masked-LM, or denoising for a head-less encoder), then "
        + ("LoRA" if _lora else "full") + " fine-tuning",
    )  # fmt: skip
