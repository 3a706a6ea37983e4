"""Fine-tune any ``AutoModelForSequenceClassification``, fully or with LoRA, in one Accelerate loop.

``finetune`` loads the data (or takes a ``DatasetDict``), tokenizes it, builds the model (seeded),
optionally wraps it in a LoRA adapter, trains it with ``textxfer.loop.TrainLoop`` and evaluates
dev and test with ``textxfer.metrics.evaluate``. It runs unchanged in one process, under
``torchrun --nproc_per_node N`` and under ``accelerate launch``.

>>> from textxfer.data import DataArgs
>>> from textxfer.finetune import finetune
>>> from textxfer.train.args import LoraArgs, ModelArgs, TrainArgs
>>> result = finetune(ModelArgs("default"), DataArgs("sst2", limit=200),
...                   TrainArgs(epochs=1, out="runs/sst2-lora"), LoraArgs(lora=True))  # doctest: +SKIP
>>> result.metrics["test"]["accuracy"]                                               # doctest: +SKIP
0.81
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..train.accel import eval_dataloader, make_accelerator, train_dataloader
from .task import (
    ClassificationLoss,
    build_classifier,
    check_splits,
    class_weights,
    encode,
    evaluate_split,
    gather_predictions,
    scalar_metrics,
)
from ..config import ConfigError
from ..data.load import DataArgs, load_data
from ..train.loop import TrainLoop, flat_config
from ..models import load_tokenizer, resolve_model
from ..train.args import LoraArgs, ModelArgs, TrainArgs

logger = logging.getLogger(__name__)

_flat_config = flat_config  # older name, still imported by textxfer.adapt.run

__all__ = ["Result", "finetune", "gather_predictions", "make_accelerator"]


@dataclass
class Result:
    """What ``finetune`` returns (also written to ``<out>/metrics.json``)."""

    metrics: dict[str, dict]  # {"test": evaluate(...), "dev": evaluate(...)}, each with "loss"
    output_dir: str | None
    train_seconds: float
    trainable_params: int
    total_params: int
    best_step: int | None
    global_step: int
    epochs: float
    stopped_early: bool
    method: str
    history: list[dict]

    def to_dict(self) -> dict[str, Any]:
        """Everything but the history, JSON-ready."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "history"}


