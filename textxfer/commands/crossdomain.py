"""``textxfer crossdomain PAIR...``: train on a source domain, test on a target, plain and adapted.

Pairs name amazon_mds domains (books, dvd, electronics, kitchen; ``--prefix`` changes that) or
dataset folders; quote them (``>`` is a shell redirection): ``textxfer crossdomain "books->kitchen"
--adapt-config recipes/configs/adapt.yaml``. Finished cells in ``--out`` are reused by a rerun.
"""

from __future__ import annotations

import argparse

from ..compare.crossdomain import CrossDomainArgs
from ..compare.executors import ExecutorArgs
from ..config import coerce, load_yaml
from .options import add_common, build

SECTIONS = {"crossdomain": CrossDomainArgs, "executor": ExecutorArgs}
ADAPT_SECTIONS = ("model", "adapt", "train", "lora")


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``crossdomain``."""
    p = sub.add_parser(
        "crossdomain",
        help="source->target accuracy with and without adaptation on the target's texts",
        description=__doc__.split("\n\n")[1],
    )
    add_common(
        p, SECTIONS, positional="pairs", metavar="PAIR", nargs="*", help="SOURCE->TARGET pairs"
    )
    p.add_argument(
        "--adapt-config", metavar="FILE",
        help="adaptation preset (sections model/adapt/train/lora, as `textxfer adapt --config`) "
        "for the adaptation stage; --adapt overrides it",
    )  # fmt: skip
    p.set_defaults(func=run)


def adapt_preset(path: str | None) -> dict:
    """The sections of an adaptation preset for ``CrossDomainArgs.adapt`` (the encoder itself is
    ``--model`` of the cross-domain run, so ``model.model`` is dropped)."""
    if not path:
        return {}
    preset = {
        k: dict(v)
        for k, v in load_yaml(path).items()
        if k in ADAPT_SECTIONS and isinstance(v, dict)
    }
    preset.get("model", {}).pop("model", None)
    return preset


def merged(base: dict, override: dict) -> dict:
    """``base`` with ``override``'s keys, merging one level of section mappings."""
    out = {k: dict(v) if isinstance(v, dict) else v for k, v in base.items()}
    for key, value in override.items():
        out[key] = (
            {**out[key], **value}
            if isinstance(value, dict) and isinstance(out.get(key), dict)
            else value
        )
    return out


def run(args: argparse.Namespace) -> int:
    from ..compare.crossdomain import crossdomain, markdown_table

    if getattr(args, "pairs", None) == []:
        del args.pairs
    preset = adapt_preset(args.adapt_config)
    if preset:
        args.adapt = merged(preset, coerce(getattr(args, "adapt", None) or {}, dict, "adapt"))
    configs = build(args, SECTIONS)
    cfg = configs["crossdomain"]
    table = crossdomain(cfg, executor=configs["executor"])
    print(markdown_table(table))
    print(f"\nwrote {cfg.out}/results.csv, results.json, results.parquet, results.md")
    return 0
