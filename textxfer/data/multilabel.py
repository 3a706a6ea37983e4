"""Multi-label data: label sets per row, detected or declared, as a ``List(ClassLabel)`` column.

A row's labels come as a list (JSON, JSONL, Parquet, or a JSON list in a CSV cell such as
``["comedy", "drama"]``) or as a delimited string with ``label_sep`` (``comedy,drama`` with
``--label-sep ,``). ``task: auto`` reads lists as label sets and strings as single classes (with a
warning when they look delimited); ``task: multi-label`` / ``single-label`` declare it. Real-number
labels are refused under ``auto``: classification assumes every distinct value is a class.

Inside ``load_data`` a label set travels as one canonical string (a JSON list of the sorted
labels), so splitting and sampling treat it like a class; ``to_dataset`` turns it into label ids.

>>> parse_label_set('["drama", "comedy"]'), parse_label_set("comedy, drama", sep=",")
(['comedy', 'drama'], ['comedy', 'drama'])
"""

from __future__ import annotations

import ast
import json
import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd

from ..errors import DataError

logger = logging.getLogger(__name__)

TASKS = ("auto", "single-label", "multi-label")
SINGLE, MULTI = "single-label", "multi-label"
SNIFFED_SEPARATORS = (",", ";", "|")

__all__ = [
    "TASKS",
    "few_shot_sets",
    "is_multilabel",
    "label_keys",
    "label_names_of",
    "lists_as_text",
    "multi_hot",
    "parse_label_set",
    "resolve_task",
    "set_names",
    "to_label_sets",
]


def lists_as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """List-valued labels (JSON/Parquet) as JSON text, so row cleaning sees strings; others unchanged."""
    labels = frame["label"]
    listed = labels.map(lambda v: isinstance(v, (list, tuple, np.ndarray)))
    if not listed.any():
        return frame
    text = [json.dumps([str(x) for x in v]) if is_list else v for v, is_list in zip(labels, listed)]
    return frame.assign(label=text)


def _as_list(value: str) -> list | None:
    """The list a ``[...]`` cell spells (JSON, or a Python literal as pandas writes it), else None."""
    text = value.strip()
    if not (text.startswith("[") and text.endswith("]")):
        return None
    for parse in (json.loads, ast.literal_eval):  # literal_eval evaluates literals only, no code
        try:
            parsed = parse(text)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            continue
        if isinstance(parsed, (list, tuple)):
            return list(parsed)
    return None


def parse_label_set(value: str, sep: str | None = None) -> list[str]:
    """The sorted, de-duplicated labels of one cell: a list, or ``value`` split on ``sep``."""
    parsed = _as_list(value)
    if parsed is None:
        parsed = value.split(sep) if sep else [value]
    return sorted({str(v).strip() for v in parsed} - {""})


def _is_real_number(value: str) -> bool:
    try:
        number = float(value)
    except ValueError:
        return False
    return np.isfinite(number) and not number.is_integer()


def _looks_delimited(labels: list[str]) -> tuple[str, str] | None:
    """``(example, sep)`` when some label is made of parts that also occur on their own or elsewhere."""
    known = set(labels)
    for sep in SNIFFED_SEPARATORS:
        composite = [v for v in labels if sep in v]
        parts = [p.strip() for v in composite for p in v.split(sep)]
        seen = pd.Series(parts).value_counts() if parts else pd.Series(dtype=int)
        if any(p in known or seen[p] > 1 for p in parts):
            return composite[0], sep
    return None


def resolve_task(frames: dict[str, pd.DataFrame], task: str, label_sep: str | None) -> str:
    """``single-label`` or ``multi-label`` for cleaned frames (string labels), per ``task``.

    Raises:
        DataError: real-number labels under ``auto`` (with the options that choose a task).
    """
    if task != "auto":
        return task
    if label_sep:
        return MULTI
    labels = list(dict.fromkeys(v for f in frames.values() for v in f["label"]))
    if any(_as_list(v) is not None for v in labels):
        return MULTI
    real = [v for v in labels if _is_real_number(v)]
    if real and all(_is_real_number(v) or v.lstrip("-").isdigit() for v in labels):
        raise DataError(
            f"labels look like real numbers (e.g. {real[0]!r}); textxfer classifies, and assumes "
            "single-label (multi-class) classification where every distinct value is a class. "
            "Regression is not supported: bin the values into classes, or pass --task "
            "single-label to use each value as a class (--task multi-label for label sets)"
        )
    delimited = _looks_delimited(labels)
    if delimited:
        example, sep = delimited
        logger.warning(
            "labels such as %r look like label sets; they are read as single classes (task auto). "
            "Pass --label-sep '%s' (or --task multi-label) to read them as sets, or --task "
            "single-label to keep them as classes",
            example, sep,
        )  # fmt: skip
    return SINGLE


