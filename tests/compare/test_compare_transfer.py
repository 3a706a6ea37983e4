"""Transfer vs training from scratch: the scratch method in a grid and the report's sentences."""

from __future__ import annotations

import pandas as pd
import pytest

from textxfer.compare.grid import TABLE_COLUMNS, CompareArgs, compare
from textxfer.compare.registry import get_method
from textxfer.compare.transfer import family, transfer_gaps, transfer_sentences
from textxfer.errors import ConfigError


def _rows(method: str, n: int, accs: list[float], aug: str = "none") -> list[dict]:
    return [
        {"cell_id": f"{method}__{aug}__{n}__{seed}", "method": method, "aug": aug, "size": str(n),
         "n_train": n, "seed": seed, "status": "ok", "accuracy": acc, "macro_f1": acc}
        for seed, acc in enumerate(accs)
    ]  # fmt: skip


def _table(*parts: list[dict]) -> pd.DataFrame:
    return pd.DataFrame([r for part in parts for r in part]).reindex(columns=TABLE_COLUMNS)


def test_families_come_from_the_registry():
    assert [family(m) for m in ("finetune-full", "finetune-lora", "adapt-finetune")] == [
        "transfer"
    ] * 3
    assert family("features-lr") == "transfer"  # frozen pretrained features are transfer too
    assert (family("scratch"), family("tfidf-lr"), family("tfidf-svm")) == ("scratch",) + (
        "tfidf",
    ) * 2
    assert family("w2v-lr") is None and family("no-such-method") is None


def test_gaps_are_paired_by_seed_with_mean_and_sd_in_points():
    table = _table(
        _rows("finetune-full", 100, [0.80, 0.84, 0.82]),
        _rows("features-lr", 100, [0.70, 0.71, 0.72]),  # a weaker transfer method is not used
        _rows("scratch", 100, [0.60, 0.66, 0.61]),
        _rows("tfidf-lr", 100, [0.75, 0.74, 0.79]),
        _rows("finetune-full", 16, [0.55, 0.57]),
        _rows("scratch", 16, [0.58, 0.62]),  # scratch wins here: "trails"
    )
    gaps = transfer_gaps(table).set_index(["n_train", "reference"])
    row = gaps.loc[(100, "scratch")]
    assert row["transfer"] == "finetune-full" and row["against"] == "scratch"
    assert row["gap"] == pytest.approx(19.666667, abs=1e-4)  # gaps 20, 18, 21
    assert row["sd"] == pytest.approx(1.527525, abs=1e-4) and row["seeds"] == 3
    assert gaps.loc[(100, "tfidf"), "gap"] == pytest.approx(6.0)  # gaps 5, 10, 3
    assert (16, "tfidf") not in gaps.index
    sentences = transfer_sentences(table)
    assert sentences == [
        "At 16 labels transfer (finetune-full) trails training from scratch by 4.0 ± 1.4 points "
        "(accuracy, 2 seeds).",
        "At 100 labels transfer (finetune-full) beats training from scratch by 19.7 ± 1.5 points "
        "and TF-IDF (tfidf-lr) by 6.0 ± 3.6 points (accuracy, 3 seeds).",
    ]


def test_augmented_variants_and_failed_cells():
    table = _table(
        _rows("finetune-lora", 50, [0.70, 0.72], aug="eda"),
        _rows("finetune-lora", 50, [0.60, 0.62]),
        _rows("tfidf-lr", 50, [0.65, 0.70]),
    )
    table.loc[len(table)] = {**table.iloc[0].to_dict(), "cell_id": "x", "status": "error",
                             "accuracy": None, "seed": 5}  # fmt: skip
    assert transfer_sentences(table, metric="macro_f1") == [
        "At 50 labels transfer (finetune-lora + eda) beats TF-IDF (tfidf-lr) by 3.5 ± 2.1 points "
        "(macro_f1, 2 seeds)."
    ]
    assert transfer_sentences(_table(_rows("tfidf-lr", 50, [0.6]))) == []


def test_scratch_method_is_registered_with_fixed_settings():
    method = get_method("scratch")
    assert method.kind == "scratch"
    configs = method.configs({"epochs": 2})
    assert configs["model"].from_scratch is True and configs["lora"].lora is False
    assert configs["train"].lr is None  # the defaults rule fills it (scratch regime) at run time
    with pytest.raises(ConfigError, match="fixed to True by the method"):
        method.configs({"from_scratch": False})
    with pytest.raises(ConfigError, match="fixed to False by the method"):
        get_method("finetune-full").configs({"from_scratch": True})


def test_grid_with_scratch_reports_what_pretraining_buys(tiny_dataset_dir, tiny_bert, tmp_path):
    args = CompareArgs(
        dataset=str(tiny_dataset_dir), methods=["tfidf-lr", "finetune-full", "scratch"],
        sizes=["full"], seeds=[0, 1], model=str(tiny_bert), smoke=True, out=str(tmp_path / "g"),
        fail_fast=True,
    )  # fmt: skip
    table = compare(args, progress=False)
    assert (table["status"] == "ok").all() and set(table["method"]) == set(args.methods)
    report = (tmp_path / "g" / "report.md").read_text()
    assert "## What pretraining buys" in report
    (sentence,) = [line for line in report.splitlines() if line.startswith("- At ")]
    assert "transfer (finetune-full)" in sentence and "training from scratch by" in sentence
    assert "TF-IDF (tfidf-lr) by" in sentence and sentence.endswith("(accuracy, 1 seed).")
    assert "What pretraining buys" in (tmp_path / "g" / "report.html").read_text()
