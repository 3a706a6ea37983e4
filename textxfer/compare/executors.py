"""Where the cells of a grid run: ``local`` (one after the other, here), ``processes`` (N worker
processes on this machine) or ``ray`` (Ray tasks on a local or remote cluster).

Every executor runs the same ``run_cell`` for a cell and hands its record back to the driver,
which alone writes the cell store (``textxfer.compare.cells``): a grid started with one executor
resumes with another, a rerun skips finished cells, and the table does not depend on who ran it.
A cell that raises is recorded as failed; a cell whose worker process dies (killed, out of
memory) is tried again ``max_retries`` times, then recorded as failed, never lost or duplicated.

With ``gpus_per_cell: K`` a cell reserves K GPUs and sees only those (``CUDA_VISIBLE_DEVICES``);
with K > 1 a cell that trains (``finetune-*``, ``adapt-*``) runs its training in K processes, one
per GPU, through Accelerate (``textxfer.compare.launch``).

>>> ExecutorArgs(executor="processes", workers=2).processes_per_cell()
1
"""

from __future__ import annotations

import logging
import math
import os
import pickle
import re
import socket
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ..config import Args, field
from ..errors import ConfigError
from . import cells as _cells
from .cells import Cell, failure_record

logger = logging.getLogger(__name__)

EXECUTORS = ("local", "processes", "ray")
_ADDRESS = re.compile(r"auto|([a-z]+://)?[^\s:/]+:\d+")
TRAINING_KINDS = ("finetune", "adapt")  # methods whose training Accelerate can spread over GPUs

__all__ = ["EXECUTORS", "CellTask", "ExecutorArgs", "execute", "new_run", "register_cache"]


@dataclass
class ExecutorArgs(Args):
    """Where the cells of a grid run (the table is the same whichever runs them)."""

    executor: str = field(
        "local",
        help="local (one cell after the other, in this process), processes (worker processes on "
        "this machine) or ray (Ray tasks on a local or remote cluster; pip install 'textxfer[ray]')",
    )
    workers: int | None = field(
        None,
        help="cells at a time (processes: default CPUs / cpus_per_cell, or GPUs / gpus_per_cell; "
        "ray: default as many as the cluster fits)",
    )
    ray_address: str | None = field(
        None,
        help="Ray cluster to join: auto (the one started on this machine with `ray start`), "
        "HOST:PORT or ray://HOST:PORT; default: start a private local Ray",
    )
    cpus_per_cell: float = field(1.0, help="CPUs reserved per cell (processes, ray)")
    gpus_per_cell: float = field(
        0.0,
        help="GPUs reserved per cell (processes, ray: the cell sees only those; 0: none). K > 1: "
        "fine-tuning cells train on their K GPUs through Accelerate (local too)",
    )
    max_retries: int = field(
        1, help="tries again a cell whose worker died (killed, out of memory) before recording it"
    )

    def validate(self) -> None:
        if self.executor not in EXECUTORS:
            raise ConfigError(
                f"executor must be one of {list(EXECUTORS)}, found {self.executor!r}; e.g. "
                "--executor processes --workers 2"
            )
        if self.workers is not None and self.workers < 1:
            raise ConfigError(f"workers must be >= 1 or null, found {self.workers}")
        if self.workers is not None and self.executor == "local":
            raise ConfigError(
                f"workers={self.workers} needs a parallel executor (local runs one cell at a "
                "time); add --executor processes or --executor ray"
            )
        if self.ray_address and self.executor != "ray":
            raise ConfigError(
                f"ray_address={self.ray_address!r} is given but executor is {self.executor!r}; "
                "add --executor ray"
            )
        if self.ray_address and not _ADDRESS.fullmatch(self.ray_address):
            raise ConfigError(
                f"ray_address {self.ray_address!r} not understood; expected auto, HOST:PORT "
                "(e.g. 10.0.0.1:6379) or ray://HOST:PORT"
            )
        if self.cpus_per_cell <= 0 or self.gpus_per_cell < 0 or self.max_retries < 0:
            raise ConfigError(
                "cpus_per_cell must be > 0, gpus_per_cell >= 0 and max_retries >= 0, found "
                f"{self.cpus_per_cell}, {self.gpus_per_cell}, {self.max_retries}"
            )
        whole = float(self.gpus_per_cell).is_integer()
        if not whole and (self.gpus_per_cell > 1 or self.executor != "ray"):
            raise ConfigError(
                f"gpus_per_cell={self.gpus_per_cell}: only ray shares a GPU between cells (a "
                "fraction below 1); otherwise give a whole number of GPUs"
            )

    def processes_per_cell(self) -> int:
        """Training processes of a cell that trains: one per reserved GPU (1 below 2 GPUs)."""
        return int(self.gpus_per_cell) if self.gpus_per_cell >= 2 else 1


