"""``textxfer baseline DATASET --method M --out DIR``: fit, evaluate and save a baseline.

Fits on the train split, evaluates on ``--eval-split``, and writes ``metrics.json``,
``predictions.csv``, the fitted pipeline and ``config.yaml`` to ``--out`` (load it with
``textxfer predict DIR``). ``--method a,b`` fits several, each into ``DIR/<method>``.
"""

from __future__ import annotations

import argparse

from ..baselines import BaselineArgs, run_baselines, summarize
from ..compare.registry import method_names
from ..data.load import DataArgs, input_paths, load_data
from ..errors import ConfigError
from ..io import MARKER, atomic_write_json, atomic_write_text, prepare_output, release_output
from ..metrics import headline
from ..publish import HubArgs
from .options import add_common, add_out, build, out_folder, push

SECTIONS = {"data": DataArgs, "baseline": BaselineArgs, "hub": HubArgs}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``baseline``."""
    p = sub.add_parser(
        "baseline",
        help="fit a TF-IDF / word2vec / frozen-feature baseline, evaluate and save it",
        description=__doc__ + f"\nMethods: {', '.join(method_names('baseline'))}.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(p, SECTIONS, skip=("method",))
    p.add_argument(
        "--method", default=argparse.SUPPRESS, metavar="M[,M...]",
        help=f"baseline(s), from {method_names('baseline')} (default: tfidf-lr)",
    )  # fmt: skip
    add_out(p, "metrics, predictions, fitted pipeline")
    p.add_argument(
        "--eval-split", default="test", choices=("test", "dev"), help="split to evaluate on (test)"
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    methods = []
    if "method" in vars(args):  # --method a,b,c: each fitted with the same options
        methods = [m.strip() for m in args.method.split(",") if m.strip()]
        if not methods:
            raise ConfigError("--method is empty; pass e.g. --method tfidf-lr")
        args.method = methods[0]
    configs = build(args, SECTIONS)
    data_args, base = configs["data"], configs["baseline"]
    methods = methods or [base.method]
    single = len(methods) == 1
    if configs["hub"].push_to_hub and not single:
        raise ConfigError(
            f"--push-to-hub publishes one model; found --method {','.join(methods)}; "
            "run one method per command to push it"
        )
    out = out_folder(args, "baseline", data_args.dataset, methods[0] if single else "")
    inputs = input_paths(data_args)
    prepare_output(out, overwrite=args.overwrite, inputs=inputs)
    if base.augment:
        from ..augment import check_not_augmented

        check_not_augmented(data_args.dataset)
    dataset = load_data(data_args)
    if not single:  # a folder of method folders is a run folder too
        atomic_write_json(f"{out}/{MARKER}", {"kind": "baselines", "methods": methods})
    results = run_baselines(
        methods, base, dataset, out_dir=out, eval_split=args.eval_split,
        config={"data": data_args}, nested=not single, overwrite=args.overwrite, inputs=inputs,
    )  # fmt: skip
    release_output(out)
    for method, result in results.items():
        m = result.metrics
        print(
            f"{method} on {data_args.dataset}: {args.eval_split} {headline(m)} (n={m['n']}); "
            f"fit {result.fit_seconds:.1f}s on {result.n_train} rows; wrote {result.out_dir}"
        )
    if not single:
        table = summarize(results)
        atomic_write_text(f"{out}/summary.csv", table.to_csv(index=False))
        print(table.to_string(index=False, float_format=lambda v: f"{v:.4f}"))
    else:
        push(configs["hub"], next(iter(results.values())).out_dir)
    return 0
