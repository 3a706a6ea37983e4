"""The contrastive few-shot method of the method registry: ``contrastive-lr``.

Options are the fields of ``ModelArgs``, ``ContrastiveArgs`` and ``ContrastiveTrainArgs`` (flat, or
by section ``model`` / ``contrastive`` / ``train``); no model folder is kept (``out`` is null).
Cross-domain runs start it from the adapted encoder.
"""

from __future__ import annotations

from ..compare.registry import MethodResult, MethodRun, register_method
from ..train.args import ModelArgs
from .args import ContrastiveArgs, ContrastiveTrainArgs

__all__ = ["CONTRASTIVE_SECTIONS", "run_contrastive"]

CONTRASTIVE_SECTIONS = {
    "model": ModelArgs,
    "contrastive": ContrastiveArgs,
    "train": ContrastiveTrainArgs,
}
SMOKE = {"max_steps": 2, "eval_strategy": "no", "load_best": False}


def run_contrastive(run: MethodRun) -> MethodResult:
    """``fit_contrastive`` on the cell's data; metrics of the evaluation split."""
    from .run import fit_contrastive

    c = run.configs
    result = fit_contrastive(c["model"], None, c["contrastive"], c["train"], dataset=run.dataset,
                             eval_splits=(run.eval_split,))  # fmt: skip
    return MethodResult(
        result.metrics[run.eval_split],
        result.train_seconds,
        result.trainable_params,
        result.total_params,
    )


register_method(
    "contrastive-lr", kind="fewshot", sections=CONTRASTIVE_SECTIONS, run=run_contrastive,
    fixed={"out": None}, defaults={"progress_bar": False}, smoke=SMOKE, adaptation="encoder",
    help="SetFit-style: contrastive tuning of the encoder on label pairs (with label-name "
    "templates), then logistic regression",
)  # fmt: skip