@dataclass
class _Run:
    """The pieces of one fine-tuning run that the steps below share."""

    model_args: ModelArgs
    data_args: DataArgs | None
    train_args: TrainArgs
    lora_args: LoraArgs | None
    accelerator: Any
    tokenizer: Any
    encoded: Any  # tokenized DatasetDict
    label_names: list[str]
    model_path: str

    def config(self) -> dict[str, dict]:
        """Resolved config by section, as ``config.yaml`` (re-usable with ``--config``)."""
        sections = {
            "model": self.model_args,
            "data": self.data_args,
            "train": self.train_args,
            "lora": self.lora_args,
        }
        return {k: dataclasses.asdict(v) for k, v in sections.items() if v is not None}

    def collate(self):
        from transformers import DataCollatorWithPadding

        return DataCollatorWithPadding(self.tokenizer)

    def eval_loader(self, split: str):
        args = self.train_args
        batch = args.eval_batch_size or 2 * args.batch_size
        return eval_dataloader(self.encoded[split], batch, self.collate(), args.num_workers)


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
        callbacks: extra ``textxfer.loop.Callback`` objects.

    Returns:
        ``Result`` with dev/test metrics, output folder, time, parameter counts and best step.
    """
    if dataset is None and data_args is None:
        raise ConfigError(
            "finetune needs data_args or dataset=; pass DataArgs('sst2') or a DatasetDict"
        )
    lora_args = lora_args if lora_args is not None and lora_args.lora else None
    run = _prepare(model_args, data_args, train_args, lora_args, dataset)
    weights = class_weights(
        train_args.class_weights, run.encoded["train"]["label"], len(run.label_names)
    )
    model, optimizer, (trainable, total), extra_callbacks = _build_model(run)
    loop = _make_loop(run, model, optimizer, weights, [*extra_callbacks, *callbacks])
    method = "lora" if lora_args else "full"
    logger.info("training %s: %d of %d parameters trainable", method, trainable, total)
    fitted = loop.fit()
    metrics = {
        split: evaluate_split(
            run.accelerator,
            loop.model,
            run.accelerator.prepare_data_loader(run.eval_loader(split)),
            run.label_names,
        )
        for split in ("test", "dev")
    }
    result = Result(
        metrics=metrics,
        output_dir=train_args.out,
        train_seconds=round(fitted.train_seconds, 3),
        trainable_params=trainable,
        total_params=total,
        best_step=fitted.best_step,
        global_step=fitted.global_step,
        epochs=fitted.epochs,
        stopped_early=fitted.stopped_early,
        method=method,
        history=fitted.history,
    )
    # Flush trackers before their files are copied into the output. Not end_training(): it
    # destroys the process group, which belongs to the launcher (finetune may run again).
    for tracker in run.accelerator.trackers:
        tracker.finish()
    if train_args.out:
        _save(run, loop, result)
    return result


def _prepare(model_args, data_args, train_args, lora_args, dataset) -> _Run:
    accelerator = make_accelerator(train_args, find_unused_parameters=train_args.gradual_unfreeze)
    dataset = dataset if dataset is not None else load_data(data_args)
    label_names = check_splits(dataset)
    model_path = resolve_model(model_args.model)
    tokenizer = load_tokenizer(model_path)
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token  # decoder-only models (GPT-2, Llama)
    with accelerator.main_process_first():
        encoded = encode(dataset, tokenizer, model_args.max_length, model_args.pad_to_max_length)
    return _Run(
        model_args,
        data_args,
        train_args,
        lora_args,
        accelerator,
        tokenizer,
        encoded,
        label_names,
        model_path,
    )


def _build_model(run: _Run):
    """Seeded model (+ LoRA), freezing, optimizer; returns it with counts and callbacks."""
    from accelerate.utils import set_seed

    from ..train.lora import apply_lora, count_parameters
    from ..train.optim import GradualUnfreezing, build_optimizer, freeze, param_groups

    args = run.train_args
    set_seed(args.seed)  # before the model: the new head's init depends on it
    model, new_keys = build_classifier(run.model_path, run.label_names, run.model_args.dropout)
    if model.config.pad_token_id is None:
        model.config.pad_token_id = run.tokenizer.pad_token_id
    if run.lora_args is not None:
        model = apply_lora(model, run.lora_args, new_keys)
    freeze(model, args.freeze_embeddings, args.freeze_layers)
    counts = count_parameters(model)
    # built before the optimizer: it records which parameters may ever train
    callbacks = [GradualUnfreezing(model, args.unfreeze_every)] if args.gradual_unfreeze else []
    optimizer = build_optimizer(param_groups(model, args), args)
    return model, optimizer, counts, callbacks


def _make_loop(run: _Run, model, optimizer, weights, callbacks) -> TrainLoop:
    args, accelerator = run.train_args, run.accelerator
    train = run.encoded["train"]
    train_dl = train_dataloader(
        train,
        args.batch_size,
        run.collate(),
        args.seed,
        lengths=[len(x) for x in train["input_ids"]] if args.group_by_length else None,
        group_size=args.batch_size * accelerator.num_processes,  # same order for any world size
        num_workers=args.num_workers,
    )

    def eval_fn(model, dataloader):
        return scalar_metrics(evaluate_split(accelerator, model, dataloader, run.label_names))

    return TrainLoop(
        accelerator,
        model,
        optimizer,
        train_dl,
        args,
        loss_fn=ClassificationLoss(weights),
        eval_dataloader=run.eval_loader("dev") if args.eval_strategy != "no" else None,
        eval_fn=eval_fn,
        callbacks=callbacks,
        checkpoint_dir=args.checkpoint_folder(),
        run_name="finetune",
        tracker_config=flat_config(run.config()),
    )


def _save(run: _Run, loop: TrainLoop, result: Result) -> None:
    """Main process writes the output folder; the others wait for it."""
    from .io import save_finetuned

    accelerator, args = run.accelerator, run.train_args
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        info = {
            "base_model": run.model_path,
            "model": run.model_args.model,
            "label_names": run.label_names,
            "max_length": run.model_args.max_length,
            "dataset": getattr(run.data_args, "dataset", None),
            "trainable_params": result.trainable_params,
            "total_params": result.total_params,
        }
        extra = {k: v for k, v in result.to_dict().items() if k not in ("metrics", "output_dir")}
        logs = Path(args.checkpoint_folder() or "") / "logs"
        save_finetuned(
            args.out,
            accelerator.unwrap_model(loop.model),
            run.tokenizer,
            info=info,
            metrics={**result.metrics, "best_dev": loop.state.best_metrics, **extra},
            history=result.history,
            config=run.config(),
            extra_dirs={"logs": logs} if args.report_to != "none" else None,
        )
    accelerator.wait_for_everyone()
