"""Tiny fine-tuning settings shared by the finetune tests and the multi-process script.

Importable from tests (``sys.path`` gets this folder) and from ``dist_finetune.py`` under torchrun.
"""

from __future__ import annotations

import contextlib
import csv
from pathlib import Path

POSITIVE = [
    "a great and moving film with superb acting",
    "funny warm and wonderful from start to finish",
    "the best movie i have seen this year",
    "a delightful charming story told with heart",
    "brilliant performances and a clever script",
    "an engaging entertaining and beautiful picture",
    "smart sweet and often very funny",
    "a triumph of style and real feeling",
    "the cast is excellent and the story is great",
    "lovely music and a moving ending",
]
NEGATIVE = [
    "a dull and lifeless film with bad acting",
    "boring tedious and far too long",
    "the worst movie i have seen this year",
    "a clumsy stupid story told without heart",
    "awful performances and a lazy script",
    "an ugly tiresome and pointless picture",
    "flat stale and never funny",
    "a mess of noise and fake feeling",
    "the cast is wasted and the story is bad",
    "terrible music and a silly ending",
]


def rows() -> list[tuple[str, str]]:
    """20 labelled sentences, alternating positive / negative."""
    return [r for p, n in zip(POSITIVE, NEGATIVE) for r in ((p, "positive"), (n, "negative"))]


def write_csv(path: Path, rows: list[tuple[str, str]], header: str = "text,label") -> Path:
    """A CSV file with ``header`` and ``rows`` (folders created)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header.split(","))
        writer.writerows(rows)
    return path


def write_data(folder: Path, test_rows: int = 8) -> Path:
    """train (20 rows), dev (8) and test (``test_rows``, odd allowed) CSVs in ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    all_rows = rows()
    for name, part in (
        ("train", all_rows),
        ("dev", all_rows[:8]),
        ("test", all_rows[8 : 8 + test_rows]),
    ):
        write_csv(folder / f"{name}.csv", part)
    return folder


def make_bert(folder: Path) -> Path:
    """The tiny random BERT of the test suite (hidden 32, 2 layers)."""
    from textxfer.testing import make_tiny_bert

    return make_tiny_bert(folder, texts=[t for t, _ in rows()] * 3)


@contextlib.contextmanager
def quiet(threads: int | None = 1):
    """No progress bars or load reports from transformers / datasets, and one torch thread (tiny
    models run several times faster without thread hand-offs); all restored on exit."""
    import datasets
    import torch
    import transformers

    verbosity, n_threads = transformers.logging.get_verbosity(), torch.get_num_threads()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        transformers.logging.set_verbosity(verbosity)
        transformers.utils.logging.enable_progress_bar()
        datasets.enable_progress_bars()
        torch.set_num_threads(n_threads)


def train_args(**overrides):
    """``TrainArgs`` for a fast tiny run (5 steps per epoch at batch 4 on 20 rows); no warm-up and
    evaluation each epoch, whatever the defaults rule would pick."""
    from textxfer.train.args import TrainArgs

    values = dict(epochs=3, batch_size=4, lr=3e-3, scheduler="constant", progress_bar=False, seed=0,
                  warmup_ratio=0.0, eval_strategy="epoch")  # fmt: skip
    values.update(overrides)
    return TrainArgs(**values)


# Full fine-tuning settings under which the tiny BERT fits the 20 training rows (dev is a subset).
LEARNS = dict(epochs=12, lr=3e-3, scheduler="constant")


class Interrupt(Exception):
    """Stands in for a killed job."""


def crash_at(step: int):
    """A ``TrainLoop`` callback that raises ``Interrupt`` after optimizer step ``step``."""
    from textxfer.train.loop import Callback

    class CrashAt(Callback):
        def on_step_end(self, loop):
            if loop.state.global_step == step:
                raise Interrupt(f"stopped at step {step}")

    return CrashAt()


# A tiny 3-label multi-label set: 12 train, 4 dev, 4 test rows (label sets as delimited strings).
MULTI_LABEL_ROWS = [
    ("funny jokes and big laughs", "comedy"),
    ("sad tears and a slow loss", "drama"),
    ("a scary ghost and blood", "horror"),
    ("funny laughs then sad tears", "comedy,drama"),
    ("a scary ghost with funny jokes", "comedy,horror"),
    ("sad loss and a scary ghost", "drama,horror"),
    ("big laughs and funny jokes all night", "comedy"),
    ("tears of loss in a sad home", "drama"),
    ("blood and a scary night ghost", "horror"),
    ("funny jokes sad tears scary ghost", "comedy,drama,horror"),
    ("laughs and jokes and tears", "comedy,drama"),
    ("blood ghost and scary laughs", "comedy,horror"),
    ("funny big laughs", "comedy"),
    ("sad tears of loss", "drama"),
    ("scary blood ghost", "horror"),
    ("funny jokes and sad tears", "comedy,drama"),
    ("jokes and funny laughs", "comedy"),
    ("a sad slow loss", "drama"),
    ("a ghost of scary blood", "horror"),
    ("scary ghost and sad loss", "drama,horror"),
]


def write_multilabel(folder: Path) -> Path:
    """train (12 rows), dev (4) and test (4) CSVs of ``MULTI_LABEL_ROWS`` in ``folder``."""
    folder = Path(folder)
    for name, part in (
        ("train", MULTI_LABEL_ROWS[:12]),
        ("dev", MULTI_LABEL_ROWS[12:16]),
        ("test", MULTI_LABEL_ROWS[16:]),
    ):
        write_csv(folder / f"{name}.csv", part)
    return folder
