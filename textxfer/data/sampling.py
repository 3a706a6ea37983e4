"""Seeded, stratified sampling: held-out splits, few-shot subsets, capped splits.

Every function takes and returns pandas frames with a ``label`` column and keeps the rows' original
order, so the same seed gives the same rows whatever the machine.

>>> import pandas as pd
>>> frame = pd.DataFrame({"text": list("abcdef"), "label": ["x", "y"] * 3})
>>> few_shot(frame, 1, seed=0)["label"].tolist()
['x', 'y']
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..errors import DataError

logger = logging.getLogger(__name__)

SPLITS = ("train", "dev", "test")

__all__ = ["SPLITS", "complete_splits", "few_shot", "stratified_split", "stratified_subsample"]


def stratified_split(
    frame: pd.DataFrame, size: float | int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(rest, held_out)`` with held_out of ``size`` rows (int) or that fraction, stratified when
    every class has at least 2 rows."""
    from sklearn.model_selection import train_test_split

    counts = frame["label"].value_counts()
    stratify = frame["label"] if counts.min() >= 2 else None
    if stratify is None:
        logger.warning("a class has fewer than 2 rows; splitting without stratification")
    try:
        rest, held = train_test_split(frame, test_size=size, random_state=seed, stratify=stratify)
    except ValueError:  # too few rows per class for the requested size: split unstratified
        rest, held = train_test_split(frame, test_size=size, random_state=seed, stratify=None)
    return rest.reset_index(drop=True), held.reset_index(drop=True)


def complete_splits(
    frames: dict[str, pd.DataFrame], test_size: float, dev_size: float, seed: int
) -> dict[str, pd.DataFrame]:
    """train/dev/test frames: ``all`` becomes train; a missing test (then dev) is held out of train.

    Raises:
        DataError: when there is neither a train nor an all split.
    """
    frames = dict(frames)
    if "all" in frames:
        everything = frames.pop("all")
        frames.setdefault("train", everything)
    if "train" not in frames:
        raise DataError(
            f"found splits {sorted(frames)} but no train split; expected train.csv (or all.csv) "
            "among train/dev/test files"
        )
    for split, size in (("test", test_size), ("dev", dev_size)):
        if split not in frames:
            frames["train"], frames[split] = stratified_split(frames["train"], size, seed)
            logger.info(
                "no %s split: held out %d rows of train (%s_size=%s, seed=%d)",
                split, len(frames[split]), split, size, seed,
            )  # fmt: skip
    return {split: frames[split] for split in SPLITS}


def few_shot(frame: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    """k rows per class, seeded; rows keep their original order.

    Raises:
        DataError: when a class has fewer than k rows.
    """
    counts = frame["label"].value_counts()
    small = counts[counts < k]
    if len(small):
        raise DataError(
            f"k={k} examples per class requested, but class(es) {dict(small)} have fewer rows in train; "
            f"pass k <= {int(counts.min())}"
        )
    rng = np.random.default_rng(seed)
    picks = [
        rng.choice(np.flatnonzero(frame["label"].to_numpy() == lab), k, replace=False)
        for lab in counts.index
    ]
    return frame.iloc[np.sort(np.concatenate(picks))].reset_index(drop=True)


def stratified_subsample(frame: pd.DataFrame, n: int, seed: int) -> pd.DataFrame:
    """n rows (or all if fewer), stratified by label, seeded; original order kept."""
    if n >= len(frame):
        return frame.reset_index(drop=True)
    _, sample = stratified_split(frame.assign(_pos=np.arange(len(frame))), n, seed)
    return frame.iloc[np.sort(sample["_pos"].to_numpy())].reset_index(drop=True)
