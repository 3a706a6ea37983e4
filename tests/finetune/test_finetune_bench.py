"""recipes/bench_finetune.py runs end to end on tiny settings (no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import ftutil  # noqa: E402
import pytest

ROOT = Path(__file__).resolve().parents[2]


def _bench():
    path = ROOT / "recipes" / "bench_finetune.py"
    spec = importlib.util.spec_from_file_location("bench_finetune", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(tmp_path: Path, *extra: str) -> int:
    with ftutil.quiet():
        bert = ftutil.make_bert(tmp_path / "bert")
        data = ftutil.write_data(tmp_path / "data")
        argv = [str(data), "--model", str(bert), "--rows", "12", "--batch-size", "4"]
        return _bench().main(
            [*argv, "--max-length", "16", "--out", str(tmp_path / "b.json"), *extra]
        )


def _check(out: Path, printed: str) -> None:
    assert "full: textxfer/Trainer samples/s" in printed
    assert "textxfer: LoRA/full train +MB" in printed
    saved = json.loads(out.read_text())
    jobs = {(r["impl"], r["method"]) for r in saved["results"]}
    assert jobs == {(i, m) for i in ("textxfer", "trainer") for m in ("full", "lora")}
    for row in saved["results"]:
        assert row["samples_per_s"] > 0 and row["peak_mb"] > 50 and row["device"] == "cpu"
        assert 0 < row["train_seconds"] <= row["wall_seconds"]
    assert {"full: textxfer/Trainer peak MB", "lora: textxfer/Trainer samples/s"} <= set(
        saved["ratios"]
    )
    assert saved["settings"]["max_length"] == 16 and saved["settings"]["rows"] == 12


def test_bench_in_process_covers_textxfer_and_trainer_full_and_lora(tmp_path, capsys):
    assert _run(tmp_path, "--in-process", "--repeats", "2") == 0
    _check(tmp_path / "b.json", capsys.readouterr().out)
    saved = json.loads((tmp_path / "b.json").read_text())
    assert len(saved["runs"]) == 8 and all(
        len(r["all_samples_per_s"]) == 2 for r in saved["results"]
    )
    assert [r["impl"] for r in saved["runs"][3:5]] == ["trainer", "trainer"]  # order reversed


@pytest.mark.slow
def test_bench_runs_one_subprocess_per_job(tmp_path, capsys):
    assert _run(tmp_path) == 0
    _check(tmp_path / "b.json", capsys.readouterr().out)


def test_ratios_compare_like_with_like():
    rows = [
        {
            "impl": "textxfer",
            "method": "full",
            "samples_per_s": 30.0,
            "peak_mb": 900.0,
            "train_mb": 400.0,
        },
        {
            "impl": "trainer",
            "method": "full",
            "samples_per_s": 20.0,
            "peak_mb": 1000.0,
            "train_mb": 500.0,
        },
        {
            "impl": "textxfer",
            "method": "lora",
            "samples_per_s": 60.0,
            "peak_mb": 700.0,
            "train_mb": 100.0,
        },
    ]
    ratio = _bench().ratios(rows)
    assert ratio["full: textxfer/Trainer samples/s"] == pytest.approx(1.5)
    assert ratio["full: textxfer/Trainer peak MB"] == pytest.approx(0.9)
    assert ratio["textxfer: LoRA/full train +MB"] == pytest.approx(0.25)
    assert "lora: textxfer/Trainer samples/s" not in ratio  # no Trainer LoRA row to compare with
