"""The quickstart recipe runs end to end on tiny data (as `make quickstart` does on sst2)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_recipe(name: str):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", ROOT / "recipes" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_on_tiny_data(tiny_dataset_dir, tiny_bert, tmp_path, capsys):
    argv = [
        str(tiny_dataset_dir),
        "--config",
        str(ROOT / "recipes/configs/quick.yaml"),
    ]
    argv += ["--out", str(tmp_path / "qs"), "--model", str(tiny_bert), "--smoke"]
    assert load_recipe("quickstart").main(argv) == 0
    out = capsys.readouterr().out
    assert "negative: 10, positive: 10" in out  # the data summary
    assert "| finetune-lora | none |" in out and "| tfidf-lr | eda |" in out  # the table
    assert f"plot: {tmp_path / 'qs' / 'learning_curves.png'}" in out
    assert (tmp_path / "qs" / "results.csv").is_file()
