"""Run methods × augmentation × training-set sizes × seeds from one config; one tidy table + report.

Each cell runs once and is stored as ``cells/<cell_id>.json`` (written atomically) before the table is
rebuilt, so an interrupted grid loses at most the cell in flight and a rerun skips finished cells.
The test split is the same for every cell; seeds vary the training subsample, augmentation and model
initialisation.

>>> from textxfer.compare import CompareArgs, compare
>>> table = compare(CompareArgs(dataset="sst2", methods=["tfidf-lr"], sizes=[100, "full"]))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import ConfigError, build_configs, dump_yaml, field, load_yaml
from ..io import atomic_write_json, atomic_write_text, read_json
from .methods import METHODS, run_method

logger = logging.getLogger(__name__)

TABLE_COLUMNS = [
    "cell_id", "method", "aug", "size", "n_train", "n_train_aug", "seed", "status",
    "accuracy", "macro_f1", "n_eval", "fit_seconds", "trainable_params", "total_params", "error",
]  # fmt: skip

_SIZE = re.compile(r"^(\d+)/class$")


@dataclass
class CompareArgs:
    """A comparison grid: which methods, augmentations, training-set sizes and seeds to run."""

    dataset: str = field(
        "sst2", help="dataset name, file, folder or Hub id (as for `textxfer data`)"
    )
    methods: list[str] = field(["tfidf-lr"], help=f"methods to compare, from {sorted(METHODS)}")
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
    eval_split: str = field("test", help="split every cell is evaluated on")
    eval_limit: int | None = field(
        None, help="cap the evaluation and dev splits (stratified, fixed seed) for quick runs"
    )
    exclude: list[dict] = field(
        [],
        help="cells to skip: mappings of method/aug/size/seed, e.g. [{method: finetune-lora, aug: eda}]",
    )
    data_seed: int = field(42, help="seed of the train/dev/test split itself (fixed across cells)")
    num_proc: int = field(1, help="processes for augmentation")
    out: str = field(
        "runs/compare", help="output folder (cells/, results.csv/.parquet/.json, report)"
    )
    smoke: bool = field(
        False, help="tiny settings for CI: small sizes and eval set, 2 optimisation steps"
    )
    fail_fast: bool = field(
        False, help="stop at the first failing cell instead of recording the error"
    )

    def __post_init__(self) -> None:
        for name in ("methods", "augment", "sizes", "seeds"):
            value = getattr(self, name)
            if isinstance(value, (str, int)):
                setattr(self, name, [value])
            if not getattr(self, name):
                raise ConfigError(f"{name} is empty; list at least one value (e.g. {name}: [...])")
        unknown = sorted(set(self.methods) - set(METHODS))
        if unknown:
            raise ConfigError(f"unknown method(s) {unknown}; expected some of {sorted(METHODS)}")
        stray = sorted(set(self.options) - set(METHODS))
        if stray:
            raise ConfigError(
                f"options given for unknown method(s) {stray}; keys must be among {sorted(METHODS)}"
            )
        for size in self.sizes:
            parse_size(size)
        if self.eval_split not in ("train", "dev", "test"):
            raise ConfigError(f"eval_split must be dev or test, found {self.eval_split!r}")
        for rule in self.exclude:
            bad = (
                sorted(set(rule) - {"method", "aug", "size", "seed"})
                if isinstance(rule, dict)
                else [rule]
            )
            if bad:
                raise ConfigError(
                    f"exclude rules take keys method/aug/size/seed, found {bad}; e.g. exclude: [{{method: finetune-lora, aug: eda}}]"
                )
        if self.n_aug < 1:
            raise ConfigError(f"n_aug must be >= 1, found {self.n_aug}")


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


def load_compare_config(path: str | Path, **overrides: Any) -> CompareArgs:
    """Read a compare YAML file (keys = CompareArgs fields) with optional overrides."""
    values = {**load_yaml(path), **{k: v for k, v in overrides.items() if v is not None}}
    return build_configs({"compare": CompareArgs}, values, source=str(path))["compare"]


def cell_id(method: str, aug: str, size: Any, seed: int) -> str:
    """A file-safe id for one cell, e.g. ``finetune-lora__eda__8pc__s0``."""
    return f"{method}__{aug}__{str(size).replace('/class', 'pc')}__s{seed}"


def _smoke(args: CompareArgs) -> CompareArgs:
    sizes = sorted(
        {
            "8/class" if parse_size(s)[0] != "rows" else min(int(parse_size(s)[1]), 24)
            for s in args.sizes
        },
        key=str,
    )
    return dataclasses.replace(
        args,
        sizes=sizes[:2],
        seeds=args.seeds[:1],
        n_aug=1,
        eval_limit=min(args.eval_limit or 40, 40),
    )


def _subsample(train, size: Any, seed: int):
    """The training subsample for a cell, as a ``datasets.Dataset``."""
    from ..data.load import few_shot, stratified_subsample

    kind, n = parse_size(size)
    if kind == "full":
        return train
    frame = pd.DataFrame({"label": train["label"], "_row": range(len(train))})
    picked = (
        few_shot(frame, n, seed) if kind == "per_class" else stratified_subsample(frame, n, seed)
    )
    return train.select(picked["_row"].tolist())


def _augment(train, recipe: str, args: CompareArgs, seed: int):
    if recipe == "none":
        return train
    from ..augment.pipeline import augment

    out = augment(train, recipe, n_aug=args.n_aug, seed=seed, num_proc=args.num_proc)
    return out.select_columns(["text", "label"])


def _load(args: CompareArgs):
    from datasets import DatasetDict

    from ..data.load import DataArgs, load_data, stratified_subsample

    ds = load_data(DataArgs(dataset=args.dataset, seed=args.data_seed, **args.data))
    if not args.eval_limit:
        return ds
    capped = {}
    for split in {
        "dev",
        args.eval_split,
    }:  # dev (model selection) is capped too: quick runs stay quick
        frame = pd.DataFrame({"label": ds[split]["label"], "_row": range(len(ds[split]))})
        rows = stratified_subsample(frame, args.eval_limit, args.data_seed)["_row"].tolist()
        capped[split] = ds[split].select(rows)
    ds = DatasetDict({**ds, **capped})
    return ds


def _run_cell(
    args: CompareArgs, ds, method: str, aug: str, size: Any, seed: int, out: Path
) -> dict:
    from datasets import DatasetDict

    cid = cell_id(method, aug, size, seed)
    record: dict[str, Any] = {
        "cell_id": cid,
        "method": method,
        "aug": aug,
        "size": str(size),
        "seed": seed,
    }
    try:
        train = _subsample(ds["train"], size, seed)
        record["n_train"] = len(train)
        train = _augment(train, aug, args, seed)
        record["n_train_aug"] = len(train)
        cell_ds = DatasetDict({**ds, "train": train})
        result = run_method(
            method, cell_ds, seed=seed, model=args.model, options=args.options.get(method, {}),
            work_dir=out / "work" / cid, eval_split=args.eval_split, smoke=args.smoke,
        )  # fmt: skip
    except (KeyboardInterrupt, SystemExit):
        raise
    except Exception as err:  # noqa: BLE001 - a failing cell is recorded, the grid goes on
        if args.fail_fast:
            raise
        logger.exception("cell %s failed", cid)
        return {**record, "status": "error", "error": f"{type(err).__name__}: {err}"}
    metrics = result.metrics
    return {
        **record, "status": "ok", "error": "",
        "accuracy": metrics["accuracy"], "macro_f1": metrics["macro_f1"], "n_eval": metrics["n"],
        "fit_seconds": result.fit_seconds, "trainable_params": result.trainable_params,
        "total_params": result.total_params, "confusion_matrix": metrics["confusion_matrix"],
        "labels": metrics["labels"], "per_class": metrics["per_class"],
    }  # fmt: skip


def read_cells(out: str | Path) -> dict[str, dict]:
    """cell id -> stored record, for every finished or failed cell under ``out/cells``."""
    folder = Path(out) / "cells"
    return {p.stem: read_json(p) for p in sorted(folder.glob("*.json"))} if folder.is_dir() else {}


def build_table(cells: dict[str, dict]) -> pd.DataFrame:
    """The tidy results table (one row per cell, TABLE_COLUMNS)."""
    rows = [{c: rec.get(c) for c in TABLE_COLUMNS} for rec in cells.values()]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    return table.sort_values(["method", "aug", "n_train", "seed"], na_position="last").reset_index(
        drop=True
    )


def write_table(table: pd.DataFrame, out: Path) -> None:
    """results.csv, results.json and results.parquet, each written atomically."""
    atomic_write_text(out / "results.csv", table.to_csv(index=False))
    atomic_write_text(out / "results.json", table.to_json(orient="records", indent=2))
    tmp = out / ".results.parquet.tmp"
    table.to_parquet(tmp, index=False)
    tmp.replace(out / "results.parquet")


def _wanted(cells: dict[str, dict], args: CompareArgs) -> dict[str, dict]:
    """Only this grid's cells (an output folder may hold cells of an earlier, larger grid)."""
    ids = {cell_id(*c) for c in plan(args)}
    return {k: v for k, v in cells.items() if k in ids}


