"""Cell functions for the executor tests, importable by worker processes and Ray workers.

``probe_cell`` records every attempt of a cell, then fails, kills its own process or waits at a
barrier as its ``Probe`` says, and returns what the cell saw (devices, Ray resources, pid).
"""

from __future__ import annotations

import os
import signal
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from textxfer.compare.cells import Cell, cell_id


@dataclass
class Probe:
    """What the probe cells do; ``folder`` holds attempts/ and barrier/ files."""

    folder: str
    barrier: int = 0  # cells that must be running at the same time (0: no barrier)
    fail: list[str] = field(default_factory=list)  # cell ids that raise
    kill_once: list[str] = field(default_factory=list)  # killed on their first try
    kill_always: list[str] = field(default_factory=list)  # killed on every try
    timeout: float = 90.0


def cells(n: int) -> list[Cell]:
    """``n`` probe cells c0, c1, ..."""
    return [Cell(cell_id(f"c{i}"), {"i": i}) for i in range(n)]


def attempts(probe: Probe, cid: str) -> int:
    """How many times cell ``cid`` was started."""
    return len(list((Path(probe.folder) / "attempts").glob(f"{cid}.*")))


def probe_cell(probe: Probe, cell: Cell) -> dict:
    root = Path(probe.folder)
    (root / "attempts").mkdir(parents=True, exist_ok=True)
    first = attempts(probe, cell.id) == 0
    (root / "attempts" / f"{cell.id}.{os.getpid()}.{time.time_ns()}").touch()
    if cell.id in probe.kill_always or (cell.id in probe.kill_once and first):
        os.kill(os.getpid(), signal.SIGKILL)
    if cell.id in probe.fail:
        raise ValueError(f"cell {cell.id} fails on purpose")
    start = time.time()
    if probe.barrier:
        _wait_at_barrier(root / "barrier", cell.id, probe.barrier, probe.timeout)
    return {
        "devices": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "resources": _ray_resources(),
        "pid": os.getpid(),
        "waited": round(time.time() - start, 3),
    }


def _wait_at_barrier(folder: Path, cid: str, n: int, timeout: float) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / cid).touch()
    deadline = time.time() + timeout
    while len(list(folder.iterdir())) < n:
        if time.time() > deadline:
            raise TimeoutError(f"cell {cid}: fewer than {n} cells ran at the same time")
        time.sleep(0.05)


def _ray_resources() -> dict | None:
    if "ray" not in sys.modules:
        return None
    import ray

    if not ray.is_initialized():
        return None
    return {k: v for k, v in ray.get_runtime_context().get_assigned_resources().items()}


def gpu_cell(probe: Probe, cell: Cell) -> dict:
    """``probe_cell`` plus the number of CUDA devices torch sees in the cell."""
    import torch

    return {**probe_cell(probe, cell), "cuda_devices": torch.cuda.device_count()}


def compare_on_gpu(args, cell: Cell) -> dict:
    """A compare cell plus the CUDA memory its process used (0: it trained on CPU)."""
    import torch

    from textxfer.compare.grid import run_compare_cell

    values = run_compare_cell(args, cell)
    values["cuda_bytes"] = torch.cuda.max_memory_allocated() if torch.cuda.is_available() else 0
    return values
