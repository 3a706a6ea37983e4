"""Cross-domain table: train on a source domain, test on a target, with and without adaptation.

    python recipes/crossdomain.py "books->kitchen" "kitchen->books" \
        --adapt-config recipes/configs/adapt.yaml --out runs/crossdomain
    python recipes/crossdomain.py "dvd->electronics" --methods "[tfidf-lr, finetune-full]" \
        --options "{finetune-full: {epochs: 1, max_length: 128}}" --adapt "{max_steps: 100}"

Pairs name amazon_mds domains (books, dvd, electronics, kitchen; ``--prefix`` changes that) or
dataset folders. Quote them: ``>`` is a shell redirection. ``--adapt-config`` reads a masked-LM
preset (sections model/adapt/train/lora, as ``textxfer adapt --config``) into ``--adapt``; flags
override it. Finished cells in ``--out`` are reused by a rerun.
"""

from __future__ import annotations

import argparse
import sys

from textxfer.config import add_dataclass_args, configs_from_args, load_yaml
from textxfer.compare.crossdomain import CrossDomainArgs, crossdomain, markdown_table

ADAPT_SECTIONS = ("model", "adapt", "train", "lora")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pair", nargs="*", help="SOURCE->TARGET pairs (default: books->kitchen)")
    parser.add_argument("--config", help="YAML file of CrossDomainArgs options (flags override it)")
    parser.add_argument("--adapt-config", help="masked-LM preset, e.g. recipes/configs/adapt.yaml")
    add_dataclass_args(parser, CrossDomainArgs)
    return parser


def adapt_options(path: str | None) -> dict:
    """A masked-LM preset flattened into ``CrossDomainArgs.adapt`` (its ``model`` is ignored)."""
    if not path:
        return {}
    flat: dict = {}
    for key, value in load_yaml(path).items():
        flat.update(value if key in ADAPT_SECTIONS and isinstance(value, dict) else {key: value})
    flat.pop("model", None)  # the encoder is --model of the cross-domain run
    return flat


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.pair:
        args.pairs = args.pair
    preset = adapt_options(args.adapt_config)
    if preset:
        args.adapt = {**preset, **getattr(args, "adapt", {})}
    cfg = configs_from_args(args, {"crossdomain": CrossDomainArgs})["crossdomain"]
    table = crossdomain(cfg)
    print(markdown_table(table))
    print(f"\nwrote {cfg.out}/results.csv, results.json, results.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
