"""``textxfer data show|sample DATASET``: look at a dataset, write a few-shot subset.

``data show`` also counts the texts longer than a model's ``--max-length`` in tokens (those that
truncation cuts; ``--chunk-window`` in finetune/baseline uses all of them).
"""

from __future__ import annotations

import argparse
import json
import logging
from dataclasses import dataclass

from ..config import Args, field
from ..data.load import DataArgs, describe, input_paths, load_data, save_data
from ..errors import ModelNotFoundError
from ..io import prepare_output
from .options import add_common, add_out, build, out_folder

logger = logging.getLogger(__name__)


@dataclass
class TokenArgs(Args):
    """Token lengths: how many texts a model's max_length cuts."""

    model: str | None = field(
        "default", help="tokenizer to count tokens with ('default', a folder or Hub id; null: none)"
    )
    max_length: int = field(128, help="count the texts longer than this many tokens")

    def validate(self) -> None:
        from ..errors import ConfigError

        if self.max_length < 1:
            raise ConfigError(f"max_length must be >= 1, found {self.max_length}")


SECTIONS = {"data": DataArgs}
SHOW_SECTIONS = {"data": DataArgs, "tokens": TokenArgs}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``data show`` and ``data sample``."""
    data = sub.add_parser("data", help="inspect datasets and write few-shot subsets")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    show = data_sub.add_parser("show", help="splits, sizes, label distribution, length percentiles")
    add_common(show, SHOW_SECTIONS)
    show.add_argument("--json", action="store_true", help="print the summary as JSON")
    show.set_defaults(func=run_show)
    sample = data_sub.add_parser("sample", help="write a few-shot (k per class) subset to a folder")
    add_common(sample, SECTIONS)
    add_out(sample, "train/dev/test.csv")
    sample.set_defaults(func=run_sample)


def format_summary(name: str, summary: dict) -> str:
    """A plain-text table of ``describe`` output."""
    first = next(iter(summary.values()), {})
    over = first.get("over_max_length")
    tokens = f"{'tokens p50/p95/max':<19} {'> ' + str(over['max_length']):>12}  " if over else ""
    lines = [
        f"dataset: {name}",
        f"{'split':<6} {'rows':>7}  {'words p5/p50/p95/max':<22} {tokens}labels",
    ]
    for split, info in summary.items():
        w = info["words"]
        words = f"{w['p5']:.0f}/{w['p50']:.0f}/{w['p95']:.0f}/{w['max']}"
        labels = ", ".join(f"{k}: {v}" for k, v in info["labels"].items())
        lines.append(f"{split:<6} {info['rows']:>7}  {words:<22} {_tokens(info)}{labels}")
    return "\n".join(lines)


def _tokens(info: dict) -> str:
    if "over_max_length" not in info:
        return ""
    t, n = info["tokens"], info["over_max_length"]["texts"]
    share = f"{n} ({100 * n / max(1, info['rows']):.0f}%)"
    lengths = f"{t['p50']:.0f}/{t['p95']:.0f}/{t['max']}"
    return f"{lengths:<19} {share:>12}  "


def _tokenizer(options: TokenArgs):
    """The tokenizer of ``options.model``; None without a model, or when the default model is
    not installed (word counts only, with a warning)."""
    if options.model is None:
        return None
    from ..models import load_tokenizer, resolve_model

    try:
        return load_tokenizer(resolve_model(options.model))
    except ModelNotFoundError as err:
        if options.model != "default":
            raise
        logger.warning("no token counts: %s", err)
        return None


def run_show(args: argparse.Namespace) -> int:
    configs = build(args, SHOW_SECTIONS)
    data_args, options = configs["data"], configs["tokens"]
    tokenizer = _tokenizer(options)
    summary = describe(load_data(data_args), tokenizer, options.max_length)
    print(
        json.dumps(summary, indent=2) if args.json else format_summary(data_args.dataset, summary)
    )
    return 0


def run_sample(args: argparse.Namespace) -> int:
    data_args = build(args, SECTIONS)["data"]
    k = f"k{data_args.k}" if data_args.k else ""
    inputs = input_paths(data_args)
    out = prepare_output(
        out_folder(args, "data", data_args.dataset, k), overwrite=args.overwrite, inputs=inputs
    )
    ds = load_data(data_args)
    save_data(ds, out, config={"data": data_args}, overwrite=args.overwrite, inputs=inputs)
    sizes = ", ".join(f"{split} {len(d)}" for split, d in ds.items())
    print(f"wrote {out} ({sizes})")
    return 0
