"""Run the notebooks for real (``SMOKE = False``) and store their outputs in place.

    python notebooks/execute.py                       # every notebook marked for a real run
    python notebooks/execute.py 02_baselines 05_compare

Each runs in its own folder under ``runs/notebooks/`` (what it writes stays out of git). A notebook
whose metadata says ``"textxfer": {"real_run": false}`` (04: about 30 minutes on a CPU) is skipped
unless named. The test suite runs a copy of each notebook in SMOKE mode (tests/test_notebooks.py).
"""

from __future__ import annotations

import re
import sys
import time
from pathlib import Path

import nbclient
import nbformat

HERE = Path(__file__).resolve().parent


def execute(path: Path) -> float:
    nb = nbformat.read(path, as_version=4)
    first = "".join(nb.cells[0].source)
    nb.cells[0].source = re.sub(r"^SMOKE = (True|False)", "SMOKE = False", first)
    work = HERE.parent / "runs" / "notebooks" / path.stem
    work.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    nbclient.NotebookClient(
        nb, timeout=3600, kernel_name="python3", resources={"metadata": {"path": str(work)}}
    ).execute()
    nbformat.write(nb, path)
    return time.perf_counter() - start


def main(names: list[str]) -> int:
    paths = [HERE / f"{n.removesuffix('.ipynb')}.ipynb" for n in names] or sorted(HERE.glob("*.ipynb"))
    for path in paths:
        meta = nbformat.read(path, as_version=4).metadata.get("textxfer", {})
        if not names and meta.get("real_run") is False:
            print(f"{path.name}: skipped (real_run: false; name it to run it)")
            continue
        print(f"{path.name}: {execute(path):.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
