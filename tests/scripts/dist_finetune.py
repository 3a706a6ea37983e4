"""Multi-process checks of textxfer.finetune; run with ``torchrun --standalone --nproc_per_node 2``.

    torchrun --standalone --nproc_per_node 2 tests/scripts/dist_finetune.py \
        --bert BERT_DIR --data DATA_DIR --work WORK_DIR --out results.json

Runs (1) per-process batch 2 for comparison with one process at batch 4, (2) a gather of an
odd-sized evaluation set, (3) an interrupted + resumed run against an uninterrupted one (dropout
on, gradual unfreezing with find_unused_parameters). Rank 0 writes the numbers as JSON; the test
(tests/test_distributed.py) compares them.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import ftutil  # noqa: E402


class Interrupt(Exception):
    """Stands in for a killed job."""


class CrashAt:
    def __init__(self, step: int):
        self.step = step

    def on_step_end(self, loop):
        if loop.state.global_step == self.step:
            raise Interrupt(f"stopped at step {self.step}")


class RankChecksums:
    """At train end: every rank's parameter checksum, gathered (identical when in sync)."""

    def on_train_end(self, loop):
        import torch

        model = loop.accelerator.unwrap_model(loop.model)
        total = sum(float(p.detach().double().abs().sum()) for p in model.parameters())
        self.values = loop.accelerator.gather(torch.tensor([total], dtype=torch.float64)).tolist()


def summary(result) -> dict:
    return {
        "test": {k: result.metrics["test"][k] for k in ("accuracy", "loss", "n")},
        "dev": {k: result.metrics["dev"][k] for k in ("accuracy", "loss", "n")},
        "global_step": result.global_step,
        "best_step": result.best_step,
        "train_losses": [r["loss"] for r in result.history if r["split"] == "train"],
    }


def equivalence_args(**overrides):
    """Shared with the one-process reference in tests/test_distributed.py (batch per process)."""
    values = dict(
        epochs=3,
        scheduler="linear",
        warmup_steps=1,
        group_by_length=True,
        logging_steps=1,
        eval_strategy="epoch",
    )
    values.update(overrides)
    return ftutil.train_args(**values)


def gathered_ids(bert: str, data: str) -> dict:
    from transformers import AutoTokenizer, DataCollatorWithPadding

    from textxfer.data import load_data
    from textxfer.finetune.task import build_classifier, encode, gather_predictions
    from textxfer.train.accel import eval_dataloader, make_accelerator

    acc = make_accelerator(ftutil.train_args())
    tok = AutoTokenizer.from_pretrained(bert)
    test = encode(load_data(data), tok, 32)["test"]
    model, _ = build_classifier(bert, ["positive", "negative"])
    dl = acc.prepare_data_loader(eval_dataloader(test, 2, DataCollatorWithPadding(tok)))
    model = acc.prepare(model)
    pred = gather_predictions(acc, model, dl)
    return {"ids": pred["ids"].tolist(), "n_rows": len(test), "per_rank_batches": len(dl)}


def chunked_eval(bert: str, data: str) -> dict:
    """Evaluation of token windows (chunk_window 8, stride 4) of a seeded, untrained classifier:
    the gathered window ids and the per-text metrics (``ftutil``-free so the test can redo it in
    one process)."""
    from accelerate.utils import set_seed
    from transformers import AutoTokenizer, DataCollatorWithPadding

    from textxfer.chunking import Chunking
    from textxfer.data import load_data
    from textxfer.finetune.task import build_classifier, encode, evaluate_split, gather_predictions
    from textxfer.train.accel import eval_dataloader, make_accelerator

    acc = make_accelerator(ftutil.train_args())
    tok = AutoTokenizer.from_pretrained(bert)
    test = encode(load_data(data), tok, 32, chunking=Chunking(8, 4))["test"]
    set_seed(0)
    model, _ = build_classifier(bert, ["positive", "negative"])
    dl = acc.prepare_data_loader(eval_dataloader(test, 2, DataCollatorWithPadding(tok)))
    model = acc.prepare(model)
    ids = gather_predictions(acc, model, dl)["ids"].tolist()
    metrics = evaluate_split(acc, model, dl, ["positive", "negative"])
    keep = ("n", "accuracy", "macro_f1", "loss", "confusion_matrix")
    return {"window_ids": ids, "n_windows": len(test), **{k: metrics[k] for k in keep}}


def resume_runs(bert: str, data, work: Path) -> dict:
    from textxfer.finetune import finetune
    from textxfer.train.args import ModelArgs

    common = dict(
        epochs=3,
        batch_size=2,
        scheduler="linear",
        gradual_unfreeze=True,
        unfreeze_every=2,
        layer_lr_decay=0.8,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="steps",
        save_steps=3,
    )
    sums_whole, sums_resumed = RankChecksums(), RankChecksums()
    whole = finetune(
        ModelArgs(bert),
        data,
        ftutil.train_args(checkpoint_dir=str(work / "a"), **common),
        callbacks=[sums_whole],
    )
    interrupted = False
    try:
        finetune(
            ModelArgs(bert),
            data,
            ftutil.train_args(checkpoint_dir=str(work / "b"), **common),
            callbacks=[CrashAt(8)],
        )
    except Interrupt:
        interrupted = True
    resumed = finetune(
        ModelArgs(bert),
        data,
        ftutil.train_args(checkpoint_dir=str(work / "b"), resume=True, **common),
        callbacks=[sums_resumed],
    )
    return {
        "interrupted": interrupted,
        "whole": summary(whole),
        "resumed": summary(resumed),
        "rank_checksums_whole": sums_whole.values,
        "rank_checksums_resumed": sums_resumed.values,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("--bert", "--data", "--work", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    with ftutil.quiet(threads=None):
        from accelerate import PartialState

        from textxfer.data import DataArgs
        from textxfer.finetune import finetune
        from textxfer.train.args import ModelArgs

        data, work = DataArgs(args.data), Path(args.work)
        equal = finetune(ModelArgs(args.bert, dropout=0.0), data, equivalence_args(batch_size=2))
        state = PartialState()  # after finetune: its Accelerator sets up the process group
        results = {
            "world_size": state.num_processes,
            "distributed_type": str(state.distributed_type),
            "equivalence": summary(equal),
            "gather": gathered_ids(args.bert, args.data),
            "chunked": chunked_eval(args.bert, args.data),
            **resume_runs(args.bert, data, work),
        }
    if state.is_main_process:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
