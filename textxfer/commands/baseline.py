"""``textxfer baseline DATASET --method M --out DIR``: fit, evaluate and save a baseline."""

from __future__ import annotations

import argparse

from ..config import add_dataclass_args, configs_from_args
from ..data.load import DataArgs, load_data


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``baseline``."""
    from ..baselines.factory import BaselineArgs

    p = sub.add_parser(
        "baseline",
        help="fit a TF-IDF / word2vec / frozen-feature baseline, evaluate and save it",
        description="Fit on the train split, evaluate on --eval-split, and write metrics.json, "
        "predictions.csv, the fitted pipeline and config.yaml to --out (load it with "
        "`textxfer predict DIR`).",
    )
    p.add_argument("dataset", help=DataArgs.__dataclass_fields__["dataset"].metadata["help"])
    p.add_argument("--config", help="YAML file of options (flags override it)")
    p.add_argument("--out", required=True, help="output folder (replaced atomically)")
    p.add_argument(
        "--eval-split",
        default="test",
        choices=("test", "dev"),
        help="split to evaluate on (default: test)",
    )
    add_dataclass_args(p, DataArgs, BaselineArgs, skip=("dataset",))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..baselines.factory import BaselineArgs
    from ..baselines.train import train_baseline

    configs = configs_from_args(args, {"data": DataArgs, "baseline": BaselineArgs})
    dataset = load_data(configs["data"])
    result = train_baseline(
        configs["baseline"],
        dataset,
        out_dir=args.out,
        eval_split=args.eval_split,
        config={"data": configs["data"]},
    )
    m = result.metrics
    print(
        f"{result.args.method} on {configs['data'].dataset}: {args.eval_split} accuracy "
        f"{m['accuracy']:.4f}, macro-F1 {m['macro_f1']:.4f} (n={m['n']}); fit {result.fit_seconds:.1f}s "
        f"on {result.n_train} rows; wrote {result.out_dir}"
    )
    return 0
