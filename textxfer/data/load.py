"""Load labelled text data as a ``datasets.DatasetDict`` with ``text`` and ``label`` columns.

Sources, tried in this order: a file or folder on disk; a dataset name under the folder in
``$TEXTXFER_DATASETS`` (e.g. ``sst2``, ``amazon_mds/books``); a Hugging Face Hub id.

>>> from textxfer.data import DataArgs, load_data
>>> ds = load_data(DataArgs("sst2", k=8))          # doctest: +SKIP
>>> ds["train"].features["label"].names            # doctest: +SKIP
['negative', 'positive']
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import field
from .readers import (
    EXTENSIONS,
    DataError,
    clean_rows,
    find_split_files,
    join_text_columns,
    read_table,
)

logger = logging.getLogger(__name__)

DATASETS_ENV = "TEXTXFER_DATASETS"
SPLITS = ("train", "dev", "test")

__all__ = [
    "DataArgs",
    "DataError",
    "adaptation_texts",
    "describe",
    "few_shot",
    "load_data",
    "save_data",
    "stratified_subsample",
]


@dataclass
class DataArgs:
    """Where the labelled texts come from and how to split and sample them."""

    dataset: str = field(
        "sst2", help="dataset name under $TEXTXFER_DATASETS, a file or folder, or a Hub id"
    )
    text_column: str | list[str] = field(
        "text", help="text column, or a list of columns joined with a space"
    )
    label_column: str = field("label", help="label column")
    label_names: list[str] | None = field(
        None, help="label names in id order (default: order of first sight)"
    )
    test_size: float = field(0.2, help="fraction held out as test when the data has no test split")
    dev_size: float = field(
        0.1, help="fraction of train carved out as dev when the data has no dev split"
    )
    k: int | None = field(
        None, help="few-shot: keep k training examples per class (stratified, seeded)"
    )
    limit: int | None = field(
        None, help="cap every split at this many rows (stratified sample), for quick runs"
    )
    seed: int = field(42, help="seed for splitting and sampling")
    target: str | None = field(
        None,
        help="cross-domain: keep train/dev of `dataset`, evaluate on this dataset's test split",
    )

    def __post_init__(self) -> None:
        if not self.dataset or not str(self.dataset).strip():
            raise DataError(
                "dataset is empty; pass a name (e.g. sst2), a file, a folder or a Hub id"
            )
        if isinstance(self.text_column, (list, tuple)):
            if not self.text_column:
                raise DataError("text_column is an empty list; name at least one column")
            self.text_column = [str(c) for c in self.text_column]
        for name in ("test_size", "dev_size"):
            value = getattr(self, name)
            if not 0.0 < float(value) < 1.0:
                raise DataError(
                    f"{name} must be a fraction in (0, 1), found {value}; e.g. --{name.replace('_', '-')} 0.1"
                )
        for name in ("k", "limit"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise DataError(f"{name} must be a positive integer or null, found {value}")
        if self.label_names is not None and len(set(self.label_names)) != len(self.label_names):
            raise DataError(f"label_names has duplicates: {self.label_names}; list each label once")


def datasets_root() -> Path | None:
    """The folder of named local datasets (``$TEXTXFER_DATASETS``), if set."""
    root = os.environ.get(DATASETS_ENV)
    return Path(root).expanduser() if root else None


def local_dataset_names(root: Path | None = None) -> list[str]:
    """Names of datasets under ``root`` (folders holding split or all files), e.g. ``amazon_mds/books``."""
    root = root or datasets_root()
    if root is None or not root.is_dir():
        return []
    names = []
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.stem in (*SPLITS, "all") and path.suffix in EXTENSIONS:
            names.append(str(path.parent.relative_to(root)))
    return sorted(set(names))


def _raw_frames(args: DataArgs) -> dict[str, pd.DataFrame]:
    """split -> raw table, from disk, a named local dataset, or the Hub."""
    path = Path(args.dataset).expanduser()
    if path.is_file():
        return {"all": read_table(path)}
    if path.is_dir():
        return {split: read_table(p) for split, p in find_split_files(path).items()}
    root = datasets_root()
    if root is not None and (root / args.dataset).is_dir():
        return {split: read_table(p) for split, p in find_split_files(root / args.dataset).items()}
    return _hub_frames(args, root)


def _hub_frames(args: DataArgs, root: Path | None) -> dict[str, pd.DataFrame]:
    known = local_dataset_names(root)
    hint = (
        f"known local datasets in {root}: {known}"
        if known
        else f"set {DATASETS_ENV} to a folder of datasets (e.g. ../shared/datasets)"
    )
    looks_like_path = (
        os.sep in args.dataset and args.dataset.count("/") != 1 or args.dataset.startswith(".")
    )
    from ..models import hub_reachable

    if looks_like_path or os.environ.get("HF_DATASETS_OFFLINE") == "1" or not hub_reachable():
        raise DataError(
            f"dataset {args.dataset!r} not found: no such file or folder, no local dataset of that name; {hint}"
        )
    import datasets

    try:
        hub = datasets.load_dataset(args.dataset)
    except Exception as err:  # noqa: BLE001 - any Hub failure gets the same actionable message
        raise DataError(
            f"dataset {args.dataset!r} not found: no such file or folder, no local dataset of that name, "
            f"and the Hub could not provide it ({type(err).__name__}); {hint}"
        ) from err
    frames = {}
    for split, ds in hub.items():
        frame = ds.to_pandas()
        feature = ds.features.get(args.label_column)
        if feature is not None and hasattr(feature, "names"):
            frame[args.label_column] = [feature.names[i] for i in frame[args.label_column]]
            args.label_names = args.label_names or list(feature.names)
        frames[{"validation": "dev"}.get(split, split)] = frame
    return frames


def _normalise(frames: dict[str, pd.DataFrame], args: DataArgs) -> dict[str, pd.DataFrame]:
    out = {}
    for split, frame in frames.items():
        source = getattr(frame, "attrs", {}).get("source", split)
        frame = join_text_columns(frame, args.text_column, args.label_column, source)
        out[split] = clean_rows(frame, source)
    return out


def _stratified_split(
    frame: pd.DataFrame, size: float | int, seed: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(rest, held_out) with held_out of ``size`` rows/fraction, stratified when possible."""
    from sklearn.model_selection import train_test_split

    counts = frame["label"].value_counts()
    stratify = frame["label"] if counts.min() >= 2 else None
    if stratify is None:
        logger.warning("a class has fewer than 2 rows; splitting without stratification")
    try:
        rest, held = train_test_split(frame, test_size=size, random_state=seed, stratify=stratify)
    except ValueError:
        rest, held = train_test_split(frame, test_size=size, random_state=seed, stratify=None)
    return rest.reset_index(drop=True), held.reset_index(drop=True)


