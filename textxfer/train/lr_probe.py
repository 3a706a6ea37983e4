"""``lr: auto``: a short, seeded learning-rate probe on the dev split picks the rate.

Each candidate rate trains a fresh copy of the model from the run's seed (so every candidate sees
the same initial head and the same batches) for ``lr_probe_steps`` optimizer steps, with the run's
schedule shape over those steps, and is then scored on dev (at most ``PROBE_DEV_ROWS`` rows, a
fixed stratified sample). The best ``best_metric`` wins; ties go to the lower dev loss, then to the
smaller rate. The candidates default to the regime's rule value (``textxfer.train.defaults``)
times 0.3, 1 and 3. The table is logged, returned and recorded in the run's ``metrics.json``; the
run itself then starts again from its seed at the chosen rate.

>>> probe = probe_lr(train_args, "lora", score)     # doctest: +SKIP
>>> print(probe.format())                           # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from .defaults import DEFAULT_LR

if TYPE_CHECKING:
    from .args import TrainArgs

logger = logging.getLogger(__name__)

PROBE_FACTORS = (0.3, 1.0, 3.0)
PROBE_DEV_ROWS = 500

__all__ = ["PROBE_DEV_ROWS", "ProbeResult", "candidates", "probe_args", "probe_lr"]


@dataclass
class ProbeResult:
    """The probe's outcome: the chosen rate and one row per candidate."""

    chosen: float
    steps: int
    metric: str
    table: list[dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready (``metrics.json``'s ``lr_probe``)."""
        return dataclasses.asdict(self)

    def format(self) -> str:
        """The table as text, the chosen rate marked with ``*``."""
        lines = [f"lr probe: {self.steps} steps per rate, scored on dev {self.metric}"]
        lines.append(
            f"  {'lr':>9}  {'dev ' + self.metric:>14}  {'dev loss':>9}  {'train loss':>10}"
        )
        for row in self.table:
            mark = "*" if row["lr"] == self.chosen else " "
            train = row.get("train_loss")
            lines.append(
                f"{mark} {row['lr']:>9.3g}  {row[self.metric]:>14.4f}  {row['loss']:>9.4f}  "
                + (f"{train:>10.4f}" if train is not None else f"{'-':>10}")
            )
        lines.append(f"chosen lr: {self.chosen:g}")
        return "\n".join(lines)


def candidates(args: TrainArgs, regime: str) -> list[float]:
    """``lr_candidates``, else the regime's default rate x ``PROBE_FACTORS``."""
    if args.lr_candidates:
        return sorted(float(c) for c in args.lr_candidates)
    return [float(f"{DEFAULT_LR[regime] * f:.3g}") for f in PROBE_FACTORS]


def probe_args(args: TrainArgs, lr: float, steps: int) -> TrainArgs:
    """``args`` for one probe run: ``steps`` steps at ``lr``, no evaluation, nothing on disk."""
    return dataclasses.replace(
        args, lr=float(lr), max_steps=steps, eval_strategy="no", load_best=False,
        early_stopping_patience=None, save_strategy="no", resume=False, report_to="none",
        progress_bar=False, out=None, checkpoint_dir=None,
    )  # fmt: skip


def _key(row: dict[str, Any], metric: str, maximize: bool) -> tuple:
    value = float(row[metric])
    return (-value if maximize else value, float(row.get("loss", 0.0)), row["lr"])


def probe_lr(
    args: TrainArgs,
    regime: str,
    train_and_score: Callable[[TrainArgs], dict[str, Any]],
    total_steps: int | None = None,
) -> ProbeResult:
    """Train each candidate rate briefly and pick the best on dev.

    Args:
        args: the run's resolved settings (``lr`` may still be ``"auto"``).
        regime: ``full``, ``lora`` or ``scratch`` (the default candidates).
        train_and_score: trains a fresh model with the given probe settings and returns dev
            metrics (``best_metric`` and ``loss``; ``train_loss`` when known).
        total_steps: the run's own length; the probe never trains longer than it.

    Returns:
        A ``ProbeResult``; deterministic for a seed (each candidate starts from ``args.seed``).
    """
    steps = min(args.lr_probe_steps, total_steps or args.lr_probe_steps)
    metric = args.best_metric
    maximize = "loss" not in metric if args.best_mode == "auto" else args.best_mode == "max"
    table = []
    for lr in candidates(args, regime):
        scores = train_and_score(probe_args(args, lr, steps))
        if metric not in scores:
            raise ConfigError(
                f"lr auto scores rates by best_metric {metric!r}, which is not among the dev "
                f"metrics {sorted(scores)}; pass --best-metric with one of them"
            )
        row = {"lr": lr, metric: float(scores[metric]), "loss": float(scores["loss"])}
        if scores.get("train_loss") is not None:
            row["train_loss"] = float(scores["train_loss"])
        table.append(row)
        logger.info(
            "lr probe: lr %g -> dev %s %.4f, loss %.4f", lr, metric, row[metric], row["loss"]
        )
    best = min(table, key=lambda r: _key(r, metric, maximize))
    result = ProbeResult(chosen=best["lr"], steps=steps, metric=metric, table=table)
    logger.info("%s", result.format())
    return result
