"""Datasets from the Hugging Face Hub, or from its local cache when offline, as raw split frames.

A Hub dataset is named ``owner/name`` (or a canonical ``name``), with its config (subset) given as
``hub_config`` (``--hub-config sst2``) or written after it: ``glue/sst2``, ``owner/name/config``.
A dataset that ``datasets`` has cached once loads again offline (``HF_HUB_OFFLINE=1``, or when the
Hub cannot be reached): ``datasets`` then reads its own cache.

What the rest of ``textxfer.data`` needs is made explicit here:

- ``validation`` is the ``dev`` split; other splits than train/dev/test are ignored (logged);
- ``ClassLabel`` ids become their names; ``-1`` means "no label" (GLUE's test splits): those rows are
  dropped with a count, and a split without any label is not used (test is then held out of train);
- columns keep their Hub names: a dataset whose text column is not ``text`` needs
  ``--text-column`` (the error lists the columns found).

>>> from textxfer.data import DataArgs, load_data
>>> ds = load_data(DataArgs("glue/sst2", text_column="sentence"))     # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pandas as pd

from ..errors import DataError

if TYPE_CHECKING:
    from .load import DataArgs

logger = logging.getLogger(__name__)

SPLIT_NAMES = {"train": "train", "validation": "dev", "dev": "dev", "test": "test"}
UNLABELLED = -1  # the Hub's ClassLabel id for "no label"

__all__ = ["candidates", "hub_frames", "looks_like_hub_id"]


def looks_like_hub_id(name: str) -> bool:
    """``name``, ``owner/name`` or ``owner/name/config``: no path syntax, no file extension."""
    if name.startswith((".", "/", "~")) or "\\" in name or name.count("/") > 2:
        return False
    return bool(re.fullmatch(r"[\w.-]+(/[\w.-]+){0,2}", name)) and not re.search(
        r"\.(csv|tsv|jsonl?|parquet|txt|gz)$", name, re.IGNORECASE
    )


def candidates(name: str, config: str | None) -> list[tuple[str, str | None]]:
    """``(path, config)`` pairs to try, in order, for a dataset argument.

    >>> candidates("glue/sst2", None)
    [('glue/sst2', None), ('glue', 'sst2')]
    >>> candidates("owner/name/cfg", None), candidates("glue", "sst2")
    ([('owner/name', 'cfg')], [('glue', 'sst2')])
    """
    if config:
        return [(name, config)]
    parts = name.split("/")
    if len(parts) == 3:
        return [("/".join(parts[:2]), parts[2])]
    if len(parts) == 2:  # owner/name, or name/config
        return [(name, None), (parts[0], parts[1])]
    return [(name, None)]


def hub_offline() -> bool:
    """True when the Hub must not be asked (offline variables set, or unreachable)."""
    from ..models import hub_reachable

    flags = (os.environ.get(v, "0") for v in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"))
    return any(f not in ("0", "", "false", "False") for f in flags) or not hub_reachable()


@contextlib.contextmanager
def _offline_mode(offline: bool) -> Iterator[None]:
    """``datasets`` reads its offline flag at import; set it for one call when the Hub is out of
    reach, so it goes straight to its cache instead of waiting on the network."""
    import datasets

    before = datasets.config.HF_HUB_OFFLINE
    datasets.config.HF_HUB_OFFLINE = before or offline
    try:
        yield
    finally:
        datasets.config.HF_HUB_OFFLINE = before


def _load(name: str, config: str | None, offline: bool):
    """The first candidate that loads, and the errors of those that did not."""
    import datasets

    errors = []
    for path, cfg in candidates(name, config):
        try:
            with _offline_mode(offline):
                return datasets.load_dataset(path, cfg), path, cfg, errors
        except Exception as err:  # noqa: BLE001 - every failure is reported in the one message
            first = str(err).strip().splitlines()[0][:240] if str(err).strip() else ""
            errors.append(
                f"{path}" + (f" (config {cfg})" if cfg else "") + f": {type(err).__name__}: {first}"
            )
    return None, name, config, errors


def hub_frames(args: DataArgs, hint: str) -> dict[str, pd.DataFrame]:
    """split -> raw frame of a Hub dataset (labels as names, unlabelled rows dropped).

    Args:
        args: ``dataset`` (and ``hub_config``, ``label_column``); ``label_names`` is set from the
            dataset's ``ClassLabel`` when not given.
        hint: the sentence on the other places a dataset may be, for the "not found" error.

    Raises:
        DataError: not on the Hub or in its cache (offline), or no split with labels.
    """
    name = args.dataset
    missing = f"dataset {name!r} not found: no such file or folder, no named dataset of that name ({hint})"
    if not looks_like_hub_id(name):
        raise DataError(f"{missing}, and not a Hub id; pass an existing file or folder")
    offline = hub_offline()
    hub, path, config, errors = _load(name, args.hub_config, offline)
    if hub is None:
        where = (
            "the Hub cannot be reached (or HF_HUB_OFFLINE is set) and the local Hugging Face "
            "datasets cache does not hold it"
            if offline
            else "the Hub could not provide it"
        )
        raise DataError(
            f"{missing}, and {where} ({'; '.join(errors)}). Pass a file or folder, a named dataset, "
            "or a Hub id; a Hub dataset with several configs needs one: --hub-config NAME, or "
            "NAME/CONFIG (e.g. glue/sst2)"
        )
    frames = {}
    ignored = sorted(s for s in hub if s not in SPLIT_NAMES)
    if ignored:
        logger.info("%s: ignored split(s) %s (textxfer uses train/validation/test)", name, ignored)
    for split, ds in hub.items():
        if split in SPLIT_NAMES:
            frame = _labelled(ds, args, f"{path}{'/' + config if config else ''} {split}")
            if frame is not None:
                frames[SPLIT_NAMES[split]] = frame
    if not frames:
        raise DataError(
            f"dataset {name!r} has no split with labels in column {args.label_column!r} (splits "
            f"{sorted(hub)}); pass --label-column NAME, or use a labelled dataset"
        )
    return frames


def _labelled(ds, args: DataArgs, where: str) -> pd.DataFrame | None:
    """The split as a frame, ``ClassLabel`` ids as names; rows labelled -1 dropped (None: all)."""
    frame = ds.to_pandas()
    frame.attrs["source"] = where
    feature = ds.features.get(args.label_column)
    if feature is None or not hasattr(feature, "names"):
        return frame  # plain values (or a missing column: join_text_columns says which exist)
    ids = frame[args.label_column].astype(int)
    unlabelled = int((ids == UNLABELLED).sum())
    if unlabelled == len(frame):
        logger.warning(
            "%s: no labels (all %d rows are -1, as on the Hub's held-out test splits); not used",
            where, len(frame),
        )  # fmt: skip
        return None
    if unlabelled:
        logger.warning(
            "%s: dropped %d of %d rows without a label (-1)", where, unlabelled, len(frame)
        )
        frame, ids = frame[ids != UNLABELLED].reset_index(drop=True), ids[ids != UNLABELLED]
    frame[args.label_column] = [feature.names[i] for i in ids]
    frame.attrs["source"] = where
    args.label_names = args.label_names or list(feature.names)
    return frame
