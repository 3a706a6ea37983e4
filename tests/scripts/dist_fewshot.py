"""Two-process check of the contrastive few-shot method; run with
``torchrun --standalone --nproc_per_node 2 tests/scripts/dist_fewshot.py --bert B --data D --out R``.

Texts are cut into 8-token windows (``chunk_window``: a text's windows may land on different
ranks, and a text's embedding is the mean of its windows). Trains with batch 4 per process
(dropout off) and writes, from rank 0, the world size, the training losses, the test metrics,
the pair count and every rank's parameter checksum; the test compares them with one
process at batch 8 (tests/fewshot/test_fewshot_distributed.py).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import ftutil  # noqa: E402

SETTINGS = dict(lr=2e-3, max_steps=6, progress_bar=False, seed=0, logging_steps=1)


class RankChecksums:
    """At train end: every rank's parameter checksum, gathered (identical when in sync)."""

    def on_train_end(self, loop):
        import torch

        model = loop.accelerator.unwrap_model(loop.model)
        total = sum(float(p.detach().double().abs().sum()) for p in model.parameters())
        self.values = loop.accelerator.gather(torch.tensor([total], dtype=torch.float64)).tolist()


def run(bert: str, data: str, batch_size: int, callbacks=()):
    from textxfer.data import DataArgs
    from textxfer.fewshot import ContrastiveArgs, ContrastiveTrainArgs, fit_contrastive
    from textxfer.train.args import ModelArgs

    result = fit_contrastive(
        ModelArgs(bert, max_length=16, chunk_window=8, dropout=0.0), DataArgs(data),
        ContrastiveArgs(pairs_per_example=4), ContrastiveTrainArgs(batch_size=batch_size, **SETTINGS),
        callbacks=callbacks,
    )  # fmt: skip
    return {
        "train_losses": [r["loss"] for r in result.history if r["split"] == "train"],
        "test": {k: result.metrics["test"][k] for k in ("accuracy", "loss", "n")},
        "n_pairs": result.metrics["n_pairs"],
        "global_step": result.global_step,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("--bert", "--data", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    with ftutil.quiet(threads=None):
        from accelerate import PartialState

        sums = RankChecksums()
        results = run(args.bert, args.data, batch_size=4, callbacks=[sums])
        state = PartialState()
        results.update(world_size=state.num_processes, checksums=sums.values)
    if state.is_main_process:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
