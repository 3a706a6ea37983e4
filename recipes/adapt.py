"""Domain- or task-adaptive masked-LM pretraining of an encoder, from a YAML preset plus flags.

    python recipes/adapt.py amazon_mds/books --target amazon_mds/kitchen \
        --config recipes/configs/adapt.yaml --out runs/adapt/kitchen
    python recipes/adapt.py texts.txt --model default --max-steps 200 --out runs/adapt/mine
    torchrun --nproc_per_node 2 recipes/adapt.py amazon_mds/kitchen --config recipes/configs/adapt.yaml

Runs unchanged under ``python``, ``torchrun`` and ``accelerate launch`` (``--batch-size`` is per
process). The output folder loads with ``AutoModelForMaskedLM.from_pretrained(OUT)`` and as
``--model OUT`` of ``textxfer finetune`` and of the ``features-*`` baselines.
"""

from __future__ import annotations

import argparse
import sys

from textxfer.commands.adapt import add_arguments, format_metrics, resolve_configs


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from accelerate import PartialState

    from textxfer.adapt import adapt, read_adapt_metrics

    args = build_parser().parse_args(argv)
    configs, source = resolve_configs(args)
    out = adapt(configs["model"], source, configs["adapt"], configs["train"], configs["lora"])
    if PartialState().is_main_process:
        print(format_metrics(read_adapt_metrics(out), str(out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
