"""Fine-tuning of sequence classifiers, full or LoRA, on the shared Accelerate loop."""

from .run import Result, finetune

__all__ = ["Result", "finetune"]
