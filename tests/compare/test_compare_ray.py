"""The ray executor on one local Ray (2 CPUs, 2 logical GPUs) shared by this module: the local
table, cells at once, failures, killed workers, reruns, and the resources a cell gets."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import cellutil
import pytest

from textxfer.compare.cells import CellStore, run_cells
from textxfer.compare.executors import CellTask, ExecutorArgs
from textxfer.compare.grid import CompareArgs, compare
from textxfer.errors import ConfigError

ray = pytest.importorskip("ray", reason="the ray executor needs the extra textxfer[ray]")

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


@pytest.fixture(scope="module", autouse=True)
def cluster():
    """One local Ray for the module; its workers import textxfer and tests/scripts as we do."""
    before = os.environ.get("PYTHONPATH")
    root = str(Path(__file__).resolve().parents[2])
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (root, str(SCRIPTS), before) if p)
    ray.init(num_cpus=2, num_gpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()
    if before is None:
        os.environ.pop("PYTHONPATH")
    else:
        os.environ["PYTHONPATH"] = before


def on_ray(**kw) -> ExecutorArgs:
    return ExecutorArgs(executor="ray", **kw)


def probe_run(tmp_path, n: int, executor: ExecutorArgs, **probe):
    spec = cellutil.Probe(str(tmp_path / "probe"), **probe)
    store = CellStore(tmp_path / "grid")
    records = run_cells(cellutil.cells(n), CellTask(cellutil.probe_cell, spec), store,
                        progress=False, executor=executor)  # fmt: skip
    return {r["cell_id"]: r for r in records}, spec, store


def test_ray_gives_the_local_table_resumes_it_and_reruns_nothing(tiny_dataset_dir, tmp_path):
    def args(out, **kw):
        return CompareArgs(dataset=str(tiny_dataset_dir), methods=["tfidf-lr", "bow-lr"],
                           sizes=["2/class", "full"], seeds=[0, 1], out=str(out), **kw)  # fmt: skip

    local = compare(args(tmp_path / "local"), progress=False)
    out = tmp_path / "mixed"
    shutil.copytree(tmp_path / "local", out)  # the local grid's folder (marker, config, cells) ...
    for cell in (out / "cells").glob("*seed1*"):
        cell.unlink()  # ... with only half of its cells: the rest runs on Ray
    table = compare(args(out), progress=False, executor=on_ray())  # ... the rest on Ray
    assert table.drop(columns=["fit_seconds"]).equals(local.drop(columns=["fit_seconds"]))
    ran = {k: v["run"]["executor"] for k, v in CellStore(out).read().items()}
    assert sorted(ran.values()) == ["local"] * 4 + ["ray"] * 4
    stamps = {k: v["run"]["started"] for k, v in CellStore(out).read().items()}
    compare(args(out), progress=False, executor=on_ray())
    assert {k: v["run"]["started"] for k, v in CellStore(out).read().items()} == stamps


def test_two_cells_run_at_once_and_a_failing_cell_is_recorded(tmp_path):
    records, _, store = probe_run(tmp_path, 3, on_ray(), barrier=2, fail=["c2"])
    assert [records[c]["status"] for c in ("c0", "c1", "c2")] == ["ok", "ok", "error"]
    assert records["c0"]["pid"] != records["c1"]["pid"]  # two workers, met at the barrier
    assert records["c2"]["error"] == "ValueError: cell c2 fails on purpose"
    assert sorted(store.read()) == ["c0", "c1", "c2"]


def test_a_killed_worker_s_cell_is_retried_or_recorded(tmp_path):
    records, spec, _ = probe_run(tmp_path, 2, on_ray(max_retries=1), kill_once=["c0"])
    assert records["c0"]["status"] == records["c1"]["status"] == "ok"
    assert cellutil.attempts(spec, "c0") == 2 and cellutil.attempts(spec, "c1") == 1

    records, spec, store = probe_run(tmp_path / "b", 2, on_ray(max_retries=0), kill_always=["c0"])
    assert records["c0"]["status"] == "error" and cellutil.attempts(spec, "c0") == 1
    assert records["c0"]["error"].startswith("WorkerDied: the worker running this cell died")
    assert records["c1"]["status"] == "ok" and sorted(store.read()) == ["c0", "c1"]


def test_a_cell_gets_the_resources_it_asked_for_and_sees_its_gpus(tmp_path):
    records, _, _ = probe_run(tmp_path, 2, on_ray(gpus_per_cell=1), barrier=2)
    assert sorted(r["devices"] for r in records.values()) == ["0", "1"]  # one GPU each, apart
    assert all(r["resources"] == {"CPU": 1.0, "GPU": 1.0} for r in records.values())
    assert all(r["run"]["devices"] == r["devices"] for r in records.values())
    records, _, _ = probe_run(tmp_path / "cpu", 1, on_ray(cpus_per_cell=2))
    assert records["c0"]["resources"] == {"CPU": 2.0} and records["c0"]["devices"] == ""
    with pytest.raises(ConfigError, match=r"no node of the Ray cluster has .*gpus_per_cell=3"):
        probe_run(tmp_path / "big", 1, on_ray(gpus_per_cell=3))


def test_bench_compare_times_the_three_executors_on_one_grid(tiny_dataset_dir, tmp_path, capsys):
    import importlib.util

    path = Path(__file__).resolve().parents[2] / "recipes" / "bench_compare.py"
    spec = importlib.util.spec_from_file_location("bench_compare", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    argv = [str(tiny_dataset_dir), "--methods", "tfidf-lr,bow-lr", "--sizes", "2/class,full",
            "--seeds", "0", "--in-process", "--out", str(tmp_path / "b.json")]  # fmt: skip
    assert bench.main(argv) == 0
    printed = capsys.readouterr().out
    assert "tables equal (all but fit_seconds): yes" in printed
    saved = json.loads((tmp_path / "b.json").read_text())
    rows = {r["executor"]: r for r in saved["results"]}
    assert sorted(rows) == ["local", "processes", "ray"] and rows["ray"]["workers"] == 2
    assert all(
        r["cells"] == 4 and r["failed"] == 0 and r["wall_seconds"] > 0 for r in rows.values()
    )
    assert [line.split()[0] for line in printed.splitlines()[2:5]] == ["local", "processes", "ray"]
    assert printed.splitlines()[2].endswith("1.00x")
