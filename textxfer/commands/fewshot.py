"""``textxfer fewshot DATASET``: contrastive few-shot classification (SetFit-style).

Sentence pairs from the labelled training set tune the encoder (cosine-similarity objective), then
a logistic-regression head is fitted on its embeddings; e.g. ``textxfer fewshot sst2 --k 8``. Every
option comes from ``ModelArgs``, ``DataArgs``, ``ContrastiveArgs`` and ``ContrastiveTrainArgs``;
the saved folder is loaded by ``textxfer predict`` and runs again with ``--config OUT/config.yaml``.
"""

from __future__ import annotations

import argparse

from ..data.load import DataArgs
from ..fewshot.args import ContrastiveArgs, ContrastiveTrainArgs
from ..train.args import ModelArgs
from .finetune import format_result
from .options import add_common, build, default_out

SECTIONS = {
    "model": ModelArgs,
    "data": DataArgs,
    "contrastive": ContrastiveArgs,
    "train": ContrastiveTrainArgs,
}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``fewshot``."""
    parser = sub.add_parser(
        "fewshot",
        help="contrastive few-shot classifier (SetFit-style): tuned encoder + logistic regression",
        description=__doc__.split("\n\n")[1],
    )
    add_common(parser, SECTIONS)
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Run ``fit_contrastive`` from parsed arguments; prints on the main process only."""
    from accelerate import PartialState

    from ..fewshot import fit_contrastive

    configs = build(args, SECTIONS)
    train, data = configs["train"], configs["data"]
    if train.out is None:
        train.out = default_out("fewshot", data.dataset, f"k{data.k}" if data.k else "")
    result = fit_contrastive(configs["model"], data, configs["contrastive"], train)
    if PartialState().is_main_process:
        print(format_result(result))
        print(f"pairs: {result.metrics['n_pairs']}")
        print(f"templated examples per label: {result.metrics['n_templates']}")
    return 0
