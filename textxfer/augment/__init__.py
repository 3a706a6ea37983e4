"""Label-preserving augmentation of a training split: seeded, parallel, cached."""

from .pipeline import (
    MARKER_COLUMNS,
    AugmentArgs,
    AugmentInfo,
    augment,
    augment_to_folder,
    augment_with_info,
    default_cache_dir,
    format_examples,
    op_counts,
    save_augmented,
    side_by_side,
)

__all__ = [
    "MARKER_COLUMNS",
    "AugmentArgs",
    "AugmentInfo",
    "augment",
    "augment_to_folder",
    "augment_with_info",
    "default_cache_dir",
    "format_examples",
    "op_counts",
    "save_augmented",
    "side_by_side",
]
