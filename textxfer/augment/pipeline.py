"""Label-preserving text augmentation of a training split: EDA and friends, seeded, parallel, cached.

``augment(ds, "eda", n_aug=4, seed=0)`` returns ``ds`` with ``n_aug`` augmented copies of every
row (after its original when ``keep_original``), plus marker columns ``is_augmented``,
``source_id`` (row of ``ds`` it comes from), ``aug_index`` (0 for the original, 1..n_aug) and
``aug_op`` (the op(s) applied). Ops: random insertion, deletion, swap and substitution, with
WordNet synonyms, word2vec neighbours or a masked LM as sources, and char noise (nlpaug).

Each augmented row's randomness derives from (seed, source row id, copy index) only, so the
output is the same for any ``num_proc``. Results are cached on disk under a key of (hash of
texts and labels, recipe, n_aug, alpha, seed, models, ...): ``$TEXTXFER_CACHE/augment`` or
``~/.cache/textxfer/augment``.

>>> from textxfer.augment import augment
>>> from textxfer.data import load_data
>>> ds = load_data("sst2", limit=200)                                     # doctest: +SKIP
>>> aug_train = augment(ds["train"], "eda", n_aug=4, seed=0, num_proc=1)  # doctest: +SKIP
>>> len(aug_train) == 5 * len(ds["train"])                                # doctest: +SKIP
True
"""

from __future__ import annotations

import dataclasses
import logging
import time
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from . import cache as augment_cache
from .args import AugmentArgs, AugmentInfo
from .recipes import Recipe, eda_defaults

logger = logging.getLogger(__name__)

__all__ = [
    "augment",
    "check_not_augmented",
    "augment_to_folder",
    "augment_with_info",
    "format_examples",
    "op_counts",
    "save_augmented",
    "side_by_side",
]


def _check_input(dataset) -> None:
    missing = [c for c in ("text", "label") if c not in dataset.column_names]
    if missing:
        raise DataError(
            f"augment expects columns ['text', 'label'], found {dataset.column_names}; "
            "load the data with textxfer.data.load_data (or rename the columns)"
        )
    if "is_augmented" in dataset.column_names:
        raise DataError(
            "this dataset is already augmented (it has an 'is_augmented' column); "
            "augment the original training split instead"
        )


def _copies_and_alpha(args: AugmentArgs, n_rows: int) -> tuple[int, float]:
    """``n_aug`` and ``alpha`` as given, else from EDA's table for ``n_rows``."""
    default_alpha, default_n = eda_defaults(n_rows)
    n_aug = default_n if args.n_aug is None else args.n_aug
    if n_aug == 0 and not args.keep_original:
        raise ConfigError("n_aug=0 with keep_original=false leaves no rows; raise n_aug")
    return n_aug, default_alpha if args.alpha is None else float(args.alpha)


def _compute(dataset, args: AugmentArgs, recipe: Recipe, n_aug: int, alpha: float):
    """``(augmented dataset, processes used)``."""
    from .runner import Runner, run
    from .sources import build_ops

    texts = [t if isinstance(t, str) else "" for t in dataset["text"][:]]
    ops = build_ops(recipe, alpha, texts, args)
    return run(dataset, Runner(recipe, ops, args.seed, n_aug, args.keep_original), args.num_proc)


