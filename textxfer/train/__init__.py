"""Training machinery shared by every stage.

- ``args``: ``ModelArgs``, ``TrainArgs``, ``LoraArgs``.
- ``accel``: the ``Accelerator`` and resumable, seeded dataloaders.
- ``optim``: optimisers, schedules, layer groups, freezing, gradual unfreezing.
- ``lora``: ``LoraArgs`` -> peft, for classifiers and masked LMs.
- ``loop``: ``TrainLoop``, the task-agnostic Accelerate loop with exact resume.
- ``checkpoint``: its checkpoint format (safetensors + JSON, no pickles, with a fingerprint).
- ``stage``: the set-up fine-tuning and adaptation share, and their ``Result``.
"""

from .args import LoraArgs, ModelArgs, TrainArgs

__all__ = ["LoraArgs", "ModelArgs", "TrainArgs"]
