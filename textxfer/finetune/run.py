"""Fine-tune any ``AutoModelForSequenceClassification``, fully or with LoRA, in one Accelerate loop.

``finetune`` loads the data (or takes a ``DatasetDict``), tokenizes it, builds the model (seeded),
optionally wraps it in a LoRA adapter, trains it on the shared stage (``textxfer.train.stage``) and
evaluates dev and test with ``textxfer.metrics.evaluate``. It runs unchanged in one process, under
``torchrun --nproc_per_node N`` and under ``accelerate launch``.

>>> from textxfer.data import DataArgs
>>> from textxfer.finetune import finetune
>>> from textxfer.train import LoraArgs, ModelArgs, TrainArgs
>>> result = finetune(ModelArgs("default"), DataArgs("sst2", limit=200),
...                   TrainArgs(epochs=1, out="runs/sst2-lora"), LoraArgs(lora=True))  # doctest: +SKIP
>>> result.metrics["test"]["accuracy"]                                               # doctest: +SKIP
0.81
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..chunking import chunking_from
from ..config import to_sections
from ..data.checks import check_splits
from ..data.load import DataArgs, input_paths, load_data
from ..data.multilabel import is_multilabel
from ..errors import ConfigError
from ..io import prepare_output
from ..models import check_max_length, load_tokenizer, local_model_path, resolve_model
from ..train.accel import eval_dataloader, make_accelerator
from ..train.args import LR_AUTO, LoraArgs, ModelArgs, TrainArgs
from ..train.defaults import describe_settings, resolve_train_args, steps_per_epoch
from ..train.lora import active_lora
from ..train.lr_probe import PROBE_DEV_ROWS, probe_lr
from ..train.stage import Result, build_stage, eval_batch_size, save_on_main
from .task import (
    ClassificationLoss,
    build_classifier,
    class_weights,
    encode,
    evaluate_split,
    scalar_metrics,
)

logger = logging.getLogger(__name__)

__all__ = ["Result", "finetune"]


def finetune(
    model_args: ModelArgs,
    data_args: DataArgs | None,
    train_args: TrainArgs,
    lora_args: LoraArgs | None = None,
    dataset=None,
    callbacks: Sequence[Any] = (),
) -> Result:
    """Fine-tune a sequence classifier; full fine-tuning, or LoRA when ``lora_args.lora`` is set.

    Args:
        model_args: model, max length, dropout override.
        data_args: dataset to load with ``load_data`` (when ``dataset`` is given it is only
            recorded in ``config.yaml``; may then be None).
        train_args: optimizer, schedule, batches, evaluation, checkpoints, ``out`` folder;
            unset settings are filled by the defaults rule (``textxfer.train.defaults``) and
            ``lr="auto"`` by a probe on dev (``textxfer.train.lr_probe``).
        lora_args: LoRA settings; LoRA is used when given with ``lora=True``.
        dataset: an already loaded (e.g. augmented) ``DatasetDict`` with train/dev/test.
        callbacks: extra ``textxfer.train.loop.Callback`` objects.

    Returns:
        ``Result`` with ``metrics`` {"test": ..., "dev": ...}, output folder, time, parameter
        counts, best step and ``settings`` (what the defaults rule and the probe filled in).
    """
    if dataset is None and data_args is None:
        raise ConfigError(
            "finetune needs data_args or dataset=; pass DataArgs('sst2') or a DatasetDict"
        )
    lora = active_lora(lora_args)
    inputs = [local_model_path(model_args.model), *(input_paths(data_args) if data_args else [])]
    if train_args.out is not None:  # refused before any work, not after training
        prepare_output(train_args.out, overwrite=train_args.overwrite, inputs=inputs)
    regime = _regime(model_args, lora)
    accelerator = make_accelerator(train_args)
    dataset = dataset if dataset is not None else load_data(data_args)
    label_names = check_splits(dataset)
    model_path = resolve_model(model_args.model)
    check_max_length(model_path, model_args.max_length)
    tokenizer = load_tokenizer(model_path)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token  # decoder-only models (GPT-2, Llama)
    chunking, task = chunking_from(model_args), _task(model_args, is_multilabel(dataset))
    with accelerator.main_process_first():
        encoded = encode(
            dataset, tokenizer, model_args.max_length, model_args.pad_to_max_length, chunking
        )
    train_args, settings = resolve_train_args(
        train_args, regime, len(encoded["train"]), accelerator.num_processes
    )
    config = {"model": model_args, "data": data_args, "train": train_args, "lora": lora}
    parts = (model_path, tokenizer, encoded, label_names, callbacks)
    if train_args.lr == LR_AUTO:
        probe = _probe(accelerator, parts, config, regime, task)
        train_args = dataclasses.replace(train_args, lr=probe.chosen)
        config["train"] = train_args
        settings["lr"] = {"value": probe.chosen, "rule": "auto: probe on dev"}
        settings["lr_probe"] = probe.to_dict()
    logger.info("%s: defaults filled in: %s", regime, describe_settings(_notes(settings)))
    stage = _stage(accelerator, *parts, config, task)
    fitted = stage.loop.fit()
    collate = _collate(tokenizer)

    def score(split: str, threshold: float | None) -> dict:
        loader = eval_dataloader(
            encoded[split], eval_batch_size(train_args), collate, train_args.num_workers
        )
        return evaluate_split(
            accelerator, stage.loop.model, accelerator.prepare_data_loader(loader), label_names,
            **{**task, "threshold": threshold},
        )  # fmt: skip

    dev = score("dev", model_args.threshold)  # multi-label: the threshold is tuned on dev
    metrics = {"test": score("test", dev.get("threshold")), "dev": dev}
    result = stage.result(fitted, metrics, train_args.out, regime)
    result.settings = settings
    if train_args.out is not None:
        rows = {split: len(dataset[split]) for split in ("train", "dev", "test")}
        save_on_main(
            accelerator,
            lambda: _save(stage, result, tokenizer, model_path, label_names, config, inputs, rows),
        )
    return result


def _task(model_args: ModelArgs, multi_label: bool) -> dict:
    """How logits become predictions: ``evaluate_split`` keywords (threshold: the configured one).

    Raises:
        ConfigError: ``vote`` for a multi-label task (before any training).
    """
    if not multi_label and model_args.threshold is not None:
        logger.warning("threshold=%s is for multi-label data; single-label predictions take "
                       "the most probable class", model_args.threshold)  # fmt: skip
    if multi_label and model_args.chunk_aggregation == "vote":
        raise ConfigError(
            "chunk_aggregation 'vote' picks one class per window, so it is for single-label data; "
            "this dataset is multi-label: pass --chunk-aggregation mean or max"
        )
    return {"multi_label": multi_label, "aggregation": model_args.chunk_aggregation,
            "threshold": model_args.threshold}  # fmt: skip


def _regime(model_args: ModelArgs, lora: LoraArgs | None) -> str:
    if model_args.from_scratch and lora is not None:
        raise ConfigError(
            "from_scratch trains every weight from random values, but lora freezes them (random "
            "weights would stay random); drop --lora or --from-scratch"
        )
    return "scratch" if model_args.from_scratch else "lora" if lora is not None else "full"


def _notes(settings: dict) -> dict:
    return {k: v for k, v in settings.items() if k != "lr_probe"}


def _probe(accelerator, parts, config, regime: str, task: dict):
    """``lr: auto``: probe the candidate rates on (at most ``PROBE_DEV_ROWS`` rows of) dev."""
    model_path, tokenizer, encoded, label_names, callbacks = parts
    train_args = config["train"]
    dev = _probe_dev(encoded["dev"], train_args.seed)
    probe_parts = (model_path, tokenizer, {**encoded, "dev": dev}, label_names, ())

    def train_and_score(args):
        acc = make_accelerator(args)
        stage = _stage(acc, *probe_parts, {**config, "train": args}, task)
        fitted = stage.loop.fit()
        dl = acc.prepare_data_loader(
            eval_dataloader(dev, eval_batch_size(args), _collate(tokenizer), args.num_workers)
        )
        scores = scalar_metrics(evaluate_split(acc, stage.loop.model, dl, label_names, **task))
        train = [r["loss"] for r in fitted.history if r["split"] == "train"]
        acc.free_memory()
        return {**scores, "train_loss": train[-1] if train else None}

    total = train_args.max_steps or train_args.epochs * steps_per_epoch(
        len(encoded["train"]), train_args.batch_size, accelerator.num_processes,
        train_args.grad_accum,
    )  # fmt: skip
    return probe_lr(train_args, regime, train_and_score, total_steps=total)


def _probe_dev(dev, seed: int):
    if len(dev) <= PROBE_DEV_ROWS:
        return dev
    import pandas as pd

    from ..data.sampling import stratified_subsample

    frame = pd.DataFrame({"label": dev["label"], "_row": range(len(dev))})
    return dev.select(stratified_subsample(frame, PROBE_DEV_ROWS, seed)["_row"].tolist())


def _collate(tokenizer):
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer)


def _stage(accelerator, model_path, tokenizer, encoded, label_names, callbacks, config, task):
    model_args, train_args = config["model"], config["train"]
    multi = task["multi_label"]

    def build_model():
        model, new_keys = build_classifier(
            model_path, label_names, model_args.dropout, multi, model_args.from_scratch
        )
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        return model, new_keys

    def eval_fn(model, dataloader):
        return scalar_metrics(evaluate_split(accelerator, model, dataloader, label_names, **task))

    weights = class_weights(
        train_args.class_weights, encoded["train"]["label"], len(label_names), multi
    )
    return build_stage(
        accelerator, train_args, build_model=build_model, train_dataset=encoded["train"],
        collate=_collate(tokenizer), loss_fn=ClassificationLoss(weights, multi), lora=config["lora"],
        eval_dataset=encoded["dev"] if train_args.eval_strategy != "no" else None, eval_fn=eval_fn,
        callbacks=callbacks, run_name="finetune", config=to_sections(config),
    )  # fmt: skip


def _save(
    stage, result: Result, tokenizer, model_path: str, label_names, config, inputs, rows
) -> None:
    from .io import save_finetuned

    model_args, data_args, train_args = config["model"], config["data"], config["train"]
    chunking = chunking_from(model_args)
    info = {
        "model": model_args.model, "label_names": label_names,
        "max_length": model_args.max_length, "dataset": getattr(data_args, "dataset", None),
        "from_scratch": model_args.from_scratch,
        "trainable_params": result.trainable_params, "total_params": result.total_params,
        "rows": rows,
        "task": result.metrics["dev"].get("task", "single-label"),
        "threshold": result.metrics["dev"].get("threshold"),
        "chunking": chunking.to_dict() if chunking else None,
    }  # fmt: skip
    extra = {k: v for k, v in result.to_dict().items() if k not in ("metrics", "output_dir")}
    logs = Path(train_args.checkpoint_folder() or "") / "logs"
    save_finetuned(
        train_args.out, stage.model, tokenizer, info=info,
        metrics={**result.metrics, "best_dev": stage.loop.state.best_metrics, **extra},
        history=result.history, config=config,
        extra_dirs={"logs": logs} if train_args.report_to != "none" else None,
        overwrite=train_args.overwrite, inputs=inputs,
    )  # fmt: skip
