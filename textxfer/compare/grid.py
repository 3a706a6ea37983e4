"""Run methods x augmentation x training-set sizes x seeds from one config; one tidy table + report.

Every cell (method, augmentation, size, seed) runs once and is stored by the cell store
(``textxfer.compare.cells``) before the table is rebuilt, so an interrupted grid loses at most the
cell in flight and a rerun skips finished cells. The test split is the same for every cell; seeds
vary the training subsample, augmentation and model initialisation.

>>> from textxfer.compare import CompareArgs, compare
>>> table = compare(CompareArgs(dataset="sst2", methods=["tfidf-lr"], sizes=[100, "full"]))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import json
import logging
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Args, dump_yaml, field, to_sections
from ..errors import ConfigError
from ..io import (
    MARKER,
    atomic_write_json,
    atomic_write_text,
    prepare_output,
    release_output,
    write_tables,
)
from .cells import Cell, CellStore, cell_id, run_cells, settings_digest
from .executors import CellTask, ExecutorArgs, new_run, register_cache
from .registry import get_method, run_method
from .report import report_metric

logger = logging.getLogger(__name__)

TABLE_COLUMNS = [
    "cell_id", "method", "aug", "size", "n_train", "n_train_aug", "seed", "status",
    "accuracy", "macro_f1", "micro_f1", "n_eval", "fit_seconds", "trainable_params", "total_params", "error",
]  # fmt: skip
KEY = ("method", "aug", "size", "seed")
SMOKE_EVAL_LIMIT = 40

_SIZE = re.compile(r"^(\d+)/class$")

__all__ = ["TABLE_COLUMNS", "CompareArgs", "compare", "parse_size", "plan", "run_compare_cell"]


@dataclass
class CompareArgs(Args):
    """A comparison grid: which methods, augmentations, training-set sizes and seeds to run."""

    dataset: str | None = field(
        None, help="dataset name, file, folder or Hub id, as for `textxfer data` (required)"
    )
    methods: list[str] = field(
        ["tfidf-lr"], help="methods to compare (`textxfer compare --help` lists them)"
    )
    augment: list[str] = field(
        ["none"], help="augmentation recipes per cell ('none' = no augmentation)"
    )
    n_aug: int = field(4, help="augmented copies per training example when a recipe is used")
    sizes: list[Any] = field(["full"], help="training-set sizes: N rows, 'K/class', or 'full'")
    seeds: list[int] = field(
        [0], help="seeds; each varies the subsample, augmentation and model init"
    )
    model: str = field(
        "default", help="pretrained model for transformer methods (Hub id, folder, 'default')"
    )
    data: dict = field({}, help="extra DataArgs options (text_column, label_column, ...)")
    options: dict = field({}, help="per-method options, e.g. {finetune-full: {epochs: 3}}")
    eval_split: str = field("test", help="split every cell is evaluated on: test or dev")
    eval_limit: int | None = field(
        None, help="cap the evaluation and dev splits (stratified, fixed seed) for quick runs"
    )
    exclude: list[dict] = field(
        [],
        help="cells to skip: mappings of method/aug/size/seed, e.g. [{method: finetune-lora, aug: eda}]",
    )
    data_seed: int = field(42, help="seed of the train/dev/test split itself (fixed across cells)")
    unlabeled: str | None = field(
        None,
        help="unlabelled in-domain texts (.txt or dataset): vectorizer baselines also fit their "
        "vocabulary on them, adapt-* methods add them to the adaptation corpus",
    )
    num_proc: int = field(1, help="processes for augmentation")
    out: str = field(
        "runs/compare",
        help="output folder (cells/, results.csv/.parquet/.json, report); a rerun "
        "continues the grid there",
    )
    overwrite: bool = field(
        False,
        help="start afresh: replace --out when it holds a textxfer run (never other files)",
        metadata={"per_run": True},
    )
    smoke: bool = field(
        False, help="tiny settings for CI: small sizes and eval set, 2 optimisation steps"
    )
    fail_fast: bool = field(
        False, help="stop at the first failing cell instead of recording the error"
    )

    def validate(self) -> None:
        if not self.dataset or not self.dataset.strip():
            raise ConfigError(
                f"no dataset given (found {self.dataset!r}); pass one as the positional DATASET of "
                "`textxfer compare` or as dataset: in the YAML file"
            )
        for name in ("methods", "augment", "sizes", "seeds"):
            if not getattr(self, name):
                raise ConfigError(f"{name} is empty; list at least one value (e.g. {name}: [...])")
        for method in self.methods:
            get_method(method)
        stray = sorted(set(self.options) - set(self.methods))
        if stray:
            raise ConfigError(
                f"options given for method(s) {stray} that are not in methods {self.methods}; "
                "add them to methods or drop their options"
            )
        for method, options in self.options.items():
            if not isinstance(options, dict):
                raise ConfigError(f"options of {method!r} must be a mapping, found {options!r}")
            get_method(method).configs(options)  # every option must belong to the method
        for size in self.sizes:
            parse_size(size)
        for recipe in self.augment:
            if recipe != "none":
                from ..augment.recipes import load_recipe

                load_recipe(recipe)  # an unknown recipe fails here, not in every cell
        if self.eval_split not in ("dev", "test"):
            raise ConfigError(
                f"eval_split must be dev or test, found {self.eval_split!r}; training cells on "
                "one split and scoring them on it reports training accuracy"
            )
        self._check_exclude()
        if self.n_aug < 1:
            raise ConfigError(f"n_aug must be >= 1, found {self.n_aug}")

    def _check_exclude(self) -> None:
        for rule in self.exclude:
            bad = sorted(set(rule) - set(KEY)) if isinstance(rule, dict) else [rule]
            if bad:
                raise ConfigError(
                    f"exclude rules take keys {list(KEY)}, found {bad}; e.g. exclude: "
                    "[{method: finetune-lora, aug: eda}]"
                )


def parse_size(size: Any) -> tuple[str, int | None]:
    """``100`` -> ("rows", 100); ``'8/class'`` -> ("per_class", 8); ``'full'`` -> ("full", None)."""
    if isinstance(size, int) and size > 0:
        return "rows", size
    text = str(size).strip().lower()
    if text == "full":
        return "full", None
    if text.isdigit() and int(text) > 0:
        return "rows", int(text)
    match = _SIZE.match(text.replace(" ", ""))
    if match and int(match.group(1)) > 0:
        return "per_class", int(match.group(1))
    raise ConfigError(
        f"training-set size {size!r} not understood; expected a row count (100), 'K/class' (8/class) or 'full'"
    )


def plan(args: CompareArgs) -> list[Cell]:
    """Every cell of the grid in run order (cheap sizes first), less the exclusions."""
    cells = []
    for size in args.sizes:
        for seed in args.seeds:
            for aug in args.augment:
                for method in args.methods:
                    key = {"method": method, "aug": aug, "size": str(size), "seed": seed}
                    if not any(_matches(rule, key) for rule in args.exclude):
                        cid = cell_id(method, aug, size, f"seed{seed}")
                        cells.append(Cell(cid, key, cell_settings(args, method, aug, seed)))
    return cells


def cell_settings(args: CompareArgs, method: str, aug: str, seed: int) -> str:
    """Digest of what a cell's result depends on beyond its key: the method's resolved sections
    (defaults included), the data options and the augmentation recipe (its text, for a file)."""
    configs = get_method(method).configs(
        args.options.get(method), smoke=args.smoke, seed=seed, model=args.model
    )
    recipe = Path(aug)
    text = recipe.read_text(encoding="utf-8") if aug != "none" and recipe.is_file() else aug
    data = {k: getattr(args, k) for k in ("dataset", "data", "eval_split", "eval_limit",
                                          "data_seed", "unlabeled", "n_aug", "smoke")}  # fmt: skip
    return settings_digest(configs, data, text)


def _matches(rule: dict, key: dict) -> bool:
    return all(str(key[k]) == str(v) for k, v in rule.items())


def _smoke(args: CompareArgs) -> CompareArgs:
    sizes = sorted(
        {
            "8/class" if parse_size(s)[0] != "rows" else min(parse_size(s)[1], 24)
            for s in args.sizes
        },
        key=str,
    )
    return dataclasses.replace(
        args, sizes=sizes[:2], seeds=args.seeds[:1], n_aug=1,
        eval_limit=min(args.eval_limit or SMOKE_EVAL_LIMIT, SMOKE_EVAL_LIMIT),
    )  # fmt: skip


def _capped(ds, split: str, limit: int, seed: int):
    from ..data.multilabel import label_keys
    from ..data.sampling import stratified_subsample

    frame = pd.DataFrame({"label": label_keys(ds[split]), "_row": range(len(ds[split]))})
    return ds[split].select(stratified_subsample(frame, limit, seed)["_row"].tolist())


# data settings -> (dataset, unlabelled texts): loaded once per process (per worker) and run
_DATA_CACHE: dict[str, Any] = register_cache({})
_FULL_ROWS: dict[str, dict[str, int]] = register_cache(
    {}
)  # data settings -> split sizes before eval_limit


def _data_key(args: CompareArgs) -> str:
    return json.dumps([args.dataset, args.data_seed, args.data, args.eval_limit, args.eval_split,
                       args.unlabeled], sort_keys=True, default=str)  # fmt: skip


def load_grid_data(args: CompareArgs):
    """The grid's ``DatasetDict`` (dev and the evaluation split capped at ``eval_limit``) and its
    unlabelled texts; loaded once per process for the same data settings."""
    from datasets import DatasetDict

    from ..adapt.run import resolve_texts
    from ..data.load import DataArgs, load_data

    key = _data_key(args)
    if key not in _DATA_CACHE:
        ds = load_data(DataArgs(dataset=args.dataset, seed=args.data_seed, **args.data))
        _FULL_ROWS[key] = {split: len(d) for split, d in ds.items()}
        if args.eval_limit:  # dev (model selection) is capped too: quick runs stay quick
            capped = {
                s: _capped(ds, s, args.eval_limit, args.data_seed) for s in {"dev", args.eval_split}
            }
            ds = DatasetDict({**ds, **capped})
        texts = resolve_texts(args.unlabeled)[0] if args.unlabeled else None
        _DATA_CACHE[key] = (ds, texts)
    return _DATA_CACHE[key]


def check_sizes(train, sizes: list[Any], fit: bool = False) -> list[Any]:
    """The training-set sizes the training split can give. A larger one would silently run on
    all of it (and a K/class beyond a class fail in every cell), so it is refused; with ``fit``
    (smoke grids on tiny data, which shrink by design) it becomes what the split has.

    Raises:
        ConfigError: naming the size and what the data has.
    """
    from collections import Counter

    from ..data.multilabel import is_multilabel, label_names_of

    multi = is_multilabel(train)  # label sets: rows per label (a row counts for each of its labels)
    counts = Counter(i for s in train["label"] for i in s) if multi else Counter(train["label"])
    names, smallest = label_names_of(train), min(counts.values())
    fitted = []
    for size in sizes:
        kind, n = parse_size(size)
        if kind == "rows" and n > len(train):
            if not fit:
                raise ConfigError(
                    f"training-set size {size} is larger than the training split ({len(train)} "
                    f"rows); pass sizes of at most {len(train)}, or 'full'"
                )
            size = len(train)
        elif kind == "per_class" and n > smallest:
            if not fit:
                small = {names[c]: k for c, k in counts.items() if k < n}
                raise ConfigError(
                    f"training-set size {size} needs {n} rows per class, but the training split "
                    f"has fewer for {small}; pass at most {smallest}/class"
                )
            size = f"{smallest}/class"
        fitted.append(size)
    return list(dict.fromkeys(fitted))


def report_context(args: CompareArgs) -> dict[str, str]:
    """The report header: dataset, model, the evaluation split and its size, grid and config."""
    from ..card import base_model_id, describe_dataset

    ds, _ = load_grid_data(args)
    split, n = args.eval_split, len(ds[args.eval_split])
    total = _FULL_ROWS.get(_data_key(args), {}).get(split, n)
    evaluation = (
        f"{split} split, cut to {n:,} of {total:,} rows (a stratified sample, seed {args.data_seed})"
        if n < total
        else f"{split} split, all {n:,} rows"
    ) + f"; the same rows for every cell; {len(ds['train']):,} training rows to sample from"
    hub_id = base_model_id(args.model)
    return {
        "dataset": describe_dataset(args.dataset).replace("`", ""),
        "model": args.model + (f" ({hub_id})" if hub_id and hub_id != args.model else ""),
        "evaluation": evaluation,
        "grid": f"methods {args.methods}; augmentation {args.augment} (n_aug {args.n_aug}); "
        f"sizes {args.sizes}; seeds {args.seeds}" + ("; smoke settings" if args.smoke else ""),
        "config": f"{Path(args.out) / 'config.yaml'} (run again: textxfer compare --config "
        f"{Path(args.out) / 'config.yaml'})",
    }


def _subsample(train, size: Any, seed: int):
    """The training subsample of a cell, as a ``datasets.Dataset`` (``K/class`` of multi-label
    data: at least K rows of every label)."""
    from ..data.multilabel import few_shot_sets, is_multilabel, label_keys
    from ..data.sampling import few_shot, stratified_subsample

    kind, n = parse_size(size)
    if kind == "full":
        return train
    if kind == "per_class" and is_multilabel(train):
        return train.select(few_shot_sets(train["label"][:], n, seed))
    frame = pd.DataFrame({"label": label_keys(train), "_row": range(len(train))})
    picked = (
        few_shot(frame, n, seed) if kind == "per_class" else stratified_subsample(frame, n, seed)
    )
    return train.select(picked["_row"].tolist())


def _augment(train, recipe: str, args: CompareArgs, seed: int):
    if recipe == "none":
        return train
    from ..augment import augment

    out = augment(train, recipe, n_aug=args.n_aug, seed=seed, num_proc=args.num_proc)
    return out.select_columns(["text", "label"])


def run_compare_cell(args: CompareArgs, cell: Cell) -> dict[str, Any]:
    """Run one cell: subsample, augment, fit and evaluate its method; the record's values."""
    from datasets import DatasetDict

    ds, unlabeled = load_grid_data(args)
    key = cell.key
    train = _subsample(ds["train"], key["size"], key["seed"])
    n_train = len(train)
    train = _augment(train, key["aug"], args, key["seed"])
    result = run_method(
        key["method"], DatasetDict({**ds, "train": train}), options=args.options.get(key["method"]),
        seed=key["seed"], model=args.model, eval_split=args.eval_split, smoke=args.smoke,
        work_dir=Path(args.out) / "work" / cell.id, unlabeled=unlabeled,
    )  # fmt: skip
    m = result.metrics
    return {
        "n_train": n_train, "n_train_aug": len(train), "accuracy": m["accuracy"],
        "macro_f1": m["macro_f1"], "micro_f1": m.get("micro_f1"), "n_eval": m["n"],
        "fit_seconds": result.fit_seconds, "trainable_params": result.trainable_params,
        "total_params": result.total_params, "confusion_matrix": m.get("confusion_matrix"),
        "labels": m["labels"], "per_class": m["per_class"],
    }  # fmt: skip


