"""Count the outcomes of the bad-input corpus (``bad_inputs.CASES``) on whatever textxfer is importable.

    PYTHONPATH=<checkout> python tests/scripts/probe_bad_inputs.py [--show]

Prints one line per case (``--show``) and the counts of ``clear`` (one-line message that names the
problem, exit 2), ``misleading`` (exit 2 with another message), ``traceback`` and ``silent`` (ran
as if fine, or lost data, or ran code). Run it on main and on a branch for before/after.
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

import bad_inputs  # noqa: E402
import ftutil  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--show", action="store_true", help="one line per case")
    parser.add_argument("-k", default="", help="only cases whose id contains this")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    counts: collections.Counter = collections.Counter()
    with tempfile.TemporaryDirectory() as root, ftutil.quiet():
        os.environ["TEXTXFER_CACHE"] = str(Path(root) / "cache")
        fx = bad_inputs.make_fixtures(Path(root))
        cwd = os.getcwd()
        for i, case in enumerate(c for c in bad_inputs.CASES if args.k in c.id):
            tmp = Path(root) / f"case{i}"
            tmp.mkdir()
            os.chdir(tmp)  # default outputs (runs/...) land in the case folder
            try:
                outcome = bad_inputs.run_case(case, fx, tmp)
            finally:
                os.chdir(cwd)
            verdict = bad_inputs.classify(case, outcome)
            counts[verdict] += 1
            if args.show:
                detail = repr(outcome.exc) if outcome.exc else outcome.error_line
                print(f"{verdict:<10} {case.id:<34} rc={outcome.rc} {detail[:150]}", flush=True)
    total = sum(counts.values())
    print(
        f"{total} cases: "
        + ", ".join(f"{k} {counts[k]}" for k in ("clear", "misleading", "traceback", "silent"))
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
