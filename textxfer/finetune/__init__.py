"""Fine-tuning of sequence classifiers, full or LoRA, on the shared training stage.

- ``task``: the classification pieces (model, tokenization, loss, gathered evaluation).
- ``run``: ``finetune(...) -> Result``.
- ``io``: the saved model folder (``transformers.pipeline`` and peft read it) and its predictor.
- ``methods``: ``finetune-full`` and ``finetune-lora`` in the method registry.
"""

from .run import Result, finetune

__all__ = ["Result", "finetune"]
