"""Training machinery shared by every stage: config, Accelerate loop, optimisers, LoRA."""

from .args import LoraArgs, ModelArgs, TrainArgs

__all__ = ["LoraArgs", "ModelArgs", "TrainArgs"]