def augment_with_info(dataset, args: AugmentArgs):
    """``augment`` with an ``AugmentInfo`` (cache hit or not, sizes, seconds) alongside.

    Returns:
        ``(augmented datasets.Dataset, AugmentInfo)``.
    """
    _check_input(dataset)
    start = time.perf_counter()
    recipe = args.load_recipe()
    n_aug, alpha = _copies_and_alpha(args, len(dataset))
    key = augment_cache.cache_key(args, recipe, augment_cache.fingerprint(dataset), n_aug, alpha)
    folder = augment_cache.entry(args.cache_path, recipe, key)

    def info(out, hit: bool, num_proc: int = 0) -> AugmentInfo:
        seconds, where = time.perf_counter() - start, str(folder) if args.use_cache else None
        return AugmentInfo(
            recipe.name, len(dataset), n_aug, alpha, len(out), num_proc, seconds, hit, where, key
        )

    cached = augment_cache.load(folder) if args.use_cache else None
    if cached is not None:
        return cached, info(cached, True)
    out, num_proc = _compute(dataset, args, recipe, n_aug, alpha)
    if args.use_cache:
        meta = {"recipe": recipe.to_dict(), "n_aug": n_aug, "alpha": alpha, "key": key}
        out = augment_cache.save(out, folder, meta | {"args": dataclasses.asdict(args)})
    result = info(out, False, num_proc)
    logger.info(
        "augment: %s, %d rows -> %d (n_aug %d, alpha %g, num_proc %d) in %.1fs",
        recipe.name, len(dataset), len(out), n_aug, alpha, num_proc, result.seconds,
    )  # fmt: skip
    return out, result


def augment(
    dataset,
    recipe: str | list | dict | Recipe | AugmentArgs = "eda",
    n_aug: int | None = None,
    seed: int | None = None,
    num_proc: int | None = None,
    keep_original: bool | None = None,
    **options: Any,
):
    """Augment a training split with label-preserving copies of its rows.

    Args:
        dataset: a ``datasets.Dataset`` with ``text`` and ``label`` columns, or a
            ``DatasetDict`` (only its ``train`` split is augmented; the others are returned as is).
        recipe: built-in name (``eda``, ``eda_w2v``, ``mlm``, ``char``, ``synonym``, ``insert``,
            ``swap``, ``delete``, ...), YAML file, list of op dicts, ``Recipe``, or a full
            ``AugmentArgs`` (then the other arguments, when given, override its fields).
        n_aug: augmented copies per row (default: EDA's table by size: 16 / 8 / 4).
        seed: seed (default 42); output is identical for any ``num_proc``.
        num_proc: worker processes (default: chosen from the measured cost: 1 on small data,
            up to the idle cores on large data).
        keep_original: keep the original rows (default True).
        **options: other ``AugmentArgs`` fields: ``alpha``, ``cache_dir``, ``use_cache``,
            ``w2v_model``, ``mlm_model``, ``wordnet_dir``, ``batch_size``, ``device``.

    Returns:
        The augmented ``Dataset`` (or ``DatasetDict``): original features plus
        ``is_augmented``, ``source_id``, ``aug_index`` and ``aug_op`` columns.

    Raises:
        ConfigError: bad recipe or arguments. DataError: missing columns.
        MissingSourceError: WordNet data, gensim or an MLM model missing (says what to install).

    >>> aug_train = augment(ds["train"], "eda", n_aug=4, seed=0, num_proc=1)  # doctest: +SKIP
    """
    given = {"n_aug": n_aug, "seed": seed, "num_proc": num_proc, "keep_original": keep_original}
    overrides = {k: v for k, v in given.items() if v is not None} | options
    if isinstance(recipe, AugmentArgs):
        args = dataclasses.replace(recipe, **overrides)
    else:
        args = AugmentArgs(recipe=recipe, **overrides)
    if hasattr(dataset, "keys") and not hasattr(dataset, "features"):  # a DatasetDict
        if "train" not in dataset:
            raise DataError(f"augment needs a 'train' split, found {list(dataset)}")
        import datasets

        train = augment_with_info(dataset["train"], args)[0]
        return datasets.DatasetDict({**dataset, "train": train})
    return augment_with_info(dataset, args)[0]


def save_augmented(
    dataset,
    folder: str | Path,
    info: AugmentInfo | None = None,
    config: dict | None = None,
    **output: Any,
) -> Path:
    """Write a ``DatasetDict`` whose train split is augmented as CSV files (``save_data``).

    ``train.csv`` holds ``text,label`` (label names) plus the marker columns; the other splits
    are written as ``text,label``; the run marker records ``info`` under ``augment``.
    ``load_data(folder)`` reads it back (it keeps ``text`` and ``label``). ``output`` takes
    ``overwrite`` and ``inputs`` (``textxfer.io.prepare_output``).
    """
    from ..data.load import save_data

    extra = {"augment": dataclasses.asdict(info)} if info is not None else None
    return save_data(dataset, folder, config=config, info=extra, **output)