def _complete_splits(frames: dict[str, pd.DataFrame], args: DataArgs) -> dict[str, pd.DataFrame]:
    frames = dict(frames)
    if "all" in frames:
        everything = frames.pop("all")
        if "train" not in frames:
            frames["train"] = everything
    if "train" not in frames:
        raise DataError(
            f"found splits {sorted(frames)} but no train split; expected train.csv (or all.csv) "
            "among train/dev/test files"
        )
    if "test" not in frames:
        frames["train"], frames["test"] = _stratified_split(
            frames["train"], args.test_size, args.seed
        )
        logger.info(
            "no test split: held out %d rows (test_size=%s, seed=%d)",
            len(frames["test"]),
            args.test_size,
            args.seed,
        )
    if "dev" not in frames:
        frames["train"], frames["dev"] = _stratified_split(
            frames["train"], args.dev_size, args.seed
        )
        logger.info(
            "no dev split: carved %d rows from train (dev_size=%s, seed=%d)",
            len(frames["dev"]),
            args.dev_size,
            args.seed,
        )
    return {split: frames[split] for split in SPLITS}


def _label_names(frames: dict[str, pd.DataFrame], args: DataArgs) -> list[str]:
    """Label names in id order: given, or sorted integers, or order of first sight in train (or all)."""
    if args.label_names is not None:
        names = [str(n) for n in args.label_names]
        frames.update({s: _ids_to_names(f, names) for s, f in frames.items()})
        return names
    labels = frames["train" if "train" in frames else "all"]["label"]
    if all(v.lstrip("-").isdigit() for v in labels.unique()):
        return [str(v) for v in sorted({int(v) for v in labels})]
    return list(dict.fromkeys(labels))


def _check_labels(frames: dict[str, pd.DataFrame], names: list[str], given: bool) -> None:
    train_labels = frames["train"]["label"]
    if train_labels.nunique() < 2:
        raise DataError(
            f"the training split has a single class ({train_labels.iloc[0]!r}); a classifier needs at least "
            "2 classes. Check --label-column, or that the file holds more than one label"
        )
    seen = set(names) if given else set(train_labels)
    for split, frame in frames.items():
        unseen = sorted(set(frame["label"]) - seen)
        if unseen:
            where = "label_names" if given else "the training split"
            raise DataError(
                f"labels {unseen[:5]} in the {split} split never occur in {where} (known: {sorted(seen)}); "
                "fix the data, or pass --label-names with every label"
            )


