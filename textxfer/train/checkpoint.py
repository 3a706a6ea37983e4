"""The checkpoint format of ``TrainLoop``: nothing in it is a pickle, so resuming runs no code.

A checkpoint is a folder ``step-N/``::

    model.safetensors          the model weights (safetensors: tensors only)
    optimizer.pt               the optimizer state: tensors and numbers, read back with
                               ``torch.load(weights_only=True)``, which builds no other objects
    scheduler.json             the learning-rate schedule's state
    scaler.json                the fp16 loss scaler's state (when there is one)
    loop_state.json            ``LoopState``: step, epoch, position in the epoch, history, ...
    best_weights.safetensors   the best weights seen on dev (with ``load_best``)
    checkpoint.json            written last: the step and the fingerprint of the data and
                               settings; a folder without it is incomplete and never resumed

Random states are not saved: the loop seeds every micro-batch from (seed, step, process).

>>> latest_checkpoint("runs/sst2.checkpoints")      # doctest: +SKIP
PosixPath('runs/sst2.checkpoints/step-00000600')
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Any

from ..errors import ConfigError, DataError
from ..io import atomic_write_json, read_json

logger = logging.getLogger(__name__)

CHECKPOINT_RE = re.compile(r"^step-(\d+)$")
COMPLETE_FILE = "checkpoint.json"

__all__ = [
    "CHECKPOINT_RE",
    "COMPLETE_FILE",
    "check_fingerprint",
    "latest_checkpoint",
    "read_checkpoint",
    "step_folders",
    "write_checkpoint",
]


def step_folders(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(N, path)`` of the ``step-N`` folders in ``folder``, by N."""
    return sorted(
        (int(m.group(1)), p) for p in Path(folder).iterdir() if (m := CHECKPOINT_RE.match(p.name))
    )


def latest_checkpoint(folder: str | os.PathLike | None) -> Path | None:
    """The ``step-N`` checkpoint with the largest N in ``folder`` that is complete (has
    ``checkpoint.json``), or None; incomplete ones are skipped with a warning."""
    if folder is None or not Path(folder).is_dir():
        return None
    for _, path in reversed(step_folders(folder)):
        if (path / COMPLETE_FILE).is_file():
            return path
        logger.warning("skipping %s: incomplete (no %s)", path, COMPLETE_FILE)
    return None


def check_fingerprint(path: Path, current: dict | None, force: bool = False) -> None:
    """Refuse to resume ``path`` when its fingerprint differs from ``current`` (unless ``force``).

    Raises:
        ConfigError: naming what differs and the fixes.
    """
    saved = read_json(path / COMPLETE_FILE).get("fingerprint") or {}
    if current is None or force:
        return
    differs = sorted(k for k in set(saved) | set(current) if saved.get(k) != current.get(k))
    if differs:
        raise ConfigError(
            f"checkpoint {path} was made with other data or settings (differs in: "
            f"{', '.join(differs[:6])}); run with the data and settings it was made with, pass "
            "--resume force to continue from it anyway, or another --checkpoint-dir to start afresh"
        )


def write_checkpoint(
    folder: Path, *, model, optimizer, scheduler, scaler, state: dict[str, Any], fingerprint
) -> None:
    """Write a checkpoint into ``folder`` (``checkpoint.json`` last); ``state`` is
    ``LoopState.state_dict()`` and ``model`` the unwrapped model."""
    import torch
    from safetensors.torch import save_file, save_model

    from .. import __version__

    save_model(model, str(folder / "model.safetensors"))
    torch.save(optimizer.state_dict(), folder / "optimizer.pt")
    atomic_write_json(folder / "scheduler.json", scheduler.state_dict())
    if scaler is not None:
        atomic_write_json(folder / "scaler.json", scaler.state_dict())
    state = dict(state)
    best = state.pop("best_weights", None)
    if best:
        tensors = {k: v.contiguous() for k, v in best.items()}
        save_file(tensors, str(folder / "best_weights.safetensors"))
    atomic_write_json(folder / "loop_state.json", state)
    complete = {"step": state["global_step"], "fingerprint": fingerprint,
                "textxfer_version": __version__}  # fmt: skip
    atomic_write_json(folder / COMPLETE_FILE, complete)


def read_checkpoint(path: Path, *, model, optimizer, scheduler, scaler) -> dict[str, Any]:
    """Load ``path`` into the model, optimizer, scheduler and scaler; return the loop state.

    Raises:
        DataError: ``optimizer.pt`` holds anything but tensors and plain values.
    """
    import torch
    from safetensors.torch import load_file, load_model

    load_model(model, str(path / "model.safetensors"))
    try:  # weights_only: tensors and plain values only, never an object that runs code
        state = torch.load(path / "optimizer.pt", map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - pickle.UnpicklingError, RuntimeError, EOFError
        raise DataError(
            f"{path / 'optimizer.pt'} is not a plain tensor file ({type(err).__name__}); "
            "textxfer reads checkpoints without running code from them, so it is not loaded. "
            "Delete that checkpoint folder, or pass another --checkpoint-dir"
        ) from err
    optimizer.load_state_dict(state)
    scheduler.load_state_dict(read_json(path / "scheduler.json"))
    if scaler is not None and (path / "scaler.json").is_file():
        scaler.load_state_dict(read_json(path / "scaler.json"))
    loop_state = read_json(path / "loop_state.json")
    if (path / "best_weights.safetensors").is_file():
        loop_state["best_weights"] = load_file(str(path / "best_weights.safetensors"))
    return loop_state
