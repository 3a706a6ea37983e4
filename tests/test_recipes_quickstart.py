"""The quickstart recipe runs end to end on tiny data."""

from __future__ import annotations

import importlib.util
from pathlib import Path

RECIPES = Path(__file__).resolve().parents[1] / "recipes"


def load_recipe(name: str):
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quickstart_on_tiny_data(tiny_dataset_dir, capsys):
    assert load_recipe("quickstart").main(["--dataset", str(tiny_dataset_dir)]) == 0
    assert "positive: 10, negative: 10" in capsys.readouterr().out
