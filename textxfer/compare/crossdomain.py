"""Cross-domain evaluation: train on a source domain, test on a target domain, with and without
adaptation on the target's unlabelled texts.

For every ``source->target`` pair the labelled data is ``load_data(DataArgs(source, target=target))``
(source train/dev, target test) and the unlabelled texts are ``adaptation_texts`` of the same
arguments (the target's train+dev, never a target test row: checked here, raising otherwise).
Each method runs twice, plain and adapted; what "adapted" means depends on the method:

- ``tfidf-*``, ``bow-lr``, ``w2v-lr``: the vectorizer (vocabulary, IDF / word vectors) is fitted on
  the source training texts plus the target's unlabelled texts;
- ``features-*``: features come from the encoder adapted by masked-LM training on the target texts;
- ``finetune-full`` / ``finetune-lora``: fine-tuning starts from that adapted encoder.

One adapted encoder is trained per target (``out/adapted/<target>``) and reused by every method and
pair with that target. Every finished cell is stored in ``out/cells/`` (a rerun skips it); the tidy
table goes to ``results.csv`` / ``results.json`` and a Markdown summary to ``results.md``.

>>> from textxfer.compare.crossdomain import CrossDomainArgs, crossdomain
>>> table = crossdomain(CrossDomainArgs(pairs=["books->kitchen"], methods=["tfidf-lr"]))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
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
    "source", "target", "method", "adapted", "accuracy", "macro_f1", "seconds",
    "n_train", "n_eval", "n_unlabeled", "adapt_seconds",
]  # fmt: skip
SMOKE_LIMIT = 40
SMOKE_ADAPT = {"max_steps": 2, "max_texts": 40, "eval_strategy": "no", "load_best": False}
VECTORIZER_FAMILIES = ("tfidf", "bow", "w2v")  # adapted = vectorizer also fitted on target texts

__all__ = ["CrossDomainArgs", "TABLE_COLUMNS", "crossdomain", "load_crossdomain_config",
           "markdown_table", "parse_pair"]  # fmt: skip


def parse_pair(pair: str) -> tuple[str, str]:
    """``"books->kitchen"`` -> ``("books", "kitchen")``."""
    parts = [p.strip() for p in str(pair).split("->")]
    if len(parts) != 2 or not all(parts) or parts[0] == parts[1]:
        raise ConfigError(
            f"pair {pair!r} not understood; expected 'SOURCE->TARGET' with two different domains, "
            "e.g. books->kitchen"
        )
    return parts[0], parts[1]


@dataclass
class CrossDomainArgs:
    """Which source->target pairs and methods to run, and how to adapt."""

    pairs: list[str] = field(["books->kitchen"], help="SOURCE->TARGET pairs, e.g. books->kitchen")
    prefix: str = field(
        "amazon_mds/",
        help="prepended to domain names that are not a path (books -> amazon_mds/books)",
    )
    methods: list[str] = field(
        ["tfidf-lr", "features-lr", "finetune-full"],
        help="baselines (tfidf-*, bow-lr, w2v-lr, features-*) and finetune-full / finetune-lora",
    )
    model: str = field("default", help="pretrained encoder (Hub id, folder, 'default')")
    options: dict = field({}, help="per-method options, e.g. {finetune-full: {epochs: 1}}")
    adapt: dict = field(
        {},
        help="masked-LM stage options (AdaptArgs / MLMTrainArgs / LoraArgs fields), e.g. {max_steps: 150}",
    )
    limit: int | None = field(None, help="cap every split (stratified) for quick runs")
    data_seed: int = field(42, help="seed of the train/dev/test split of every domain")
    seed: int = field(0, help="seed of the methods (model init, data order)")
    out: str = field("runs/crossdomain", help="output folder (cells/, adapted/, results.*)")
    smoke: bool = field(False, help="tiny settings for CI: 40 rows per split, 2 steps per stage")

    def __post_init__(self) -> None:
        if isinstance(self.pairs, str):
            self.pairs = [self.pairs]
        if isinstance(self.methods, str):
            self.methods = [self.methods]
        if not self.pairs or not self.methods:
            raise ConfigError("pairs and methods must each list at least one value")
        for pair in self.pairs:
            parse_pair(pair)
        allowed = sorted(m for m, kind in METHODS.items() if kind in ("baseline", "finetune"))
        bad = sorted(set(self.methods) - set(allowed))
        if bad:
            raise ConfigError(
                f"method(s) {bad} cannot run cross-domain; expected some of {allowed} "
                "(adaptation is applied to each of them here)"
            )
        stray = sorted(set(self.options) - set(self.methods))
        if stray:
            raise ConfigError(f"options given for method(s) {stray} not in methods {self.methods}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be a positive integer or null, found {self.limit!r}")

    def domain(self, name: str) -> str:
        """The dataset of a domain name: itself when it looks like a path, else prefix + name."""
        return name if "/" in name or Path(name).exists() else f"{self.prefix}{name}"


def load_crossdomain_config(path: str | Path, **overrides: Any) -> CrossDomainArgs:
    """Read a YAML file (keys = ``CrossDomainArgs`` fields) with optional overrides."""
    values = {**load_yaml(path), **{k: v for k, v in overrides.items() if v is not None}}
    return build_configs({"crossdomain": CrossDomainArgs}, values, source=str(path))["crossdomain"]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", text).strip("-")


def _family(method: str) -> str:
    return "finetune" if METHODS[method] == "finetune" else method.split("-")[0]


def _pair_data(args: CrossDomainArgs, source: str, target: str):
    """``(dataset, unlabelled target texts)``; raises when any of those texts is a test row."""
    from ..adapt.run import check_no_leak
    from ..data.load import DataArgs, adaptation_texts, load_data

    limit = args.limit or (SMOKE_LIMIT if args.smoke else None)
    data_args = DataArgs(
        args.domain(source), target=args.domain(target), seed=args.data_seed, limit=limit
    )
    dataset = load_data(data_args)
    texts = adaptation_texts(data_args)
    check_no_leak(texts, dataset["test"]["text"], where=f"the {target} test split")
    return dataset, texts


def _adapt_values(args: CrossDomainArgs) -> dict[str, Any]:
    values = {"seed": args.seed, "progress_bar": False, **args.adapt}
    return {**values, **SMOKE_ADAPT} if args.smoke else values


def adapted_encoder(args: CrossDomainArgs, target: str, texts: list[str]) -> tuple[Path, dict]:
    """The encoder adapted on ``texts`` for ``target`` (reused when its inputs are unchanged)."""
    from ..adapt.run import adapt, read_adapt_metrics
    from ..adapt.args import AdaptArgs, MLMTrainArgs
    from ..train.args import LoraArgs, ModelArgs

    folder = Path(args.out) / "adapted" / _slug(target)
    values = {**_adapt_values(args), "model": args.model, "out": str(folder)}
    key = hashlib.sha256(
        json.dumps([values, texts], sort_keys=True, default=str).encode()
    ).hexdigest()
    key_file = folder.with_name(f"{folder.name}.key")
    if folder.is_dir() and key_file.is_file() and key_file.read_text().strip() == key:
        logger.info("reusing the adapted encoder %s", folder)
        return folder, read_adapt_metrics(folder)
    sections = {"model": ModelArgs, "adapt": AdaptArgs, "train": MLMTrainArgs, "lora": LoraArgs}
    cfg = build_configs(sections, values, source="adapt options of crossdomain")
    adapt(cfg["model"], texts, cfg["adapt"], cfg["train"], cfg["lora"])
    atomic_write_text(key_file, key + "\n")
    return folder, read_adapt_metrics(folder)


def _cell_id(source: str, target: str, method: str, adapted: bool) -> str:
    return f"{_slug(source)}__{_slug(target)}__{method}__{'adapted' if adapted else 'plain'}"


def _run_cell(args, dataset, texts, source, target, method, adapted, encoder) -> dict[str, Any]:
    """One (pair, method, adapted) cell -> a table row."""
    options = dict(args.options.get(method, {}))
    model, adapt_seconds, n_unlabeled = args.model, 0.0, 0
    if adapted and _family(method) in VECTORIZER_FAMILIES:
        options["unlabeled"], n_unlabeled = texts, len(texts)
    elif adapted:
        folder, metrics = encoder()
        model, adapt_seconds, n_unlabeled = str(folder), metrics["seconds"], metrics["n_texts"]
    work = Path(args.out) / "work" / _cell_id(source, target, method, adapted)
    result = run_method(method, dataset, seed=args.seed, model=model, options=options,
                        work_dir=work, eval_split="test", smoke=args.smoke)  # fmt: skip
    m = result.metrics
    return {
        "source": source, "target": target, "method": method, "adapted": bool(adapted),
        "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "seconds": round(result.fit_seconds, 3),
        "n_train": len(dataset["train"]), "n_eval": m["n"], "n_unlabeled": n_unlabeled,
        "adapt_seconds": adapt_seconds,
    }  # fmt: skip


def crossdomain(args: CrossDomainArgs) -> pd.DataFrame:
    """Run every pair x method x {plain, adapted}; write and return the tidy table.

    Returns:
        A frame with ``TABLE_COLUMNS`` (also in ``out/results.csv`` and ``out/results.json``);
        ``out/results.md`` holds ``markdown_table`` of it and ``out/adaptation.json`` the
        perplexity before/after of each adapted encoder.
    """
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / "config.yaml", dump_yaml(dataclasses.asdict(args)))
    rows, encoders = [], {}
    for pair in args.pairs:
        source, target = parse_pair(pair)
        dataset, texts = _pair_data(args, source, target)

        def encoder(target=target, texts=texts):
            if target not in encoders:
                encoders[target] = adapted_encoder(args, target, texts)
            return encoders[target]

        for adapted in (False, True):
            for method in args.methods:
                path = out / "cells" / f"{_cell_id(source, target, method, adapted)}.json"
                if path.is_file():
                    rows.append(read_json(path))
                    continue
                row = _run_cell(args, dataset, texts, source, target, method, adapted, encoder)
                atomic_write_json(path, row)
                rows.append(row)
        logger.info("crossdomain %s done", pair)
    table = pd.DataFrame(rows, columns=TABLE_COLUMNS)
    _write(table, out, {t: m for t, (_, m) in encoders.items()})
    return table


def _write(table: pd.DataFrame, out: Path, adaptation: dict[str, dict]) -> None:
    atomic_write_text(out / "results.csv", table.to_csv(index=False))
    atomic_write_text(out / "results.json", table.to_json(orient="records", indent=2))
    atomic_write_text(out / "results.md", markdown_table(table) + "\n")
    if adaptation:
        path = out / "adaptation.json"
        atomic_write_json(path, {**(read_json(path) if path.is_file() else {}), **adaptation})


def markdown_table(table: pd.DataFrame) -> str:
    """One line per (pair, method): accuracy and macro-F1 without and with adaptation, and the gain."""
    lines = [
        "| source -> target | method | accuracy | accuracy adapted | gain | macro-F1 | macro-F1 adapted |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for (source, target, method), group in table.groupby(
        ["source", "target", "method"], sort=False
    ):
        plain = group[~group["adapted"].astype(bool)]
        adapted = group[group["adapted"].astype(bool)]
        acc = _first(plain, "accuracy"), _first(adapted, "accuracy")
        f1 = _first(plain, "macro_f1"), _first(adapted, "macro_f1")
        gain = acc[1] - acc[0] if None not in acc else None
        cells = [_fmt(acc[0]), _fmt(acc[1]), _fmt(gain, sign=True), _fmt(f1[0]), _fmt(f1[1])]
        lines.append(f"| {source} -> {target} | {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _first(frame: pd.DataFrame, column: str) -> float | None:
    return None if frame.empty else float(frame[column].iloc[0])


def _fmt(value: float | None, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:+.4f}" if sign else f"{value:.4f}"
