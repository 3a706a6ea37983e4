"""Fit several baselines on one dataset and write a side-by-side summary.

    python recipes/baseline.py sst2 --method tfidf-lr,w2v-lr,features-lr --out runs/baselines
    python recipes/baseline.py sst2 --method tfidf-lr,tfidf-nb --limit 500 --C 4 --out runs/quick

The same as ``textxfer baseline`` with several methods: each is saved to ``OUT/<method>/`` (load it
with ``textxfer predict OUT/<method>``); the table of accuracy, macro-F1 and fit time goes to
``OUT/summary.csv`` and is printed. Default methods: tfidf-lr, w2v-lr, features-lr.
"""

from __future__ import annotations

import sys

from textxfer.cli import main as cli_main

DEFAULT_METHODS = "tfidf-lr,w2v-lr,features-lr"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if "--method" not in argv:
        argv += ["--method", DEFAULT_METHODS]
    return cli_main(["baseline", *argv])


if __name__ == "__main__":
    sys.exit(main())
