"""recipes/bench_fewshot.py runs end to end on tiny settings (no timing or accuracy assertions):
the table, the paired differences and the targets; a peer that cannot run is reported, not fatal."""

from __future__ import annotations

import importlib.util
import json
import stat
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.usefixtures("quiet_transformers")


def _bench():
    spec = importlib.util.spec_from_file_location(
        "bench_fewshot", ROOT / "recipes" / "bench_fewshot.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _broken_python(tmp_path: Path) -> Path:
    script = tmp_path / "python"
    script.write_text(
        "#!/bin/sh\necho 'ImportError: cannot import name X from transformers' >&2\nexit 1\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_bench_prints_both_methods_the_differences_and_a_failing_peer(
    bert, data_dir, tmp_path, capsys
):
    out = tmp_path / "bench.json"
    code = _bench().main([
        str(data_dir), "--model", str(bert), "--k", "2", "--seeds", "0,1", "--max-length", "16",
        "--options", json.dumps({"max_steps": 2, "pairs_per_example": 4}),
        "--setfit-python", str(_broken_python(tmp_path)), "--out", str(out),
    ])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0
    assert "contrastive-lr" in printed.out and "features-lr" in printed.out
    assert "contrastive-lr - features-lr:" in printed.out and "target >= +5" in printed.out
    assert "setfit" in printed.out and "cannot import name X" in printed.out  # the peer's error
    saved = json.loads(out.read_text())
    runs = saved["runs"]
    assert sorted({r["method"] for r in runs}) == ["contrastive-lr", "features-lr"]
    assert sorted({r["seed"] for r in runs}) == [0, 1] and all(
        0 <= r["accuracy"] <= 1 for r in runs
    )
    assert len(saved["summary"][0]["minus_features-lr"]) == 2 and saved["setfit_error"]


def test_k_shot_samples_k_per_class_with_the_seed_and_keeps_the_test_split(data_dir):
    bench = _bench()
    a, b, again = (bench.k_shot(str(data_dir), 3, seed, 42, None) for seed in (0, 1, 0))
    assert len(a["train"]) == 6 and sorted(a["train"]["label"]) == [0, 0, 0, 1, 1, 1]
    assert a["train"]["text"] == again["train"]["text"] != b["train"]["text"]
    assert a["test"]["text"] == b["test"]["text"]


def test_the_setfit_worker_imports_nothing_of_textxfer():
    """It runs under another Python (a venv with setfit), which need not have textxfer."""
    source = (ROOT / "recipes" / "bench_fewshot.py").read_text()
    worker = source[source.index("def setfit_worker") : source.index("def run_setfit")]
    assert "from datasets import Dataset" in worker and "textxfer" not in worker


def test_setfit_templates_get_the_templates_contrastive_lr_adds(data_dir):
    bench = _bench()
    ds = bench.k_shot(str(data_dir), 3, 0, 42, None)
    names = ds["train"].features["label"].names
    assert names == ["negative", "positive"]  # words: contrastive-lr adds 8 per label by default
    assert bench.templates(ds, {}) == (8, "This sentence is {}")
    assert bench.templates(ds, {"templates": 0}) == (0, "This sentence is {}")
    assert bench.templates(ds, {"templates": 2, "template": "A {} text"}) == (2, "A {} text")
    assert "setfit-templates" in bench.METHODS
