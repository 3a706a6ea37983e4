"""Cross-domain evaluation: train on a source domain, test on a target domain, with and without
adaptation on unlabelled texts.

For every ``source->target`` pair the labelled data is ``load_data(DataArgs(source, target=target))``
(source train/dev, target test) and the unlabelled texts are ``adaptation_texts`` of the same
arguments (the target's train+dev, never a target test row: checked here, raising otherwise).
Each method runs plain and adapted; what "adapted" means is the method's registered
``adaptation``:

- ``vectorizer`` (``tfidf-*``, ``bow-lr``, ``w2v-lr``): the vectorizer (vocabulary, IDF / word
  vectors) is fitted on the source training texts plus the target's unlabelled texts;
- ``encoder`` (``features-*``, ``finetune-*``): the method starts from the encoder adapted by
  adaptation (masked-LM or denoising, ``objective``) on ``adapt_on``'s texts: ``target``, the
  target's unlabelled texts, or ``both``, those of the source and the target together (the
  source's train+dev and the target's train+dev, no test row of either).

One adapted encoder is trained per (target, seed) (``out/adapted/<target>-seed<N>``), or under
``both`` per (domain pair, seed) (``out/adapted/<a>+<b>-seed<N>``, the two names sorted, so
``books->kitchen`` and ``kitchen->books`` share it), and reused by every method and pair that
needs it. Cells go through the cell store of ``compare`` (a rerun
skips finished cells, a failed cell is recorded and retried); the tidy table goes to
``results.csv`` / ``.json`` / ``.parquet`` and a Markdown summary to ``results.md``.

>>> from textxfer.compare.crossdomain import CrossDomainArgs, crossdomain
>>> table = crossdomain(CrossDomainArgs(pairs=["books->kitchen"], methods=["tfidf-lr"]))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from ..config import Args, build_configs, field, merge_layers
from ..errors import ConfigError
from ..io import atomic_write_json, atomic_write_text, read_json, release_output, write_tables
from .cells import Cell, CellStore, cell_id, run_cells, settings_digest, slug
from .executors import CellTask, ExecutorArgs, new_run, register_cache
from .registry import get_method, run_method

logger = logging.getLogger(__name__)

TABLE_COLUMNS = [
    "cell_id", "source", "target", "method", "adapted", "seed", "status", "accuracy", "macro_f1",
    "seconds", "n_train", "n_eval", "n_unlabeled", "adapt_seconds", "error",
]  # fmt: skip
SMOKE_LIMIT = 40
ADAPT_ON = ("target", "both")
SMOKE_ADAPT = {"max_steps": 2, "max_texts": 40, "eval_strategy": "no", "load_best": False}

__all__ = ["TABLE_COLUMNS", "CrossDomainArgs", "crossdomain", "markdown_table", "parse_pair"]


def parse_pair(pair: str) -> tuple[str, str]:
    """``"books->kitchen"`` -> ``("books", "kitchen")``."""
    parts = [p.strip() for p in str(pair).split("->")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise ConfigError(
            f"pair {pair!r} not understood; expected 'SOURCE->TARGET' with two different domains, "
            "e.g. books->kitchen"
        )
    return parts[0], parts[1]


def _adapt_sections() -> dict[str, type]:
    from ..adapt.args import AdaptArgs, MLMTrainArgs
    from ..train.args import LoraArgs, ModelArgs

    return {"model": ModelArgs, "adapt": AdaptArgs, "train": MLMTrainArgs, "lora": LoraArgs}


@dataclass
class CrossDomainArgs(Args):
    """Which source->target pairs and methods to run, and how to adapt."""

    pairs: list[str] = field(["books->kitchen"], help="SOURCE->TARGET pairs, e.g. books->kitchen")
    prefix: str = field(
        "amazon_mds/",
        help="prepended to domain names that are not a path (books -> amazon_mds/books)",
    )
    methods: list[str] = field(
        ["tfidf-lr", "features-lr", "finetune-full"],
        help="methods with a cross-domain adaptation (vectorizer or encoder), e.g. tfidf-lr, finetune-full",
    )
    model: str = field("default", help="pretrained encoder (Hub id, folder, 'default')")
    options: dict = field({}, help="per-method options, e.g. {finetune-full: {epochs: 1}}")
    adapt: dict = field(
        {},
        help="adaptation stage options by section (model / adapt / train / lora), e.g. {train: {max_steps: 150}}",
    )
    adapt_on: str = field(
        "target",
        help="texts the encoder adapts on: target (the target's unlabelled texts) or both (the "
        "source's and the target's texts: one encoder per domain pair and seed, for both directions)",
    )
    limit: int | None = field(None, help="cap every split (stratified) for quick runs")
    data_seed: int = field(42, help="seed of the train/dev/test split of every domain")
    seeds: list[int] = field(
        [0], help="seeds of the methods and the adaptation (mean ± sd over them)"
    )
    out: str = field(
        "runs/crossdomain",
        help="output folder (cells/, adapted/, results.*); a rerun continues there",
    )
    overwrite: bool = field(
        False,
        help="start afresh: replace --out when it holds a textxfer run (never other files)",
        metadata={"per_run": True},
    )
    smoke: bool = field(False, help="tiny settings for CI: 40 rows per split, 2 steps per stage")
    fail_fast: bool = field(False, help="stop at the first failing cell instead of recording it")

    def validate(self) -> None:
        if not self.pairs or not self.methods or not self.seeds:
            raise ConfigError("pairs, methods and seeds must each list at least one value")
        for pair in self.pairs:
            parse_pair(pair)
        for method in self.methods:
            if get_method(method).adaptation is None:
                raise ConfigError(
                    f"method {method!r} has no cross-domain adaptation; expected methods such as "
                    "tfidf-lr, features-lr, finetune-full (their registry entry names how to adapt them)"
                )
        stray = sorted(set(self.options) - set(self.methods))
        if stray:
            raise ConfigError(f"options given for method(s) {stray} not in methods {self.methods}")
        for method, options in self.options.items():
            get_method(method).configs(options)
        build_configs(_adapt_sections(), self.adapt, source="adapt options of crossdomain")
        if self.adapt_on not in ADAPT_ON:
            raise ConfigError(
                f"adapt_on must be one of {list(ADAPT_ON)}, found {self.adapt_on!r}; target adapts "
                "the encoder on the target's texts, both on the source's and the target's"
            )
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be a positive integer or null, found {self.limit!r}")

    def domain(self, name: str) -> str:
        """The dataset of a domain name: itself when it looks like a path, else prefix + name."""
        return name if "/" in name or Path(name).exists() else f"{self.prefix}{name}"


def plan(args: CrossDomainArgs) -> list[Cell]:
    """Every (pair, seed, adapted, method) cell, plain before adapted."""
    cells = []
    for pair in args.pairs:
        source, target = parse_pair(pair)
        for seed in args.seeds:
            for adapted in (False, True):
                for method in args.methods:
                    key = {"source": source, "target": target, "method": method,
                           "adapted": adapted, "seed": seed}  # fmt: skip
                    kind = "adapted" if adapted else "plain"
                    cid = cell_id(source, target, method, kind, f"seed{seed}")
                    cells.append(Cell(cid, key, cell_settings(args, method, adapted, seed)))
    return cells


def cell_settings(args: CrossDomainArgs, method: str, adapted: bool, seed: int) -> str:
    """Digest of what a cell's result depends on beyond its key: the method's resolved sections
    (defaults included), the data settings and, for an adapted encoder, every adaptation value."""
    configs = get_method(method).configs(args.options.get(method), smoke=args.smoke, seed=seed)
    data = {"prefix": args.prefix, "model": args.model, "limit": args.limit,
            "data_seed": args.data_seed, "smoke": args.smoke}  # fmt: skip
    encoder = adapted and get_method(method).adaptation == "encoder"
    if encoder:
        data["adapt_on"] = args.adapt_on
    return settings_digest(configs, data, adapt_values(args, seed) if encoder else None)


# (source, target, seed, limit) -> (dataset, texts): loaded once per process (per worker) and run
_PAIR_CACHE: dict[tuple, Any] = register_cache({})


def pair_data(args: CrossDomainArgs, source: str, target: str):
    """``(dataset, unlabelled target texts)``; raises when any of those texts is a test row."""
    from ..data.checks import check_no_leak
    from ..data.load import DataArgs, adaptation_texts, load_data

    limit = args.limit or (SMOKE_LIMIT if args.smoke else None)
    key = (args.domain(source), args.domain(target), args.data_seed, limit)
    if key not in _PAIR_CACHE:
        data_args = DataArgs(key[0], target=key[1], seed=args.data_seed, limit=limit)
        dataset = load_data(data_args)
        texts = adaptation_texts(data_args)
        check_no_leak(texts, dataset["test"]["text"], where=f"the {target} test split")
        _PAIR_CACHE[key] = (dataset, texts)
    return _PAIR_CACHE[key]


def adapt_values(args: CrossDomainArgs, seed: int) -> dict[str, dict[str, Any]]:
    """The adaptation settings of a seed by section, every default filled in."""
    base = {"seed": seed, "progress_bar": False, "model": args.model}
    layers = [base, args.adapt, SMOKE_ADAPT if args.smoke else {}]
    merged = merge_layers(_adapt_sections(), layers, "adapt options of crossdomain")
    built = build_configs(_adapt_sections(), merged, source="adapt options of crossdomain")
    return {name: dataclasses.asdict(cfg) for name, cfg in built.items() if name}


def encoder_texts(args: CrossDomainArgs, source: str, target: str) -> tuple[str, list[str]]:
    """``(name, texts)`` of the encoder adaptation of ``source->target`` under ``adapt_on``.

    ``target``: the target's unlabelled texts, named after the target. ``both``: the train+dev
    texts of the two domains in name order, without any text of either test split, named
    ``a+b``: the same texts, hence one encoder, for ``a->b`` and ``b->a``.
    """
    if args.adapt_on == "target":
        return slug(target), pair_data(args, source, target)[1]
    first, second = sorted([source, target])
    texts = [*pair_data(args, second, first)[1], *pair_data(args, first, second)[1]]
    held_out = {
        *pair_data(args, first, second)[0]["test"]["text"],
        *pair_data(args, second, first)[0]["test"]["text"],
    }
    kept = [t for t in texts if t not in held_out]
    if len(kept) < len(texts):
        logger.info("adaptation texts of %s+%s: removed %d that occur in a test split",
                    first, second, len(texts) - len(kept))  # fmt: skip
    return f"{slug(first)}+{slug(second)}", kept


def adapted_encoder(
    args: CrossDomainArgs, source: str, target: str, seed: int
) -> tuple[Path, dict]:
    """The encoder adapted for ``source->target`` (see ``encoder_texts``), reused while its
    inputs are unchanged.

    Cells running at once (``--executor processes|ray``) that need the same encoder build it
    once: the first takes a file lock (``out/work/locks``), the others wait for it and reuse it.
    """
    from filelock import FileLock

    name, texts = encoder_texts(args, source, target)
    folder = Path(args.out) / "adapted" / f"{name}-seed{seed}"
    values = adapt_values(args, seed)
    digest = settings_digest(values, texts)
    key_file = folder.with_name(f"{folder.name}.key")
    if _built(folder, key_file, digest):
        return folder, read_json(folder / "metrics.json")
    lock = Path(args.out) / "work" / "locks" / f"adapted-{folder.name}.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(lock)):
        if _built(folder, key_file, digest):  # built by another cell meanwhile
            return folder, read_json(folder / "metrics.json")
        from ..adapt.run import adapt

        # a folder of this grid's own (its inputs changed): replacing it loses nothing of the user's
        cfg = build_configs(_adapt_sections(), values, source="adapt options of crossdomain")
        train = dataclasses.replace(cfg["train"], out=str(folder), overwrite=True)
        result = adapt(cfg["model"], texts, cfg["adapt"], train, cfg["lora"])
        atomic_write_text(key_file, digest + "\n")
    return folder, result.metrics


def _built(folder: Path, key_file: Path, digest: str) -> bool:
    if folder.is_dir() and key_file.is_file() and key_file.read_text().strip() == digest:
        logger.info("reusing the adapted encoder %s", folder)
        return True
    return False


def prepare_crossdomain_cell(args: CrossDomainArgs, cell: Cell) -> None:
    """Before a cell's multi-process launch: its adapted encoder, built here, once."""
    key = cell.key
    if key["adapted"] and get_method(key["method"]).adaptation == "encoder":
        adapted_encoder(args, key["source"], key["target"], key["seed"])


