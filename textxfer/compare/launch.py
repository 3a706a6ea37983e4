"""One cell's training across K processes (one per GPU of the cell), through torchrun + Accelerate.

``launch_cell`` writes the cell (its grid function, config fields and key) to a JSON spec in a
private temporary folder and starts ``torchrun --standalone --nproc_per_node K -m
textxfer.compare.launch SPEC``; every process runs the cell's function, so Accelerate sees K
processes and shares the training between them (the gathered metrics are the same on every
rank); rank 0 writes the record values back. Only ``textxfer.*`` functions are run from a spec.

    python -m torch.distributed.run --standalone --nproc_per_node 2 -m textxfer.compare.launch SPEC
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..io import atomic_write_json, read_json
from .cells import Cell

__all__ = ["launch_cell", "main"]


def _name(obj: Any) -> str:
    return f"{obj.__module__}:{obj.__qualname__}"


def _resolve(name: str) -> Any:
    module, _, attr = name.partition(":")
    if not module.startswith("textxfer."):  # a spec names textxfer's own grid functions only
        raise ValueError(f"refusing to run {name!r} from a cell spec (not a textxfer function)")
    return getattr(importlib.import_module(module), attr)


def launch_cell(task, processes: int, cell: Cell) -> dict[str, Any]:
    """``task(cell)`` run by ``processes`` torchrun processes; the values rank 0 reports.

    Raises:
        RuntimeError: the launch failed (with the end of its output).
    """
    if task.prepare is not None:
        task.prepare(task.config, cell)
    with tempfile.TemporaryDirectory(prefix="textxfer-cell-") as tmp:
        spec = {
            "func": _name(task.func), "config_class": _name(type(task.config)),
            "config": dataclasses.asdict(task.config), "cell": {"id": cell.id, "key": cell.key},
            "result": str(Path(tmp) / "result.json"),
        }  # fmt: skip
        path = atomic_write_json(Path(tmp) / "spec.json", spec)
        cmd = [sys.executable, "-m", "torch.distributed.run", "--standalone",
               "--nproc_per_node", str(processes), "-m", "textxfer.compare.launch", str(path)]  # fmt: skip
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = (proc.stdout[-1500:] + proc.stderr[-3000:]).strip()
            raise RuntimeError(
                f"the {processes}-process training of cell {cell.id} failed (exit code "
                f"{proc.returncode}):\n{tail}"
            )
        return read_json(spec["result"])


def main(argv: list[str] | None = None) -> int:
    """Run the cell of a spec in this (torchrun) process; rank 0 writes the values."""
    (path,) = sys.argv[1:] if argv is None else argv
    spec = json.loads(Path(path).read_text(encoding="utf-8"))
    config = _resolve(spec["config_class"])(**spec["config"])
    cell = Cell(spec["cell"]["id"], spec["cell"]["key"])
    values = _resolve(spec["func"])(config, cell)
    if int(os.environ.get("RANK", "0")) == 0:
        values["processes"] = int(os.environ.get("WORLD_SIZE", "1"))
        atomic_write_json(spec["result"], values)
    return 0


if __name__ == "__main__":
    sys.exit(main())
