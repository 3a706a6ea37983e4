"""Executors on real GPUs (marked gpu: deselected by default, run on a CUDA machine with
`pytest -m gpu`): a cell sees exactly the GPUs it reserved and trains on them."""

from __future__ import annotations

import os
from pathlib import Path

import cellutil
import pytest

from textxfer.compare.cells import CellStore, run_cells
from textxfer.compare.executors import CellTask, ExecutorArgs
from textxfer.compare.grid import CompareArgs, compare, plan

pytestmark = pytest.mark.gpu
torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = ROOT / "tests" / "scripts"


def gpus() -> int:
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


@pytest.fixture(scope="module")
def ray_gpu():
    """A local Ray that finds this machine's GPUs itself."""
    ray = pytest.importorskip("ray", reason="needs the extra textxfer[ray]")
    if not gpus():
        pytest.skip("needs a CUDA GPU")
    before = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), str(SCRIPTS), before) if p)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()
    os.environ.pop("PYTHONPATH") if before is None else os.environ.update(PYTHONPATH=before)


def test_ray_cells_see_exactly_the_gpus_they_reserved(ray_gpu, tmp_path):
    spec = cellutil.Probe(str(tmp_path / "probe"), barrier=2)
    ex = ExecutorArgs(executor="ray", gpus_per_cell=0.5)  # two cells share one GPU, at once
    records = run_cells(cellutil.cells(2), CellTask(cellutil.gpu_cell, spec),
                        CellStore(tmp_path / "a"), progress=False, executor=ex)  # fmt: skip
    assert [r["cuda_devices"] for r in records] == [1, 1]
    assert records[0]["devices"] == records[1]["devices"] != ""
    records = run_cells(cellutil.cells(1), CellTask(cellutil.gpu_cell, cellutil.Probe(str(tmp_path))),
                        CellStore(tmp_path / "b"), progress=False,
                        executor=ExecutorArgs(executor="ray"))  # fmt: skip
    assert records[0]["cuda_devices"] == 0  # reserved none, sees none


def test_a_finetuning_cell_trains_on_its_gpu(ray_gpu, tiny_dataset_dir, tiny_bert, tmp_path):
    args = CompareArgs(dataset=str(tiny_dataset_dir), methods=["finetune-lora"], sizes=["full"],
                       model=str(tiny_bert), smoke=True, out=str(tmp_path / "grid"))  # fmt: skip
    records = run_cells(plan(args), CellTask(cellutil.compare_on_gpu, args), CellStore(tmp_path / "grid"),
                        progress=False, executor=ExecutorArgs(executor="ray", gpus_per_cell=1))  # fmt: skip
    assert records[0]["status"] == "ok" and records[0]["cuda_bytes"] > 0


def test_k_gpus_per_cell_train_one_cell_on_k_gpus(tiny_dataset_dir, tiny_bert, tmp_path):
    if gpus() < 2:
        pytest.skip("needs 2 CUDA GPUs")
    args = CompareArgs(dataset=str(tiny_dataset_dir), methods=["finetune-full"], sizes=["full"],
                       model=str(tiny_bert), smoke=True, out=str(tmp_path / "grid"))  # fmt: skip
    table = compare(args, progress=False, executor=ExecutorArgs(gpus_per_cell=2))
    (record,) = CellStore(tmp_path / "grid").read().values()
    assert table["status"].eq("ok").all() and record["processes"] == 2