def plan(args: CompareArgs) -> list[tuple[str, str, Any, int]]:
    """Every (method, aug, size, seed) cell of the grid in run order (cheap sizes first), less exclusions."""
    cells = [
        (m, a, s, seed)
        for s in args.sizes
        for seed in args.seeds
        for a in args.augment
        for m in args.methods
    ]
    return [c for c in cells if not any(_matches(rule, c) for rule in args.exclude)]


def _matches(rule: dict, cell: tuple[str, str, Any, int]) -> bool:
    values = dict(zip(("method", "aug", "size", "seed"), cell))
    return all(str(values[k]) == str(v) for k, v in rule.items())


def compare(args: CompareArgs, progress: bool = True) -> pd.DataFrame:
    """Run the grid (skipping finished cells), write the table and the report; return the table."""
    from tqdm.auto import tqdm

    args = _smoke(args) if args.smoke else args
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", dump_yaml(dataclasses.asdict(args)))
    cells = read_cells(out)
    todo = [c for c in plan(args) if cells.get(cell_id(*c), {}).get("status") != "ok"]
    logger.info("compare: %d cells, %d already done", len(plan(args)), len(plan(args)) - len(todo))
    ds = _load(args) if todo else None
    for method, aug, size, seed in tqdm(todo, desc="compare", disable=not progress):
        record = _run_cell(args, ds, method, aug, size, seed, out)
        atomic_write_json(out / "cells" / f"{record['cell_id']}.json", record)
        cells[record["cell_id"]] = record
        write_table(build_table(_wanted(cells, args)), out)
    table = build_table(_wanted(cells, args))
    write_table(table, out)
    from .report import write_report

    write_report(table, out, cells)
    return table
