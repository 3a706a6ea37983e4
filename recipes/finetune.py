"""Fine-tune a transformer classifier (full or LoRA) from a YAML preset plus flags.

    python recipes/finetune.py sst2 --config recipes/configs/full.yaml --out runs/sst2-full
    python recipes/finetune.py sst2 --config recipes/configs/lora.yaml --limit 500 --epochs 1
    torchrun --nproc_per_node 2 recipes/finetune.py sst2 --config recipes/configs/lora.yaml
    accelerate launch recipes/finetune.py sst2 --config recipes/configs/ulmfit.yaml

Runs unchanged under ``python``, ``torchrun`` and ``accelerate launch`` (``--batch-size`` is per
process). Presets: ``recipes/configs/{full,lora,sgd-momentum,ulmfit}.yaml``. The output folder
loads with ``textxfer predict OUT`` and ``transformers.pipeline("text-classification", model=OUT)``.
"""

from __future__ import annotations

import argparse
import sys

from textxfer.commands.finetune import add_arguments, format_result, resolve_configs
from textxfer.finetune import finetune


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_arguments(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    from accelerate import PartialState

    args = build_parser().parse_args(argv)
    configs = resolve_configs(args)
    result = finetune(configs["model"], configs["data"], configs["train"], configs["lora"])
    if PartialState().is_main_process:
        print(format_result(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