def check_not_augmented(dataset: str | None) -> None:
    """Refuse to augment a folder ``textxfer augment`` wrote (its copies would be augmented again).

    Raises:
        DataError: naming the recipe that made it and the fix.
    """
    from ..data.load import dataset_path
    from ..io import read_run_info

    path = dataset_path(dataset) if dataset else None
    info = read_run_info(path) if path is not None and path.is_dir() else None
    made = (info or {}).get("augment")
    if made:
        raise DataError(
            f"dataset {dataset!r} is already augmented (recipe {made.get('recipe')!r}, n_aug "
            f"{made.get('n_aug')}); augmenting it again would copy its copies. Augment the original "
            "dataset instead, or use this folder without --augment / a recipe"
        )


def augment_to_folder(data_args, args: AugmentArgs, out: str | Path, overwrite: bool = False):
    """Load a dataset, augment its train split, write the folder (``save_augmented``).

    Args:
        data_args: a ``DataArgs`` or dataset name for ``textxfer.data.load_data``.
        args: how to augment.
        out: output folder (checked first: ``textxfer.io.prepare_output``).
        overwrite: replace ``out`` when it holds a textxfer run.

    Returns:
        ``(DatasetDict with the augmented train split, AugmentInfo)``.
    """
    import datasets

    from ..data.load import DataArgs, input_paths, load_data
    from ..io import prepare_output

    data_args = DataArgs(dataset=data_args) if isinstance(data_args, str) else data_args
    inputs = input_paths(data_args)
    prepare_output(out, overwrite=overwrite, inputs=inputs)
    check_not_augmented(data_args.dataset)
    ds = load_data(data_args)
    train, info = augment_with_info(ds["train"], args)
    result = datasets.DatasetDict({**ds, "train": train})
    save_augmented(
        result, out, info, config={"data": data_args, "augment": args}, overwrite=overwrite,
        inputs=inputs,
    )  # fmt: skip
    return result, info


def op_counts(dataset) -> dict[str, int]:
    """Augmented rows per ``aug_op`` value (``op`` or ``op1+op2`` in chain mode), sorted."""
    from collections import Counter

    rows = zip(dataset["aug_op"][:], dataset["is_augmented"][:])
    return dict(sorted(Counter(op for op, augmented in rows if augmented).items()))


def side_by_side(dataset, n: int = 5):
    """A ``pandas.DataFrame`` of the first ``n`` source rows' augmented copies next to the original.

    Columns: ``source_id``, ``aug_index``, ``aug_op``, ``original``, ``augmented``. The original
    text is taken from the row with ``aug_index`` 0 (needs ``keep_original``).
    """
    import pandas as pd

    ids = dataset["source_id"][:]  # rows come grouped by source row, in order
    stop = next((k for k, i in enumerate(ids) if i >= n), len(ids))
    frame = dataset.select(range(stop)).to_pandas()
    originals = frame.loc[~frame["is_augmented"]].set_index("source_id")["text"]
    copies = frame.loc[frame["is_augmented"]]
    return pd.DataFrame(
        {
            "source_id": copies["source_id"].to_numpy(),
            "aug_index": copies["aug_index"].to_numpy(),
            "aug_op": copies["aug_op"].to_numpy(),
            "original": copies["source_id"].map(originals).to_numpy(),
            "augmented": copies["text"].to_numpy(),
        }
    )


def format_examples(dataset, n: int = 3) -> str:
    """The first ``n`` originals, each followed by its augmented copies, as indented text lines."""
    lines, last = [], None
    for row in side_by_side(dataset, n).itertuples():
        if row.source_id != last:
            lines.append(f"  [{row.source_id}] {row.original}")
            last = row.source_id
        lines.append(f"    [{row.aug_op}] {row.augmented}")
    return "\n".join(lines)
