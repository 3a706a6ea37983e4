"""Run a comparison grid from a YAML preset and print the table (default: recipes/configs/quick.yaml).

    python recipes/compare.py sst2 --config recipes/configs/quick.yaml --out runs/quick

The same as ``textxfer compare``.
"""

from __future__ import annotations

import sys

from textxfer.cli import main as cli_main

DEFAULT_CONFIG = "recipes/configs/quick.yaml"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--config" not in argv and not any(a.endswith((".yaml", ".yml")) for a in argv):
        argv += ["--config", DEFAULT_CONFIG]
    return cli_main(["compare", *argv])


if __name__ == "__main__":
    sys.exit(main())
