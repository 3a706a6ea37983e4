"""One entry point per comparable method, so the compare grid treats them all alike.

``run_method(name, dataset, ...)`` fits on ``dataset["train"]``, evaluates on the evaluation split with
``textxfer.metrics.evaluate`` and returns a ``MethodResult``. Baselines come from
``textxfer.baselines``, fine-tuning from ``textxfer.finetune.run``, domain adaptation from ``textxfer.adapt.run``.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import ConfigError

logger = logging.getLogger(__name__)

BASELINE_METHODS = (
    "tfidf-lr",
    "tfidf-svm",
    "tfidf-sgd",
    "tfidf-nb",
    "bow-lr",
    "w2v-lr",
    "features-lr",
    "features-svm",
)
FINETUNE_METHODS = ("finetune-full", "finetune-lora")
ADAPT_METHODS = ("adapt-finetune", "adapt-finetune-lora")
METHODS = {
    **{m: "baseline" for m in BASELINE_METHODS},
    **{m: "finetune" for m in FINETUNE_METHODS},
    **{m: "adapt" for m in ADAPT_METHODS},
}

SMOKE_STEPS = 2


@dataclass
class MethodResult:
    """What one method run reports to the grid."""

    metrics: dict
    fit_seconds: float
    trainable_params: int | None = None
    total_params: int | None = None


def _kwargs_for(cls: type, values: dict[str, Any]) -> dict[str, Any]:
    names = {f.name for f in dataclasses.fields(cls)}
    return {k: v for k, v in values.items() if k in names}


def _linear_params(pipeline) -> int | None:
    est = pipeline.steps[-1][1] if hasattr(pipeline, "steps") else pipeline
    total = 0
    for attr in ("coef_", "intercept_", "feature_log_prob_", "class_log_prior_"):
        value = getattr(est, attr, None)
        if value is not None and hasattr(value, "size"):
            total += int(value.size)
    return total or None


def run_baseline(
    method: str, dataset, seed: int, model: str, options: dict, eval_split: str
) -> MethodResult:
    """A scikit-learn baseline from ``textxfer.baselines``."""
    from ..baselines import BaselineArgs, train_baseline

    values = {"method": method, "seed": seed, "random_state": seed, "model": model, **options}
    args = BaselineArgs(**_kwargs_for(BaselineArgs, values))
    unlabeled = options.get("unlabeled")  # texts the vectorizer is also fitted on (adaptation)
    result = train_baseline(args, dataset, eval_split=eval_split, unlabeled=unlabeled)
    return MethodResult(result.metrics, result.fit_seconds, _linear_params(result.pipeline))


def run_method(
    method: str,
    dataset,
    seed: int = 0,
    model: str = "default",
    options: dict | None = None,
    work_dir: str | Path = "runs/work",
    eval_split: str = "test",
    smoke: bool = False,
) -> MethodResult:
    """Fit ``method`` on ``dataset["train"]`` and evaluate it on ``dataset[eval_split]``.

    Args:
        method: a name from ``METHODS``.
        dataset: ``DatasetDict`` with train/dev/test (text, ClassLabel label).
        seed: seeds the method (model init, sampling inside the method).
        model: pretrained model for transformer methods.
        options: method-specific options (fields of the method's config dataclasses).
        work_dir: scratch folder for model outputs.
        eval_split: split to report metrics on.
        smoke: tiny settings (a couple of optimisation steps) for CI.
    """
    options = dict(options or {})
    kind = METHODS.get(method)
    if kind is None:
        raise ConfigError(f"unknown method {method!r}; expected one of {sorted(METHODS)}")
    if kind == "baseline":
        return run_baseline(method, dataset, seed, model, options, eval_split)
    if kind == "finetune":
        return run_finetune(
            method, dataset, seed, model, options, Path(work_dir), eval_split, smoke
        )
    return run_adapt_finetune(
        method, dataset, seed, model, options, Path(work_dir), eval_split, smoke
    )


def _finetune_configs(
    method: str, model: str, seed: int, options: dict, smoke: bool
) -> dict[str, Any]:
    from ..config import build_configs
    from ..train.args import LoraArgs, ModelArgs, TrainArgs

    values = {"model": model, "seed": seed, "progress_bar": False, **options}
    values["lora"] = method.endswith("lora")
    if smoke:
        values.update(max_steps=SMOKE_STEPS, eval_strategy="no", load_best=False)
    values.pop("out", None)
    sections = {"model": ModelArgs, "train": TrainArgs, "lora": LoraArgs}
    return build_configs(sections, values, source=f"options of {method}")


def run_finetune(
    method: str,
    dataset,
    seed: int,
    model: str,
    options: dict,
    work_dir: Path,
    eval_split: str,
    smoke: bool,
) -> MethodResult:
    """Full or LoRA fine-tuning with ``textxfer.finetune.run`` (no model folder is kept)."""
    from ..finetune.run import finetune

    cfg = _finetune_configs(method, model, seed, options, smoke)
    result = finetune(cfg["model"], None, cfg["train"], cfg["lora"], dataset=dataset)
    return MethodResult(
        result.metrics[eval_split],
        result.train_seconds,
        result.trainable_params,
        result.total_params,
    )


ADAPT_EXTRA_KEYS = ("unlabeled", "keep_adapted")


def _split_adapt_options(options: dict) -> tuple[dict, dict]:
    """``(fine-tuning options, MLM-stage options)``: ``adapt_X`` sets ``X`` of the MLM stage
    (``adapt_steps`` is ``max_steps``); ``unlabeled`` and ``keep_adapted`` are handled here."""
    finetune_opts, mlm_opts = {}, {}
    for key, value in options.items():
        if key.startswith("adapt_"):
            name = key[len("adapt_") :]
            mlm_opts["max_steps" if name == "steps" else name] = value
        elif key not in ADAPT_EXTRA_KEYS:
            finetune_opts[key] = value
    return finetune_opts, mlm_opts


def _adapt_configs(model: str, seed: int, options: dict, mlm_opts: dict, out: Path, smoke: bool):
    from ..adapt.args import AdaptArgs, MLMTrainArgs
    from ..config import build_configs
    from ..train.args import LoraArgs, ModelArgs

    values = {
        "model": model,
        "seed": seed,
        "progress_bar": False,
        "max_length": options.get("max_length", 128),
    }
    values.update(mlm_opts)
    if smoke:
        values.update(max_steps=SMOKE_STEPS, eval_strategy="no", load_best=False)
    values["out"] = str(out)
    sections = {"model": ModelArgs, "adapt": AdaptArgs, "train": MLMTrainArgs, "lora": LoraArgs}
    return build_configs(sections, values, source="adapt_* options of adapt-finetune")


def adaptation_corpus(dataset, eval_split: str, unlabeled=None) -> list[str]:
    """Task-adaptive texts: the training texts (minus any that occur in ``eval_split``) plus
    ``unlabeled`` (a list, a .txt file or a dataset; see ``textxfer.adapt.resolve_texts``).

    Raises:
        DataError: when an ``unlabeled`` text occurs in the evaluation split.
    """
    from ..adapt.run import check_no_leak, resolve_texts

    held_out = list(dataset[eval_split]["text"])
    blocked = set(held_out)
    texts = [t for t in dataset["train"]["text"] if t not in blocked]
    if unlabeled is not None:
        texts += resolve_texts(unlabeled)[0]
    check_no_leak(texts, held_out, where=f"the {eval_split} split")
    return texts


def run_adapt_finetune(
    method: str,
    dataset,
    seed: int,
    model: str,
    options: dict,
    work_dir: Path,
    eval_split: str,
    smoke: bool,
) -> MethodResult:
    """Masked-LM adaptation on the task's texts (task-adaptive, plus ``unlabeled`` texts when
    given), then full (``adapt-finetune``) or LoRA (``adapt-finetune-lora``) fine-tuning from the
    adapted checkpoint. ``fit_seconds`` covers both stages."""
    import shutil

    from ..adapt.run import adapt, read_adapt_metrics

    finetune_opts, mlm_opts = _split_adapt_options(options)
    texts = adaptation_corpus(dataset, eval_split, options.get("unlabeled"))
    folder = work_dir / "adapted"
    cfg = _adapt_configs(model, seed, finetune_opts, mlm_opts, folder, smoke)
    adapt(cfg["model"], texts, cfg["adapt"], cfg["train"], cfg["lora"])
    adapt_seconds = read_adapt_metrics(folder)["seconds"]
    tune = "finetune-lora" if method.endswith("lora") else "finetune-full"
    result = run_finetune(
        tune, dataset, seed, str(folder), finetune_opts, work_dir, eval_split, smoke
    )
    if not options.get("keep_adapted", False):
        shutil.rmtree(folder, ignore_errors=True)
        shutil.rmtree(cfg["train"].checkpoint_folder(), ignore_errors=True)
    result.fit_seconds = adapt_seconds + result.fit_seconds
    return result
