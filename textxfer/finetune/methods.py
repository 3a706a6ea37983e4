"""Fine-tuning methods of the method registry: ``finetune-full``, ``finetune-lora`` and ``scratch``.

Per-method options are the fields of ``ModelArgs``, ``TrainArgs`` and ``LoraArgs`` (flat, or by
section ``model`` / ``train`` / ``lora``); no model folder is kept (``out`` is fixed to null).
Unset training settings follow the defaults rule (``textxfer.train.defaults``), as on the CLI.
``scratch`` trains the same architecture with the same tokenizer and budget from random weights:
what the grid's transfer methods gain over it is what pretraining buys.
"""

from __future__ import annotations

from ..compare.registry import MethodResult, MethodRun, register_method
from ..train.args import LoraArgs, ModelArgs, TrainArgs

__all__ = ["FINETUNE_SECTIONS", "GRID_DEFAULTS", "SMOKE_TRAINING", "run_finetune"]

FINETUNE_SECTIONS = {"model": ModelArgs, "train": TrainArgs, "lora": LoraArgs}
GRID_DEFAULTS = {"progress_bar": False}
SMOKE_TRAINING = {"max_steps": 2, "eval_strategy": "no", "load_best": False}


def run_finetune(run: MethodRun) -> MethodResult:
    """``textxfer.finetune.finetune`` on the cell's data; metrics of the evaluation split."""
    from .run import finetune

    c = run.configs
    result = finetune(c["model"], None, c["train"], c["lora"], dataset=run.dataset)
    return MethodResult(
        result.metrics[run.eval_split],
        result.train_seconds,
        result.trainable_params,
        result.total_params,
    )


for _name, _lora, _help in (
    ("finetune-full", False, "fine-tune every weight of the pretrained model (AdamW)"),
    ("finetune-lora", True, "fine-tune LoRA adapters and the head (peft); the body stays frozen"),
):
    register_method(
        _name, kind="finetune", sections=FINETUNE_SECTIONS, run=run_finetune,
        fixed={"lora": _lora, "out": None, "from_scratch": False}, defaults=GRID_DEFAULTS,
        smoke=SMOKE_TRAINING, adaptation="encoder", help=_help,
    )  # fmt: skip

register_method(
    "scratch", kind="scratch", sections=FINETUNE_SECTIONS, run=run_finetune,
    fixed={"lora": False, "out": None, "from_scratch": True}, defaults=GRID_DEFAULTS,
    smoke=SMOKE_TRAINING,
    help="the same architecture, tokenizer and budget trained from random weights (no transfer)",
)  # fmt: skip
