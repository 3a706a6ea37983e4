"""Benchmark: textxfer's frozen-transformer features vs sentence-transformers' ``encode``.

Both embed the same texts with the same model (default: all-MiniLM-L6-v2, the offline default),
batch size and max length (sentence-transformers' ``max_seq_length`` is set to it), mean pooling,
on the CPU, in this one process. textxfer runs ``TransformerFeaturizer`` (no feature cache) with
each ``--backends`` entry: ``torch``, and ONNX Runtime fp32 (``onnx``) and int8 (``onnx-int8``,
the ``onnx`` extra). Each method first embeds two batches untimed (model load, and the one-off ONNX
export/quantisation, reported apart), then the methods take turns for ``--repeat`` rounds and the
best round counts. ``cos vs ST`` compares each method's embeddings with sentence-transformers'
(its model ends with a Normalize module, so directions are compared: min and mean over texts).

    python recipes/bench_features.py                       # sst2 test split (1,821 texts)
    python recipes/bench_features.py sst2 --split train --limit 2000 --repeat 3
    python recipes/bench_features.py sst2 --limit 200 --backends torch onnx-int8
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

from textxfer.baselines.features import BACKENDS, TransformerFeaturizer
from textxfer.data import load_data
from textxfer.models import resolve_model

ST = "sentence-transformers encode"


def st_encoder(model_path: str, batch_size: int, max_length: int):
    """``texts -> embeddings`` with sentence-transformers (None when it is not installed)."""
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError:
        return None
    model = SentenceTransformer(model_path, device="cpu")
    model.max_seq_length = max_length

    def encode(texts: list[str]) -> np.ndarray:
        return model.encode(texts, batch_size=batch_size, show_progress_bar=False)

    return encode


def textxfer_encoder(model_path: str, backend: str, batch_size: int, max_length: int):
    """``texts -> features`` with ``TransformerFeaturizer`` on ``backend`` (no cache)."""
    featurizer = TransformerFeaturizer(
        model_path, batch_size=batch_size, max_length=max_length, device="cpu", backend=backend,
        progress=False,
    )  # fmt: skip
    return featurizer.fit(["warm"]).transform


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    return (a * (b / np.linalg.norm(b, axis=1, keepdims=True))).sum(1)


def run(args: argparse.Namespace) -> tuple[list[dict], int]:
    """Warm every method up, time them in turns; rows of method, seconds, texts/s, agreement."""
    split = load_data(args.dataset, **({"limit": args.limit} if args.limit else {}))[args.split]
    texts = split["text"][:]
    model_path = resolve_model(args.model)
    methods, setup = {}, {}
    encode = st_encoder(model_path, args.batch_size, args.max_length)
    if encode is not None:
        methods[ST] = encode
    for backend in args.backends:
        start = time.perf_counter()  # load, and for onnx* the export/quantisation when not cached
        methods[f"textxfer {backend}"] = textxfer_encoder(
            model_path, backend, args.batch_size, args.max_length
        )
        setup[f"textxfer {backend}"] = time.perf_counter() - start
    warm = texts[: 2 * args.batch_size]
    for fn in methods.values():
        fn(warm)
    times: dict[str, list[float]] = {name: [] for name in methods}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(args.repeat):
        for name, fn in methods.items():
            start = time.perf_counter()
            outputs[name] = fn(texts)
            times[name].append(time.perf_counter() - start)
    rows = []
    for name in methods:
        best = min(times[name])
        row = {"method": name, "seconds": best, "texts_per_s": len(texts) / best}
        row |= {"setup": setup.get(name), "rounds": times[name]}
        if ST in outputs:
            cos = _cosines(outputs[name], outputs[ST])
            row |= {"cos_min": float(cos.min()), "cos_mean": float(cos.mean())}
        rows.append(row)
    base = {r["method"]: r["seconds"] for r in rows}
    for row in rows:
        row["vs_st"] = base[ST] / row["seconds"] if ST in base else None
        torch_s = base.get("textxfer torch")
        row["vs_torch"] = torch_s / row["seconds"] if torch_s else None
    return rows, len(texts)


def _ratio(value: float | None) -> str:
    return f"{value:.2f}x" if value is not None else "-"


def format_rows(rows: list[dict], header: str) -> str:
    """A plain-text side-by-side table."""
    lines = [
        header,
        f"{'method':<29} {'seconds':>8} {'texts/s':>8} {'vs ST':>6} {'vs torch':>8} "
        f"{'cos vs ST min/mean':>19} {'setup s':>8}",
    ]
    for r in rows:
        cos = f"{r['cos_min']:.4f}/{r['cos_mean']:.4f}" if "cos_min" in r else "-"
        setup = f"{r['setup']:.1f}" if r["setup"] is not None else "-"
        lines.append(
            f"{r['method']:<29} {r['seconds']:>8.2f} {r['texts_per_s']:>8.1f} "
            f"{_ratio(r['vs_st']):>6} {_ratio(r['vs_torch']):>8} {cos:>19} {setup:>8}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("dataset", nargs="?", default="sst2", help="dataset (default: sst2)")
    parser.add_argument("--split", default="test", help="split to embed (default: test)")
    parser.add_argument("--limit", type=int, default=None, help="cap the rows of each split")
    parser.add_argument("--model", default="default", help="encoder (default: all-MiniLM-L6-v2)")
    parser.add_argument("--batch-size", type=int, default=64, help="texts per batch (64)")
    parser.add_argument("--max-length", type=int, default=128, help="max tokens (128)")
    parser.add_argument(
        "--backends", nargs="+", choices=BACKENDS, default=list(BACKENDS), help="textxfer backends"
    )
    parser.add_argument("--repeat", type=int, default=2, help="timed rounds; the best counts (2)")
    args = parser.parse_args(argv)
    rows, n = run(args)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    header = (
        f"bench_features: {args.dataset} {args.split} ({n} texts), model {args.model}, batch "
        f"{args.batch_size}, max_length {args.max_length}, CPU, best of {args.repeat}; "
        f"{os.cpu_count()} cores, load average {load} (other processes share the cores)"
    )
    print(format_rows(rows, header))
    by_name = {r["method"]: r for r in rows}
    if ST in by_name and "textxfer torch" in by_name:
        print(f"textxfer torch vs sentence-transformers: {by_name['textxfer torch']['vs_st']:.2f}x")
    elif ST not in by_name:
        print("sentence-transformers is not installed: no peer to compare with")
    for backend in ("onnx", "onnx-int8"):
        row = by_name.get(f"textxfer {backend}")
        if row and row["vs_torch"] is not None:
            print(f"textxfer {backend} vs textxfer torch: {row['vs_torch']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