def run_crossdomain_cell(args: CrossDomainArgs, cell: Cell) -> dict[str, Any]:
    """One (pair, method, adapted, seed) cell -> the values of its record."""
    key = cell.key
    dataset, texts = pair_data(args, key["source"], key["target"])
    method = get_method(key["method"])
    model, unlabeled, adapt_seconds, n_unlabeled = args.model, None, 0.0, 0
    if key["adapted"] and method.adaptation == "vectorizer":
        unlabeled, n_unlabeled = texts, len(texts)
    elif key["adapted"]:
        folder, metrics = adapted_encoder(args, key["source"], key["target"], key["seed"])
        model, adapt_seconds, n_unlabeled = str(folder), metrics["seconds"], metrics["n_texts"]
    result = run_method(
        key["method"], dataset, options=args.options.get(key["method"]), seed=key["seed"],
        model=model, eval_split="test", smoke=args.smoke, unlabeled=unlabeled,
        work_dir=Path(args.out) / "work" / cell.id,
    )  # fmt: skip
    m = result.metrics
    return {
        "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "seconds": round(result.fit_seconds, 3),
        "n_train": len(dataset["train"]), "n_eval": m["n"], "n_unlabeled": n_unlabeled,
        "adapt_seconds": adapt_seconds,
    }  # fmt: skip


