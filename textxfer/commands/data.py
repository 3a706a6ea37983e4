"""``textxfer data show|sample DATASET``: look at a dataset, write a few-shot subset."""

from __future__ import annotations

import argparse
import json

from ..data.load import DataArgs, describe, input_paths, load_data, save_data
from ..io import prepare_output
from .options import add_common, add_out, build, out_folder

SECTIONS = {"data": DataArgs}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``data show`` and ``data sample``."""
    data = sub.add_parser("data", help="inspect datasets and write few-shot subsets")
    data_sub = data.add_subparsers(dest="data_command", metavar="ACTION", required=True)
    show = data_sub.add_parser("show", help="splits, sizes, label distribution, length percentiles")
    add_common(show, SECTIONS)
    show.add_argument("--json", action="store_true", help="print the summary as JSON")
    show.set_defaults(func=run_show)
    sample = data_sub.add_parser("sample", help="write a few-shot (k per class) subset to a folder")
    add_common(sample, SECTIONS)
    add_out(sample, "train/dev/test.csv")
    sample.set_defaults(func=run_sample)


def format_summary(name: str, summary: dict) -> str:
    """A plain-text table of ``describe`` output."""
    lines = [f"dataset: {name}", f"{'split':<6} {'rows':>7}  {'words p5/p50/p95/max':<22} labels"]
    for split, info in summary.items():
        w = info["words"]
        words = f"{w['p5']:.0f}/{w['p50']:.0f}/{w['p95']:.0f}/{w['max']}"
        labels = ", ".join(f"{k}: {v}" for k, v in info["labels"].items())
        lines.append(f"{split:<6} {info['rows']:>7}  {words:<22} {labels}")
    return "\n".join(lines)


def run_show(args: argparse.Namespace) -> int:
    data_args = build(args, SECTIONS)["data"]
    summary = describe(load_data(data_args))
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