def _ids_to_names(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Integer labels 0..n-1 become ``names[i]`` when label_names are given and ids are used."""
    labels = frame["label"]
    if set(labels) <= set(names) or not all(v.isdigit() and int(v) < len(names) for v in labels):
        return frame
    return frame.assign(label=[names[int(v)] for v in labels])


def few_shot(frame: pd.DataFrame, k: int, seed: int) -> pd.DataFrame:
    """k rows per class, seeded; rows keep their original order."""
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
    _, sample = _stratified_split(frame.assign(_pos=np.arange(len(frame))), n, seed)
    return frame.iloc[np.sort(sample["_pos"].to_numpy())].reset_index(drop=True)


def _to_datasetdict(frames: dict[str, pd.DataFrame], names: list[str]):
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
    )
    index = {name: i for i, name in enumerate(names)}
    out = {}
    for split, frame in frames.items():
        labels = [index[v] for v in frame["label"]]
        out[split] = datasets.Dataset.from_dict(
            {"text": frame["text"].tolist(), "label": labels}, features=features
        )
    return datasets.DatasetDict(out)


def load_data(args: DataArgs | str | None = None, **overrides):
    """Load a dataset as a ``DatasetDict`` with ``train``/``dev``/``test`` splits.

    Args:
        args: a ``DataArgs``, or a dataset name/path (other fields from ``overrides``).
        **overrides: ``DataArgs`` fields, e.g. ``k=8``, ``limit=200``.

    Returns:
        ``datasets.DatasetDict`` with ``text`` (string) and ``label`` (``ClassLabel`` with the
        real names) in every split. Deterministic for a given ``seed``.

    Raises:
        DataError: with what was expected, what was found and the fix.
    """
    args = _as_args(args, overrides)
    frames, names = _splits(args)
    if args.target:
        frames["test"] = _target_test(args, names)
    if args.k is not None:
        frames["train"] = few_shot(frames["train"], args.k, args.seed)
    if args.limit is not None:
        frames = {s: stratified_subsample(f, args.limit, args.seed) for s, f in frames.items()}
    return _to_datasetdict(frames, names)


def _as_args(args: DataArgs | str | None, overrides: dict) -> DataArgs:
    if args is None or isinstance(args, str):
        return DataArgs(**({"dataset": args} if args else {}), **overrides)
    return DataArgs(**{**args.__dict__, **overrides}) if overrides else args


def _splits(args: DataArgs) -> tuple[dict[str, pd.DataFrame], list[str]]:
    """Complete, checked train/dev/test frames of ``args.dataset`` and its label names."""
    frames = _normalise(_raw_frames(args), args)
    names = _label_names(frames, args)
    frames = _complete_splits(frames, args)
    _check_labels(frames, names, given=args.label_names is not None)
    return frames, names


def _target_frames(args: DataArgs) -> dict[str, pd.DataFrame]:
    target = DataArgs(
        **{**args.__dict__, "dataset": args.target, "target": None, "k": None, "limit": None}
    )
    return _splits(target)[0]


def _target_test(args: DataArgs, names: list[str]) -> pd.DataFrame:
    test = _target_frames(args)["test"]
    unseen = sorted(set(test["label"]) - set(names))
    if unseen:
        raise DataError(
            f"target {args.target!r} has labels {unseen[:5]} that the source {args.dataset!r} never uses "
            f"(source labels: {names}); cross-domain evaluation needs the same label set"
        )
    logger.info(
        "cross-domain: train on %s, evaluate on %s test (%d rows)",
        args.dataset,
        args.target,
        len(test),
    )
    return test


def adaptation_texts(args: DataArgs | str, **overrides) -> list[str]:
    """Unlabelled texts for domain adaptation, never a test row.

    With ``target`` set: the target's train and dev texts (domain-adaptive); otherwise the dataset's
    own train texts (task-adaptive). Texts equal to any evaluation (test) text are removed, so
    duplicated rows cannot leak held-out content into pretraining.
    """
    args = _as_args(args, overrides)
    if args.target:
        frames = _target_frames(args)
        texts = [*frames["train"]["text"], *frames["dev"]["text"]]
        held_out = set(frames["test"]["text"])
    else:
        frames, _ = _splits(args)
        texts = list(frames["train"]["text"])
        held_out = set(frames["test"]["text"])
    kept = [t for t in texts if t not in held_out]
    if len(kept) < len(texts):
        logger.info(
            "adaptation texts: removed %d that also occur in the test split", len(texts) - len(kept)
        )
    return kept


def save_data(dataset, folder: str | Path) -> Path:
    """Write each split as ``<split>.csv`` (``text,label`` with label names), atomically."""
    from ..io import atomic_dir

    with atomic_dir(folder) as tmp:
        for split, ds in dataset.items():
            names = ds.features["label"].names
            frame = pd.DataFrame({"text": ds["text"], "label": [names[i] for i in ds["label"]]})
            frame.to_csv(tmp / f"{split}.csv", index=False, encoding="utf-8")
    return Path(folder)


def describe(dataset) -> dict:
    """Per split: rows, label counts, and word-length percentiles (p5/p50/p95/max)."""
    summary = {}
    for split, ds in dataset.items():
        names = ds.features["label"].names
        counts = np.bincount(np.asarray(ds["label"], dtype=int), minlength=len(names))
        lengths = np.array([len(t.split()) for t in ds["text"]]) if len(ds) else np.zeros(1)
        summary[split] = {
            "rows": len(ds),
            "labels": {name: int(c) for name, c in zip(names, counts)},
            "words": {
                p: float(np.percentile(lengths, q))
                for p, q in (("p5", 5), ("p50", 50), ("p95", 95))
            }
            | {"max": int(lengths.max())},
        }
    return summary
