"""Do the defaults win? Each method with no options but itself, against ``tfidf-lr`` on the same split.

    python recipes/defaults_table.py                                  # every dataset, N=500
    python recipes/defaults_table.py --datasets sst2,amazon_mds/books --sizes full
    python recipes/defaults_table.py --methods tfidf-lr,finetune-full,finetune-lora,scratch

For every dataset x training-set size x method it runs the plain command line, exactly as a user
would type it, plus only ``--train-limit N`` (N stratified training rows, seeded; dev and test stay
as the dataset defines them) and ``--out``:

    textxfer baseline DATA --method tfidf-lr --train-limit N
    textxfer finetune DATA --train-limit N                 # finetune-full
    textxfer finetune DATA --lora --train-limit N          # finetune-lora
    textxfer finetune DATA --from-scratch --train-limit N  # scratch

Finished runs (``OUT/<dataset>/<N>/<method>/metrics.json``) are skipped, so an interrupted table
resumes. The table (test accuracy, the gap to tfidf-lr in points, wall seconds per run) is printed
and written to ``OUT/table.md`` and ``OUT/table.csv``. ``--extra`` adds flags to every fine-tuning
run (e.g. ``--extra "--max-steps 2"`` for a smoke run); the table is then no longer about defaults.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from pathlib import Path

import pandas as pd

from textxfer.cli import main as cli_main
from textxfer.io import atomic_write_text

DATASETS = (
    "sst2,subj,trec,amazon_mds/books,amazon_mds/dvd,amazon_mds/electronics,amazon_mds/kitchen"
)
METHOD_FLAGS = {
    "tfidf-lr": ["baseline", "--method", "tfidf-lr"],
    "finetune-full": ["finetune"],
    "finetune-lora": ["finetune", "--lora"],
    "scratch": ["finetune", "--from-scratch"],
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--datasets", default=DATASETS, help=f"comma-separated (default: {DATASETS})"
    )
    parser.add_argument("--sizes", default="500", help="comma-separated row counts or 'full'")
    parser.add_argument(
        "--methods", default="tfidf-lr,finetune-full,finetune-lora",
        help=f"comma-separated, from {list(METHOD_FLAGS)}; tfidf-lr is always run",
    )  # fmt: skip
    parser.add_argument("--model", default="default", help="model of the transformer methods")
    parser.add_argument("--out", default="runs/defaults_table", help="output folder")
    parser.add_argument("--extra", default="", help="flags added to every fine-tuning run")
    return parser


def command(method: str, dataset: str, size: str, out: Path, model: str, extra: str) -> list[str]:
    """The command line of one run (``textxfer`` arguments)."""
    argv = [*METHOD_FLAGS[method][:1], dataset, *METHOD_FLAGS[method][1:], "--out", str(out)]
    if size != "full":
        argv += ["--train-limit", size]
    if method != "tfidf-lr":
        argv += (["--model", model] if model != "default" else []) + shlex.split(extra)
    return argv


def _accuracy(folder: Path) -> float:
    metrics = json.loads((folder / "metrics.json").read_text())
    return float(metrics["test"]["accuracy"] if "test" in metrics else metrics["accuracy"])


def run_one(method: str, dataset: str, size: str, args) -> dict:
    """Run (or reuse) one cell; its accuracy, wall seconds and command."""
    folder = Path(args.out) / dataset.replace("/", "-") / size / method
    argv = command(method, dataset, size, folder, args.model, args.extra)
    timing = folder.parent / f"{method}.seconds"
    if not (folder / "metrics.json").is_file():
        print("$ textxfer " + shlex.join(argv), flush=True)
        start = time.perf_counter()
        if cli_main(argv) != 0:
            raise SystemExit(f"failed: textxfer {shlex.join(argv)}")
        atomic_write_text(timing, f"{time.perf_counter() - start:.1f}\n")
    seconds = float(timing.read_text()) if timing.is_file() else float("nan")
    return {"dataset": dataset, "n": size, "method": method, "accuracy": _accuracy(folder),
            "seconds": seconds, "command": "textxfer " + shlex.join(argv)}  # fmt: skip


def table(rows: list[dict]) -> pd.DataFrame:
    """The rows with the tfidf-lr accuracy of the same (dataset, n) and the gap in points."""
    frame = pd.DataFrame(rows)
    ref = frame[frame["method"] == "tfidf-lr"].set_index(["dataset", "n"])["accuracy"]
    frame["tfidf_lr"] = [ref[(d, n)] for d, n in zip(frame["dataset"], frame["n"], strict=True)]
    frame["gap_points"] = 100 * (frame["accuracy"] - frame["tfidf_lr"])
    frame["beats_tfidf"] = frame["gap_points"] > 0
    return frame


def markdown(frame: pd.DataFrame) -> str:
    lines = [
        "| dataset | N | method | test accuracy | tfidf-lr | gap (points) | wall s |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in frame.itertuples(index=False):
        gap = "-" if r.method == "tfidf-lr" else f"{r.gap_points:+.1f}"
        lines.append(
            f"| {r.dataset} | {r.n} | {r.method} | {r.accuracy:.4f} | {r.tfidf_lr:.4f} | {gap} "
            f"| {r.seconds:.0f} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    methods = ["tfidf-lr"] + [m for m in args.methods.split(",") if m and m != "tfidf-lr"]
    unknown = sorted(set(methods) - set(METHOD_FLAGS))
    if unknown:
        raise SystemExit(f"unknown methods {unknown}; expected some of {list(METHOD_FLAGS)}")
    rows = [
        run_one(method, dataset, size, args)
        for dataset in args.datasets.split(",")
        for size in args.sizes.split(",")
        for method in methods
    ]
    frame = table(rows)
    out = Path(args.out)
    atomic_write_text(out / "table.csv", frame.to_csv(index=False))
    text = markdown(frame)
    atomic_write_text(out / "table.md", text)
    print(text)
    runs = frame[frame["method"] != "tfidf-lr"]
    below = [f"{r.dataset} {r.n} {r.method}" for r in runs[~runs["beats_tfidf"]].itertuples()]
    print(f"{len(runs) - len(below)} of {len(runs)} runs beat tfidf-lr"
          + (f"; not: {', '.join(below)}" if below else ""))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
