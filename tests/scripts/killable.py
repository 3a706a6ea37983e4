"""Run the textxfer CLI, pausing at a chosen point so a test can ``kill -9`` it there.

    python killable.py --pause step:6 --ready FILE [--calls FILE] -- finetune DATA ...

``--pause`` is ``step:N`` (after optimizer step N of a training loop), ``cell:N`` (as the Nth grid
cell starts), ``save:NAME`` (after the payload of the run folder NAME is written to its temp
folder, before the rename) or ``none``. At the pause the script writes ``--ready`` and sleeps until
it is killed. ``--calls`` gets one line per grid cell run (its id), so a test can count them.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path


def _pause(ready: Path) -> None:
    ready.write_text("paused\n")
    time.sleep(3600)  # until SIGKILL


def _patch_steps(step: int, ready: Path) -> None:
    from textxfer.train.loop import TrainLoop

    original = TrainLoop._after_optimizer_step

    def after(self, bar):
        original(self, bar)
        if self.state.global_step == step:
            _pause(ready)

    TrainLoop._after_optimizer_step = after


def _patch_cells(n: int | None, ready: Path, calls: Path | None) -> None:
    from textxfer.compare import cells

    original, seen = cells.run_one, [0]

    def run_one(cell, run, fail_fast=False):
        seen[0] += 1
        if calls is not None:
            with calls.open("a") as fh:
                fh.write(cell.id + "\n")
        if seen[0] == n:
            _pause(ready)
        return original(cell, run, fail_fast)

    cells.run_one = run_one


def _patch_save(name: str, ready: Path) -> None:
    import textxfer.io as io

    original = io.save_run

    def save_run(folder, **kwargs):
        payload = kwargs.get("payload")
        if Path(folder).name == name and payload is not None:

            def paused(tmp):
                result = payload(tmp)
                _pause(ready)
                return result

            kwargs["payload"] = paused
        return original(folder, **kwargs)

    io.save_run = save_run
    import textxfer.data.load  # noqa: F401 - imports save_run from io at call time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--pause", default="none")
    parser.add_argument("--ready", type=Path, default=Path("ready"))
    parser.add_argument("--calls", type=Path)
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    kind, _, value = args.pause.partition(":")
    if kind == "step":
        _patch_steps(int(value), args.ready)
    elif kind == "cell" or args.calls:
        _patch_cells(int(value) if kind == "cell" else None, args.ready, args.calls)
    if kind == "save":
        _patch_save(value, args.ready)
    from textxfer.cli import main as cli

    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    return cli(command)


if __name__ == "__main__":
    sys.exit(main())