@dataclass(frozen=True)
class CellTask:
    """``func(config, cell)`` as a picklable callable, for any executor.

    Attributes:
        func: a top-level function ``(config, cell) -> record values``.
        config: the grid's config dataclass (rebuilt from its fields in multi-process launches).
        run_id: the run this task belongs to (``new_run``): worker caches of another run are
            dropped before its first cell.
        prepare: ``prepare(config, cell)``, run in the cell's process before a multi-process
            launch (e.g. build a shared adapted encoder once, not in every process).
    """

    func: Callable[[Any, Cell], dict]
    config: Any
    run_id: str = ""
    prepare: Callable[[Any, Cell], None] | None = None

    def __call__(self, cell: Cell) -> dict:
        return self.func(self.config, cell)


# ------------------------------------------------------------------------- per-run worker caches
_CACHES: list[dict] = []
_CURRENT = {"run": None}


def register_cache(cache: dict) -> dict:
    """Register a module-level cache (data loaded once per process): it lives for one run."""
    _CACHES.append(cache)
    return cache


def new_run() -> str:
    """Start a run in this process: the registered caches are emptied; returns the run's id."""
    run_id = uuid.uuid4().hex
    _enter(run_id)
    return run_id


def _enter(run_id: str) -> None:
    """Caches of another run are dropped (a reused Ray worker; files may have changed)."""
    if _CURRENT["run"] != run_id:
        for cache in _CACHES:
            cache.clear()
        _CURRENT["run"] = run_id


# ----------------------------------------------------------------------------------- one cell
@dataclass(frozen=True)
class CellContext:
    """How a worker runs its cells: the executor's name, training processes, environment."""

    executor: str
    processes: int = 1
    fail_fast: bool = False
    env: tuple[tuple[str, str], ...] = ()
    cwd: str = ""


def trains(cell: Cell) -> bool:
    """Whether the cell's method trains with Accelerate (so K processes can share its training)."""
    from .registry import get_method

    method = cell.key.get("method")
    return method is not None and get_method(method).kind in TRAINING_KINDS


def run_cell(task: CellTask, cell: Cell, ctx: CellContext) -> tuple[dict, BaseException | None]:
    """Run one cell where the executor put it; its record (``run``: where and how long) and,
    with ``fail_fast``, the exception of a failed cell (else None)."""
    os.environ.update(dict(ctx.env))
    if ctx.cwd and os.path.isdir(ctx.cwd):
        os.chdir(ctx.cwd)  # relative paths of the grid mean what they meant for the driver
    _enter(task.run_id)
    run: Callable[[Cell], dict] = task
    info = {"executor": ctx.executor, "host": socket.gethostname(), "pid": os.getpid(),
            "devices": os.environ.get("CUDA_VISIBLE_DEVICES")}  # fmt: skip
    if ctx.executor == "ray":
        import ray

        info["node"] = ray.get_runtime_context().get_node_id()
    if ctx.processes > 1 and trains(cell):
        from .launch import launch_cell

        run, info["processes"] = (lambda c: launch_cell(task, ctx.processes, c)), ctx.processes
    start, error = time.time(), None
    try:
        record = _cells.run_one(cell, run, fail_fast=True)  # looked up here: tests wrap it
    except Exception as err:  # noqa: BLE001 - recorded; the driver decides (fail_fast)
        logger.exception("cell %s failed", cell.id)
        record, error = failure_record(cell, err), err if ctx.fail_fast else None
    record["run"] = {**info, "started": round(start, 3), "seconds": round(time.time() - start, 3)}
    return record, error if ctx.executor == "local" else _picklable(error)