def crossdomain(
    args: CrossDomainArgs, progress: bool = True, executor: ExecutorArgs | None = None
) -> pd.DataFrame:
    """Run every pair x method x {plain, adapted} x seed; write and return the tidy table.

    ``executor`` says where cells run (default: one after the other, here); see
    ``textxfer.compare.executors``.

    Returns:
        A frame with ``TABLE_COLUMNS`` (also ``out/results.csv|json|parquet``); ``out/results.md``
        holds ``markdown_table`` of it and ``out/adaptation.json`` the perplexity before/after of
        each adapted encoder.
    """
    from .grid import start_grid

    sources = [args.domain(d) for pair in args.pairs for d in parse_pair(pair)]
    out = start_grid(args, "crossdomain", sources)
    run_id = new_run()  # data is cached within one run only: files may change between runs
    store, cells = CellStore(out), plan(args)
    for pair in args.pairs:  # data errors (and leaks) stop the run before any cell
        pair_data(args, *parse_pair(pair))
    task = CellTask(run_crossdomain_cell, args, run_id, prepare=prepare_crossdomain_cell)
    run_cells(cells, task, store, fail_fast=args.fail_fast, progress=progress, executor=executor)
    records = store.read()
    rows = [
        {c: records[cell.id].get(c) for c in TABLE_COLUMNS} for cell in cells if cell.id in records
    ]
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    write_tables(table, out)
    atomic_write_text(out / "results.md", markdown_table(table) + "\n")
    _write_adaptation(out)
    release_output(out)
    return table


