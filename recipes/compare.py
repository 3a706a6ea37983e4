"""Run a comparison grid from a YAML preset and print the table (e.g. recipes/configs/quick.yaml).

python recipes/compare.py recipes/configs/quick.yaml --out runs/quick
"""

from __future__ import annotations

import sys

from textxfer.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        args = ["recipes/configs/quick.yaml", *args]
    return cli_main(["compare", *args])


if __name__ == "__main__":
    sys.exit(main())
