"""Benchmark the grid executors: wall time of one fixed grid under local, processes(N) and ray(N).

    python recipes/bench_compare.py sst2
    python recipes/bench_compare.py sst2 --methods tfidf-lr,features-lr --sizes 100,400 --workers 2

Each executor runs the same grid from scratch, into its own output folder, in a fresh Python
process (``--in-process``: all in this one, a quick check); the wall time is that of
``textxfer.compare.compare`` and includes what the executor costs (worker start, the Ray start).
The table is printed with the speed-up over local and whether the three result tables agree
(every column but the timings); ``--out`` saves it all as JSON. Note the load average: on a
shared machine the other jobs take cores from the workers.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

EXECUTORS = ("local", "processes", "ray")
TIMINGS = ("fit_seconds",)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", default="sst2", help="dataset (default: sst2)")
    parser.add_argument("--methods", default="tfidf-lr,features-lr", help="comma-separated")
    parser.add_argument("--sizes", default="100,400", help="training-set sizes, comma-separated")
    parser.add_argument("--seeds", default="0,1", help="seeds, comma-separated")
    parser.add_argument("--model", default="default", help="model of transformer methods")
    parser.add_argument("--eval-limit", type=int, default=400, help="cap of the evaluation split")
    parser.add_argument("--workers", type=int, default=2, help="processes / Ray tasks at a time")
    parser.add_argument("--executors", default=",".join(EXECUTORS), help="comma-separated")
    parser.add_argument("--smoke", action="store_true", help="the grid's smoke settings (CI)")
    parser.add_argument("--out", help="write the results as JSON here")
    parser.add_argument("--in-process", action="store_true", help="every executor in this process")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    return parser


def grid(args: argparse.Namespace, out: str) -> dict:
    """The fixed grid of the benchmark, as ``CompareArgs`` fields."""
    return {
        "dataset": args.dataset, "methods": args.methods.split(","),
        "sizes": args.sizes.split(","), "seeds": [int(s) for s in args.seeds.split(",")],
        "model": args.model, "eval_limit": args.eval_limit, "smoke": args.smoke, "out": out,
    }  # fmt: skip


def worker(job: dict) -> dict:
    """Run the grid with one executor in this process; its wall time and its table."""
    from textxfer.compare.executors import ExecutorArgs
    from textxfer.compare.grid import CompareArgs, compare

    workers = None if job["executor"] == "local" else job["workers"]
    executor = ExecutorArgs(executor=job["executor"], workers=workers)
    start = time.perf_counter()
    table = compare(CompareArgs(**job["grid"]), progress=False, executor=executor)
    wall = time.perf_counter() - start
    return {"executor": job["executor"], "workers": workers or 1, "wall_seconds": wall,
            "cells": len(table), "failed": int((table["status"] != "ok").sum()),
            "table": table.drop(columns=list(TIMINGS)).to_dict(orient="records")}  # fmt: skip


def _measure(job: dict) -> dict:
    proc = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", json.dumps(job)],
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"executor {job['executor']} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def format_rows(rows: list[dict]) -> str:
    """One line per executor: workers, wall seconds and the speed-up over local."""
    base = next((r["wall_seconds"] for r in rows if r["executor"] == "local"), None)
    lines = [
        f"{'executor':<10} {'workers':>7} {'cells':>5} {'failed':>6} {'wall s':>8} {'speed-up':>9}"
    ]
    for r in rows:
        speed = f"{base / r['wall_seconds']:.2f}x" if base else "-"
        lines.append(
            f"{r['executor']:<10} {r['workers']:>7} {r['cells']:>5} {r['failed']:>6} "
            f"{r['wall_seconds']:>8.1f} {speed:>9}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker)), default=str))
        return 0
    measure = worker if args.in_process else _measure
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as tmp:
        rows = [
            measure(
                {"executor": name, "workers": args.workers, "grid": grid(args, f"{tmp}/{name}")}
            )
            for name in args.executors.split(",")
        ]
    same = all(json.dumps(r["table"], default=str) == json.dumps(rows[0]["table"], default=str)
               for r in rows)  # fmt: skip
    g = grid(args, "")
    print(
        f"grid: {g['dataset']}, methods {g['methods']} x sizes {g['sizes']} x seeds {g['seeds']} "
        f"({rows[0]['cells']} cells), {os.cpu_count()} CPUs, load average "
        + " ".join(f"{x:.2f}" for x in os.getloadavg())
    )
    print(format_rows(rows))
    print(f"tables equal (all but {', '.join(TIMINGS)}): {'yes' if same else 'NO'}")
    if args.out:
        from textxfer.io import atomic_write_json

        atomic_write_json(args.out, {"grid": g, "results": rows, "tables_equal": same})
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
