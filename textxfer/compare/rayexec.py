"""The ``ray`` executor: one Ray task per cell, with its CPU/GPU request, on a local or remote cluster.

Ray places each cell on a node with ``cpus_per_cell`` CPUs and ``gpus_per_cell`` GPUs free and
sets ``CUDA_VISIBLE_DEVICES`` to the GPUs it assigned (a cell that reserves none sees none).
A task whose worker dies is retried by Ray ``max_retries`` times, then recorded as failed. The
driver (the machine running ``textxfer compare``) writes the records; cells load the data
themselves, so every node needs the datasets, models and textxfer at the same paths, and the
output folder on storage every node sees when cells write there (work folders, adapted encoders).

>>> forwarded_env({"HF_HUB_OFFLINE": "1", "HOME": "/root", "TEXTXFER_DATASETS": "/data"})
{'HF_HUB_OFFLINE': '1', 'TEXTXFER_DATASETS': '/data'}
"""

from __future__ import annotations

import logging
import os
import socket
from collections import deque
from collections.abc import Mapping

from ..errors import ConfigError, require
from .cells import Cell, failure_record
from .executors import CellTask, ExecutorArgs, died_record, driver_context, run_cell

logger = logging.getLogger(__name__)

FORWARDED = ("TEXTXFER_", "HF_", "TRANSFORMERS_", "TOKENIZERS_PARALLELISM")

__all__ = ["forwarded_env", "run_ray"]


def forwarded_env(environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The driver's variables every cell gets (data and model locations, offline switches)."""
    environ = os.environ if environ is None else environ
    return {k: v for k, v in sorted(environ.items()) if k.startswith(FORWARDED)}


def connect(args: ExecutorArgs):
    """``(ray, started)``: join ``ray_address`` (or start a private local Ray) unless this
    process is connected already (then ``started`` is False and the connection is kept)."""
    ray = require("ray", extra="ray", purpose="--executor ray")
    if ray.is_initialized():
        return ray, False
    _check_reachable(args.ray_address)
    try:
        ray.init(address=args.ray_address, include_dashboard=False, logging_level=logging.WARNING)
    except ConnectionError as err:
        raise ConfigError(
            f"no Ray cluster at ray_address={args.ray_address!r} ({err}); start one with `ray "
            "start --head` (see README: Scaling out) or drop --ray-address for a local Ray"
        ) from err
    return ray, True


def _check_reachable(address: str | None) -> None:
    """A HOST:PORT nobody listens at fails at once (Ray itself would wait minutes for it)."""
    if not address or address == "auto" or "://" in address:
        return
    host, _, port = address.rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=10).close()
    except OSError as err:
        raise ConfigError(
            f"no Ray cluster answers at ray_address={address!r} ({err}); start one there with "
            "`ray start --head --port PORT` or check the address `ray start` printed"
        ) from err


def check_fits(ray, args: ExecutorArgs) -> None:
    """Refuse requests no node can meet (Ray would wait for them forever)."""
    nodes = [n.get("Resources", {}) for n in ray.nodes() if n.get("Alive")]
    if any(
        r.get("CPU", 0) >= args.cpus_per_cell and r.get("GPU", 0) >= args.gpus_per_cell
        for r in nodes
    ):
        return
    have = sorted((r.get("CPU", 0), r.get("GPU", 0)) for r in nodes)
    raise ConfigError(
        f"no node of the Ray cluster has cpus_per_cell={args.cpus_per_cell} CPUs and "
        f"gpus_per_cell={args.gpus_per_cell} GPUs (nodes as (CPUs, GPUs): {have}); lower "
        "--cpus-per-cell / --gpus-per-cell or add a node that has them"
    )


def run_ray(cells: list[Cell], task: CellTask, args: ExecutorArgs, fail_fast: bool):
    """Run ``cells`` as Ray tasks; yield each record as its cell finishes."""
    ray, started = connect(args)
    try:
        check_fits(ray, args)
        hide = {} if args.gpus_per_cell else {"CUDA_VISIBLE_DEVICES": ""}
        ctx = driver_context("ray", args, fail_fast, **hide)
        remote = ray.remote(run_cell).options(
            num_cpus=args.cpus_per_cell, num_gpus=args.gpus_per_cell,
            max_retries=args.max_retries, retry_exceptions=False,
            runtime_env={"env_vars": forwarded_env()},
        )  # fmt: skip
        shared = ray.put(task)
        yield from _drive(ray, remote, shared, ctx, cells, args)
    finally:
        if started:
            ray.shutdown()  # a private local Ray stops; a cluster is only disconnected from


def _drive(ray, remote, task_ref, ctx, cells: list[Cell], args: ExecutorArgs):
    queue, pending = deque(cells), {}
    limit = args.workers or len(cells)
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                cell = queue.popleft()
                pending[remote.remote(task_ref, cell, ctx)] = cell
            done, _ = ray.wait(list(pending), num_returns=1)
            for ref in done:
                cell = pending.pop(ref)
                try:
                    record, error = ray.get(ref)
                except ray.exceptions.RayTaskError as err:  # raised outside the cell's code,
                    record = failure_record(cell, err.cause or err)  # e.g. no textxfer there
                    error = err if ctx.fail_fast else None
                except ray.exceptions.RayError as err:  # the worker died on every try
                    logger.warning("cell %s: %s", cell.id, err)
                    record = died_record(cell, type(err).__name__, args.max_retries + 1)
                    error = err if ctx.fail_fast else None
                if error is not None:
                    raise error
                yield record
    finally:
        for ref in pending:  # fail_fast or Ctrl-C: cells in flight stop, nothing is recorded
            ray.cancel(ref, force=True)
