"""Augment a dataset's training split and write it as a folder load_data reads, with a summary.

    python recipes/augment.py sst2 --config recipes/configs/aug_eda.yaml --out runs/aug/sst2_eda
    python recipes/augment.py sst2 --limit 200 --recipe eda_w2v --n-aug 4 --out runs/aug/w2v

The same as ``textxfer augment``: prints how many rows each op produced, the time (or that the
result came from the cache) and a few originals next to their augmented copies.
"""

from __future__ import annotations

import sys

from textxfer.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["augment", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
