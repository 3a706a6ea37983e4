"""Long documents: test accuracy with truncation vs chunking, per method, on one fixed split.

    python recipes/bench_chunking.py movie_reviews --window 256 --stride 192 --max-steps 300
    python recipes/bench_chunking.py DATA --model M --methods features-lr --limit 40   # quick check

Every method runs twice on the same seeded train/dev/test split (``--seed``): truncated to
``--max-length`` tokens, and cut into ``--window``-token windows every ``--stride`` tokens
(``chunk_window`` / ``chunk_stride``; fine-tuning aggregates the window logits with
``--aggregation``, features average the window embeddings). Both fine-tuning runs take
``--max-steps`` optimizer steps (the same training compute; no evaluation during training). The
runs go through the method registry with per-method options, as a compare grid's cells do.
Prints a Markdown table (accuracy, macro-F1, wall seconds, the gain of chunking); ``--out`` saves
it as JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

METHODS = "features-lr,finetune-full"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("dataset", nargs="?", default="movie_reviews")
    parser.add_argument("--model", default="default", help="encoder (default: offline MiniLM)")
    parser.add_argument("--methods", default=METHODS, help=f"comma-separated ({METHODS})")
    parser.add_argument("--max-length", type=int, default=128, help="truncation length (128)")
    parser.add_argument("--window", type=int, default=256, help="chunk_window (256)")
    parser.add_argument("--stride", type=int, default=None, help="chunk_stride (no overlap)")
    parser.add_argument("--aggregation", default="mean", help="fine-tuning: mean, max or vote")
    parser.add_argument("--max-steps", type=int, default=300, help="fine-tuning steps (300)")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--seed", type=int, default=42, help="seed of the split and the models")
    parser.add_argument("--limit", type=int, default=None, help="cap every split (quick checks)")
    parser.add_argument("--out", help="write the results as JSON here")
    return parser


def options(method: str, args: argparse.Namespace, chunked: bool) -> dict:
    """The per-method options of one run."""
    values: dict = {"max_length": args.max_length}
    if chunked:
        values.update(chunk_window=args.window, chunk_stride=args.stride)
    if method.startswith("features-"):
        return values
    values.update(max_steps=args.max_steps, batch_size=args.batch_size, eval_strategy="no",
                  load_best=False)  # fmt: skip
    return {**values, "chunk_aggregation": args.aggregation} if chunked else values


def run(args: argparse.Namespace) -> list[dict]:
    from textxfer.compare.registry import run_method
    from textxfer.data import DataArgs, load_data

    dataset = load_data(DataArgs(args.dataset, seed=args.seed, limit=args.limit))
    rows = []
    for method in [m.strip() for m in args.methods.split(",") if m.strip()]:
        for chunked in (False, True):
            start = time.perf_counter()
            result = run_method(
                method, dataset, options=options(method, args, chunked), seed=args.seed,
                model=args.model,
            )  # fmt: skip
            m = result.metrics
            rows.append({
                "method": method,
                "input": f"chunks {args.window}/{args.stride or 'no overlap'}" if chunked
                else f"truncate {args.max_length}",
                "accuracy": m["accuracy"], "macro_f1": m["macro_f1"], "n_test": m["n"],
                "seconds": round(time.perf_counter() - start, 1),
            })  # fmt: skip
            print(json.dumps(rows[-1]), flush=True)
    return rows


def table(rows: list[dict]) -> str:
    """Markdown: one line per run, with chunking's gain over truncation in points."""
    lines = ["| method | input | accuracy | macro-F1 | gain (points) | n test | seconds |",
             "|---|---|---:|---:|---:|---:|---:|"]  # fmt: skip
    base: dict[str, float] = {}
    for r in rows:
        gain = ""
        if r["method"] in base:
            gain = f"{100 * (r['accuracy'] - base[r['method']]):+.1f}"
        base.setdefault(r["method"], r["accuracy"])
        lines.append(
            f"| {r['method']} | {r['input']} | {r['accuracy']:.4f} | {r['macro_f1']:.4f} | {gain} "
            f"| {r['n_test']} | {r['seconds']:.0f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    rows = run(args)
    print(table(rows))
    if args.out:
        Path(args.out).write_text(json.dumps({"settings": vars(args), "rows": rows}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
