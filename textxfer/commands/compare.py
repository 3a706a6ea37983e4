"""``textxfer compare CONFIG.yaml``: run a grid, print the table, write the report and plots."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..config import add_dataclass_args, configs_from_args


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compare``."""
    from ..compare.grid import CompareArgs

    p = sub.add_parser(
        "compare", help="methods x augmentation x sizes x seeds -> one table, report and plots"
    )
    p.add_argument(
        "config",
        help="YAML file of CompareArgs (see recipes/configs/quick.yaml); flags override it",
    )
    add_dataclass_args(p, CompareArgs)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..compare.grid import CompareArgs, compare
    from ..compare.report import best_per_size, format_table, summarize

    cfg = configs_from_args(args, {"compare": CompareArgs})["compare"]
    table = compare(cfg)
    summary = summarize(table)
    out = Path(cfg.out)
    print(format_table(summary))
    print("\nbest per size:")
    print(format_table(best_per_size(summary)))
    failed = int((table["status"] != "ok").sum())
    if failed:
        print(f"\n{failed} cell(s) failed; see {out / 'report.md'}")
    print(f"\ntable: {out / 'results.csv'}\nreport: {out / 'report.md'} (and report.html)")
    for name in ("learning_curves", "cost_vs_accuracy", "confusion_matrix"):
        if (out / f"{name}.png").is_file():
            print(f"plot: {out / f'{name}.png'}")
    return 1 if failed == len(table) else 0
