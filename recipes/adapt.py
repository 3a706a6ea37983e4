"""Domain- or task-adaptive pretraining (masked-LM or denoising) of an encoder, from a YAML preset plus flags.

    python recipes/adapt.py amazon_mds/books --target amazon_mds/kitchen \
        --config recipes/configs/adapt.yaml --out runs/adapt/kitchen
    python recipes/adapt.py texts.txt --model default --max-steps 200 --out runs/adapt/mine
    torchrun --nproc_per_node 2 recipes/adapt.py amazon_mds/kitchen --config recipes/configs/adapt.yaml

The same as ``textxfer adapt``, as a script that launchers run (``--batch-size`` is per process).
The output folder loads with ``AutoModelForMaskedLM.from_pretrained(OUT)`` and as ``--model OUT``
of ``textxfer finetune`` and of the ``features-*`` baselines.
"""

from __future__ import annotations

import sys

from textxfer.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["adapt", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
