"""Augment a dataset's training split and write it as a folder load_data reads, with a summary.

    python recipes/augment.py --config recipes/configs/aug_eda.yaml --out runs/aug/sst2_eda
    python recipes/augment.py --dataset sst2 --limit 200 --recipe eda_w2v --n-aug 4 --out runs/aug/w2v

Prints how many rows each op produced, the time (or that the result came from the cache) and a
few originals next to their augmented copies.
"""

from __future__ import annotations

import argparse
import sys

from textxfer.augment import AugmentArgs, augment_to_folder, format_examples, op_counts
from textxfer.config import add_dataclass_args, configs_from_args
from textxfer.data import DataArgs


def summarize(train, info) -> str:
    """Counts per op and timing, as plain text."""
    where = "from the cache" if info.cache_hit else f"with {info.num_proc} process(es)"
    lines = [
        f"recipe {info.recipe}: {info.n_source} rows -> {info.rows} "
        f"(n_aug {info.n_aug}, alpha {info.alpha:g}) in {info.seconds:.2f}s {where}"
    ]
    counts = op_counts(train)
    width = max(map(len, counts), default=0)
    lines += [f"  {op:<{width}} {count:>7}" for op, count in counts.items()]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--config", help="YAML preset (e.g. recipes/configs/aug_eda.yaml)")
    parser.add_argument("--out", required=True, help="output folder (train/dev/test.csv)")
    parser.add_argument("--show", type=int, default=3, help="originals to show with their copies")
    add_dataclass_args(parser, DataArgs, AugmentArgs)
    args = parser.parse_args(argv)
    configs = configs_from_args(args, {"data": DataArgs, "augment": AugmentArgs})
    ds, info = augment_to_folder(configs["data"], configs["augment"], args.out)
    print(summarize(ds["train"], info))
    if args.show > 0:
        print(format_examples(ds["train"], args.show))
    print(f"wrote {args.out} ({', '.join(f'{s} {len(d)}' for s, d in ds.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
