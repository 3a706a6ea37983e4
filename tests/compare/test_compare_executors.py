"""Grid executors without Ray: options, processes (parallel, failures, killed workers, GPUs),
resume across executors, the adapted-encoder lock and the multi-process cell launch."""

from __future__ import annotations

import os
import sys
import threading
import time
from pathlib import Path

import cellutil
import pytest
import yaml

from textxfer.compare import crossdomain as cd
from textxfer.compare.cells import CellStore, run_cells
from textxfer.compare.executors import CellTask, ExecutorArgs
from textxfer.compare.grid import CompareArgs, compare
from textxfer.compare.launch import _resolve
from textxfer.compare.pool import device_slots
from textxfer.errors import ConfigError, MissingExtraError

TIMING = ["fit_seconds"]  # the only columns that may differ between executors


def grid_args(data: Path, out: Path, **kw) -> CompareArgs:
    base = {"dataset": str(data), "methods": ["tfidf-lr", "bow-lr"], "sizes": ["2/class", "full"],
            "seeds": [0, 1], "out": str(out)}  # fmt: skip
    return CompareArgs(**{**base, **kw})


def procs(**kw) -> ExecutorArgs:
    return ExecutorArgs(executor="processes", **{"workers": 2, **kw})


def probe_run(tmp_path, n: int, executor: ExecutorArgs, **probe):
    """Run n probe cells; (records by id, the probe, the store)."""
    spec = cellutil.Probe(str(tmp_path / "probe"), **probe)
    store = CellStore(tmp_path / "grid")
    task = CellTask(cellutil.probe_cell, spec)
    records = run_cells(cellutil.cells(n), task, store, progress=False, executor=executor)
    return {r["cell_id"]: r for r in records}, spec, store


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"executor": "dask"}, r"executor must be one of \['local', 'processes', 'ray'\]"),
        ({"workers": 2}, "workers=2 needs a parallel executor"),
        ({"ray_address": "auto"}, "ray_address='auto' is given but executor is 'local'"),
        ({"executor": "processes", "gpus_per_cell": 0.5}, "only ray shares a GPU"),
        ({"executor": "ray", "gpus_per_cell": 1.5}, "give a whole number of GPUs"),
        ({"executor": "ray", "cpus_per_cell": 0}, "cpus_per_cell must be > 0"),
        ({"executor": "ray", "ray_address": "head-node"}, "ray_address 'head-node' not understood"),
    ],
)
def test_executor_options_are_checked(kw, message):
    with pytest.raises(ConfigError, match=message):
        ExecutorArgs(**kw)


