"""``textxfer adapt TEXTS-OR-DATASET --model M --out DIR``: continued masked-LM pretraining.

TEXTS-OR-DATASET is a .txt file (one text per line) or a dataset name/folder/file: its training
texts (task-adaptive), or with ``--target T`` the train+dev texts of T (domain-adaptive); test
texts are never used. Fine-tune from the result by pointing ``--model`` at it, e.g.
``textxfer adapt amazon_mds/books --target amazon_mds/kitchen --max-steps 150 --out runs/adapt/kitchen``
then ``textxfer finetune amazon_mds/books --target amazon_mds/kitchen --model runs/adapt/kitchen``.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from ..adapt.args import AdaptArgs, MLMTrainArgs
from ..config import ConfigError, add_dataclass_args, configs_from_args
from ..data.load import DataArgs
from ..train.args import LoraArgs, ModelArgs

SECTIONS = {
    "model": ModelArgs,
    "data": DataArgs,
    "adapt": AdaptArgs,
    "train": MLMTrainArgs,
    "lora": LoraArgs,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``adapt``."""
    parser = sub.add_parser(
        "adapt",
        help="domain/task-adaptive masked-LM pretraining of an encoder on unlabelled text",
        description=__doc__.split("\n\n")[1],
    )
    add_arguments(parser)
    parser.set_defaults(func=run)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The positional source, ``--config`` and one flag per config field."""
    parser.add_argument(
        "dataset",
        metavar="TEXTS-OR-DATASET",
        help="a .txt file (one text per line), or a dataset name, folder or file",
    )
    parser.add_argument("--config", help="YAML file of options (flags override it)")
    add_dataclass_args(
        parser, ModelArgs, AdaptArgs, MLMTrainArgs, DataArgs, LoraArgs, skip=("dataset",)
    )


def resolve_configs(args: argparse.Namespace) -> tuple[dict, object]:
    """``(configs, source)``: config instances (defaults < YAML < flags) and what ``adapt`` reads.

    ``out`` defaults to ``runs/adapt/<source>``.
    """
    configs = configs_from_args(args, SECTIONS)
    data, train = configs["data"], configs["train"]
    path = Path(data.dataset).expanduser()
    is_txt = path.suffix == ".txt" and path.is_file()
    if is_txt and data.target:
        raise ConfigError(
            f"--target {data.target} needs a dataset, found the text file {data.dataset}; "
            "pass the target's texts as the file, or a dataset name with --target"
        )
    if train.out is None:
        name = data.target or (path.stem if is_txt else data.dataset)
        train.out = f"runs/adapt/{re.sub(r'[^A-Za-z0-9]+', '-', name).strip('-') or 'texts'}"
    return configs, (str(path) if is_txt else data)


def format_metrics(metrics: dict, out: str) -> str:
    """Perplexity before/after, steps, time, texts, output folder."""
    head = " (fresh masked-LM head)" if metrics.get("fresh_mlm_head") else ""
    return "\n".join([
        f"held-out perplexity {metrics['perplexity_before']:.2f} -> {metrics['perplexity_after']:.2f}{head}",
        f"method: {metrics['method']}  steps: {metrics['global_step']}  epochs: {metrics['epochs']}  "
        f"time: {metrics['seconds']:.1f} s",
        f"texts: {metrics['n_train_texts']} trained on, {metrics['n_heldout_texts']} held out",
        f"saved to {out}",
    ])  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Run ``adapt`` from parsed arguments; prints on the main process only."""
    from accelerate import PartialState

    from ..adapt.run import adapt, read_adapt_metrics

    configs, source = resolve_configs(args)
    out = adapt(configs["model"], source, configs["adapt"], configs["train"], configs["lora"])
    if PartialState().is_main_process:
        print(format_metrics(read_adapt_metrics(out), str(out)))
    return 0
