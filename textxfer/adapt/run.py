"""Domain adaptation: continued masked-LM pretraining of an encoder on unlabelled text.

Domain-adaptive pretraining uses the target domain's texts, task-adaptive pretraining the task's
own unlabelled texts (Gururangan et al., 2020). ``adapt`` trains the masked-LM objective with the
same Accelerate loop as fine-tuning (``textxfer.loop.TrainLoop``: several processes, mixed
precision, checkpoints, exact resume), measures perplexity on a seeded held-out share of the texts
before and after, and writes a plain checkpoint that ``AutoModelForMaskedLM``, ``finetune``
(``--model DIR``) and the frozen-feature baselines (``model=DIR``) load.

Checkpoints without a masked-LM head (e.g. the offline default all-MiniLM-L6-v2) get a freshly
initialised head, which is logged and recorded (``fresh_mlm_head`` in ``adapt_metrics.json``).
The output folder (model, tokenizer, ``adapt_metrics.json``, ``train_log.jsonl``, ``config.yaml``,
``textxfer.json``) is described in ``textxfer.adapt.io``.

>>> from textxfer.adapt import adapt
>>> from textxfer.adapt.args import AdaptArgs, MLMTrainArgs
>>> from textxfer.data import DataArgs
>>> from textxfer.train.args import ModelArgs
>>> folder = adapt(ModelArgs("default"), DataArgs("amazon_mds/books", target="amazon_mds/kitchen"),
...                AdaptArgs(), MLMTrainArgs(max_steps=200, out="runs/adapt/kitchen"))  # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .args import AdaptArgs, MLMTrainArgs
from .io import read_adapt_metrics, save_adapted
from .mlm import (
    MaskedLMLoss,
    MLMCollator,
    evaluate_perplexity,
    heldout_dataset,
    make_masker,
    tokenize_texts,
)
from ..config import ConfigError
from ..data.load import DataArgs, adaptation_texts, load_data
from ..data.readers import DataError
from ..train.args import LoraArgs, ModelArgs

logger = logging.getLogger(__name__)

__all__ = [
    "adapt",
    "check_no_leak",
    "load_mlm_model",
    "read_adapt_metrics",
    "resolve_texts",
    "split_heldout",
]


# ------------------------------------------------------------------------------------- texts
def check_no_leak(
    texts: Sequence[str], held_out: Sequence[str], where: str = "the test split"
) -> None:
    """Raise when any adaptation text also occurs among ``held_out`` (evaluation) texts.

    Raises:
        DataError: naming how many texts leak and one of them.
    """
    leaked = set(texts) & set(held_out)
    if leaked:
        example = next(iter(sorted(leaked)))
        raise DataError(
            f"{len(leaked)} adaptation text(s) also occur in {where} (e.g. {example[:60]!r}); "
            "adaptation must never see evaluation rows. Take texts from "
            "textxfer.data.adaptation_texts, or drop those texts"
        )


def _read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def resolve_texts(source) -> tuple[list[str], list[str], dict[str, Any]]:
    """``(texts, evaluation texts they must not overlap, description)`` of an adaptation source.

    Args:
        source: a list of texts; a ``.txt`` file (one text per line); a ``DataArgs`` or a dataset
            name/folder/file (``textxfer.data.adaptation_texts``: the target's train+dev texts when
            ``target`` is set, else the dataset's train texts; the evaluation texts are its test
            split); or a ``DatasetDict`` (its train texts minus any that occur in its test split).
    """
    if isinstance(source, (list, tuple)):
        return [str(t) for t in source], [], {"source": "texts"}
    if isinstance(source, (str, os.PathLike)):
        path = Path(source).expanduser()
        if path.is_file() and path.suffix == ".txt":
            return _read_lines(path), [], {"source": "file", "path": str(path)}
        source = DataArgs(dataset=str(source))
    if isinstance(source, DataArgs):
        texts = adaptation_texts(source)
        evaluation = list(load_data(source)["test"]["text"])
        kind = "domain-adaptive" if source.target else "task-adaptive"
        return (
            texts,
            evaluation,
            {"source": kind, "dataset": source.dataset, "target": source.target},
        )
    if hasattr(source, "keys") and "train" in source:
        evaluation = list(source["test"]["text"]) if "test" in source else []
        held = set(evaluation)
        texts = [t for t in source["train"]["text"] if t not in held]
        return texts, evaluation, {"source": "task-adaptive"}
    raise DataError(
        f"cannot take adaptation texts from a {type(source).__name__}; pass a list of texts, a .txt "
        "file (one text per line), a dataset name/folder, a DataArgs or a DatasetDict"
    )


def _prepare_texts(texts: list[str], args: AdaptArgs) -> list[str]:
    """Stripped, non-empty, de-duplicated texts (order kept), sampled down to ``max_texts``."""
    kept = list(dict.fromkeys(t.strip() for t in texts if t and t.strip()))
    if len(kept) < len(texts):
        logger.info("adaptation texts: %d empty or duplicate texts dropped", len(texts) - len(kept))
    if args.max_texts is not None and len(kept) > args.max_texts:
        picks = np.random.default_rng(args.seed).choice(len(kept), args.max_texts, replace=False)
        kept = [kept[i] for i in sorted(picks)]
    if len(kept) < 2:
        raise DataError(
            f"adaptation needs at least 2 distinct non-empty texts (one to train on, one held out), "
            f"found {len(kept)}; give more texts"
        )
    return kept


def split_heldout(texts: list[str], args: AdaptArgs) -> tuple[list[str], list[str]]:
    """``(train, held_out)``: a seeded ``heldout_fraction`` of ``texts`` (at most ``max_heldout``,
    at least 1, never all), order kept in both."""
    n = len(texts)
    n_held = min(args.max_heldout, max(1, round(args.heldout_fraction * n)), n - 1)
    held = set(np.random.default_rng(args.seed).permutation(n)[:n_held].tolist())
    train = [t for i, t in enumerate(texts) if i not in held]
    return train, [t for i, t in enumerate(texts) if i in held]


# ------------------------------------------------------------------------------------- model
def load_mlm_model(model_path: str):
    """``(model, fresh_keys, unexpected_keys)`` from ``AutoModelForMaskedLM``.

    ``fresh_keys`` are head parameters the checkpoint did not provide (a newly initialised head).
    """
    from transformers import AutoModelForMaskedLM

    try:
        model, info = AutoModelForMaskedLM.from_pretrained(model_path, output_loading_info=True)
    except ValueError as err:
        raise ConfigError(
            f"{model_path} cannot be loaded as a masked LM ({err}); adaptation needs an encoder "
            "with a masked-LM class (BERT, RoBERTa, DistilBERT, ...)"
        ) from err
    prefix = f"{model.base_model_prefix}."
    fresh = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(prefix))
    if fresh:
        logger.warning(
            "%s has no masked-LM head: a fresh head was initialised (%d tensors, e.g. %s); the "
            "perplexity before adaptation is that of the untrained head, which trains with the encoder",
            model_path,
            len(fresh),
            fresh[0],
        )
    return model, fresh, sorted(info.get("unexpected_keys", ()))


def apply_mlm_lora(model, args: LoraArgs):
    """LoRA on the encoder of a masked LM; the head (all but the tied output embedding) trains fully."""
    try:
        import peft
    except ImportError as err:  # pragma: no cover - peft is a declared dependency
        raise ImportError("LoRA needs the 'peft' package; `pip install peft`") from err
    from ..train.lora import default_target_modules

    prefix = f"{model.base_model_prefix}."
    head = [p for n, p in model.named_parameters() if not n.startswith(prefix)]
    config = peft.LoraConfig(
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules=list(args.lora_target_modules or default_target_modules(model)),
        modules_to_save=args.lora_modules_to_save,
        bias=args.lora_bias,
    )
    wrapped = peft.get_peft_model(model, config)
    for param in head:
        param.requires_grad_(True)
    return wrapped


def _build(train_args: MLMTrainArgs, lora_args: LoraArgs | None, path: str):
    from accelerate.utils import set_seed

    from ..train.lora import count_parameters
    from ..train.optim import GradualUnfreezing, build_optimizer, freeze, param_groups

    set_seed(train_args.seed)  # before the model: a fresh head's init depends on it
    model, fresh, unexpected = load_mlm_model(path)
    if lora_args is not None:
        model = apply_mlm_lora(model, lora_args)
    freeze(model, train_args.freeze_embeddings, train_args.freeze_layers)
    every = train_args.unfreeze_every
    unfreezer = GradualUnfreezing(model, every) if train_args.gradual_unfreeze else None
    optimizer = build_optimizer(param_groups(model, train_args), train_args)
    return model, optimizer, count_parameters(model), fresh, unexpected, unfreezer


# ---------------------------------------------------------------------------------- training
@dataclass
class _Run:
    """What one adaptation run works with, built by ``_prepare``."""

    accelerator: Any
    model_path: str
    tokenizer: Any
    masker: Any
    train_ds: Any
    held_ds: Any
    n_train: int
    n_heldout: int
    source: dict[str, Any]


def adapt(
    model_args: ModelArgs,
    texts_or_dataset,
    adapt_args: AdaptArgs | None = None,
    train_args: MLMTrainArgs | None = None,
    lora_args: LoraArgs | None = None,
    callbacks: Sequence[Any] = (),
) -> Path:
    """Continue masked-LM pretraining of ``model_args.model`` on unlabelled texts.

    Args:
        model_args: the encoder to adapt and ``max_length``.
        texts_or_dataset: the texts (see ``resolve_texts``): a list, a ``.txt`` file, a
            ``DataArgs`` or dataset name (``adaptation_texts``), or a ``DatasetDict``.
        adapt_args: masking and held-out perplexity settings (default ``AdaptArgs()``).
        train_args: the loop settings; ``out`` is required (default ``MLMTrainArgs``: 1 epoch).
        lora_args: LoRA settings; with ``lora=True`` only adapters and the head train, and the
            adapter is merged before saving.
        callbacks: extra ``textxfer.loop.Callback`` objects.

    Returns:
        The output folder (see ``textxfer.adapt.io`` for its contents).

    Raises:
        ConfigError: no ``out``, a model without masked-LM class or mask token, bad settings.
        DataError: too few texts, or adaptation texts that occur in the evaluation split.
    """
    adapt_args = adapt_args or AdaptArgs()
    train_args = train_args or MLMTrainArgs()
    lora_args = lora_args if lora_args is not None and lora_args.lora else None
    if not train_args.out:
        raise ConfigError("adapt writes a model folder; pass --out DIR (train_args.out)")
    start = time.perf_counter()
    run = _prepare(model_args, texts_or_dataset, adapt_args, train_args)
    model, optimizer, counts, fresh, unexpected, unfreezer = _build(
        train_args, lora_args, run.model_path
    )
    config = _config(model_args, adapt_args, train_args, lora_args, run.source)
    extra = [unfreezer] if unfreezer else []
    loop = _make_loop(run, model, optimizer, train_args, [*extra, *callbacks], config)
    logger.info("adapting on %d texts (%d held out): %d of %d parameters trainable",
                run.n_train, run.n_heldout, *counts)  # fmt: skip
    before = _evaluate(loop)
    fitted = loop.fit()
    after = _evaluate(loop)
    logger.info("held-out perplexity %.2f -> %.2f", before["perplexity"], after["perplexity"])
    metrics = {
        "perplexity_before": before["perplexity"], "perplexity_after": after["perplexity"],
        "loss_before": before["loss"], "loss_after": after["loss"],
        "n_heldout_masked_tokens": after["n_masked_tokens"], "n_texts": run.n_train + run.n_heldout,
        "n_train_texts": run.n_train, "n_heldout_texts": run.n_heldout,
        "global_step": fitted.global_step, "epochs": fitted.epochs,
        "train_seconds": round(fitted.train_seconds, 3),
        "seconds": round(time.perf_counter() - start, 3),
        "trainable_params": counts[0], "total_params": counts[1],
        "method": "lora" if lora_args else "full", "fresh_mlm_head": bool(fresh),
    }  # fmt: skip
    history = [{"step": 0, "split": "heldout", **before}, *fitted.history,
               {"step": fitted.global_step, "split": "heldout", **after}]  # fmt: skip
    _finish(run, loop, model_args, train_args, unexpected, metrics, history, config)
    return Path(train_args.out)


def _prepare(model_args, texts_or_dataset, adapt_args, train_args) -> _Run:
    """Texts (checked, de-duplicated, split), accelerator, tokenizer, masker and datasets."""
    from ..train.accel import make_accelerator
    from ..models import load_tokenizer, resolve_model

    texts, evaluation, source = resolve_texts(texts_or_dataset)
    texts = _prepare_texts(texts, adapt_args)
    check_no_leak(texts, [t.strip() for t in evaluation])
    train_texts, heldout = split_heldout(texts, adapt_args)
    accelerator = make_accelerator(train_args, find_unused_parameters=train_args.gradual_unfreeze)
    model_path = resolve_model(model_args.model)
    tokenizer = load_tokenizer(model_path)
    masker = make_masker(tokenizer, adapt_args.mlm_probability, adapt_args.whole_word_mask)
    length, wwm = model_args.max_length, adapt_args.whole_word_mask
    with accelerator.main_process_first():
        train_ds = tokenize_texts(train_texts, tokenizer, length, offsets=wwm)
        held_ds = heldout_dataset(heldout, tokenizer, masker, length, adapt_args.seed)
    return _Run(accelerator, model_path, tokenizer, masker, train_ds, held_ds,
                len(train_texts), len(heldout), source)  # fmt: skip


def _make_loop(run: _Run, model, optimizer, args: MLMTrainArgs, callbacks, config):
    from ..train.accel import eval_dataloader, train_dataloader
    from ..train.loop import TrainLoop, flat_config

    collate = MLMCollator(run.tokenizer)
    lengths = [len(x) for x in run.train_ds["input_ids"]] if args.group_by_length else None
    group = args.batch_size * run.accelerator.num_processes
    train_dl = train_dataloader(run.train_ds, args.batch_size, collate, args.seed, lengths=lengths,
                                group_size=group, num_workers=args.num_workers)  # fmt: skip
    eval_batch = args.eval_batch_size or 2 * args.batch_size
    held_dl = eval_dataloader(run.held_ds, eval_batch, collate, args.num_workers)

    def eval_fn(model, dataloader):
        return evaluate_perplexity(model, dataloader, gather=run.accelerator.gather_for_metrics)

    return TrainLoop(
        run.accelerator, model, optimizer, train_dl, args, loss_fn=MaskedLMLoss(run.masker),
        eval_dataloader=held_dl, eval_fn=eval_fn, callbacks=callbacks,
        checkpoint_dir=args.checkpoint_folder(), run_name="adapt", tracker_config=flat_config(config),
    )  # fmt: skip


def _evaluate(loop) -> dict[str, float]:
    return loop.eval_fn(loop.model, loop.eval_dataloader)


def _finish(run, loop, model_args, train_args, unexpected, metrics, history, config) -> None:
    """Flush trackers and save the folder on the main process."""
    acc = run.accelerator
    # Not end_training(): it destroys the process group, which belongs to the launcher.
    for tracker in acc.trackers:
        tracker.finish()
    acc.wait_for_everyone()
    if acc.is_main_process:
        info = {"model": model_args.model, "max_length": model_args.max_length,
                "method": metrics["method"], "fresh_mlm_head": metrics["fresh_mlm_head"], **run.source}  # fmt: skip
        save_adapted(train_args.out, acc.unwrap_model(loop.model), run.tokenizer,
                     base_model=run.model_path, unexpected_keys=unexpected, info=info,
                     metrics=metrics, history=history, config=config)  # fmt: skip
    acc.wait_for_everyone()


def _config(model_args, adapt_args, train_args, lora_args, source) -> dict[str, dict]:
    sections = {
        "model": dataclasses.asdict(model_args),
        "adapt": dataclasses.asdict(adapt_args),
        "train": dataclasses.asdict(train_args),
    }
    if lora_args is not None:
        sections["lora"] = dataclasses.asdict(lora_args)
    sections["source"] = dict(source)
    return sections
