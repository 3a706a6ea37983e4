"""Checks every consumer of a ``DatasetDict`` shares: usable splits, and no evaluation text leaking
into unlabelled (adaptation) texts.

>>> check_no_leak(["a new text"], ["a test text"])       # passes silently
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from ..errors import DataError
from .multilabel import is_multilabel, label_names_of

__all__ = ["check_no_leak", "check_splits"]


def check_splits(dataset, splits: Iterable[str] = ("train", "dev", "test")) -> list[str]:
    """Check that ``splits`` exist, hold rows with ``text`` and a named ``label``, that train has
    at least two classes and that no other split has a label train never has; return the names.

    Raises:
        DataError: naming the split and the fix.
    """
    splits = list(dict.fromkeys(["train", *splits]))
    missing = [s for s in splits if s not in dataset]
    if missing:
        raise DataError(
            f"expected the splits {splits}, missing {missing} (found {sorted(dataset)}); load the "
            "data with textxfer.data.load_data, or name an existing split"
        )
    for split in splits:
        columns = dataset[split].column_names
        if "text" not in columns or "label" not in columns:
            raise DataError(
                f"expected columns text and label in the {split} split, found {columns}"
            )
        if len(dataset[split]) == 0:
            raise DataError(f"the {split} split is empty (0 rows); every split needs rows")
    names = label_names_of(dataset["train"])
    if names is None:
        raise DataError(
            "the label column must be a ClassLabel (or a List of ClassLabel for multi-label) "
            "with names; use load_data"
        )
    seen = _seen(dataset["train"])
    if len(seen) < 2:
        raise DataError(
            f"the training split has {f'a single class ({names[min(seen)]!r})' if seen else 'no labels'}; a classifier "
            "needs at least 2 classes. Check --label-column, or that the data holds more than one label"
        )
    for split in splits[1:]:
        unseen = sorted(_seen(dataset[split]) - seen)
        if unseen:
            raise DataError(
                f"labels {[names[i] for i in unseen][:5]} occur in the {split} split but never in "
                f"train (train has {[names[i] for i in sorted(seen)]}); use a larger or stratified "
                "training sample (--k / --limit) that covers every label"
            )
    return names


def _seen(split) -> set[int]:
    """Label ids that occur in a split (in any label set, for multi-label)."""
    labels = split["label"][:]
    return {i for row in labels for i in row} if is_multilabel(split) else set(labels)


def check_no_leak(
    texts: Sequence[str], held_out: Sequence[str], where: str = "the test split"
) -> None:
    """Raise when any (unlabelled) text also occurs among ``held_out`` (evaluation) texts.

    Raises:
        DataError: naming how many texts leak and one of them.
    """
    leaked = set(texts) & set(held_out)
    if leaked:
        example = min(leaked)
        raise DataError(
            f"{len(leaked)} adaptation text(s) also occur in {where} (e.g. {example[:60]!r}); "
            "adaptation must never see evaluation rows. Take texts from "
            "textxfer.data.adaptation_texts, or drop those texts"
        )
