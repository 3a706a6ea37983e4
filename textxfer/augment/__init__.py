"""Label-preserving augmentation of a training split: seeded, parallel, cached.

- ``args``: ``AugmentArgs``, ``AugmentInfo``.
- ``recipes``: ops combined into recipes (built-in, YAML, lists).
- ``ops``: the op registry and the word/char ops; ``sources``: WordNet, word2vec, masked-LM tables.
- ``mlm``: contextual masked-LM substitution; ``wordnet``: WordNet 3.0 offline.
- ``runner``: parallel execution; ``cache``: the on-disk cache; ``pipeline``: ``augment`` and friends.
"""

from .args import AugmentArgs, AugmentInfo
from .cache import default_cache_dir
from .pipeline import (
    augment,
    augment_to_folder,
    augment_with_info,
    check_not_augmented,
    format_examples,
    op_counts,
    save_augmented,
    side_by_side,
)
from .runner import MARKER_COLUMNS

__all__ = [
    "MARKER_COLUMNS",
    "AugmentArgs",
    "AugmentInfo",
    "augment",
    "augment_to_folder",
    "augment_with_info",
    "check_not_augmented",
    "default_cache_dir",
    "format_examples",
    "op_counts",
    "save_augmented",
    "side_by_side",
]
