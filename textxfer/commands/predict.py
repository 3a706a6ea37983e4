"""``textxfer predict MODEL_DIR``: label texts from a file or the command line with a saved model."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from ..errors import ConfigError, DataError
from ..io import atomic_write_text, prepare_output, release_output
from ..predict import PredictArgs, load_predictor
from .options import add_common, build

SECTIONS = {"predict": PredictArgs}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``predict``."""
    p = sub.add_parser("predict", help="predict labels with a saved baseline or fine-tuned model")
    add_common(
        p, SECTIONS, positional="model_dir", metavar="MODEL_DIR",
        help="folder written by `textxfer baseline` or `textxfer finetune` (--out there)",
    )  # fmt: skip
    p.add_argument("--text", action="append", help="a text to label (repeatable)")
    p.set_defaults(func=run)


def _read_texts(args: argparse.Namespace, options: PredictArgs) -> list[str]:
    if args.text and options.input:
        raise ConfigError("pass texts with --text or a file with --input, not both")
    if args.text:
        return list(args.text)
    if not options.input:
        raise ConfigError("nothing to label; pass --text TEXT (repeatable) or --input FILE")
    from ..data.readers import read_table

    frame = read_table(Path(options.input))
    if options.text_column not in frame.columns:
        raise DataError(
            f"expected a column {options.text_column!r} in {options.input}, found "
            f"{list(frame.columns)}; pass --text-column NAME"
        )
    return frame[options.text_column].fillna("").astype(str).tolist()


def run(args: argparse.Namespace) -> int:
    options = build(args, SECTIONS)["predict"]
    if not options.model_dir:
        raise ConfigError("pass the model folder: textxfer predict MODEL_DIR --text ...")
    if options.out is not None:
        prepare_output(options.out, overwrite=options.overwrite, file=True,
                       inputs=[options.model_dir, options.input])  # fmt: skip
    texts = _read_texts(args, options)
    predictor = load_predictor(options.model_dir)
    proba = predictor.predict_proba(texts)
    names = list(predictor.label_names)
    if getattr(predictor, "multi_label", False):  # label sets: a JSON list of names per text
        labels = [json.dumps(s) for s in predictor.predict(texts)]
    else:
        labels = [names[i] for i in proba.argmax(axis=1)]
    frame = pd.DataFrame({"text": texts, "label": labels})
    for j, name in enumerate(names):
        frame[f"p_{name}"] = proba[:, j]
    if options.out is not None:
        atomic_write_text(options.out, frame.to_csv(index=False))
        release_output(options.out)
        print(f"wrote {len(frame)} predictions to {options.out}")
    else:
        frame.to_csv(sys.stdout, index=False)
    return 0
