"""``textxfer compare [DATASET] --config GRID.yaml``: run a grid, print the table, write the report.

The grid's options (``CompareArgs``) come from ``--config`` (e.g. ``recipes/configs/quick.yaml``)
under the flags; a first positional that is a YAML file is read as ``--config`` too.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ..compare.executors import ExecutorArgs
from ..compare.grid import CompareArgs
from ..compare.registry import method_names
from .options import add_common, build

SECTIONS = {"compare": CompareArgs, "executor": ExecutorArgs}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``compare``."""
    p = sub.add_parser(
        "compare",
        help="methods x augmentation x sizes x seeds -> one table, report and plots",
        description=__doc__.split("\n\n")[1] + f" Methods: {', '.join(method_names())}.",
    )
    add_common(p, SECTIONS)
    p.set_defaults(func=run)


def config_alias(args: argparse.Namespace) -> None:
    """``textxfer compare grid.yaml``: a YAML positional is the ``--config`` file."""
    dataset = getattr(args, "dataset", None)
    if dataset and Path(dataset).suffix in (".yaml", ".yml") and not args.config:
        args.config = dataset
        del args.dataset


def run(args: argparse.Namespace) -> int:
    from ..compare.grid import compare
    from ..compare.report import best_per_size, format_table, report_metric, summarize

    config_alias(args)
    configs = build(args, SECTIONS)
    cfg = configs["compare"]
    table = compare(cfg, executor=configs["executor"])
    metric = report_metric(table)
    summary = summarize(table, metric)
    out = Path(cfg.out)
    print(format_table(summary, metric))
    print("\nbest per size:")
    print(format_table(best_per_size(summary), metric))
    failed = int((table["status"] != "ok").sum())
    if failed:
        print(f"\n{failed} cell(s) failed; see {out / 'report.md'}")
    print(f"\ntable: {out / 'results.csv'}\nreport: {out / 'report.md'} (and report.html)")
    for name in ("learning_curves", "cost_vs_accuracy", "confusion_matrix"):
        if (out / f"{name}.png").is_file():
            print(f"plot: {out / f'{name}.png'}")
    return 1 if failed == len(table) else 0
