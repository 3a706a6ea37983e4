"""Cross-domain table: train on a source domain, test on a target, with and without adaptation.

    python recipes/crossdomain.py "books->kitchen" "kitchen->books" \
        --adapt-config recipes/configs/adapt.yaml --out runs/crossdomain
    python recipes/crossdomain.py "dvd->electronics" --methods tfidf-lr,finetune-full \
        --options "{finetune-full: {epochs: 1, max_length: 128}}" --adapt "{train: {max_steps: 100}}"

The same as ``textxfer crossdomain``. Pairs name amazon_mds domains (books, dvd, electronics,
kitchen; ``--prefix`` changes that) or dataset folders; quote them: ``>`` is a shell redirection.
"""

from __future__ import annotations

import sys

from textxfer.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["crossdomain", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
