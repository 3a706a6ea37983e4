"""Faults: real ``kill -9`` of the CLI mid-run, then a rerun.

- fine-tuning killed between checkpoints, then ``--resume``: bit-identical weights and losses;
- a compare grid killed mid-grid, then rerun: every cell once, the same numbers, no temp files;
- augment killed while writing its folder, then rerun: byte-identical files, the temp folder gone.

(2-process evaluation counting every sample once is in ``tests/finetune/test_finetune_distributed.py``.)
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import ftutil
import pytest

from textxfer.cli import main

KILLABLE = Path(__file__).parent / "scripts" / "killable.py"
ROOT = Path(__file__).resolve().parents[1]


def _env() -> dict:
    return {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
            "TRANSFORMERS_VERBOSITY": "error", "TOKENIZERS_PARALLELISM": "false"}  # fmt: skip


def _run(argv: list[str], tmp: Path, pause: str = "none", calls: Path | None = None) -> None:
    """Run ``textxfer argv`` in a subprocess; with a pause, ``kill -9`` it there."""
    ready = tmp / f"ready-{time.monotonic_ns()}"
    command = [sys.executable, str(KILLABLE), "--pause", pause, "--ready", str(ready)]
    command += ["--calls", str(calls)] if calls else []
    proc = subprocess.Popen([*command, "--", *argv], env=_env(), cwd=tmp,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)  # fmt: skip
    if pause == "none":
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-2000:]
        return
    deadline = time.monotonic() + 600
    while not ready.exists():
        assert proc.poll() is None, f"ended before the pause: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "never reached the pause"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL


@pytest.mark.slow  # ~30 s: a fresh interpreter; the in-process interruption test is in the default run
def test_killed_finetune_resumes_bit_identical(data_dir, bert, tmp_path):
    from safetensors.torch import load_file

    argv = ["finetune", str(data_dir), "--model", str(bert), "--max-steps", "12", "--batch-size", "4",
            "--lr", "3e-3", "--scheduler", "linear", "--warmup-ratio", "0.2", "--seed", "0",
            "--eval-strategy", "steps", "--eval-steps", "3", "--save-strategy", "steps",
            "--save-steps", "4", "--progress-bar", "false"]  # fmt: skip
    _run([*argv, "--checkpoint-dir", "ck", "--out", "resumed"], tmp_path, pause="step:6")
    assert not (tmp_path / "resumed").exists()  # killed between checkpoints 4 and 8
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["step-00000004"]
    with ftutil.quiet(), _cwd(tmp_path):  # one thread, as the killed process had
        assert main([*argv, "--checkpoint-dir", "ck", "--out", "resumed", "--resume", "true"]) == 0
        assert main([*argv, "--checkpoint-dir", "ck-whole", "--out", "whole"]) == 0
    whole = load_file(tmp_path / "whole" / "model.safetensors")
    resumed = load_file(tmp_path / "resumed" / "model.safetensors")
    assert whole.keys() == resumed.keys()
    assert all(whole[k].equal(resumed[k]) for k in whole), "weights differ"
    log = "train_log.jsonl"
    assert (tmp_path / "whole" / log).read_text() == (tmp_path / "resumed" / log).read_text()
    metrics = [
        json.loads((tmp_path / r / "metrics.json").read_text()) for r in ("whole", "resumed")
    ]
    assert (
        metrics[0]["test"] == metrics[1]["test"]
        and metrics[0]["best_step"] == metrics[1]["best_step"]
    )


def test_killed_compare_grid_resumes_with_every_cell_once(data_dir, tmp_path):
    argv = ["compare", str(data_dir), "--methods", "[tfidf-lr,bow-lr]", "--sizes", "[full,4/class]",
            "--seeds", "[0,1]", "--out", "grid"]  # fmt: skip
    first = tmp_path / "calls1"
    _run(argv, tmp_path, pause="cell:4", calls=first)
    done = first.read_text().split()[:3]  # the 4th was in flight when killed
    from textxfer.compare import cells

    rerun, run_one = [], cells.run_one

    def counted(cell, run, fail_fast=False):
        rerun.append(cell.id)
        return run_one(cell, run, fail_fast)

    with ftutil.quiet(), _cwd(tmp_path), pytest.MonkeyPatch.context() as patch:
        patch.setattr(cells, "run_one", counted)
        assert main(argv) == 0
    assert not set(done) & set(rerun), "finished cells ran again"
    assert len(set(done) | set(rerun)) == 8 == len(done) + len(rerun)
    with ftutil.quiet():
        assert main([*argv[:-1], str(tmp_path / "whole")]) == 0
    import pandas as pd

    table, whole = (pd.read_csv(tmp_path / g / "results.csv") for g in ("grid", "whole"))
    assert table["cell_id"].is_unique and len(table) == 8 and (table["status"] == "ok").all()
    columns = ["cell_id", "accuracy", "macro_f1", "n_train", "n_eval"]
    pd.testing.assert_frame_equal(table[columns], whole[columns])
    assert not list((tmp_path / "grid").rglob("*.tmp*"))
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".grid.")]


def test_killed_augment_reruns_byte_identical(data_dir, tmp_path):
    argv = ["augment", str(data_dir), "--recipe", "swap", "--n-aug", "2", "--use-cache", "false"]
    _run([*argv, "--out", "aug"], tmp_path, pause="save:aug")
    assert not (tmp_path / "aug").exists()
    assert [p for p in tmp_path.iterdir() if p.name.startswith(".aug.") and p.name.endswith(".tmp")]
    with ftutil.quiet():
        assert main([*argv, "--out", str(tmp_path / "aug")]) == 0
        assert main([*argv, "--out", str(tmp_path / "whole")]) == 0
    for name in ("train.csv", "dev.csv", "test.csv", "config.yaml"):
        assert (tmp_path / "aug" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".aug.")]


@contextlib.contextmanager
def _cwd(path: Path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


@pytest.fixture(autouse=True)
def _no_stray_locks(tmp_path):
    yield
    assert not list(tmp_path.glob(".*.lock")), "a finished run left its lock file"
