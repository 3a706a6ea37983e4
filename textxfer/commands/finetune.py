"""``textxfer finetune DATASET``: full or LoRA fine-tuning of a sequence classifier.

Every option comes from ``ModelArgs``, ``DataArgs``, ``TrainArgs`` and ``LoraArgs``; ``--config``
takes a YAML file (sections model/data/train/lora) under the flags, e.g.
``textxfer finetune sst2 --config recipes/configs/lora.yaml --limit 500 --epochs 1``. Settings left
unset (lr, epochs, warm-up, evaluation cadence) follow the defaults rule for full, LoRA or
from-scratch training, ``--lr auto`` probes the rate on dev; the values used are printed and
written to the run's ``config.yaml``, which runs again with ``textxfer finetune --config
OUT/config.yaml``.
"""

from __future__ import annotations

import argparse

from ..data.load import DataArgs
from ..metrics import headline
from ..publish import HubArgs
from ..train.args import LoraArgs, ModelArgs, TrainArgs
from .options import add_common, build, default_out, push

SECTIONS = {
    "model": ModelArgs, "data": DataArgs, "train": TrainArgs, "lora": LoraArgs, "hub": HubArgs,
}  # fmt: skip


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``finetune``."""
    parser = sub.add_parser(
        "finetune",
        help="fine-tune a transformer classifier (full or --lora)",
        description=__doc__.split("\n\n")[1],
    )
    add_common(parser, SECTIONS)
    parser.set_defaults(func=run)


def resolve_configs(args: argparse.Namespace) -> dict:
    """Config instances from defaults < YAML < flags; ``out`` defaults to ``runs/finetune/...``."""
    configs = build(args, SECTIONS)
    train, data, lora = configs["train"], configs["data"], configs["lora"]
    if train.out is None:
        regime = "lora" if lora.lora else "scratch" if configs["model"].from_scratch else "full"
        train.out = default_out("finetune", data.dataset, regime)
    return configs


def format_result(result) -> str:
    """A few lines: method, filled-in defaults, lr probe, parameters, time, dev and test scores."""
    from ..train.defaults import describe_settings
    from ..train.lr_probe import ProbeResult

    share = 100 * result.trainable_params / result.total_params
    settings = dict(result.settings)
    probe = settings.pop("lr_probe", None)
    lines = [f"defaults: {describe_settings(settings)}"]
    if probe:
        lines.append(ProbeResult(**probe).format())
    lines += [
        f"method: {result.method}  trainable parameters: {result.trainable_params:,} of "
        f"{result.total_params:,} ({share:.2f}%)",
        f"steps: {result.global_step}  best step: {result.best_step}  "
        f"train time: {result.train_seconds:.1f} s  processes: {result.processes}"
        + ("  (stopped early)" if result.stopped_early else ""),
    ]  # fmt: skip
    for split in ("dev", "test"):
        m = result.metrics[split]
        lines.append(f"{split:<5} {headline(m)}  n {m['n']}")
    if result.output_dir:
        lines.append(f"saved to {result.output_dir}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    """Run ``finetune`` from parsed arguments; prints on the main process only."""
    from accelerate import PartialState

    from ..finetune import finetune

    configs = resolve_configs(args)
    result = finetune(configs["model"], configs["data"], configs["train"], configs["lora"])
    if PartialState().is_main_process:
        print(format_result(result))
        push(configs["hub"], result.output_dir)
    return 0
