"""The process group is destroyed before Python shuts down (a live gloo group can abort the exit)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import atexit, os, sys, tempfile
    import torch.distributed as dist
    from textxfer.train.accel import release_process_group_at_exit

    # atexit runs last-registered first: this report runs after textxfer's hook
    atexit.register(lambda: print("at exit initialized:", dist.is_initialized(), flush=True))
    {before}
    release_process_group_at_exit()
    release_process_group_at_exit()  # registered once: a second destroy would raise
    {after}
    print("running initialized:", dist.is_initialized(), flush=True)
    """
)
INIT = (
    "dist.init_process_group('gloo', init_method='file://' + tempfile.mktemp(), "
    "rank=0, world_size=1)"
)


def run(before: str = "", after: str = "") -> subprocess.CompletedProcess:
    code = SCRIPT.format(before=before, after=after)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_a_live_group_is_destroyed_at_exit():
    proc = run(before=INIT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["running initialized: True", "at exit initialized: False"]


def test_a_group_destroyed_by_the_user_is_left_alone():
    proc = run(before=INIT, after="dist.destroy_process_group()")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["running initialized: False", "at exit initialized: False"]


def test_no_group_registers_nothing_so_a_later_group_is_the_callers():
    proc = run(after=INIT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == ["running initialized: True", "at exit initialized: True"]