def _picklable(error: BaseException | None) -> BaseException | None:
    if error is None:
        return None
    try:
        pickle.dumps(error)
        return error
    except Exception:  # noqa: BLE001 - an exception that cannot travel becomes its message
        return RuntimeError(f"{type(error).__name__}: {error}")


def died_record(cell: Cell, why: str, tries: int) -> dict:
    """The record of a cell whose worker died on every try."""
    return cell.record(
        status="error",
        error=f"WorkerDied: the worker running this cell died ({why}) on {tries} tr"
        f"{'y' if tries == 1 else 'ies'}; killed or out of memory? Raise the memory per cell "
        "or lower workers, then rerun (finished cells are kept)",
    )


# ---------------------------------------------------------------------------------- executors
def execute(
    cells: list[Cell], task: CellTask, args: ExecutorArgs | None = None, fail_fast: bool = False
) -> Iterator[dict]:
    """Run ``cells`` with the executor of ``args``; yield each record as its cell finishes.

    Raises:
        the first failure, with ``fail_fast`` (the cells in flight are stopped, not recorded).
    """
    args = args or ExecutorArgs()
    if not cells:  # nothing to do: no workers, no cluster
        return (record for record in ())
    if args.executor == "processes":
        from .pool import run_processes

        try:
            pickle.dumps(task)
        except Exception as err:  # noqa: BLE001 - a programming error, said plainly
            raise TypeError(
                f"--executor processes sends each cell's task to a worker, but it cannot be "
                f"pickled ({err}); pass CellTask(top_level_function, config)"
            ) from err

        return run_processes(cells, task, args, fail_fast)
    if args.executor == "ray":
        from .rayexec import run_ray

        return run_ray(cells, task, args, fail_fast)
    return _run_local(cells, task, args, fail_fast)


def _run_local(cells: list[Cell], task: CellTask, args: ExecutorArgs, fail_fast: bool):
    gpus = visible_gpus() if args.gpus_per_cell else []
    if len(gpus) < args.gpus_per_cell:
        raise ConfigError(
            f"gpus_per_cell={args.gpus_per_cell:g} but this machine shows {len(gpus)} GPU(s) "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); lower "
            "--gpus-per-cell or run where the GPUs are"
        )
    ctx = CellContext("local", args.processes_per_cell(), fail_fast)
    for cell in cells:
        record, error = run_cell(task, cell, ctx)
        if error is not None:
            raise error
        yield record


def driver_context(executor: str, args: ExecutorArgs, fail_fast: bool, **env: str) -> CellContext:
    """The context of a parallel executor's cells: this process's working directory."""
    return CellContext(
        executor, args.processes_per_cell(), fail_fast, tuple(env.items()), os.getcwd()
    )


def visible_gpus() -> list[str]:
    """The GPUs this process may hand out: ``CUDA_VISIBLE_DEVICES`` when set, else torch's count."""
    env = os.environ.get("CUDA_VISIBLE_DEVICES")
    if env is not None:
        return [d.strip() for d in env.split(",") if d.strip() not in ("", "-1")]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def cpu_count() -> int:
    """CPUs this process may use."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def default_workers(args: ExecutorArgs, gpus: int) -> int:
    """Cells at a time on this machine: by GPUs when cells reserve GPUs, else by CPUs."""
    if args.gpus_per_cell:
        return gpus // int(args.gpus_per_cell)
    return max(1, cpu_count() // math.ceil(args.cpus_per_cell))
