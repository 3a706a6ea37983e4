"""The contrastive method under two CPU processes (torchrun, gloo): the same losses and test scores
as one process at the doubled batch, every test text scored once from all of its windows (chunked
texts, uneven shards), ranks in sync."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"
sys.path.insert(0, str(SCRIPTS))
import dist_fewshot  # noqa: E402
import ftutil  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]


def test_two_processes_match_one_process_at_the_doubled_batch(tmp_path):
    with ftutil.quiet():
        bert = ftutil.make_bert(tmp_path / "bert")
        data = ftutil.write_data(tmp_path / "data", test_rows=7)  # odd: uneven shards
        one = dist_fewshot.run(str(bert), str(data), batch_size=8)
    out = tmp_path / "two.json"
    env = {**os.environ, "OMP_NUM_THREADS": "1", "HF_HUB_OFFLINE": "1",
           "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")])}  # fmt: skip
    cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
           str(SCRIPTS / "dist_fewshot.py"), "--bert", str(bert), "--data", str(data),
           "--out", str(out)]  # fmt: skip
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    two = json.loads(out.read_text())
    assert two["world_size"] == 2 and two["global_step"] == one["global_step"] == 6
    assert two["train_losses"] == pytest.approx(one["train_losses"], abs=1e-4)
    assert two["test"]["n"] == one["test"]["n"] == 7
    assert two["n_pairs"] == one["n_pairs"] > 4 * 20  # pairs between windows: more than texts
    assert two["test"]["accuracy"] == one["test"]["accuracy"]
    assert two["test"]["loss"] == pytest.approx(one["test"]["loss"], abs=1e-4)
    assert two["checksums"][0] == two["checksums"][1]
