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

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..config import to_sections
from ..data.checks import check_splits
from ..data.load import DataArgs, input_paths, load_data
from ..errors import ConfigError
from ..io import prepare_output
from ..models import check_max_length, load_tokenizer, local_model_path, resolve_model
from ..train.accel import eval_dataloader, make_accelerator
from ..train.args import LoraArgs, ModelArgs, TrainArgs
from ..train.lora import active_lora
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
        train_args: optimizer, schedule, batches, evaluation, checkpoints, ``out`` folder.
        lora_args: LoRA settings; LoRA is used when given with ``lora=True``.
        dataset: an already loaded (e.g. augmented) ``DatasetDict`` with train/dev/test.
        callbacks: extra ``textxfer.train.loop.Callback`` objects.

    Returns:
        ``Result`` with ``metrics`` {"test": ..., "dev": ...}, output folder, time, parameter
        counts and best step.
    """
    if dataset is None and data_args is None:
        raise ConfigError(
            "finetune needs data_args or dataset=; pass DataArgs('sst2') or a DatasetDict"
        )
    lora = active_lora(lora_args)
    inputs = [local_model_path(model_args.model), *(input_paths(data_args) if data_args else [])]
    if train_args.out is not None:  # refused before any work, not after training
        prepare_output(train_args.out, overwrite=train_args.overwrite, inputs=inputs)
    accelerator = make_accelerator(train_args)
    dataset = dataset if dataset is not None else load_data(data_args)
    label_names = check_splits(dataset)
    model_path = resolve_model(model_args.model)
    check_max_length(model_path, model_args.max_length)
    tokenizer = load_tokenizer(model_path)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token  # decoder-only models (GPT-2, Llama)
    with accelerator.main_process_first():
        encoded = encode(dataset, tokenizer, model_args.max_length, model_args.pad_to_max_length)
    config = {"model": model_args, "data": data_args, "train": train_args, "lora": lora}
    stage = _stage(accelerator, model_path, tokenizer, encoded, label_names, config, callbacks)
    fitted = stage.loop.fit()
    collate = _collate(tokenizer)
    metrics = {
        split: evaluate_split(
            accelerator, stage.loop.model,
            accelerator.prepare_data_loader(
                eval_dataloader(encoded[split], eval_batch_size(train_args), collate, train_args.num_workers)
            ),
            label_names,
        )
        for split in ("test", "dev")
    }  # fmt: skip
    result = stage.result(fitted, metrics, train_args.out, "lora" if lora else "full")
    if train_args.out is not None:
        save_on_main(
            accelerator,
            lambda: _save(stage, result, tokenizer, model_path, label_names, config, inputs),
        )
    return result


def _collate(tokenizer):
    from transformers import DataCollatorWithPadding

    return DataCollatorWithPadding(tokenizer)


def _stage(accelerator, model_path, tokenizer, encoded, label_names, config, callbacks):
    model_args, train_args = config["model"], config["train"]

    def build_model():
        model, new_keys = build_classifier(model_path, label_names, model_args.dropout)
        if model.config.pad_token_id is None:
            model.config.pad_token_id = tokenizer.pad_token_id
        return model, new_keys

    def eval_fn(model, dataloader):
        return scalar_metrics(evaluate_split(accelerator, model, dataloader, label_names))

    weights = class_weights(train_args.class_weights, encoded["train"]["label"], len(label_names))
    return build_stage(
        accelerator, train_args, build_model=build_model, train_dataset=encoded["train"],
        collate=_collate(tokenizer), loss_fn=ClassificationLoss(weights), lora=config["lora"],
        eval_dataset=encoded["dev"] if train_args.eval_strategy != "no" else None, eval_fn=eval_fn,
        callbacks=callbacks, run_name="finetune", config=to_sections(config),
    )  # fmt: skip


def _save(stage, result: Result, tokenizer, model_path: str, label_names, config, inputs) -> None:
    from .io import save_finetuned

    model_args, data_args, train_args = config["model"], config["data"], config["train"]
    info = {
        "model": model_args.model, "label_names": label_names,
        "max_length": model_args.max_length, "dataset": getattr(data_args, "dataset", None),
        "trainable_params": result.trainable_params, "total_params": result.total_params,
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