def _write_adaptation(out: Path) -> None:
    folders = sorted(p for p in (out / "adapted").glob("*") if (p / "metrics.json").is_file())
    if folders:
        summary = {p.name: read_json(p / "metrics.json") for p in folders}
        atomic_write_json(out / "adaptation.json", summary)


def markdown_table(table: pd.DataFrame) -> str:
    """One line per (pair, method): accuracy without and with adaptation (mean ± sd over seeds,
    n seeds), the gain, and whether the gain is within noise (smaller than its sd)."""
    lines = [
        "| source -> target | method | accuracy | accuracy adapted | gain | seeds | verdict |",
        "|---|---|---:|---:|---:|---:|---|",
    ]
    done = table[table["status"] == "ok"]
    for (source, target, method), group in done.groupby(["source", "target", "method"], sort=False):
        plain = group[~group["adapted"].astype(bool)].set_index("seed")["accuracy"]
        adapted = group[group["adapted"].astype(bool)].set_index("seed")["accuracy"]
        gains = (adapted - plain).dropna()
        verdict = _verdict(gains)
        cells = [
            _mean_sd(plain),
            _mean_sd(adapted),
            _mean_sd(gains, sign=True),
            str(len(gains)),
            verdict,
        ]
        lines.append(f"| {source} -> {target} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _mean_sd(values: pd.Series, sign: bool = False) -> str:
    if values.empty:
        return "-"
    fmt = "{:+.4f}" if sign else "{:.4f}"
    mean = fmt.format(values.mean())
    return mean if len(values) < 2 else f"{mean} ± {values.std():.4f}"


def _verdict(gains: pd.Series) -> str:
    if gains.empty:
        return "-"
    if len(gains) < 2:
        return "one seed: noise unknown"
    if abs(gains.mean()) <= gains.std():
        return "within noise"
    return "helps" if gains.mean() > 0 else "hurts"
