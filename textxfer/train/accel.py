"""Accelerate plumbing shared by every training stage: the accelerator and resumable dataloaders.

``make_accelerator(args)`` builds an ``Accelerator`` from ``TrainArgs`` that works the same in one
process, under ``torchrun`` (gloo on CPU) and under ``accelerate launch``, and can be built again in
the same process. ``train_dataloader`` shuffles with a ``SeededSampler`` whose order depends only on
(seed, epoch), which is what makes ``TrainLoop``'s resume exact; ``eval_dataloader`` keeps order.

>>> accelerator = make_accelerator(TrainArgs(mixed_precision="bf16"))          # doctest: +SKIP
>>> train_dl = train_dataloader(ds, 16, collate, seed=0)                        # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import importlib
import logging
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError, MissingExtraError, require

if TYPE_CHECKING:
    from .args import TrainArgs

logger = logging.getLogger(__name__)


def make_accelerator(args: TrainArgs):
    """An ``Accelerator`` for ``args`` (precision, accumulation, tracker), reusable in one process.

    Accelerate keeps one process-wide state; when an earlier run in this process used another
    mixed precision, that state is reset so runs with different settings can follow each other.
    DDP looks for unused parameters only under gradual unfreezing or a head warm-up (frozen
    groups get no grads).
    """
    from accelerate import Accelerator
    from accelerate.state import AcceleratorState
    from accelerate.utils import DistributedDataParallelKwargs, ProjectConfiguration

    check_launcher()
    shared = AcceleratorState._shared_state
    if shared and shared.get("_mixed_precision") != args.mixed_precision:
        AcceleratorState._reset_state(reset_partial_state=False)
    log_dir = None
    if args.report_to != "none":
        folder = args.checkpoint_folder()
        if folder is None:
            raise ConfigError(
                f"report_to {args.report_to!r} writes logs, but there is no folder for them; "
                "pass --out or --checkpoint-dir"
            )
        log_dir = str(Path(folder) / "logs")
        _require_tracker(args.report_to)
    accelerator = Accelerator(
        cpu=_distributed_cpu(),
        mixed_precision=args.mixed_precision,
        gradient_accumulation_steps=args.grad_accum,
        log_with=None if args.report_to == "none" else args.report_to,
        project_config=ProjectConfiguration(project_dir=log_dir, logging_dir=log_dir),
        kwargs_handlers=[
            DistributedDataParallelKwargs(find_unused_parameters=_freezes_during_training(args))
        ],
    )
    if args.mixed_precision == "fp16" and accelerator.device.type == "cpu":
        logger.warning("fp16 autocast on CPU runs without loss scaling; bf16 is the CPU choice")
    release_process_group_at_exit()
    return accelerator


_exit_hook_registered = False


def release_process_group_at_exit() -> None:
    """Have the default process group destroyed before Python shuts down (registered once).

    A process that exits with a gloo group alive can abort ("terminate called without an active
    exception", SIGABRT): gloo's worker threads release tensors after the interpreter is gone
    (pytorch/pytorch#190489), and the launcher then reports the whole run failed. ``atexit`` runs
    while Python is alive; a process whose group was already destroyed, or never set up, is left
    alone. Under a launcher the group belongs to the process, so this is the process's last act.
    """
    global _exit_hook_registered
    import torch.distributed as dist

    if _exit_hook_registered or not (dist.is_available() and dist.is_initialized()):
        return
    atexit.register(_destroy_process_group)
    _exit_hook_registered = True


def _destroy_process_group() -> None:
    import torch.distributed as dist

    if dist.is_initialized():
        dist.destroy_process_group()


def _require_tracker(name: str) -> None:
    """The tracker's package, or one error naming what to install (not a traceback mid-run)."""
    if name == "tensorboard":
        require("tensorboard", extra="tracking", purpose="report_to tensorboard")
        return
    try:
        importlib.import_module(name)
    except ImportError as err:
        raise MissingExtraError(
            f"report_to {name!r} needs the package {name!r}, which is not installed; run "
            f"`pip install {name}`, or pass --report-to none"
        ) from err


def _asked_processes() -> int | None:
    """``--num_processes`` of the ``accelerate launch`` that started this process, if any."""
    try:
        argv = Path(f"/proc/{os.getppid()}/cmdline").read_bytes().decode(errors="replace")
    except OSError:  # not Linux, or no parent to read
        return None
    args = [a for a in argv.split("\0") if a]
    if "launch" not in args or not any("accelerate" in Path(a).name for a in args[:3]):
        return None
    for i, arg in enumerate(args):
        key, _, value = arg.partition("=")
        if key in ("--num_processes", "--num-processes"):
            value = value or (args[i + 1] if i + 1 < len(args) else "")
            return int(value) if value.isdigit() else None
    return None


def check_launcher() -> None:
    """Refuse to train alone when ``accelerate launch --num_processes N`` started one process:
    without GPUs it does so unless given ``--multi_gpu`` (its single-process launcher sets
    ``ACCELERATE_USE_CPU`` and no ``WORLD_SIZE``).

    Raises:
        ConfigError: saying what to run instead.
    """
    if "ACCELERATE_USE_CPU" not in os.environ or int(os.environ.get("WORLD_SIZE", "1")) > 1:
        return
    asked = _asked_processes()
    if asked and asked > 1:
        raise ConfigError(
            f"accelerate launch was asked for {asked} processes but started 1: without GPUs it runs "
            f"a single process unless --multi_gpu is given. On CPU run `accelerate launch "
            f"--multi_gpu --num_processes {asked} ...` (textxfer then trains on gloo) or `torchrun "
            f"--nproc_per_node {asked} ...`"
        )


def _freezes_during_training(args: TrainArgs) -> bool:
    """Whether some parameters get no gradient for a while (gradual unfreezing, a head warm-up),
    which DDP must then look for."""
    return bool(args.gradual_unfreeze or getattr(args, "head_warmup", 0))


def _distributed_cpu() -> bool:
    """True under a multi-process launcher (torchrun, accelerate launch) on a machine without
    CUDA: Accelerate only sets up gloo (MULTI_CPU) when asked for the CPU explicitly."""
    import torch

    return int(os.environ.get("WORLD_SIZE", "1")) > 1 and not torch.cuda.is_available()


class SeededSampler:
    """Shuffled indices whose order depends only on ``(seed, epoch)``; ``set_epoch`` picks it.

    With ``lengths``, indices are grouped by length: chunks of ``group_size * 50`` shuffled indices
    are sorted longest first, so consecutive batches of ``group_size`` hold similar lengths (less
    padding). Pass the *global* batch size as ``group_size`` so every process count gets the same
    order.
    """

    def __init__(
        self, n: int, seed: int, lengths: Sequence[int] | None = None, group_size: int = 1
    ):
        self.n, self.seed, self.lengths, self.group_size = n, seed, lengths, group_size
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        import torch

        gen = torch.Generator().manual_seed(self.seed * 100_003 + self.epoch)
        order = torch.randperm(self.n, generator=gen).tolist()
        if self.lengths is not None:
            mega = max(1, self.group_size * 50)
            chunks = [order[i : i + mega] for i in range(0, self.n, mega)]
            order = [j for c in chunks for j in sorted(c, key=lambda k: -self.lengths[k])]
        return iter(order)


def train_dataloader(
    dataset,
    batch_size: int,
    collate_fn: Callable,
    seed: int,
    lengths: Sequence[int] | None = None,
    group_size: int | None = None,
    num_workers: int = 0,
):
    """A training ``DataLoader`` with a ``SeededSampler`` (deterministic, resumable order)."""
    from torch.utils.data import DataLoader

    sampler = SeededSampler(len(dataset), seed, lengths, group_size or batch_size)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=sampler,
        collate_fn=collate_fn,
        num_workers=num_workers,
    )


def eval_dataloader(dataset, batch_size: int, collate_fn: Callable, num_workers: int = 0):
    """An evaluation ``DataLoader`` in dataset order."""
    from torch.utils.data import DataLoader

    return DataLoader(
        dataset,
        batch_size=batch_size,
        shuffle=False,
        collate_fn=collate_fn,
        num_workers=num_workers,
    )