def build_table(cells: dict[str, dict]) -> pd.DataFrame:
    """The tidy results table (one row per cell, ``TABLE_COLUMNS``)."""
    rows = [{c: rec.get(c) for c in TABLE_COLUMNS} for rec in cells.values()]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    order = ["method", "aug", "n_train", "seed"]
    return table.sort_values(order, na_position="last").reset_index(drop=True)


def compare(
    args: CompareArgs, progress: bool = True, executor: ExecutorArgs | None = None
) -> pd.DataFrame:
    """Run the grid (skipping finished cells), write the table and the report; return the table.

    ``executor`` says where cells run (default: one after the other, in this process); the
    table does not depend on it, and a grid may be resumed with another executor.
    """
    from .report import write_report

    args = _smoke(args) if args.smoke else args
    out = start_grid(args, "compare", [args.dataset, args.unlabeled])
    if any(recipe != "none" for recipe in args.augment):
        from ..augment import check_not_augmented

        check_not_augmented(args.dataset)
    run_id = new_run()  # data is cached within one run only: files may change between runs
    if args.smoke:
        sizes = check_sizes(load_grid_data(args)[0]["train"], args.sizes, fit=True)
        args = dataclasses.replace(args, sizes=sizes)
    store, cells = CellStore(out), plan(args)
    if any(not store.finished(c) for c in cells):
        check_sizes(load_grid_data(args)[0]["train"], args.sizes)  # before any cell
    wanted = {c.id for c in cells}  # an output folder may hold cells of an earlier, larger grid

    def table() -> pd.DataFrame:
        return build_table({k: v for k, v in store.read().items() if k in wanted})

    run_cells(
        cells, CellTask(run_compare_cell, args, run_id), store, fail_fast=args.fail_fast,
        progress=progress, on_record=lambda _: write_tables(table(), out), executor=executor,
    )  # fmt: skip
    final = table()
    write_tables(final, out)
    write_report(
        final, out, store.read(), context=report_context(args), metric=report_metric(final)
    )
    release_output(out)
    return final


def start_grid(args, kind: str, sources: list[str | None]) -> Path:
    """Check and lock a grid's ``--out`` (``textxfer.io.prepare_output``; a grid of the same kind
    there is continued, ``overwrite`` starts afresh), then write its marker and ``config.yaml``."""
    from .. import console
    from ..data.load import dataset_path

    inputs = [dataset_path(s) for s in sources if s]
    out = prepare_output(args.out, overwrite=args.overwrite, inputs=inputs,
                         resume_kinds=() if args.overwrite else (kind,))  # fmt: skip
    if args.overwrite and out.is_dir():
        shutil.rmtree(out)  # a textxfer run (checked above): start the grid afresh
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_json(out / MARKER, {"kind": kind})
    atomic_write_text(out / "config.yaml", dump_yaml({kind: to_sections({kind: args})[kind]}))
    console.attach(out)
    return out
