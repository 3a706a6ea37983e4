"""Fit several baselines on one dataset and write a side-by-side summary.

    python recipes/baseline.py sst2 --methods tfidf-lr,w2v-lr,features-lr --out runs/baselines
    python recipes/baseline.py sst2 --methods tfidf-lr,tfidf-nb --limit 500 --C 4 --out runs/quick

Each method is saved to ``OUT/<method>/`` (load it with ``textxfer predict OUT/<method>``); the
table of accuracy, macro-F1 and fit time goes to ``OUT/summary.csv`` and is printed. Every option of
``textxfer baseline`` (DataArgs and BaselineArgs, ``--config YAML``) applies to all methods.
"""

from __future__ import annotations

import argparse
import sys

from textxfer.baselines import METHODS, BaselineArgs, run_baselines, summarize
from textxfer.config import add_dataclass_args, configs_from_args
from textxfer.data import DataArgs, load_data
from textxfer.io import atomic_write_text

DEFAULT_METHODS = "tfidf-lr,w2v-lr,features-lr"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", help="dataset name, file or folder (e.g. sst2)")
    parser.add_argument(
        "--methods", default=DEFAULT_METHODS, help=f"comma-separated (default: {DEFAULT_METHODS})"
    )
    parser.add_argument("--out", required=True, help="output folder")
    parser.add_argument("--eval-split", default="test", choices=("test", "dev"))
    parser.add_argument("--config", help="YAML file of options (flags override it)")
    add_dataclass_args(parser, DataArgs, BaselineArgs, skip=("dataset", "method"))
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        parser.error(f"--methods: unknown {unknown}; expected some of {list(METHODS)}")
    configs = configs_from_args(args, {"data": DataArgs, "baseline": BaselineArgs})
    dataset = load_data(configs["data"])
    results = run_baselines(
        methods,
        configs["baseline"],
        dataset,
        out_dir=args.out,
        eval_split=args.eval_split,
        config={"data": configs["data"]},
    )
    table = summarize(results)
    atomic_write_text(f"{args.out}/summary.csv", table.to_csv(index=False))
    print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