def to_label_sets(
    frames: dict[str, pd.DataFrame], label_sep: str | None
) -> dict[str, pd.DataFrame]:
    """Every label as its canonical set: a JSON list of the sorted labels (``,`` splits by default)."""
    sep = label_sep or ","
    return {
        split: frame.assign(label=[json.dumps(parse_label_set(v, sep)) for v in frame["label"]])
        for split, frame in frames.items()
    }


def _sets(frame: pd.DataFrame) -> list[list[str]]:
    return [json.loads(v) for v in frame["label"]]


def set_names(frames: dict[str, pd.DataFrame], given: list[str] | None) -> list[str]:
    """Label names in id order: given, or sorted integers, or order of first sight in train."""
    if given is not None:
        return [str(n) for n in given]
    labels = [v for s in _sets(frames["train" if "train" in frames else "all"]) for v in s]
    names = list(dict.fromkeys(labels))
    if names and all(v.lstrip("-").isdigit() for v in names):
        return [str(v) for v in sorted({int(v) for v in names})]
    return names


def to_dataset(frames: dict[str, pd.DataFrame], names: list[str], given=None):
    """A ``DatasetDict`` whose ``label`` is a ``List(ClassLabel(names))`` of label ids per row.

    Raises:
        DataError: a label that is not among ``names``.
    """
    import datasets

    features = datasets.Features(
        {"text": datasets.Value("string"), "label": datasets.List(datasets.ClassLabel(names=names))}
    )
    index = {name: i for i, name in enumerate(names)}
    out = {}
    for split, frame in frames.items():
        sets = _sets(frame)
        unknown = sorted({v for s in sets for v in s} - set(index))
        if unknown:
            where = "the training split" if given is None else "label_names"
            raise DataError(
                f"labels {unknown[:5]} in the {split} split never occur in {where} (known: "
                f"{names}); fix the data, or pass --label-names with every label"
            )
        out[split] = datasets.Dataset.from_dict(
            {"text": frame["text"].tolist(), "label": [[index[v] for v in s] for s in sets]},
            features=features,
        )
    return datasets.DatasetDict(out)


def few_shot_sets(label_sets: list, k: int, seed: int) -> list[int]:
    """Row indices (sorted) of a seeded sample with at least ``k`` rows of every label: labels are
    filled rarest first, each from the rows not yet picked that carry it.

    Raises:
        DataError: a label with fewer than ``k`` rows.
    """
    rng = np.random.default_rng(seed)
    sets = [set(s) for s in label_sets]
    totals = pd.Series([lab for s in sets for lab in s]).value_counts(sort=False)
    small = totals[totals < k]
    if len(small):
        raise DataError(
            f"k={k} examples per class requested, but label(s) {dict(small)} have fewer rows in "
            f"train; pass k <= {int(totals.min())}"
        )
    picked: set[int] = set()
    for label in totals.sort_values(kind="stable").index:
        have = sum(label in sets[i] for i in picked)
        if have < k:
            candidates = [i for i, s in enumerate(sets) if label in s and i not in picked]
            picked.update(int(i) for i in rng.choice(candidates, k - have, replace=False))
    return sorted(picked)


def is_multilabel(feature_or_split) -> bool:
    """Whether a ``label`` feature (or a split / ``DatasetDict``'s train) holds label sets."""
    feature = _label_feature(feature_or_split)
    return hasattr(feature, "feature") and hasattr(feature.feature, "names")


def _label_feature(obj):
    if hasattr(obj, "features"):
        return obj.features["label"]
    if hasattr(obj, "keys") and "train" in obj:
        return obj["train"].features["label"]
    return obj


def label_names_of(feature_or_split) -> list[str] | None:
    """The label names of a ``ClassLabel`` or ``List(ClassLabel)`` feature, else None."""
    feature = _label_feature(feature_or_split)
    feature = feature.feature if is_multilabel(feature) else feature
    return list(feature.names) if hasattr(feature, "names") else None


def multi_hot(label_sets: Iterable[Iterable[int]], n_labels: int) -> np.ndarray:
    """``(n_rows, n_labels)`` 0/1 matrix of label-id sets."""
    sets = list(label_sets)
    out = np.zeros((len(sets), n_labels), dtype=np.int64)
    for row, ids in enumerate(sets):
        out[row, list(ids)] = 1
    return out


def label_keys(split) -> list:
    """One hashable key per row of a split (its class id, or its sorted label set as text), for
    stratified sampling."""
    labels = split["label"][:]
    if not is_multilabel(split):
        return list(labels)
    return [",".join(map(str, sorted(ids))) for ids in labels]
