"""``textxfer predict MODEL_DIR``: label texts from a file, a dataset split or the command line."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from ..io import atomic_write_text
from ..predict import load_predictor


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``predict``."""
    p = sub.add_parser("predict", help="predict labels with a saved baseline or fine-tuned model")
    p.add_argument("model_dir", help="folder written by `textxfer baseline` or `textxfer finetune`")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--text", action="append", help="a text to label (repeatable)")
    src.add_argument("--input", help="CSV/JSONL/Parquet file with a text column")
    p.add_argument("--text-column", default="text", help="text column of --input (default: text)")
    p.add_argument("--out", help="write predictions CSV here (default: print to stdout)")
    p.set_defaults(func=run)


def _read_texts(args: argparse.Namespace) -> list[str]:
    if args.text:
        return list(args.text)
    from ..data.readers import DataError, read_table

    frame = read_table(Path(args.input))
    if args.text_column not in frame.columns:
        raise DataError(
            f"expected a column {args.text_column!r} in {args.input}, found {list(frame.columns)}; "
            "pass --text-column NAME"
        )
    return frame[args.text_column].fillna("").astype(str).tolist()


def run(args: argparse.Namespace) -> int:
    predictor = load_predictor(args.model_dir)
    texts = _read_texts(args)
    proba = predictor.predict_proba(texts)
    names = list(predictor.label_names)
    frame = pd.DataFrame({"text": texts, "label": [names[i] for i in proba.argmax(axis=1)]})
    for j, name in enumerate(names):
        frame[f"p_{name}"] = proba[:, j]
    if args.out:
        atomic_write_text(args.out, frame.to_csv(index=False))
        print(f"wrote {len(frame)} predictions to {args.out}")
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0
