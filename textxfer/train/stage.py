"""The set-up every training stage shares: fine-tuning (``textxfer.finetune``) and masked-LM
adaptation (``textxfer.adapt``) differ only in their model, data, loss and evaluation.

``build_stage`` seeds, builds the model, adds LoRA, freezes, makes the optimiser (and the gradual
unfreezing callback), the resumable dataloaders and the ``TrainLoop``; ``save_on_main`` flushes
trackers and writes the output on the main process while the others wait. Both stages return a
``Result``.

>>> stage = build_stage(accelerator, train_args, build_model=lambda: (model, []),
...                     train_dataset=ds, collate=collate, loss_fn=loss)     # doctest: +SKIP
>>> fitted = stage.loop.fit()                                               # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .args import LoraArgs, TrainArgs
    from .loop import TrainLoop

logger = logging.getLogger(__name__)

__all__ = [
    "Result",
    "Stage",
    "build_stage",
    "dataset_hash",
    "eval_batch_size",
    "run_fingerprint",
    "save_on_main",
]


@dataclass
class Result:
    """What a training stage returns (``finetune``, ``adapt``); ``metrics.json`` holds ``metrics``."""

    method: str  # full | lora
    metrics: dict[str, Any]
    output_dir: str | None
    train_seconds: float
    trainable_params: int
    total_params: int
    global_step: int
    epochs: float
    best_step: int | None
    stopped_early: bool
    history: list[dict]
    # settings the defaults rule filled in ({field: {value, rule}}) and the lr probe, if any
    settings: dict[str, Any] = dataclasses.field(default_factory=dict)
    processes: int = 1  # the world size it trained with (shown, so a lone process is seen)

    def to_dict(self) -> dict[str, Any]:
        """Everything but the history, JSON-ready."""
        return {k: v for k, v in dataclasses.asdict(self).items() if k != "history"}


@dataclass
class Stage:
    """A built training stage: the accelerator, the loop (with the prepared model) and counts."""

    accelerator: Any
    loop: TrainLoop
    trainable_params: int
    total_params: int
    new_keys: list[str]
    args: TrainArgs | None = None  # the settings the loop runs with (defaults filled in)

    @property
    def model(self):
        """The unwrapped model (no DDP or compile wrapper)."""
        return self.accelerator.unwrap_model(self.loop.model)

    def result(self, fitted, metrics: dict, output_dir: str | None, method: str) -> Result:
        """A ``Result`` from the loop's ``LoopResult`` and the stage's metrics."""
        return Result(
            method=method, metrics=metrics, output_dir=output_dir,
            train_seconds=round(fitted.train_seconds, 3), trainable_params=self.trainable_params,
            total_params=self.total_params, global_step=fitted.global_step, epochs=fitted.epochs,
            best_step=fitted.best_step, stopped_early=fitted.stopped_early, history=fitted.history,
            processes=self.accelerator.num_processes,
        )  # fmt: skip


def dataset_hash(dataset) -> str:
    """sha256 (16 hex digits) of every column of a tokenized dataset, in row order; a dataset of
    another kind (e.g. sentence pairs) says what its content is with ``content_hash()``."""
    if hasattr(dataset, "content_hash"):
        return dataset.content_hash()
    digest = hashlib.sha256()
    for column in sorted(dataset.column_names):
        digest.update(column.encode())
        digest.update(json.dumps(dataset[column][:], default=str).encode())
    return digest.hexdigest()[:16]


def run_fingerprint(
    config: dict[str, Any] | None, datasets: dict[str, Any], world_size: int
) -> dict:
    """What determines a training run: its settings by ``section.field`` (less the fields marked
    ``neutral``, e.g. ``out`` or ``progress_bar``, and the ``data`` section, whose effect the data
    hashes cover), a hash of each dataset, and the number of processes (the global batch)."""
    from .args import TrainArgs

    neutral = {f.name for f in dataclasses.fields(TrainArgs) if f.metadata.get("neutral")}
    found: dict[str, Any] = {"world_size": world_size}
    for section, values in (config or {}).items():
        if section != "data" and isinstance(values, dict):
            found.update({f"{section}.{k}": v for k, v in values.items() if k not in neutral})
    found.update(
        {f"data.{name}": dataset_hash(ds) for name, ds in datasets.items() if ds is not None}
    )
    return json.loads(json.dumps(found, default=str))  # as it reads back from checkpoint.json


def eval_batch_size(args: TrainArgs) -> int:
    """``eval_batch_size``, else twice the training batch size."""
    return args.eval_batch_size or 2 * args.batch_size


def build_stage(
    accelerator,
    args: TrainArgs,
    *,
    build_model: Callable[[], tuple[Any, list[str]]],
    train_dataset,
    collate: Callable,
    loss_fn: Callable,
    lora: LoraArgs | None = None,
    lora_task: str = "seq_cls",
    eval_dataset=None,
    eval_fn: Callable | None = None,
    callbacks: Sequence[Any] = (),
    run_name: str = "textxfer",
    config: dict[str, Any] | None = None,
    own_lr: Callable[[Any], dict[str, float]] | None = None,
) -> Stage:
    """Seeded model (+ LoRA), freezing, optimiser, dataloaders and the ``TrainLoop``.

    Args:
        accelerator: from ``textxfer.train.accel.make_accelerator(args)``.
        args: the loop settings; unset ones (null lr, epochs, ...) are filled by the defaults
            rule for full or LoRA training (``textxfer.train.defaults``) unless the caller
            resolved them already (``finetune`` does, knowing its regime).
        build_model: ``() -> (model, new_keys)``, called after seeding (a new head's init
            depends on the seed); ``new_keys`` are parameters the checkpoint did not provide.
        train_dataset: tokenized rows with ``input_ids``.
        collate: the batch collate function (deterministic: see ``TrainLoop``).
        loss_fn: ``loss_fn(model, batch) -> loss``.
        lora: LoRA settings, or None for full training.
        lora_task: ``seq_cls`` or ``mlm`` (how the head trains under LoRA).
        eval_dataset, eval_fn: the evaluation set and ``eval_fn(model, dataloader) -> metrics``.
        callbacks: extra ``textxfer.train.loop.Callback`` objects.
        run_name, config: tracker run name and the config logged with it.
        own_lr: ``own_lr(model) -> {parameter name: lr}`` for parameters that train at a rate of
            their own (``optim.param_groups``), called on the built model.
    """
    from accelerate.utils import set_seed

    from .accel import eval_dataloader, train_dataloader
    from .defaults import is_resolved, resolve_train_args
    from .loop import TrainLoop, flat_config
    from .lora import apply_lora, count_parameters
    from .optim import GradualUnfreezing, build_optimizer, freeze, param_groups

    if not is_resolved(args):
        regime = "full" if lora is None else "lora"
        args, _ = resolve_train_args(args, regime, len(train_dataset), accelerator.num_processes)
    set_seed(args.seed)
    model, new_keys = build_model()
    if lora is not None:
        model = apply_lora(model, lora, new_keys, task=lora_task)
    freeze(model, args.freeze_embeddings, args.freeze_layers)
    trainable, total = count_parameters(model)
    # built before the optimizer: it records which parameters may ever train
    unfreezer = [GradualUnfreezing(model, args.unfreeze_every)] if args.gradual_unfreeze else []
    optimizer = build_optimizer(param_groups(model, args, own_lr(model) if own_lr else None), args)
    lengths = [len(x) for x in train_dataset["input_ids"]] if args.group_by_length else None
    train_dl = train_dataloader(
        train_dataset, args.batch_size, collate, args.seed, lengths=lengths,
        group_size=args.batch_size * accelerator.num_processes,  # same order for any world size
        num_workers=args.num_workers,
    )  # fmt: skip
    eval_dl = None
    if eval_dataset is not None:
        eval_dl = eval_dataloader(eval_dataset, eval_batch_size(args), collate, args.num_workers)
    loop = TrainLoop(
        accelerator, model, optimizer, train_dl, args, loss_fn=loss_fn,
        eval_dataloader=eval_dl, eval_fn=eval_fn, callbacks=[*unfreezer, *callbacks],
        checkpoint_dir=args.checkpoint_folder(), run_name=run_name,
        tracker_config=flat_config(config or {}),
        fingerprint=lambda: run_fingerprint(
            config, {"train": train_dataset, "eval": eval_dataset}, accelerator.num_processes
        ),
    )  # fmt: skip
    logger.info(
        "%s: %d process(es) (%s), %d of %d parameters trainable", run_name,
        accelerator.num_processes, accelerator.distributed_type.value, trainable, total,
    )  # fmt: skip
    return Stage(accelerator, loop, trainable, total, list(new_keys), args)


def save_on_main(accelerator, save: Callable[[], Any]) -> None:
    """Flush trackers, then run ``save()`` on the main process while the others wait.

    Not ``end_training()``: it destroys the process group, and a stage may run again in the same
    process; ``make_accelerator`` has the group destroyed when the process exits.
    """
    for tracker in accelerator.trackers:
        tracker.finish()
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        save()
    accelerator.wait_for_everyone()
