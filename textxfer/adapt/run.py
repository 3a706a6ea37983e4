"""Domain adaptation: continued pretraining of an encoder on unlabelled text.

Domain-adaptive pretraining uses the target domain's texts, task-adaptive pretraining the task's
own unlabelled texts (Gururangan et al., 2020). ``adapt`` trains its objective on the
shared stage (``textxfer.train.stage``: several processes, mixed precision, checkpoints, exact
resume), measures perplexity on a seeded held-out share of the texts before and after, and writes a
plain checkpoint that ``AutoModelForMaskedLM`` (``AutoModel`` after denoising), ``finetune``
(``--model DIR``) and the frozen-feature baselines (``model=DIR``) load.

Two objectives (``AdaptArgs.objective``): masked-LM, and denoising (TSDAE, ``textxfer.adapt.denoise``:
rebuild each text from the sentence embedding of a copy with words deleted). ``auto``, the default,
uses masked-LM for a checkpoint with its own masked-LM head (or under LoRA) and denoising for a
sentence encoder without one, such as the offline default all-MiniLM-L6-v2.

Under masked-LM, checkpoints without a masked-LM head get a freshly
initialised head, which is logged and recorded (``fresh_mlm_head`` in ``metrics.json``); it trains
alone for the first ``head_warmup`` share of the steps, at its own rate ``fresh_head_lr``, before
the encoder joins (``textxfer.adapt.head``), and the tied word embeddings stay fixed
(``freeze_embeddings``). The output folder is described in ``textxfer.adapt.io``.

>>> from textxfer.adapt import AdaptArgs, MLMTrainArgs, adapt
>>> from textxfer.data import DataArgs
>>> from textxfer.train import ModelArgs
>>> result = adapt(ModelArgs("default"), DataArgs("amazon_mds/books", target="amazon_mds/kitchen"),
...                AdaptArgs(), MLMTrainArgs(max_steps=200, out="runs/adapt/kitchen"))  # doctest: +SKIP
>>> result.metrics["perplexity_after"] < result.metrics["perplexity_before"]              # doctest: +SKIP
True
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..config import changed_fields, flags, to_sections
from ..data.checks import check_no_leak
from ..data.load import DataArgs, adaptation_texts, dataset_path, input_paths, load_data
from ..data.readers import decode_text
from ..errors import ConfigError, DataError
from ..io import prepare_output
from ..models import check_max_length, load_tokenizer, local_model_path, resolve_model
from ..train.accel import make_accelerator
from ..train.args import LoraArgs, ModelArgs
from ..train.lora import active_lora
from ..train.stage import Result, build_stage, save_on_main
from .anchor import keep_share, snapshot
from .args import AdaptArgs, MLMTrainArgs, resolve_adapt_budget
from .head import HeadWarmup, fresh_parameters
from .mlm import (
    MaskedLMLoss,
    MLMCollator,
    evaluate_perplexity,
    heldout_dataset,
    make_masker,
    tokenize_texts,
)

logger = logging.getLogger(__name__)

__all__ = ["adapt", "load_mlm_model", "resolve_texts", "split_heldout"]


def _read_lines(path: Path) -> list[str]:
    return [line.strip() for line in decode_text(path).splitlines() if line.strip()]


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


def load_mlm_model(model_path: str, announce: bool = True):
    """``(model, fresh_keys, unexpected_keys)`` from ``AutoModelForMaskedLM``.

    ``fresh_keys`` are head parameters the checkpoint did not provide (a newly initialised head).
    """
    from transformers import AutoModelForMaskedLM

    from ..models import load_pretrained

    try:
        model, info = load_pretrained(AutoModelForMaskedLM, model_path)
    except ValueError as err:
        raise ConfigError(
            f"{model_path} cannot be loaded as a masked LM ({err}); adaptation needs an encoder "
            "with a masked-LM class (BERT, RoBERTa, DistilBERT, ...)"
        ) from err
    prefix = f"{model.base_model_prefix}."
    fresh = sorted(k for k in info.get("missing_keys", ()) if not k.startswith(prefix))
    if fresh and announce:
        logger.warning(
            "%s has no masked-LM head: a fresh head was initialised (%d tensors, e.g. %s); the "
            "perplexity before adaptation is that of the untrained head, which trains alone first "
            "(head_warmup)",
            model_path,
            len(fresh),
            fresh[0],
        )
    return model, fresh, sorted(info.get("unexpected_keys", ()))


def adapt(
    model_args: ModelArgs,
    texts_or_dataset,
    adapt_args: AdaptArgs | None = None,
    train_args: MLMTrainArgs | None = None,
    lora_args: LoraArgs | None = None,
    callbacks: Sequence[Any] = (),
) -> Result:
    """Continue masked-LM pretraining of ``model_args.model`` on unlabelled texts.

    Args:
        model_args: the encoder to adapt and ``max_length``.
        texts_or_dataset: the texts (see ``resolve_texts``): a list, a ``.txt`` file, a
            ``DataArgs`` or dataset name (``adaptation_texts``), or a ``DatasetDict``.
        adapt_args: masking and held-out perplexity settings (default ``AdaptArgs()``).
        train_args: the loop settings; ``out`` is required (default ``MLMTrainArgs``: one pass
            and at least 150 steps, ``resolve_adapt_budget``).
        lora_args: LoRA settings; with ``lora=True`` only adapters and the head train, and the
            adapter is merged before saving.
        callbacks: extra ``textxfer.train.loop.Callback`` objects.

    Returns:
        A ``Result``: ``metrics`` holds the perplexity before/after, text counts and seconds;
        ``output_dir`` the saved folder (see ``textxfer.adapt.io``).

    Raises:
        ConfigError: no ``out``, a model without masked-LM class or mask token, bad settings.
        DataError: too few texts, or adaptation texts that occur in the evaluation split.
    """
    adapt_args = adapt_args or AdaptArgs()
    train_args = train_args or MLMTrainArgs()
    lora = active_lora(lora_args)
    if train_args.out is None:
        raise ConfigError("adapt writes a model folder; pass --out DIR (train_args.out)")
    inputs = [local_model_path(model_args.model), *_source_paths(texts_or_dataset)]
    prepare_output(train_args.out, overwrite=train_args.overwrite, inputs=inputs)
    if model_args.chunk_window is not None:
        raise ConfigError(
            "chunk_window cuts texts for classification (finetune, features-*); masked-LM "
            "adaptation trains on texts cut to max_length: drop --chunk-window here"
        )
    start = time.perf_counter()
    texts, evaluation, source = resolve_texts(texts_or_dataset)
    texts = _prepare_texts(texts, adapt_args)
    check_no_leak(texts, [t.strip() for t in evaluation])
    train_texts, heldout = split_heldout(texts, adapt_args)
    accelerator = make_accelerator(train_args)
    model_path = resolve_model(model_args.model)
    check_max_length(model_path, model_args.max_length)
    tokenizer = load_tokenizer(model_path)
    objective = resolve_objective(adapt_args, model_path, lora)
    with accelerator.main_process_first():
        parts = _objective_parts(objective, train_texts, heldout, tokenizer, model_args, adapt_args)
    train_args, rule = resolve_adapt_budget(
        train_args, len(parts["train"]), accelerator.num_processes
    )
    if rule:
        logger.info("adapt: %s (set --max-steps or --epochs to choose)", rule)
    config = {"model": model_args, "data": _data_section(texts_or_dataset), "adapt": adapt_args,
              "train": train_args, "lora": lora}  # fmt: skip
    loaded: dict[str, Any] = {}
    warmup = HeadWarmup([], train_args.head_warmup)

    def build_model():
        loaded["model"], loaded["fresh"], loaded["unexpected"] = parts["load"](model_path)
        if objective == "mlm":
            warmup.fresh_keys = loaded["fresh"]  # no fresh head: no warm-up
        if adapt_args.adapted_share < 1 and not lora:  # LoRA scales its adapters instead
            loaded["original"] = snapshot(loaded["model"], loaded["fresh"])
        return loaded["model"], loaded["fresh"]

    def eval_fn(model, dataloader):
        return parts["evaluate"](model, dataloader, gather=accelerator.gather_for_metrics)

    stage = build_stage(
        accelerator, train_args, build_model=build_model, train_dataset=parts["train"],
        collate=parts["collate"], loss_fn=parts["loss"], lora=lora, lora_task="mlm",
        eval_dataset=parts["heldout"], eval_fn=eval_fn, callbacks=[warmup, *callbacks], run_name="adapt",
        config=to_sections(config), own_lr=lambda model: _head_lr(model, loaded["fresh"], train_args),
    )  # fmt: skip
    loop = stage.loop
    before = eval_fn(loop.model, loop.eval_dataloader)
    fitted = loop.fit()
    kept = _keep_share(loop, eval_fn, loaded.get("original", {}), adapt_args.adapted_share)
    after = eval_fn(loop.model, loop.eval_dataloader)
    logger.info("held-out %s perplexity %.2f -> %.2f", objective, before["perplexity"],
                after["perplexity"])  # fmt: skip
    metrics = {
        "perplexity_before": before["perplexity"], "perplexity_after": after["perplexity"],
        "loss_before": before["loss"], "loss_after": after["loss"],
        f"n_heldout_{'masked_' if objective == 'mlm' else ''}tokens": after["n_masked_tokens"],
        "objective": objective, "n_texts": len(texts),
        "n_train_texts": len(train_texts), "n_heldout_texts": len(heldout),
        "global_step": fitted.global_step, "epochs": fitted.epochs,
        "train_seconds": round(fitted.train_seconds, 3),
        "seconds": round(time.perf_counter() - start, 3),
        "trainable_params": stage.trainable_params, "total_params": stage.total_params,
        "method": "lora" if lora else "full",
        "fresh_mlm_head": objective == "mlm" and bool(loaded["fresh"]),
        "adapted_share": float(adapt_args.adapted_share), **kept,
    }  # fmt: skip
    result = stage.result(fitted, metrics, train_args.out, metrics["method"])
    result.history = [{"step": 0, "split": "heldout", **before}, *fitted.history,
                      {"step": fitted.global_step, "split": "heldout", **after}]  # fmt: skip

    def save():
        from .io import save_adapted

        info = {"model": model_args.model, "max_length": model_args.max_length,
                "method": metrics["method"], "fresh_mlm_head": metrics["fresh_mlm_head"],
                "objective": objective, **source}  # fmt: skip
        save_adapted(train_args.out, parts["saved"](stage.model), tokenizer, base_model=model_path,
                     unexpected_keys=loaded["unexpected"], info=info, metrics=metrics,
                     history=result.history, config=config, overwrite=train_args.overwrite,
                     inputs=inputs)  # fmt: skip

    save_on_main(accelerator, save)
    return result


def resolve_objective(args: AdaptArgs, model_path: str, lora) -> str:
    """``mlm`` or ``denoising``: ``auto`` picks denoising for a checkpoint without a masked-LM
    head under full training (``textxfer.adapt.denoise`` has the measurements), mlm otherwise."""
    if args.objective == "denoising" and lora is not None:
        raise ConfigError(
            "the denoising objective trains the whole encoder (its decoder is new); LoRA works "
            "with --objective mlm, or drop --lora"
        )
    if args.objective != "auto":
        objective = args.objective
    elif lora is not None or has_mlm_head(model_path):
        objective = "mlm"
    else:
        objective = "denoising"
        logger.info(
            "%s has no masked-LM head: adapting with the denoising objective (--objective mlm for "
            "masked-LM)", model_path,
        )  # fmt: skip
    masking = [f for f in changed_fields(args) if f in ("mlm_probability", "whole_word_mask")]
    if objective == "denoising" and masking:
        logger.info("%s: masked-LM options, not used by the denoising objective", flags(masking))
    return objective


def has_mlm_head(model_path: str) -> bool:
    """Whether the checkpoint provides every weight of its masked-LM head."""
    _, fresh, _ = load_mlm_model(model_path, announce=False)
    return not fresh


def _objective_parts(objective, train_texts, heldout, tokenizer, model_args, adapt_args) -> dict:
    """What the stage needs for one objective: datasets, collate, loss, evaluation, the model
    loader ``path -> (model, fresh keys, unexpected keys)`` and ``saved(model)``, the part saved."""
    max_length, seed = model_args.max_length, adapt_args.seed
    if objective == "denoising":
        from . import denoise

        length, ratio = min(max_length, adapt_args.reconstruct_length), adapt_args.deletion_ratio
        return {
            "train": denoise.tokenize_words(train_texts, tokenizer, length),
            "heldout": denoise.denoising_heldout(heldout, tokenizer, length, ratio, seed),
            "collate": denoise.DenoisingCollator(tokenizer.pad_token_id),
            "loss": denoise.DenoisingLoss(ratio, tokenizer.pad_token_id),
            "evaluate": denoise.evaluate_reconstruction,
            "load": lambda path: (*denoise.load_denoiser(path), []),
            "saved": lambda model: model.encoder,  # stage.model is unwrapped already
        }
    masker = make_masker(tokenizer, adapt_args.mlm_probability, adapt_args.whole_word_mask)
    offsets = adapt_args.whole_word_mask
    return {
        "train": tokenize_texts(train_texts, tokenizer, max_length, offsets=offsets),
        "heldout": heldout_dataset(heldout, tokenizer, masker, max_length, seed),
        "collate": MLMCollator(tokenizer),
        "loss": MaskedLMLoss(masker),
        "evaluate": evaluate_perplexity,
        "load": load_mlm_model,
        "saved": lambda model: model,
    }


def _keep_share(loop, eval_fn, original: dict, share: float) -> dict[str, float]:
    """Keep ``share`` of the adaptation (``textxfer.adapt.anchor``); with less than all of it,
    the held-out perplexity of the whole adaptation, measured before, is recorded too."""
    if share >= 1:
        return {}
    whole = eval_fn(loop.model, loop.eval_dataloader)
    keep_share(loop.accelerator.unwrap_model(loop.model), original, share)
    return {"perplexity_whole_adaptation": whole["perplexity"]}


def _source_paths(source) -> list:
    """Files and folders an adaptation source reads (the output must not overlap them)."""
    if isinstance(source, DataArgs):
        return input_paths(source)
    return [dataset_path(str(source))] if isinstance(source, (str, os.PathLike)) else []


def _head_lr(model, fresh_keys: list[str], args: MLMTrainArgs) -> dict[str, float]:
    """``{name: fresh_head_lr}`` for the fresh head's parameters (empty without one)."""
    if args.fresh_head_lr is None:
        return {}
    return {name: float(args.fresh_head_lr) for name in fresh_parameters(model, fresh_keys)}


def _data_section(source) -> DataArgs | None:
    """The ``data`` section of ``config.yaml``: what ``textxfer adapt`` reads back as its source."""
    if isinstance(source, DataArgs):
        return source
    if isinstance(source, (str, os.PathLike)):
        return DataArgs(dataset=str(source))
    return None
