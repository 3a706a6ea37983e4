"""Multi-process check of denoising adaptation; run with ``torchrun --standalone --nproc_per_node 2``.

    torchrun --standalone --nproc_per_node 2 tests/scripts/dist_adapt.py \
        --bert BERT_DIR --work WORK_DIR --out results.json

Adapts a head-less tiny BERT (objective auto: denoising) at batch 2 per process and records the
held-out reconstruction perplexity before and after, the held-out token count and every rank's
weight checksum. Rank 0 writes them as JSON; tests/adapt/test_denoise_distributed.py compares them
with one process.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import ftutil  # noqa: E402
from dist_finetune import RankChecksums  # noqa: E402

TEXTS = [t for t, _ in ftutil.rows()]
HELDOUT_FRACTION = 0.35  # 7 of the 20 texts: odd, not a multiple of 2 processes x eval batch


def run(bert: str, out: str, batch_size: int, callbacks=()):
    from textxfer.adapt import AdaptArgs, MLMTrainArgs, adapt
    from textxfer.train.args import ModelArgs

    train = MLMTrainArgs(max_steps=6, batch_size=batch_size, eval_batch_size=2, lr=1e-3, seed=0,
                         progress_bar=False, out=out)  # fmt: skip
    args = AdaptArgs(heldout_fraction=HELDOUT_FRACTION)
    return adapt(ModelArgs(bert, max_length=32), TEXTS, args, train, callbacks=callbacks)


def summary(result) -> dict:
    keys = ("objective", "perplexity_before", "perplexity_after", "n_heldout_tokens",
            "n_heldout_texts", "global_step")  # fmt: skip
    return {k: result.metrics[k] for k in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    for name in ("--bert", "--work", "--out"):
        parser.add_argument(name, required=True)
    args = parser.parse_args(argv)
    with ftutil.quiet(threads=None):
        from accelerate import PartialState

        sums = RankChecksums()
        result = run(args.bert, str(Path(args.work) / "adapted"), 2, callbacks=[sums])
        state = PartialState()
        results = {"world_size": state.num_processes, **summary(result), "checksums": sums.values}
    if state.is_main_process:
        Path(args.out).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
