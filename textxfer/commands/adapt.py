"""``textxfer adapt TEXTS-OR-DATASET --model M --out DIR``: continued pretraining (masked-LM, or
denoising for a sentence encoder without a masked-LM head; ``--objective``).

TEXTS-OR-DATASET is a .txt file (one text per line) or a dataset name/folder/file: its training
texts (task-adaptive), or with ``--target T`` the train+dev texts of T (domain-adaptive); test
texts are never used. Fine-tune from the result by pointing ``--model`` at it, e.g.
``textxfer adapt amazon_mds/books --target amazon_mds/kitchen --max-steps 150 --out runs/adapt/kitchen``
then ``textxfer finetune amazon_mds/books --target amazon_mds/kitchen --model runs/adapt/kitchen``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..adapt.args import AdaptArgs, MLMTrainArgs
from ..config import changed_fields, flags
from ..data.load import DataArgs
from ..errors import ConfigError
from ..publish import HubArgs
from ..train.args import LoraArgs, ModelArgs
from .options import add_common, build, default_out, push

SECTIONS = {
    "model": ModelArgs,
    "data": DataArgs,
    "adapt": AdaptArgs,
    "train": MLMTrainArgs,
    "lora": LoraArgs,
    "hub": HubArgs,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``adapt``."""
    parser = sub.add_parser(
        "adapt",
        help="domain/task-adaptive pretraining (masked-LM or denoising) of an encoder on unlabelled text",
        description=__doc__.split("\n\n")[1],
    )
    add_common(
        parser, SECTIONS, metavar="TEXTS-OR-DATASET",
        help="a .txt file (one text per line), or a dataset name, folder or file",
    )  # fmt: skip
    parser.set_defaults(func=run)


def resolve_configs(args: argparse.Namespace) -> tuple[dict, object]:
    """``(configs, source)``: config instances (defaults < YAML < flags) and what ``adapt`` reads.

    ``out`` defaults to ``runs/adapt/<source>``.
    """
    configs = build(args, SECTIONS)
    data, train = configs["data"], configs["train"]
    path = Path(data.dataset).expanduser()
    is_txt = path.suffix == ".txt" and path.is_file()
    if is_txt and data.target:
        raise ConfigError(
            f"--target {data.target} needs a dataset, found the text file {data.dataset}; "
            "pass the target's texts as the file, or a dataset name with --target"
        )
    if is_txt:
        _refuse_dataset_options(data)
    if train.out is None:
        train.out = default_out("adapt", data.target or (path.stem if is_txt else data.dataset))
    return configs, (str(path) if is_txt else data)


def _refuse_dataset_options(data: DataArgs) -> None:
    """A .txt file has no columns, labels or splits: the data options would be ignored (``seed``
    is shared with the training sections, so ``--seed`` is fine)."""
    given = changed_fields(data, ignore=("dataset", "seed"))
    if given:
        raise ConfigError(
            f"{flags(given)} apply to a dataset, not a text file ({data.dataset}): every line of "
            "the file is used. Drop them, or pass a dataset (name, folder or CSV) instead"
        )


def format_metrics(metrics: dict, out: str) -> str:
    """Perplexity before/after, steps, time, texts, output folder."""
    head = " (fresh masked-LM head)" if metrics.get("fresh_mlm_head") else ""
    objective = metrics.get("objective", "mlm")
    kind = "reconstruction (denoising)" if objective == "denoising" else "masked-LM"
    return "\n".join([
        f"held-out {kind} perplexity {metrics['perplexity_before']:.2f} -> "
        f"{metrics['perplexity_after']:.2f}{head}",
        f"method: {metrics['method']}  steps: {metrics['global_step']}  epochs: {metrics['epochs']}  "
        f"time: {metrics['seconds']:.1f} s",
        f"texts: {metrics['n_train_texts']} trained on, {metrics['n_heldout_texts']} held out",
        f"saved to {out}",
    ])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``adapt`` from parsed arguments; prints on the main process only."""
    from accelerate import PartialState

    from ..adapt import adapt

    configs, source = resolve_configs(args)
    result = adapt(configs["model"], source, configs["adapt"], configs["train"], configs["lora"])
    if PartialState().is_main_process:
        print(format_metrics(result.metrics, result.output_dir))
        push(configs["hub"], result.output_dir)
    return 0