def test_ray_missing_names_the_extra(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(MissingExtraError, match=r"--executor ray needs .*textxfer\[ray\]"):
        probe_run(tmp_path, 1, ExecutorArgs(executor="ray"))


def test_a_ray_address_nobody_listens_at_fails_at_once(tmp_path):
    pytest.importorskip("ray", reason="needs the extra textxfer[ray]")
    with pytest.raises(ConfigError, match=r"no Ray cluster answers at ray_address='127.0.0.1:9'"):
        probe_run(tmp_path, 1, ExecutorArgs(executor="ray", ray_address="127.0.0.1:9"))


def test_processes_give_the_local_table_and_resume_a_local_grid(tiny_dataset_dir, tmp_path):
    local = compare(grid_args(tiny_dataset_dir, tmp_path / "local"), progress=False)
    out = tmp_path / "mixed"
    compare(grid_args(tiny_dataset_dir, out, seeds=[0]), progress=False)  # started locally ...
    mixed = compare(grid_args(tiny_dataset_dir, out), progress=False, executor=procs())
    assert mixed.drop(columns=TIMING).equals(local.drop(columns=TIMING))
    ran = {k: v["run"]["executor"] for k, v in CellStore(out).read().items()}
    assert sorted(ran.values()) == ["local"] * 4 + ["processes"] * 4  # ... finished on workers
    assert {k for k, v in ran.items() if v == "local"} == {k for k in ran if k.endswith("seed0")}
    again = compare(grid_args(tiny_dataset_dir, out), progress=False, executor=procs())
    assert {k: v["run"] for k, v in CellStore(out).read().items()} != {} and again.equals(mixed)
    assert sorted(v["run"]["executor"] for v in CellStore(out).read().values()) == sorted(
        ran.values()
    )  # the rerun ran nothing


def test_processes_run_cells_at_once_and_record_a_failing_cell(tmp_path):
    records, spec, store = probe_run(tmp_path, 3, procs(), barrier=2, fail=["c2"])
    assert records["c0"]["status"] == records["c1"]["status"] == "ok"  # met at the barrier
    assert records["c0"]["pid"] != records["c1"]["pid"]
    assert records["c2"]["status"] == "error"
    assert records["c2"]["error"] == "ValueError: cell c2 fails on purpose"
    assert sorted(store.read()) == ["c0", "c1", "c2"]


def test_a_killed_worker_s_cell_is_retried_then_recorded(tmp_path):
    records, spec, _ = probe_run(tmp_path, 3, procs(), kill_once=["c1"])
    assert [records[c]["status"] for c in ("c0", "c1", "c2")] == ["ok"] * 3
    assert cellutil.attempts(spec, "c1") == 2 and cellutil.attempts(spec, "c0") == 1

    records, spec, store = probe_run(tmp_path / "b", 3, procs(max_retries=0), kill_always=["c1"])
    assert records["c1"]["status"] == "error" and cellutil.attempts(spec, "c1") == 1
    assert records["c1"]["error"].startswith("WorkerDied: the worker running this cell died")
    assert "killed by signal 9" in records["c1"]["error"]
    assert records["c0"]["status"] == records["c2"]["status"] == "ok" and len(store.read()) == 3


def test_fail_fast_raises_the_cell_s_own_error(tmp_path):
    spec = cellutil.Probe(str(tmp_path / "probe"), fail=["c0"])
    with pytest.raises(ValueError, match="cell c0 fails on purpose"):
        run_cells(cellutil.cells(2), CellTask(cellutil.probe_cell, spec), CellStore(tmp_path),
                  fail_fast=True, progress=False, executor=procs(workers=1))  # fmt: skip


def test_each_worker_sees_its_own_gpus(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1,2,3")
    records, _, _ = probe_run(tmp_path, 2, procs(gpus_per_cell=2), barrier=2)
    assert sorted(r["devices"] for r in records.values()) == ["0,1", "2,3"]
    records, _, _ = probe_run(tmp_path / "none", 1, procs(workers=1))
    assert records["c0"]["devices"] == ""  # a cell that reserves no GPU sees none


def test_gpu_requests_beyond_the_machine_are_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")
    assert device_slots(procs(gpus_per_cell=1), 5, ["0", "1"]) == ["0", "1"]
    with pytest.raises(
        ConfigError, match=r"2 worker\(s\) x gpus_per_cell=2 need 4 GPUs; .* shows 2"
    ):
        probe_run(tmp_path, 2, procs(gpus_per_cell=2))
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    with pytest.raises(ConfigError, match=r"gpus_per_cell=1 but this machine shows 0 GPU"):
        probe_run(tmp_path, 1, ExecutorArgs(gpus_per_cell=1))


def test_two_cells_needing_one_adapted_encoder_build_it_once(tmp_path, monkeypatch):
    import textxfer.adapt.run as adapt_run

    builds = []

    class Done:
        metrics = {"seconds": 0.1, "n_texts": 3}

    def slow_adapt(model, texts, adapt, train, lora):
        builds.append(train.out)
        time.sleep(0.5)  # the other cell arrives meanwhile
        Path(train.out).mkdir(parents=True)
        (Path(train.out) / "metrics.json").write_text('{"seconds": 0.1, "n_texts": 3}')
        return Done()

    monkeypatch.setattr(adapt_run, "adapt", slow_adapt)
    monkeypatch.setattr(cd, "encoder_texts", lambda args, source, target: ("kitchen", ["a b"]))
    args = cd.CrossDomainArgs(methods=["tfidf-lr"], out=str(tmp_path))
    found = []
    threads = [
        threading.Thread(
            target=lambda: found.append(cd.adapted_encoder(args, "books", "kitchen", 0))
        )
        for _ in range(2)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(builds) == 1 and len(found) == 2 and found[0][0] == found[1][0]
    assert found[0][1]["n_texts"] == 3


def test_cell_specs_run_textxfer_functions_only():
    assert _resolve("textxfer.compare.grid:run_compare_cell").__name__ == "run_compare_cell"
    with pytest.raises(ValueError, match="refusing to run 'os:system'"):
        _resolve("os:system")


@pytest.mark.slow  # torchrun of 2 processes: about a minute on 2 cores
def test_a_training_cell_trains_in_one_process_per_gpu(
    tiny_dataset_dir, tiny_bert, tmp_path, monkeypatch
):
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "0,1")  # two "GPUs": torchrun gives 2 CPU processes
    root = str(Path(__file__).resolve().parents[2])  # the torchrun processes import this textxfer
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]))
    out = tmp_path / "grid"  # tmp_path holds tiny_bert: a grid's --out holds textxfer's files only
    args = grid_args(tiny_dataset_dir, out, methods=["finetune-lora", "tfidf-lr"], sizes=["full"],
                     seeds=[0], model=str(tiny_bert), smoke=True, fail_fast=True)  # fmt: skip
    table = compare(args, progress=False, executor=ExecutorArgs(gpus_per_cell=2))
    assert (table["status"] == "ok").all()
    records = {r["method"]: r for r in CellStore(out).read().values()}
    tuned = records["finetune-lora"]
    assert tuned["processes"] == 2 and tuned["run"]["processes"] == 2
    assert 0 <= tuned["accuracy"] <= 1 and tuned["n_eval"] == 8  # every test row counted once
    assert "processes" not in records["tfidf-lr"]  # baselines stay in one process


def test_cli_takes_the_executor_from_flags_and_yaml(tiny_dataset_dir, tmp_path, capsys):
    from textxfer.cli import main

    grid = tmp_path / "grid.yaml"
    grid.write_text(
        f"dataset: {tiny_dataset_dir}\nmethods: [tfidf-lr]\nsizes: [full]\nseeds: [0, 1]\n"
        "executor: {executor: processes, workers: 2}\n"
    )
    assert main(["compare", str(grid), "--out", str(tmp_path / "o")]) == 0
    assert "| tfidf-lr | none | 20 |" in capsys.readouterr().out
    records = CellStore(tmp_path / "o").read().values()
    assert [r["run"]["executor"] for r in records] == ["processes"] * 2
    saved = yaml.safe_load((tmp_path / "o" / "config.yaml").read_text())
    assert list(saved) == ["compare"]  # the grid only: it runs again with any executor
    assert main(["crossdomain", "books->kitchen", "--executor", "dask"]) == 2
    assert "executor must be one of ['local', 'processes', 'ray']" in capsys.readouterr().err
