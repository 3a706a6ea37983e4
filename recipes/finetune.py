"""Fine-tune a transformer classifier (full or LoRA) from a YAML preset plus flags.

    python recipes/finetune.py sst2 --config recipes/configs/full.yaml --out runs/sst2-full
    python recipes/finetune.py sst2 --config recipes/configs/lora.yaml --limit 500 --epochs 1
    torchrun --nproc_per_node 2 recipes/finetune.py sst2 --config recipes/configs/lora.yaml
    accelerate launch recipes/finetune.py sst2 --config recipes/configs/ulmfit.yaml

The same as ``textxfer finetune`` (every flag of it applies), as a script that launchers run:
unchanged under ``python``, ``torchrun`` and ``accelerate launch`` (``--batch-size`` is per
process). Presets: ``recipes/configs/{full,lora,sgd-momentum,ulmfit}.yaml``. The output folder
loads with ``textxfer predict OUT`` and ``transformers.pipeline("text-classification", model=OUT)``.
"""

from __future__ import annotations

import sys

from textxfer.cli import main as cli_main


def main(argv: list[str] | None = None) -> int:
    return cli_main(["finetune", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
