"""The compare grid: cells, resume after interruption, table schema, report, presets."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from textxfer.compare import grid as compare_mod
from textxfer.compare.grid import (
    TABLE_COLUMNS,
    CompareArgs,
    cell_id,
    compare,
    parse_size,
)
from textxfer.errors import ConfigError

CONFIGS = sorted((Path(__file__).resolve().parents[2] / "recipes" / "configs").glob("*.yaml"))
COMPARE_CONFIGS = [p for p in CONFIGS if "methods" in p.read_text()]


def _args(tiny_dataset_dir, tmp_path, **kw) -> CompareArgs:
    base = {
        "dataset": str(tiny_dataset_dir),
        "methods": ["tfidf-lr", "bow-lr"],
        "sizes": ["2/class", "full"],
        "seeds": [0, 1],
        "out": str(tmp_path / "grid"),
    }
    return CompareArgs(**{**base, **kw})


def test_grid_runs_every_cell_and_writes_the_table(tiny_dataset_dir, tmp_path):
    table = compare(_args(tiny_dataset_dir, tmp_path), progress=False)
    assert list(table.columns) == TABLE_COLUMNS
    assert len(table) == 2 * 2 * 2 and (table["status"] == "ok").all()
    assert sorted(table["n_train"].unique().tolist()) == [4, 20]
    assert table["n_eval"].eq(8).all() and table["accuracy"].between(0, 1).all()
    out = tmp_path / "grid"
    assert pd.read_csv(out / "results.csv").shape == (8, len(TABLE_COLUMNS))
    assert pd.read_parquet(out / "results.parquet")["cell_id"].tolist() == table["cell_id"].tolist()
    assert len(list((out / "cells").glob("*.json"))) == 8
    for name in (
        "report.md",
        "report.html",
        "learning_curves.png",
        "cost_vs_accuracy.png",
        "confusion_matrix.png",
    ):
        assert (out / name).stat().st_size > 500, name
    md = (out / "report.md").read_text()
    assert "- **evaluation**: test split, all 8 rows; the same rows for every cell" in md
    assert "- **model**: default (sentence-transformers/all-MiniLM-L6-v2)" in md
    assert f"- **config**: {out / 'config.yaml'}" in md and "n = 2 seeds" in md


def test_report_states_a_capped_evaluation_split(tiny_dataset_dir, tmp_path):
    compare(_args(tiny_dataset_dir, tmp_path, methods=["bow-lr"], sizes=["full"], seeds=[0],
                  eval_limit=4), progress=False)  # fmt: skip
    md = (tmp_path / "grid" / "report.md").read_text()
    assert "test split, cut to 4 of 8 rows (a stratified sample, seed 42)" in md
    assert "| bow-lr | none | 20 |" in md and "one seed per cell" in md


class Interrupted(BaseException):
    """Stands in for a kill / Ctrl-C in the middle of a grid."""


def test_interrupted_grid_resumes_without_rerunning_finished_cells(
    tiny_dataset_dir, tmp_path, monkeypatch
):
    real = compare_mod.run_method
    calls: list[str] = []
    interrupt_at = [3]

    def flaky(method, dataset, seed, **kw):
        calls.append(f"{method}-{seed}-{len(dataset['train'])}")
        if len(calls) == interrupt_at[0]:
            interrupt_at[0] = -1
            raise Interrupted
        return real(method, dataset, seed=seed, **kw)

    monkeypatch.setattr(compare_mod, "run_method", flaky)
    args = _args(tiny_dataset_dir, tmp_path)
    with pytest.raises(Interrupted):
        compare(args, progress=False)
    done = sorted(p.stem for p in (tmp_path / "grid" / "cells").glob("*.json"))
    assert len(done) == 2
    calls.clear()
    table = compare(args, progress=False)
    assert len(calls) == 6  # only the 6 unfinished cells ran
    assert len(table) == 8 and (table["status"] == "ok").all()
    calls.clear()
    compare(args, progress=False)
    assert calls == []  # a finished grid is all cache hits


def test_a_rerun_with_other_settings_runs_the_changed_cells_again(
    tiny_dataset_dir, tmp_path, monkeypatch
):
    real = compare_mod.run_method
    calls: list[str] = []

    def counted(method, dataset, seed, **kw):
        calls.append(f"{method}-{seed}")
        return real(method, dataset, seed=seed, **kw)

    monkeypatch.setattr(compare_mod, "run_method", counted)
    args = _args(tiny_dataset_dir, tmp_path, sizes=["full"], seeds=[0])
    first = compare(args, progress=False)
    calls.clear()
    changed = _args(tiny_dataset_dir, tmp_path, sizes=["full"], seeds=[0],
                    options={"tfidf-lr": {"C": 0.01}})  # fmt: skip
    table = compare(changed, progress=False)
    assert calls == ["tfidf-lr-0"]  # only the cell whose settings changed ran again
    records = {p.stem: json.loads(p.read_text()) for p in (tmp_path / "grid" / "cells").glob("*")}
    assert len({r["settings"] for r in records.values()}) == 2 and len(table) == len(first)
    calls.clear()
    compare(changed, progress=False)
    assert calls == []


def test_failed_cell_is_recorded_and_retried(tiny_dataset_dir, tmp_path, monkeypatch):
    def broken(method, dataset, seed, **kw):
        raise ValueError("model exploded")

    monkeypatch.setattr(compare_mod, "run_method", broken)
    table = compare(
        _args(tiny_dataset_dir, tmp_path, methods=["tfidf-lr"], sizes=["full"], seeds=[0]),
        progress=False,
    )
    assert table["status"].tolist() == ["error"] and "model exploded" in table["error"][0]
    assert "model exploded" in (tmp_path / "grid" / "report.md").read_text()


def test_augmented_cells_grow_the_training_set(tiny_dataset_dir, tmp_path):
    pytest.importorskip("nlpaug")
    table = compare(
        _args(
            tiny_dataset_dir,
            tmp_path,
            methods=["tfidf-lr"],
            augment=["none", "eda"],
            sizes=["full"],
            seeds=[0],
            n_aug=2,
        ),
        progress=False,
    )
    rows = table.set_index("aug")
    assert rows.loc["none", "n_train_aug"] == 20
    assert rows.loc["eda", "n_train_aug"] == 60  # originals + 2 copies each


def test_exclude_rules_drop_cells():
    from textxfer.compare.grid import plan

    args = CompareArgs(
        dataset="sst2",
        methods=["tfidf-lr", "finetune-lora"],
        augment=["none", "eda"],
        sizes=[8, "full"],
        seeds=[0],
        exclude=[{"method": "finetune-lora", "aug": "eda"}, {"size": "full", "aug": "eda"}],
    )
    keys = [tuple(c.key.values()) for c in plan(args)]
    assert keys == [
        ("tfidf-lr", "none", "8", 0), ("finetune-lora", "none", "8", 0), ("tfidf-lr", "eda", "8", 0),
        ("tfidf-lr", "none", "full", 0), ("finetune-lora", "none", "full", 0),
    ]  # fmt: skip
    with pytest.raises(ConfigError, match=r"exclude rules take keys \[.*\], found \['model'\]"):
        CompareArgs(dataset="sst2", exclude=[{"model": "x"}])


def test_sizes_and_bad_configs():
    assert parse_size(100) == ("rows", 100)
    assert parse_size("8/class") == ("per_class", 8)
    assert parse_size("full") == ("full", None)
    assert (
        cell_id("finetune-lora", "eda", "8/class", "seed1") == "finetune-lora__eda__8-class__seed1"
    )
    with pytest.raises(ConfigError, match=r"size 'lots' not understood; expected a row count"):
        CompareArgs(dataset="sst2", sizes=["lots"])
    with pytest.raises(ConfigError, match=r"unknown method 'gpt-9'; expected one of"):
        CompareArgs(dataset="sst2", methods=["gpt-9"])
    with pytest.raises(
        ConfigError, match=r"options given for method\(s\) \['tfidf'\] that are not in"
    ):
        CompareArgs(dataset="sst2", options={"tfidf": {}})


@pytest.mark.parametrize("path", COMPARE_CONFIGS, ids=[p.stem for p in COMPARE_CONFIGS])
def test_every_compare_preset_runs_in_smoke_mode(path, tiny_dataset_dir, tiny_bert, tmp_path):
    args = CompareArgs.from_yaml(
        path,
        dataset=str(tiny_dataset_dir),
        model=str(tiny_bert),
        smoke=True,
        out=str(tmp_path / "out"),
        fail_fast=True,
    )
    table = compare(args, progress=False)
    assert (table["status"] == "ok").all()
    assert set(table["method"]) == set(args.methods)
    assert (tmp_path / "out" / "learning_curves.png").is_file()


def test_cli_compare_prints_the_table(tiny_dataset_dir, tmp_path, capsys):
    from textxfer.cli import main

    cfg = tmp_path / "grid.yaml"
    cfg.write_text(
        f"dataset: {tiny_dataset_dir}\nmethods: [tfidf-lr]\nsizes: [full]\nseeds: [0, 1]\n"
    )
    assert main(["compare", str(cfg), "--out", str(tmp_path / "o")]) == 0
    out = capsys.readouterr().out
    assert "| tfidf-lr | none | 20 |" in out and "learning_curves.png" in out
