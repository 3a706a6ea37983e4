"""The ``processes`` executor: N worker processes on this machine, one cell at a time each.

Each worker is a process (forked from a clean server) that keeps its data caches between cells (the grid's data loads
once per worker). The driver hands one cell to each idle worker, so it always knows which cell a
worker runs: a worker that dies takes only its own cell down, which is tried again (``max_retries``)
on a fresh worker, then recorded as failed. With ``gpus_per_cell: K`` worker i sees the GPUs
``K*i .. K*i+K-1`` of this machine (``CUDA_VISIBLE_DEVICES``) and no others.

>>> from textxfer.compare.executors import ExecutorArgs
>>> device_slots(ExecutorArgs(executor="processes", workers=2, gpus_per_cell=1), 2, ["0", "1"])
['0', '1']
"""

from __future__ import annotations

import logging
import math
import multiprocessing
import os
import signal
import sys
from collections import Counter, deque
from multiprocessing.connection import wait

from ..errors import ConfigError
from .cells import Cell
from .executors import (
    CellContext,
    CellTask,
    ExecutorArgs,
    default_workers,
    died_record,
    driver_context,
    run_cell,
    visible_gpus,
)
from .registry import BUILTIN_MODULES

logger = logging.getLogger(__name__)

READY = "ready"
PRELOAD = ["textxfer.compare.grid", "textxfer.compare.crossdomain", *BUILTIN_MODULES, "datasets"]

__all__ = ["device_slots", "run_processes"]


def device_slots(args: ExecutorArgs, n_cells: int, gpus: list[str]) -> list[str]:
    """``CUDA_VISIBLE_DEVICES`` of each worker: K GPUs each, disjoint ('' when cells take none).

    Raises:
        ConfigError: when this machine has fewer GPUs than workers x gpus_per_cell.
    """
    per_cell = int(args.gpus_per_cell)
    workers = args.workers or default_workers(args, len(gpus))
    if per_cell and (workers < 1 or workers * per_cell > len(gpus)):
        raise ConfigError(
            f"{workers or 1} worker(s) x gpus_per_cell={per_cell} need "
            f"{max(workers, 1) * per_cell} GPUs; this machine shows {len(gpus)} "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}); lower "
            "--workers or --gpus-per-cell"
        )
    workers = min(workers, n_cells)
    return [",".join(gpus[i * per_cell : (i + 1) * per_cell]) for i in range(workers)]


def _context():
    """Workers fork from a server that imported textxfer's grid modules once (fast starts, and
    no torch threads are copied: the server never runs any); spawn where there is no fork."""
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    mp = multiprocessing.get_context("forkserver")
    mp.set_forkserver_preload(PRELOAD)  # no effect once this process's server runs
    return mp


def _serve(conn, env: dict[str, str]) -> None:
    """A worker: run the cells it is sent until it is sent None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's: it stops the workers
    os.environ.clear()
    os.environ.update(env)
    _limit_threads(int(env["OMP_NUM_THREADS"]))
    conn.send(READY)
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        conn.send(run_cell(*message))


def _limit_threads(n: int) -> None:
    """OMP_NUM_THREADS counts for what loads later (torch); thread pools the server loaded
    already (numpy's BLAS) are limited here."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(n)
    except ImportError:  # no scikit-learn, no threadpoolctl: nothing loaded them either
        pass
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(n)


class _Worker:
    """One worker process, its pipe and the cell it runs (None when idle)."""

    def __init__(self, mp, env: dict[str, str]) -> None:
        self.env = env
        self.conn, child = mp.Pipe()
        self.proc = mp.Process(target=_serve, args=(child, env), daemon=True)
        self.proc.start()
        child.close()
        self.cell: Cell | None = None
        self.ready = False  # set by its first message: it started (imports, main module) fine

    def submit(self, task: CellTask, cell: Cell, ctx: CellContext) -> None:
        self.conn.send((task, cell, ctx))
        self.cell = cell

    def why_dead(self) -> str:
        code = self.proc.exitcode
        return f"killed by signal {-code}" if code and code < 0 else f"exit code {code}"

    def stop(self, graceful: bool) -> None:
        if graceful and self.proc.is_alive():
            try:
                self.conn.send(None)
            except OSError:
                pass
            self.proc.join(timeout=10)
        if self.proc.is_alive():
            self.proc.terminate()
        self.proc.join(timeout=10)
        self.conn.close()


def run_processes(cells: list[Cell], task: CellTask, args: ExecutorArgs, fail_fast: bool):
    """Run ``cells`` on worker processes; yield each record as its cell finishes."""
    gpus = visible_gpus() if args.gpus_per_cell else []
    slots = device_slots(args, len(cells), gpus)
    threads = str(math.ceil(args.cpus_per_cell))  # as Ray does: no cell takes every core
    # the driver's environment now (a forkserver's is that of its start), with the worker's GPUs
    envs = [{**os.environ, "CUDA_VISIBLE_DEVICES": s, "OMP_NUM_THREADS": threads} for s in slots]
    ctx = driver_context("processes", args, fail_fast)
    mp = _context()
    logger.info("running %d cells on %d worker processes", len(cells), len(envs))
    workers = [_Worker(mp, env) for env in envs]
    queue, tries, graceful = deque(cells), Counter(), False
    try:
        while queue or any(w.cell for w in workers):
            for i, w in enumerate(workers):
                if w.cell is None and queue:
                    workers[i] = _submit(mp, w, task, queue.popleft(), ctx)
            busy = [w for w in workers if w.cell is not None]
            wait([x for w in busy for x in (w.conn, w.proc.sentinel)])
            for i, w in enumerate(workers):
                if w.cell is not None and w.conn.poll():
                    record, error = _receive(w)
                    if record is not None:
                        if error is not None:
                            raise error
                        yield record
                        continue
                if w.cell is not None and not w.proc.is_alive():
                    if not w.ready:
                        raise _start_failed(w)
                    cell, why = w.cell, w.why_dead()
                    tries[cell.id] += 1
                    logger.warning("the worker running cell %s died (%s)", cell.id, why)
                    w.stop(graceful=False)
                    workers[i] = _Worker(mp, w.env)
                    if tries[cell.id] <= args.max_retries:
                        queue.appendleft(cell)
                    else:
                        yield died_record(cell, why, tries[cell.id])
        graceful = True
    finally:
        for w in workers:
            w.stop(graceful)


def _submit(mp, worker: _Worker, task: CellTask, cell: Cell, ctx: CellContext) -> _Worker:
    """Send a cell to a worker; a worker that died while idle is replaced first."""
    try:
        worker.submit(task, cell, ctx)
        return worker
    except OSError:
        worker.stop(graceful=False)
        fresh = _Worker(mp, worker.env)
        fresh.submit(task, cell, ctx)
        return fresh


def _receive(worker: _Worker):
    """(record, error) from a worker, or (None, None) when it has none (it died, or it said
    it is ready)."""
    try:
        message = worker.conn.recv()
    except (EOFError, OSError):
        worker.proc.join(timeout=10)
        return None, None
    if message == READY:
        worker.ready = True
        return None, None
    worker.cell = None
    return message


def _start_failed(worker: _Worker) -> ConfigError:
    return ConfigError(
        f"a worker process died while starting ({worker.why_dead()}), before running any cell "
        "(its error, if any, is printed above). A script that runs a grid with --executor processes must "
        'start it under `if __name__ == "__main__":` (the workers import the script)'
    )
