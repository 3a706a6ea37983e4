"""Quickstart: the richest offline pipeline textxfer has, on sst2 (run by `make quickstart`)."""

from __future__ import annotations

import argparse
import sys

from textxfer.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--dataset", default="sst2", help="dataset name, file or folder (default: sst2)"
    )
    args = parser.parse_args(argv)
    return cli_main(["data", "show", args.dataset])


if __name__ == "__main__":
    sys.exit(main())
