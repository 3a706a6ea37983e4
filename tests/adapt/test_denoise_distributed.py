"""Denoising adaptation on two CPU processes (torchrun, gloo): every held-out text scored once
(same perplexity before adaptation and token count as one process), ranks in sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import dist_adapt  # noqa: E402
import ftutil  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    from textxfer.testing import make_tiny_bert

    work = tmp_path_factory.mktemp("dist_adapt")
    with ftutil.quiet():
        bert = make_tiny_bert(work / "bert", texts=dist_adapt.TEXTS * 3, with_mlm_head=False)
    return bert, work


@pytest.fixture(scope="module")
def two_procs(setup) -> dict:
    bert, work = setup
    out = work / "results.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(SCRIPTS / "dist_adapt.py"), "--bert", str(bert), "--work", str(work / "runs"),
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    return json.loads(out.read_text())


def test_two_process_denoising_scores_every_held_out_text_once_and_stays_in_sync(
    two_procs, setup, tmp_path
):
    bert, _ = setup
    with ftutil.quiet():
        one = dist_adapt.summary(dist_adapt.run(str(bert), str(tmp_path / "one"), 4))
    assert (
        two_procs["world_size"] == 2 and two_procs["objective"] == one["objective"] == "denoising"
    )
    assert two_procs["n_heldout_texts"] == one["n_heldout_texts"] == 7
    assert two_procs["n_heldout_tokens"] == one["n_heldout_tokens"]
    assert two_procs["perplexity_before"] == pytest.approx(one["perplexity_before"], rel=1e-5)
    assert two_procs["global_step"] == one["global_step"] == 6
    a, b = two_procs["checksums"]
    assert a == b
    assert two_procs["perplexity_after"] < two_procs["perplexity_before"]
