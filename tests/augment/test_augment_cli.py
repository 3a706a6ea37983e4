"""`textxfer augment`, recipes/augment.py and recipes/bench_augment.py end to end on tiny data."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd

from textxfer.cli import main as cli_main
from textxfer.data import load_data

RECIPES = Path(__file__).resolve().parents[2] / "recipes"


def _recipe(name: str):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_writes_a_folder_that_load_data_reads(tiny_dataset_dir, tmp_path, capsys):
    out = tmp_path / "aug"
    argv = ["augment", str(tiny_dataset_dir), "--recipe", "eda", "--n-aug", "2", "--out", str(out)]
    assert cli_main([*argv, "--seed", "0"]) == 0
    printed = capsys.readouterr().out
    assert "train 60 rows (20 original + 40 augmented)" in printed and f"wrote {out}" in printed
    original, augmented = load_data(str(tiny_dataset_dir)), load_data(str(out))
    assert len(augmented["train"]) == 60
    assert augmented["train"].features["label"].names == original["train"].features["label"].names
    for split in ("dev", "test"):
        assert augmented[split]["text"][:] == original[split]["text"][:]
    frame = pd.read_csv(out / "train.csv")
    assert list(frame.columns) == [
        "text",
        "label",
        "is_augmented",
        "source_id",
        "aug_index",
        "aug_op",
    ]
    assert frame["is_augmented"].sum() == 40 and frame["source_id"].max() == 19
    info = json.loads((out / "textxfer.json").read_text())["augment"]
    assert info["n_aug"] == 2 and info["cache_hit"] is False
    assert cli_main([*argv, "--seed", "0", "--examples", "0", "--overwrite"]) == 0
    assert "cache hit" in capsys.readouterr().out


def test_cli_user_errors_exit_2(tiny_dataset_dir, tmp_path, capsys):
    argv = ["augment", str(tiny_dataset_dir), "--out", str(tmp_path / "x")]
    assert cli_main([*argv, "--recipe", "nope"]) == 2
    assert "unknown recipe 'nope'" in capsys.readouterr().err
    assert cli_main([*argv, "--recipe", "mlm"]) == 2
    assert "needs a masked-LM model" in capsys.readouterr().err


def test_augment_recipe_main_with_a_preset(tiny_dataset_dir, tmp_path, capsys):
    out = tmp_path / "noise"
    argv = [str(tiny_dataset_dir), "--config", str(RECIPES / "configs" / "aug_noise.yaml")]
    assert _recipe("augment").main([*argv, "--out", str(out), "--examples", "1"]) == 0
    printed = capsys.readouterr().out
    assert "augmented 20 training rows with noise (n_aug 2, alpha 0.1" in printed
    assert "substitute:wordnet" in printed and len(load_data(str(out))["train"]) == 60


def test_bench_runs_and_prints_the_comparison(tiny_dataset_dir, capsys):
    argv = [str(tiny_dataset_dir), "--n-aug", "1", "--num-proc", "auto", "2"]
    assert _recipe("bench_augment").main(argv) == 0
    printed = capsys.readouterr().out
    assert "nlpaug loop (plain)" in printed and "vs nlpaug" in printed
    lines = [line for line in printed.splitlines() if line.startswith("textxfer ")]
    assert len(lines) == 4 and all(line.rstrip().endswith("x") for line in lines)
    assert lines[0].split()[1] == "auto:1"  # 20 rows: one process
    assert "speed-up of textxfer (num_proc auto:1) over the plain nlpaug loop" in printed
