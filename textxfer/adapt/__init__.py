"""Domain adaptation: continued masked-LM pretraining of an encoder on unlabelled text."""

from .args import AdaptArgs, MLMTrainArgs
from .run import adapt, check_no_leak, load_mlm_model, read_adapt_metrics, resolve_texts, split_heldout

__all__ = [
    "AdaptArgs",
    "MLMTrainArgs",
    "adapt",
    "check_no_leak",
    "load_mlm_model",
    "read_adapt_metrics",
    "resolve_texts",
    "split_heldout",
]
