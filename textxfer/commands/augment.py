"""``textxfer augment DATASET --recipe eda --n-aug 4 --out DIR``: write an augmented copy of a dataset.

``DIR/train.csv`` holds the original and augmented training rows with the marker columns
(``is_augmented``, ``source_id``, ``aug_index``, ``aug_op``); dev and test are copied unchanged;
``textxfer.data.load_data(DIR)`` reads it like any dataset folder.
"""

from __future__ import annotations

import argparse

from ..augment.pipeline import AugmentArgs, augment_to_folder, format_examples
from ..config import add_dataclass_args, configs_from_args
from ..data.load import DataArgs


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``augment``."""
    p = sub.add_parser(
        "augment",
        help="augment the training split (EDA, word2vec, masked LM, char noise) into a folder",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("dataset", help=DataArgs.__dataclass_fields__["dataset"].metadata["help"])
    p.add_argument("--out", required=True, help="output folder (train/dev/test.csv)")
    p.add_argument("--config", help="YAML file of options (flags override it)")
    p.add_argument("--examples", type=int, default=3, help="before/after examples to print (3)")
    add_dataclass_args(p, DataArgs, AugmentArgs, skip=("dataset",))
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    configs = configs_from_args(args, {"data": DataArgs, "augment": AugmentArgs})
    ds, info = augment_to_folder(configs["data"], configs["augment"], args.out)
    train = ds["train"]
    n_aug_rows = sum(train["is_augmented"][:])
    source = "cache hit" if info.cache_hit else f"{info.num_proc} process(es)"
    print(
        f"augmented {info.n_source} training rows with {info.recipe} (n_aug {info.n_aug}, "
        f"alpha {info.alpha:g}, {source}) in {info.seconds:.1f}s: train {len(train)} rows "
        f"({len(train) - n_aug_rows} original + {n_aug_rows} augmented)"
    )
    if args.examples > 0 and configs["augment"].keep_original:
        print(format_examples(train, args.examples))
    sizes = ", ".join(f"{split} {len(d)}" for split, d in ds.items())
    print(f"wrote {args.out} ({sizes})")
    return 0
