"""A generic Accelerate training loop: any model, any loss, any evaluation; exact resume.

The loop knows nothing about the task. The caller brings a model, an optimizer, a training
``DataLoader`` (best built with ``textxfer.train.accel.train_dataloader``, whose order is a pure
function of seed and epoch), a ``loss_fn(model, batch) -> loss`` and optionally an evaluation set with
``eval_fn(model, dataloader) -> {metric: float}``. The loop does gradient accumulation, clipping,
mixed precision, the LR schedule (one step per optimizer step), evaluation every epoch or N steps,
best-model selection, early stopping, logging (``history``, trackers, tqdm) and checkpoints.

Exact resume: every checkpoint (``textxfer.train.checkpoint``: safetensors, JSON and a
``weights_only`` optimizer file, no pickles) holds model, optimizer, schedule and the loop's own
``LoopState`` (step, epoch, position in the epoch, best weights, early-stopping counter, history),
with a fingerprint of the data and settings that ``resume`` checks (``resume="force"`` skips the
check); on resume ``skip_first_batches`` jumps to the position in the epoch. Every micro-batch
runs under a seed derived from (seed, micro-step, process) — as fairseq does — so dropout, and any
randomness a ``loss_fn`` draws (e.g. MLM masking), is identical in a resumed and an uninterrupted
run without restoring random states. Keep collate functions deterministic: randomness drawn
there is not covered.

>>> loop = TrainLoop(accelerator, model, optimizer, train_dl, args, loss_fn=loss,
...                  eval_dataloader=dev_dl, eval_fn=evaluate)            # doctest: +SKIP
>>> result = loop.fit()                                                   # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import math
import os
import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .checkpoint import (  # noqa: F401 - latest_checkpoint and COMPLETE_FILE are used from here too
    COMPLETE_FILE,
    check_fingerprint,
    latest_checkpoint,
    read_checkpoint,
    step_folders,
    write_checkpoint,
)

if TYPE_CHECKING:
    import torch

    from .args import TrainArgs

logger = logging.getLogger(__name__)


class Callback:
    """Hooks of ``TrainLoop``; subclass and override what you need. ``loop`` is the running loop."""

    def on_train_begin(self, loop: TrainLoop) -> None: ...

    def on_step_begin(self, loop: TrainLoop) -> None:
        """Before every micro-batch (``loop.state.global_step`` optimizer steps are done)."""

    def on_step_end(self, loop: TrainLoop) -> None:
        """After every optimizer step, its logging, evaluation and checkpoint."""

    def on_evaluate(self, loop: TrainLoop, metrics: dict[str, float]) -> None: ...

    def on_train_end(self, loop: TrainLoop) -> None: ...


@dataclass
class LoopState:
    """Everything the loop needs to resume exactly; saved in every checkpoint."""

    global_step: int = 0
    micro_step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0
    train_seconds: float = 0.0
    best_value: float | None = None
    best_step: int | None = None
    best_metrics: dict | None = None
    best_weights: dict | None = None
    stop_value: float | None = None
    bad_evals: int = 0
    stopped_early: bool = False
    last_eval_step: int | None = None
    loss_sum: float = 0.0  # training loss of the micro-batches since the last log record
    loss_count: int = 0
    history: list = field(default_factory=list)

    def state_dict(self) -> dict[str, Any]:
        return asdict(self)

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for key, value in state.items():
            setattr(self, key, value)


@dataclass
class LoopResult:
    """What ``TrainLoop.fit`` returns."""

    global_step: int
    epochs: float
    best_step: int | None
    best_metrics: dict | None
    last_metrics: dict | None
    stopped_early: bool
    train_seconds: float
    history: list


def _mode(metric: str, mode: str) -> str:
    return ("min" if "loss" in metric else "max") if mode == "auto" else mode


def _improved(value: float, ref: float | None, mode: str, min_delta: float = 0.0) -> bool:
    if ref is None:
        return True
    return value > ref + min_delta if mode == "max" else value < ref - min_delta


def flat_config(sections: dict[str, dict]) -> dict[str, Any]:
    """``{section: {key: value}}`` -> ``{"section.key": scalar}`` for ``tracker_config``
    (TensorBoard's hparams refuse lists and None, so those become strings)."""
    return {
        f"{name}.{key}": value if isinstance(value, (int, float, str, bool)) else str(value)
        for name, values in sections.items()
        for key, value in values.items()
    }


class TrainLoop:
    """Train ``model`` with Accelerate; see the module docstring for the contract.

    Args:
        accelerator: the ``accelerate.Accelerator`` (mixed precision, accumulation, trackers).
        model, optimizer, train_dataloader: not yet prepared; the loop prepares them.
        args: a ``TrainArgs`` (epochs/max_steps, eval, best, early stopping, checkpoints, ...).
        loss_fn: ``loss_fn(model, batch) -> scalar tensor`` (mean over the micro-batch).
        eval_dataloader: evaluation set (prepared here), e.g. dev.
        eval_fn: ``eval_fn(model, dataloader) -> {name: float}``; must gather across processes
            (``accelerator.gather_for_metrics``) so every rank returns the same numbers.
        make_scheduler: ``make_scheduler(optimizer, total_steps)``; default from ``args``.
        callbacks: ``Callback`` objects (e.g. ``optim.GradualUnfreezing``).
        checkpoint_dir: folder of ``step-N`` checkpoints (needed for save_strategy and resume).
        run_name, tracker_config: passed to ``accelerator.init_trackers`` when trackers are on.
        fingerprint: ``() -> {name: value}`` of what determines the run (data hashes, settings);
            stored in every checkpoint and compared on resume (computed only when needed).
    """

    def __init__(
        self,
        accelerator,
        model: torch.nn.Module,
        optimizer: torch.optim.Optimizer,
        train_dataloader,
        args: TrainArgs,
        *,
        loss_fn: Callable,
        eval_dataloader=None,
        eval_fn: Callable | None = None,
        make_scheduler: Callable | None = None,
        callbacks: Sequence[Any] = (),
        checkpoint_dir: str | os.PathLike | None = None,
        run_name: str = "textxfer",
        tracker_config: dict | None = None,
        fingerprint: Callable[[], dict] | None = None,
    ) -> None:
        from .defaults import is_resolved
        from .optim import build_scheduler

        if not is_resolved(args):
            raise ConfigError(
                f"TrainLoop needs concrete settings, found lr={args.lr!r}, epochs={args.epochs!r}, "
                f"warmup_ratio={args.warmup_ratio!r}, eval_strategy={args.eval_strategy!r}; fill "
                "them with textxfer.train.defaults.resolve_train_args (build_stage does)"
            )
        if args.eval_strategy != "no" and (eval_dataloader is None or eval_fn is None):
            raise ConfigError(
                f"eval_strategy {args.eval_strategy!r} needs an evaluation set and eval_fn; "
                "pass them or set --eval-strategy no"
            )
        if (args.save_strategy != "no" or args.resume) and checkpoint_dir is None:
            raise ConfigError(
                "checkpoints (save_strategy / resume) need a folder; pass --out or --checkpoint-dir"
            )
        self.accelerator, self.args, self.loss_fn, self.eval_fn = (
            accelerator,
            args,
            loss_fn,
            eval_fn,
        )
        self.callbacks = list(callbacks)
        self.checkpoint_dir = Path(checkpoint_dir) if checkpoint_dir else None
        self.run_name, self.tracker_config = run_name, tracker_config or {}
        self.train_dataloader = accelerator.prepare_data_loader(train_dataloader)
        self.eval_dataloader = (
            accelerator.prepare_data_loader(eval_dataloader) if eval_dataloader else None
        )
        accum = accelerator.gradient_accumulation_steps
        self.steps_per_epoch = max(1, math.ceil(len(self.train_dataloader) / accum))
        self.total_steps = args.max_steps or args.epochs * self.steps_per_epoch
        make_scheduler = make_scheduler or (lambda opt, n: build_scheduler(opt, args, n))
        self.scheduler = make_scheduler(optimizer, self.total_steps)
        # The scheduler is stepped by hand (once per optimizer step), not prepared (Accelerate
        # would step it num_processes times); checkpoints hold its state as JSON.
        self.model, self.optimizer = accelerator.prepare(model, optimizer)
        self.state = LoopState()
        self._fingerprint_fn, self._fingerprint = fingerprint, None
        self._snapshot_ids = {id(p) for g in optimizer.param_groups for p in g["params"]}
        self._grad_norm = None
        self._pending_loss = 0.0  # tensor sum of micro-batch losses not yet in state.loss_sum

    # ----------------------------------------------------------------- public
    def fit(self) -> LoopResult:
        """Train until ``total_steps`` or early stopping; returns a ``LoopResult``."""
        if self.args.resume:
            self.resume()
        self._init_trackers()
        self._callback("on_train_begin")
        bar = self._progress_bar()
        start = time.perf_counter() - self.state.train_seconds
        self.model.train()
        while not self._finished():
            self._run_epoch(bar)
            self.state.train_seconds = time.perf_counter() - start
        if self.args.eval_strategy != "no" and self.state.last_eval_step != self.state.global_step:
            self.evaluate()
        self.state.train_seconds = time.perf_counter() - start
        bar.close()
        if self.args.load_best and self.state.best_weights is not None:
            self._restore_best()
        self._callback("on_train_end")
        return self._result()

    def evaluate(self) -> dict[str, float]:
        """Run ``eval_fn`` on the evaluation set, update best / early stopping, log it."""
        import torch

        self.model.eval()
        with torch.no_grad():
            metrics = dict(self.eval_fn(self.model, self.eval_dataloader))
        self.model.train()
        self.state.last_eval_step = self.state.global_step
        self._track_best(metrics)
        self._log({"split": "eval", **metrics})
        self._callback("on_evaluate", metrics)
        return metrics

    @property
    def fingerprint(self) -> dict | None:
        """What determines this run (from the ``fingerprint`` callable), computed once."""
        if self._fingerprint is None and self._fingerprint_fn is not None:
            self._fingerprint = dict(self._fingerprint_fn())
        return self._fingerprint

    def resume(self) -> Path | None:
        """Load the latest complete checkpoint of ``checkpoint_dir``; None (and a warning) when
        there is none.

        Raises:
            ConfigError: the checkpoint was made with other data or settings (unless
                ``args.resume`` is ``"force"``).
        """
        path = latest_checkpoint(self.checkpoint_dir)
        if path is None:
            logger.warning(
                "resume: no checkpoint in %s; starting from scratch", self.checkpoint_dir
            )
            return None
        check_fingerprint(path, self.fingerprint, force=self.args.resume == "force")
        acc = self.accelerator
        self.state.load_state_dict(
            read_checkpoint(
                path, model=acc.unwrap_model(self.model), optimizer=self.optimizer,
                scheduler=self.scheduler, scaler=getattr(acc, "scaler", None),
            )
        )  # fmt: skip
        logger.info("resumed from %s (step %d)", path, self.state.global_step)
        return path

    def save_checkpoint(self) -> Path:
        """Write ``step-N`` (see the module docstring): a temp folder, then one rename."""
        acc, step = self.accelerator, self.state.global_step
        final = self.checkpoint_dir / f"step-{step:08d}"
        tmp = self.checkpoint_dir / f".step-{step:08d}.tmp"
        # Only the main process's LoopState is saved: make the one per-rank field rank-agnostic
        # (the mean over ranks of the pending loss sums gives the same logged mean).
        self._fold_loss()
        self.state.loss_sum = float(acc.reduce(self._tensor(self.state.loss_sum), reduction="mean"))
        fingerprint = self.fingerprint
        if acc.is_main_process:
            if tmp.exists():
                shutil.rmtree(tmp)
            tmp.mkdir(parents=True)
            write_checkpoint(
                tmp, model=acc.unwrap_model(self.model), optimizer=self.optimizer,
                scheduler=self.scheduler, scaler=getattr(acc, "scaler", None),
                state=self.state.state_dict(), fingerprint=fingerprint,
            )  # fmt: skip
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
            self._prune_checkpoints()
        acc.wait_for_everyone()
        return final

    # ---------------------------------------------------------------- stepping
    def _run_epoch(self, bar) -> None:
        acc, state = self.accelerator, self.state
        self.train_dataloader.set_epoch(state.epoch)
        loader = self.train_dataloader
        if state.batch_in_epoch:
            loader = acc.skip_first_batches(loader, state.batch_in_epoch)
            loader.set_epoch(state.epoch)
        try:
            for batch in loader:
                if self._train_micro_batch(batch):
                    bar.update(1)
                    self._after_optimizer_step(bar)
                    if self._finished():
                        return
        finally:
            if hasattr(loader, "end"):  # leave Accelerate's gradient state clean on early exit
                loader.end()
        state.epoch += 1
        state.batch_in_epoch = 0
        if self.args.eval_strategy == "epoch" and state.last_eval_step != state.global_step:
            self.evaluate()
        if self.args.save_strategy == "epoch" and not self._finished():
            self.save_checkpoint()

    def _train_micro_batch(self, batch) -> bool:
        """Forward/backward one micro-batch; True when an optimizer step happened."""
        from accelerate.utils import set_seed

        acc, state = self.accelerator, self.state
        set_seed(
            (self.args.seed * 1_000_003 + state.micro_step * 10_007 + acc.process_index * 7_919)
            % 2**31
        )
        self._callback("on_step_begin")
        with acc.accumulate(self.model):
            loss = self.loss_fn(self.model, batch)
            acc.backward(loss)
            stepped = acc.sync_gradients
            if stepped and self.args.max_grad_norm:
                self._grad_norm = acc.clip_grad_norm_(
                    self.model.parameters(), self.args.max_grad_norm
                )
            self.optimizer.step()
            if stepped and not self.optimizer.step_was_skipped:
                self.scheduler.step()
            self.optimizer.zero_grad()
        self._pending_loss = self._pending_loss + loss.detach()  # no device sync per step
        state.loss_count += 1
        state.micro_step += 1
        state.batch_in_epoch += 1
        if stepped:
            state.global_step += 1
        return stepped

    def _after_optimizer_step(self, bar) -> None:
        args, step = self.args, self.state.global_step
        if step % args.logging_steps == 0 or step == self.total_steps:
            self._log_training(bar)
        if args.eval_strategy == "steps" and step % args.eval_steps == 0:
            self.evaluate()
        if args.save_strategy == "steps" and step % args.save_steps == 0:
            self.save_checkpoint()
        self._callback("on_step_end")

    def _fold_loss(self) -> None:
        self.state.loss_sum += float(self._pending_loss)
        self._pending_loss = 0.0

    def _log_training(self, bar) -> None:
        self._fold_loss()
        state = self.state
        mean = self._tensor(state.loss_sum / max(1, state.loss_count))
        loss = float(self.accelerator.reduce(mean, reduction="mean"))
        state.loss_sum, state.loss_count = 0.0, 0
        record = {"split": "train", "loss": loss, "lr": float(self.scheduler.get_last_lr()[-1])}
        if self._grad_norm is not None:
            record["grad_norm"] = float(self._grad_norm)
        self._log(record)
        bar.set_postfix(loss=f"{loss:.4f}")

    def _tensor(self, value: float):
        import torch

        return torch.tensor(value, dtype=torch.float64, device=self.accelerator.device)

    def _finished(self) -> bool:
        return self.state.stopped_early or self.state.global_step >= self.total_steps

    # ------------------------------------------------------ best and stopping
    def _track_best(self, metrics: dict[str, float]) -> None:
        args, state = self.args, self.state
        best_name = args.best_metric
        stop_name = args.early_stopping_metric or best_name
        for name in {best_name, stop_name}:
            if name not in metrics:
                raise ConfigError(
                    f"metric {name!r} (best_metric / early_stopping_metric) is not among the "
                    f"evaluation metrics {sorted(metrics)}; pass one of them"
                )
        value = float(metrics[best_name])
        if _improved(value, state.best_value, _mode(best_name, args.best_mode)):
            state.best_value, state.best_step = value, state.global_step
            state.best_metrics = dict(metrics)
            if args.load_best:
                state.best_weights = self._snapshot()
        if args.early_stopping_patience is None:
            return
        value = float(metrics[stop_name])
        mode = _mode(stop_name, args.early_stopping_mode)
        if _improved(value, state.stop_value, mode, args.early_stopping_min_delta):
            state.stop_value, state.bad_evals = value, 0
        else:
            state.bad_evals += 1
            if state.bad_evals >= args.early_stopping_patience:
                state.stopped_early = True
                logger.info("early stopping at step %d (%s)", state.global_step, stop_name)

    def _snapshot(self) -> dict:
        """CPU copies of every parameter the optimizer can change (frozen ones never do)."""
        model = self.accelerator.unwrap_model(self.model)
        return {
            n: p.detach().to("cpu", copy=True)
            for n, p in model.named_parameters()
            if id(p) in self._snapshot_ids
        }

    def _restore_best(self) -> None:
        import torch

        model = self.accelerator.unwrap_model(self.model)
        params = dict(model.named_parameters())
        with torch.no_grad():
            for name, value in self.state.best_weights.items():
                params[name].copy_(value.to(params[name].device))
        logger.info("restored the best weights (step %s)", self.state.best_step)

    # ---------------------------------------------------------------- logging
    def _log(self, record: dict[str, Any]) -> None:
        state = self.state
        epoch = state.epoch + state.batch_in_epoch / max(1, len(self.train_dataloader))
        record = {"step": state.global_step, "epoch": round(epoch, 4), **record}
        state.history.append(record)
        if self.accelerator.trackers:
            split = record["split"]
            scalars = {
                f"{split}/{k}": v
                for k, v in record.items()
                if isinstance(v, (int, float)) and k not in ("step", "split")
            }
            self.accelerator.log(scalars, step=state.global_step)
        logger.info("%s", json.dumps(record))

    def _init_trackers(self) -> None:
        if self.accelerator.log_with:
            self.accelerator.init_trackers(self.run_name, config=self.tracker_config)

    def _progress_bar(self):
        from ..console import progress

        show = self.args.progress_bar and self.accelerator.is_local_main_process
        return progress(
            total=self.total_steps, initial=self.state.global_step, enabled=show, desc="train"
        )

    def _callback(self, hook: str, *extra: Any) -> None:
        for cb in self.callbacks:
            method = getattr(cb, hook, None)
            if method is not None:
                method(self, *extra)

    def _prune_checkpoints(self) -> None:
        limit = self.args.save_total_limit
        found = step_folders(self.checkpoint_dir)
        for _, path in found[: max(0, len(found) - limit)] if limit else []:
            shutil.rmtree(path, ignore_errors=True)

    def _result(self) -> LoopResult:
        state = self.state
        evals = [r for r in state.history if r["split"] == "eval"]
        return LoopResult(
            global_step=state.global_step,
            epochs=round(state.global_step / self.steps_per_epoch, 4),
            best_step=state.best_step,
            best_metrics=state.best_metrics,
            last_metrics=evals[-1] if evals else None,
            stopped_early=state.stopped_early,
            train_seconds=state.train_seconds,
            history=list(state.history),
        )
