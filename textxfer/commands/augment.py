"""``textxfer augment DATASET --recipe eda --n-aug 4 --out DIR``: write an augmented copy of a dataset.

``DIR/train.csv`` holds the original and augmented training rows with the marker columns
(``is_augmented``, ``source_id``, ``aug_index``, ``aug_op``); dev and test are copied unchanged;
``textxfer.data.load_data(DIR)`` reads it like any dataset folder.
"""

from __future__ import annotations

import argparse

from ..augment import AugmentArgs, augment_to_folder, format_examples, op_counts
from ..data.load import DataArgs
from .options import add_common, add_out, build, out_folder

SECTIONS = {"data": DataArgs, "augment": AugmentArgs}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``augment``."""
    p = sub.add_parser(
        "augment",
        help="augment the training split (EDA, word2vec, masked LM, char noise) into a folder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_common(p, SECTIONS)
    add_out(p, "train/dev/test.csv, config.yaml")
    p.add_argument(
        "--examples", type=int, default=3, help="originals to print with their copies (3)"
    )
    p.set_defaults(func=run)


def summarize(train, info) -> str:
    """One line of sizes and timing, then the rows per op."""
    source = "cache hit" if info.cache_hit else f"{info.num_proc} process(es)"
    n_aug_rows = sum(train["is_augmented"][:])
    lines = [
        f"augmented {info.n_source} training rows with {info.recipe} (n_aug {info.n_aug}, "
        f"alpha {info.alpha:g}, {source}) in {info.seconds:.1f}s: train {len(train)} rows "
        f"({len(train) - n_aug_rows} original + {n_aug_rows} augmented)"
    ]
    counts = op_counts(train)
    width = max(map(len, counts), default=0)
    lines += [f"  {op:<{width}} {count:>7}" for op, count in counts.items()]
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    configs = build(args, SECTIONS)
    data_args, aug_args = configs["data"], configs["augment"]
    name = aug_args.recipe if isinstance(aug_args.recipe, str) else "custom"
    out = out_folder(args, "augment", data_args.dataset, name)
    ds, info = augment_to_folder(data_args, aug_args, out, overwrite=args.overwrite)
    print(summarize(ds["train"], info))
    if args.examples > 0 and aug_args.keep_original:
        print(format_examples(ds["train"], args.examples))
    sizes = ", ".join(f"{split} {len(d)}" for split, d in ds.items())
    print(f"wrote {out} ({sizes})")
    return 0
