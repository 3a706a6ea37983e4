"""Load labelled text data as a ``datasets.DatasetDict`` with ``text`` and ``label`` columns.

Sources, tried in this order: a file or folder on disk; a dataset name under the folder in
``$TEXTXFER_DATASETS`` (e.g. ``sst2``, ``amazon_mds/books``); a built-in dataset (``subj``, shipped
with textxfer: ``textxfer.data.builtin``); a Hugging Face Hub id, or a Hub dataset in the local cache
(``textxfer.data.hub``).

>>> from textxfer.data import DataArgs, load_data
>>> ds = load_data(DataArgs("subj", k=8))
>>> ds["train"].features["label"].names, len(ds["train"]), len(ds["test"])
(['subjective', 'objective'], 16, 1000)
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..config import Args, field
from ..errors import DataError
from . import multilabel
from .builtin import builtin_folder, builtin_names
from .checks import check_splits
from .readers import (
    EXTENSIONS,
    clean_rows,
    find_split_files,
    join_text_columns,
    read_table,
    table_suffix,
)
from .sampling import SPLITS, complete_splits, few_shot, stratified_subsample

logger = logging.getLogger(__name__)

DATASETS_ENV = "TEXTXFER_DATASETS"

__all__ = [
    "DataArgs",
    "adaptation_texts",
    "dataset_path",
    "describe",
    "input_paths",
    "load_data",
    "save_data",
]


@dataclass
class DataArgs(Args):
    """Where the labelled texts come from and how to split and sample them."""

    dataset: str | None = field(
        None,
        help="dataset name (subj, built in; others under $TEXTXFER_DATASETS), a file or folder, "
        "or a Hub id (owner/name, name/config) (required)",
    )
    hub_config: str | None = field(
        None, help="Hub datasets: the config (subset), e.g. sst2 for glue; or write glue/sst2"
    )
    text_column: str | list[str] = field(
        "text", help="text column, or a list of columns joined with a space"
    )
    label_column: str = field("label", help="label column")
    label_names: list[str] | None = field(
        None, help="label names in id order (default: sorted names; numbers in numeric order)"
    )
    test_size: float = field(0.2, help="fraction held out as test when the data has no test split")
    dev_size: float = field(
        0.1, help="fraction of train carved out as dev when the data has no dev split"
    )
    k: int | None = field(
        None,
        help="few-shot: keep k training examples per class (stratified, seeded; multi-label: "
        "at least k of every label)",
    )
    limit: int | None = field(
        None, help="cap every split at this many rows (stratified sample), for quick runs"
    )
    train_limit: int | None = field(
        None, help="keep this many training rows (stratified, seeded); dev and test stay whole"
    )
    seed: int = field(42, help="seed for splitting and sampling")
    target: str | None = field(
        None,
        help="cross-domain: keep train/dev of `dataset`, evaluate on this dataset's test split",
    )
    task: str = field(
        "auto",
        help="auto (label lists or --label-sep: multi-label, else single-label), single-label "
        "or multi-label",
    )
    label_sep: str | None = field(
        None, help="multi-label: separator of the labels in one cell, e.g. ',' for comedy,drama"
    )

    def validate(self) -> None:
        if not self.dataset or not self.dataset.strip():
            raise DataError(
                f"no dataset given (found {self.dataset!r}); pass a name (e.g. sst2), a file, a "
                "folder or a Hub id: the positional DATASET of a command, or data.dataset in YAML"
            )
        if isinstance(self.text_column, list) and not self.text_column:
            raise DataError("text_column is an empty list; name at least one column")
        texts = [self.text_column] if isinstance(self.text_column, str) else self.text_column
        if self.label_column in texts:
            raise DataError(
                f"the text column and the label column are the same column ({self.label_column!r}); "
                "a model would train on the labels. Pass --text-column with the column of the texts"
            )
        for name in ("test_size", "dev_size"):
            value = getattr(self, name)
            if not 0.0 < value < 1.0:
                raise DataError(
                    f"{name} must be a fraction in (0, 1), found {value}; e.g. --{name.replace('_', '-')} 0.1"
                )
        for name in ("k", "limit", "train_limit"):
            value = getattr(self, name)
            if value is not None and value < 1:
                raise DataError(f"{name} must be a positive integer or null, found {value}")
        if self.label_names is not None and len(set(self.label_names)) != len(self.label_names):
            raise DataError(f"label_names has duplicates: {self.label_names}; list each label once")
        self._check_task()

    def _check_task(self) -> None:
        if self.task not in multilabel.TASKS:
            raise DataError(
                f"task must be one of {list(multilabel.TASKS)}, found {self.task!r}; e.g. --task multi-label"
            )
        if self.label_sep is not None and (self.label_sep == "" or self.task == "single-label"):
            raise DataError(
                f"label_sep {self.label_sep!r} splits label sets, so it needs a non-empty "
                f"separator and task auto or multi-label (found task {self.task!r})"
            )


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
        stem = path.name.split(".")[0]
        if path.is_file() and stem in (*SPLITS, "all") and table_suffix(path) in EXTENSIONS:
            names.append(str(path.parent.relative_to(root)))
    return sorted(set(names))


def _named(name: str, root: Path | None) -> Path | None:
    """The folder of a named dataset under ``root``; a name that leaves the root is refused."""
    if root is None or not (root / name).exists():
        return None
    folder = (root / name).resolve()
    if not folder.is_relative_to(root.resolve()):
        raise DataError(
            f"dataset name {name!r} points outside ${DATASETS_ENV} ({root}); a dataset name must "
            "name a folder inside it (e.g. sst2, amazon_mds/books). Pass a file or folder path instead"
        )
    return folder if folder.is_dir() else None


def dataset_path(args: DataArgs | str) -> Path | None:
    """Where ``args.dataset`` lies on disk (a file, a folder, or a named dataset's folder), or None
    (a Hub id)."""
    name = args if isinstance(args, str) else args.dataset
    path = Path(name).expanduser()
    if path.exists():
        return path
    return _named(name, datasets_root())


def _raw_frames(args: DataArgs) -> dict[str, pd.DataFrame]:
    """split -> raw table, from disk, a named local dataset, or the Hub."""
    path = dataset_path(args)
    if path is not None and path.is_file():
        return {"all": read_table(path)}
    if path is not None and path.is_dir():
        return {split: read_table(p) for split, p in find_split_files(path).items()}
    builtin = builtin_folder(args.dataset)
    if builtin is not None:
        return {split: read_table(p) for split, p in find_split_files(builtin).items()}
    from .hub import hub_frames

    return hub_frames(args, _where_datasets_are(datasets_root()))


def _where_datasets_are(root: Path | None) -> str:
    """The named datasets there are, for a "not found" error."""
    known = local_dataset_names(root)
    local = (
        f"in {DATASETS_ENV}={root}: {known}"
        if known
        else f"set {DATASETS_ENV} to a folder with one sub-folder of train.csv / test.csv "
        "(text,label columns) per dataset for more"
    )
    return f"built in: {builtin_names()}; {local}"


def _normalise(frames: dict[str, pd.DataFrame], args: DataArgs) -> dict[str, pd.DataFrame]:
    out = {}
    for split, frame in frames.items():
        source = getattr(frame, "attrs", {}).get("source", split)
        frame = join_text_columns(frame, args.text_column, args.label_column, source)
        out[split] = clean_rows(multilabel.lists_as_text(frame), source)
    return out


def _label_names(frames: dict[str, pd.DataFrame], args: DataArgs) -> list[str]:
    """Label names in id order: as given, else the training labels sorted (integers in numeric
    order), so ids never depend on row order (sst2: negative=0, positive=1, as GLUE)."""
    if args.label_names is not None:
        names = [str(n) for n in args.label_names]
        frames.update({s: _ids_to_names(f, names) for s, f in frames.items()})
        return names
    if "train" not in frames and "all" not in frames:
        raise DataError(
            f"found splits {sorted(frames)} but no train split; expected train.csv (or all.csv) "
            "among train/dev/test files"
        )
    labels = frames["train" if "train" in frames else "all"]["label"].unique()
    if all(v.lstrip("-").isdigit() for v in labels):
        return [str(v) for v in sorted({int(v) for v in labels})]
    return sorted(labels)


def _ids_to_names(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """Integer labels 0..n-1 become ``names[i]`` when label_names are given and ids are used."""
    labels = frame["label"]
    if set(labels) <= set(names) or not all(v.isdigit() and int(v) < len(names) for v in labels):
        return frame
    return frame.assign(label=[names[int(v)] for v in labels])


def _to_datasetdict(frames: dict[str, pd.DataFrame], names: list[str], given=None):
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.ClassLabel(names=names)}
    )
    index = {name: i for i, name in enumerate(names)}
    out = {}
    for split, frame in frames.items():
        unknown = sorted(set(frame["label"]) - set(index))
        if unknown:
            where = "the training split" if given is None else "label_names"
            raise DataError(
                f"labels {unknown[:5]} in the {split} split never occur in {where} (known: "
                f"{names}); fix the data, or pass --label-names with every label"
            )
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
    frames, names, task = _splits(args)
    if args.target:
        frames["test"] = _target_test(args, names)
    frames = _sampled(frames, args, task)
    if task == multilabel.MULTI:
        dataset = multilabel.to_dataset(frames, names, args.label_names)
    else:
        dataset = _to_datasetdict(frames, names, args.label_names)
    check_splits(dataset)
    return dataset


def _sampled(
    frames: dict[str, pd.DataFrame], args: DataArgs, task: str | None = None
) -> dict[str, pd.DataFrame]:
    """``k`` per class (multi-label: at least k rows of every label) of train, then every split
    capped at ``limit`` (both seeded)."""
    frames = dict(frames)
    if args.k is not None and task == multilabel.MULTI:
        train = frames["train"]
        rows = multilabel.few_shot_sets([json.loads(v) for v in train["label"]], args.k, args.seed)
        frames["train"] = train.iloc[rows].reset_index(drop=True)
    elif args.k is not None:
        frames["train"] = few_shot(frames["train"], args.k, args.seed)
    if args.limit is not None:
        frames = {s: stratified_subsample(f, args.limit, args.seed) for s, f in frames.items()}
    if args.train_limit is not None:
        frames["train"] = stratified_subsample(frames["train"], args.train_limit, args.seed)
    return frames


def _as_args(args: DataArgs | str | None, overrides: dict) -> DataArgs:
    if args is None or isinstance(args, str):
        return DataArgs(dataset=args, **overrides)
    return dataclasses.replace(args, **overrides) if overrides else args


def _splits(args: DataArgs) -> tuple[dict[str, pd.DataFrame], list[str], str]:
    """Complete, checked train/dev/test frames of ``args.dataset``, its label names and task."""
    frames = _normalise(_raw_frames(args), args)
    task = multilabel.resolve_task(frames, args.task, args.label_sep)
    if task == multilabel.MULTI:
        frames = multilabel.to_label_sets(frames, args.label_sep)
        names = multilabel.set_names(frames, args.label_names)
    else:
        names = _label_names(frames, args)
    frames = complete_splits(frames, args.test_size, args.dev_size, args.seed)
    return frames, names, task


def _target_frames(args: DataArgs) -> dict[str, pd.DataFrame]:
    target = dataclasses.replace(
        args, dataset=args.target, target=None, k=None, limit=None, train_limit=None
    )
    return _splits(target)[0]


def _target_test(args: DataArgs, names: list[str]) -> pd.DataFrame:
    test = _target_frames(args)["test"]
    labels = set(test["label"])
    if labels and all(v.startswith("[") for v in labels):  # label sets (multi-label)
        labels = {name for v in labels for name in json.loads(v)}
    unseen = sorted(labels - set(names))
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
    own train texts (task-adaptive). ``k`` and ``limit`` sample them as ``load_data`` samples its
    splits. Texts equal to any evaluation (test) text are removed (the whole test split, not a
    sample of it), so duplicated rows cannot leak held-out content into pretraining.
    """
    args = _as_args(args, overrides)
    frames = _target_frames(args) if args.target else _splits(args)[0]
    held_out = set(frames["test"]["text"])
    frames = _sampled(frames, args)
    texts = [*frames["train"]["text"], *(frames["dev"]["text"] if args.target else [])]
    kept = [t for t in texts if t not in held_out]
    if len(kept) < len(texts):
        logger.info(
            "adaptation texts: removed %d that also occur in the test split", len(texts) - len(kept)
        )
    return kept


def input_paths(args: DataArgs) -> list[Path]:
    """The dataset and target paths on disk that ``args`` reads (outputs must not overlap them)."""
    return [p for p in (dataset_path(args.dataset), args.target and dataset_path(args.target)) if p]


def save_data(
    dataset,
    folder: str | Path,
    config: dict | None = None,
    info: dict | None = None,
    overwrite: bool = False,
    inputs=(),
) -> Path:
    """Write each split as ``<split>.csv`` atomically: ``text,label`` (label names; a JSON list of
    them per row for multi-label) plus any other column (e.g. augmentation markers), with the run
    marker (kind ``dataset``) and ``config.yaml``.

    Args:
        dataset: a ``DatasetDict`` (``text`` and a ``ClassLabel`` ``label`` in every split).
        folder: output folder; ``load_data(folder)`` reads it back.
        config: config sections recorded in ``config.yaml`` (e.g. ``{"data": DataArgs(...)}``).
        info: more marker fields.
        overwrite, inputs: see ``textxfer.io.prepare_output``.
    """
    from ..io import save_run

    def payload(tmp: Path) -> None:
        for split, ds in dataset.items():
            frame = pd.DataFrame({"text": ds["text"][:], "label": _label_texts(ds)})
            for column in ds.column_names:
                if column not in ("text", "label"):
                    frame[column] = ds[column][:]
            frame.to_csv(tmp / f"{split}.csv", index=False, encoding="utf-8")

    return save_run(
        folder, kind="dataset", info=info, config=config, payload=payload, overwrite=overwrite,
        inputs=inputs,
    )  # fmt: skip


def _label_texts(ds) -> list[str]:
    """Label names per row; a JSON list of names per row for multi-label."""
    names = multilabel.label_names_of(ds)
    if multilabel.is_multilabel(ds):
        return [json.dumps([names[i] for i in ids]) for ids in ds["label"][:]]
    return [names[i] for i in ds["label"][:]]


def _percentiles(lengths: np.ndarray) -> dict:
    lengths = lengths if len(lengths) else np.zeros(1, dtype=int)
    return {
        p: float(np.percentile(lengths, q)) for p, q in (("p5", 5), ("p50", 50), ("p95", 95))
    } | {"max": int(lengths.max())}


def describe(dataset, tokenizer=None, max_length: int | None = None) -> dict:
    """Per split: rows, label counts (texts per label), word-length percentiles (p5/p50/p95/max)
    and, with a ``tokenizer``, token-length percentiles and how many texts exceed ``max_length``.
    """
    summary = {}
    multi = multilabel.is_multilabel(dataset)
    for split, ds in dataset.items():
        names = multilabel.label_names_of(ds)
        ids = [i for row in ds["label"] for i in row] if multi else ds["label"]
        counts = np.bincount(np.asarray(ids, dtype=int), minlength=len(names))
        texts = list(ds["text"])
        info = {
            "rows": len(ds),
            "labels": {name: int(c) for name, c in zip(names, counts)},
            "words": _percentiles(np.array([len(t.split()) for t in texts])),
        }
        if multi:
            info["labels_per_row"] = float(len(ids) / max(1, len(ds)))
        if tokenizer is not None:
            tokens = np.array([len(x) for x in tokenizer(texts, verbose=False)["input_ids"]])
            info["tokens"] = _percentiles(tokens)
            if max_length is not None:
                info["over_max_length"] = {"max_length": int(max_length),
                                           "texts": int((tokens > max_length).sum())}  # fmt: skip
        summary[split] = info
    return summary
