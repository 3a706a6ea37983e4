"""Config dataclasses of fine-tuning: which model, how to train, and the LoRA adapter.

One dataclass per concern, every field with a default and a one-line help; the CLI flags and the
YAML presets in ``recipes/configs/`` come from these fields (see ``textxfer.config``).

>>> from textxfer.train.args import ModelArgs, TrainArgs, LoraArgs
>>> TrainArgs(optimizer="sgd", momentum=0.9, nesterov=True).optimizer
'sgd'
"""

from __future__ import annotations

from dataclasses import dataclass

from ..chunking import (
    AGGREGATION_HELP,
    STRIDE_HELP,
    THRESHOLD_HELP,
    WINDOW_HELP,
    check_chunk_options,
    check_threshold,
)
from ..config import FALSE, TRUE, Args, field
from ..errors import ConfigError

OPTIMIZERS = ("adamw", "sgd")
SCHEDULERS = ("linear", "cosine", "constant")
PRECISIONS = ("no", "fp16", "bf16")
EVAL_STRATEGIES = ("epoch", "steps", "no")
LR_AUTO = "auto"
MODES = ("auto", "max", "min")
TRACKERS = ("none", "tensorboard", "wandb", "mlflow", "comet_ml", "aim", "clearml", "dvclive")
LORA_BIAS = ("none", "all", "lora_only")
RESUME = (False, True, "force")
# Fields that never change what a run computes (only where it writes, logs or how it shows
# progress): a checkpoint made with other values of these is resumed without a word.
NEUTRAL = {"neutral": True}
PER_RUN = {"per_run": True, "neutral": True}


def _choice(name: str, value: object, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ConfigError(
            f"{name} must be one of {list(choices)}, found {value!r}; "
            f"e.g. --{name.replace('_', '-')} {choices[0]}"
        )


def _at_least(name: str, value: float | None, low: float, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if value is None or value < low:
        extra = " or null" if allow_none else ""
        raise ConfigError(
            f"{name} must be >= {low}{extra}, found {value!r}; pass --{name.replace('_', '-')} "
            f"with a value >= {low}"
        )


def _resume_value(value: bool | str) -> bool | str:
    """``resume`` as True, False or "force" (flag strings such as "yes" accepted)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text == "force":
        return "force"
    if text in TRUE + FALSE:
        return text in TRUE
    raise ConfigError(
        f"resume must be true, false or force, found {value!r}; --resume force continues a "
        "checkpoint even when the data or settings differ from it"
    )


@dataclass
class ModelArgs(Args):
    """Which pretrained model to fine-tune and how inputs are cut."""

    model: str = field(
        "default", help="'default' (offline all-MiniLM-L6-v2), a local folder or a Hub id"
    )
    max_length: int = field(128, help="truncate texts to this many tokens (without chunk_window)")
    pad_to_max_length: bool = field(
        False, help="pad every text to max_length (fixed shapes) instead of per batch"
    )
    dropout: float | None = field(
        None, help="set every dropout probability of the model config (null: keep the model's)"
    )
    chunk_window: int | None = field(None, help=WINDOW_HELP)
    chunk_stride: int | None = field(None, help=STRIDE_HELP)
    chunk_aggregation: str = field("mean", help=AGGREGATION_HELP)
    threshold: float | None = field(None, help=THRESHOLD_HELP)
    from_scratch: bool = field(
        False, help="same architecture and tokenizer, random initial weights (no pretraining)"
    )

    def validate(self) -> None:
        _at_least("max_length", self.max_length, 2)
        check_chunk_options(self.chunk_window, self.chunk_stride, self.chunk_aggregation)
        check_threshold(self.threshold)
        if self.dropout is not None and not 0.0 <= float(self.dropout) < 1.0:
            raise ConfigError(
                f"dropout must be in [0, 1) or null, found {self.dropout!r}; e.g. --dropout 0.1"
            )


@dataclass
class TrainArgs(Args):
    """How to train: optimizer, schedule, batches, evaluation, early stopping, checkpoints."""

    out: str | None = field(
        None,
        help="output folder (model, metrics, logs); null: keep nothing on disk",
        metadata=NEUTRAL,
    )
    overwrite: bool = field(
        False,
        help="replace --out when it holds a textxfer run (never other files, nor an input)",
        metadata=PER_RUN,
    )
    checkpoint_dir: str | None = field(
        None, help="folder of resumable checkpoints (default: <out>.checkpoints)", metadata=NEUTRAL
    )
    resume: bool | str = field(
        False,
        help="resume from the latest checkpoint in checkpoint_dir: true, false, or force "
        "(resume even when the data or settings differ from the checkpoint's)",
        metadata=NEUTRAL,
    )
    epochs: int | None = field(
        None, help="passes over the training data (null: >= 3 epochs and >= 300 steps)"
    )
    max_steps: int | None = field(
        None, help="stop after this many optimizer steps (overrides epochs)"
    )
    batch_size: int = field(16, help="training batch size per process")
    eval_batch_size: int | None = field(
        None, help="evaluation batch size per process (default: 2 x batch_size)", metadata=NEUTRAL
    )
    grad_accum: int = field(1, help="micro-batches accumulated per optimizer step")
    lr: float | str | None = field(
        None,
        help="peak learning rate (of the top layer group); null: 5e-5 full, 1e-3 LoRA, 1e-4 from "
        "scratch; auto: a short probe on dev picks it",
    )
    lr_candidates: list[float] | None = field(
        None, help="lr auto: rates to probe (null: the regime's default x 0.3, 1 and 3)"
    )
    lr_probe_steps: int = field(40, help="lr auto: optimizer steps per probed rate")
    weight_decay: float = field(0.01, help="decoupled weight decay (not on biases and norms)")
    optimizer: str = field("adamw", help="adamw or sgd")
    momentum: float = field(0.0, help="SGD momentum (optimizer sgd)")
    nesterov: bool = field(False, help="Nesterov momentum (optimizer sgd, momentum > 0)")
    adam_betas: list[float] = field([0.9, 0.999], help="AdamW betas")
    adam_eps: float = field(1e-8, help="AdamW epsilon")
    scheduler: str = field("linear", help="learning-rate schedule: linear, cosine or constant")
    warmup_ratio: float | None = field(
        None, help="fraction of the steps spent warming up (null: 0.1)"
    )
    warmup_steps: int | None = field(None, help="warm-up steps (overrides warmup_ratio)")
    max_grad_norm: float | None = field(1.0, help="clip gradients to this norm (null: no clip)")
    mixed_precision: str = field("no", help="no, fp16 or bf16 (Accelerate autocast)")
    group_by_length: bool = field(False, help="batch texts of similar length (less padding)")
    class_weights: str | list[float] = field(
        "none", help="loss weights per class: none, balanced, or a list in label order"
    )
    freeze_embeddings: bool = field(False, help="never train the embedding layer")
    freeze_layers: int = field(0, help="never train the first N transformer layers")
    layer_lr_decay: float = field(
        1.0, help="discriminative LR: each layer group below the top gets lr x this factor"
    )
    gradual_unfreeze: bool = field(
        False, help="ULMFiT: train the top group first, unfreeze one group down at a time"
    )
    unfreeze_every: int | None = field(
        None, help="optimizer steps between unfreezing groups (default: all by end of epoch 1)"
    )
    eval_strategy: str = field(
        "auto",
        help="evaluate on dev each epoch, every eval_steps, or no; auto: each epoch up to 10 "
        "epochs, else 10 times in all",
    )
    eval_steps: int | None = field(None, help="optimizer steps between evaluations (steps)")
    best_metric: str = field("accuracy", help="dev metric that picks the best model")
    best_mode: str = field("auto", help="max, min, or auto (min for loss, else max)")
    load_best: bool = field(True, help="end with the best weights seen on dev")
    early_stopping_patience: int | None = field(
        None, help="stop after this many evaluations without improvement (null: never)"
    )
    early_stopping_metric: str | None = field(
        None, help="dev metric watched by early stopping (default: best_metric)"
    )
    early_stopping_mode: str = field("auto", help="max, min, or auto (min for loss, else max)")
    early_stopping_min_delta: float = field(0.0, help="smallest change that counts as better")
    save_strategy: str = field(
        "no", help="checkpoint each epoch, every save_steps, or no", metadata=NEUTRAL
    )
    save_steps: int | None = field(
        None, help="optimizer steps between checkpoints (steps)", metadata=NEUTRAL
    )
    save_total_limit: int | None = field(
        2, help="keep this many latest checkpoints (null: all)", metadata=NEUTRAL
    )
    logging_steps: int = field(
        10, help="optimizer steps between training-loss log records", metadata=NEUTRAL
    )
    report_to: str = field(
        "none", help="Accelerate tracker: none, tensorboard, wandb, ...", metadata=NEUTRAL
    )
    progress_bar: bool = field(True, help="show a tqdm bar on the main process", metadata=NEUTRAL)
    num_workers: int = field(0, help="DataLoader worker processes", metadata=NEUTRAL)
    seed: int = field(42, help="seed for model init, data order and dropout")

    def validate(self) -> None:
        for name, choices in (
            ("optimizer", OPTIMIZERS),
            ("scheduler", SCHEDULERS),
            ("mixed_precision", PRECISIONS),
            ("eval_strategy", (*EVAL_STRATEGIES, "auto")),
            ("save_strategy", EVAL_STRATEGIES),
            ("best_mode", MODES),
            ("early_stopping_mode", MODES),
            ("report_to", TRACKERS),
        ):
            _choice(name, getattr(self, name), choices)
        self.resume = _resume_value(self.resume)
        self._check_numbers()
        self._check_optimizer()
        self._check_strategies()
        self._check_class_weights()

    def _check_numbers(self) -> None:
        for name in ("batch_size", "grad_accum", "logging_steps", "lr_probe_steps"):
            _at_least(name, getattr(self, name), 1)
        for name in (
            "epochs",
            "max_steps",
            "eval_batch_size",
            "unfreeze_every",
            "save_total_limit",
        ):
            _at_least(name, getattr(self, name), 1, allow_none=True)
        for name in ("weight_decay", "freeze_layers", "num_workers", "early_stopping_min_delta"):
            _at_least(name, getattr(self, name), 0)
        _at_least("warmup_steps", self.warmup_steps, 0, allow_none=True)
        self._check_lr()
        if self.warmup_ratio is not None and not 0.0 <= self.warmup_ratio < 1.0:
            raise ConfigError(
                f"warmup_ratio must be in [0, 1), found {self.warmup_ratio!r}; e.g. --warmup-ratio 0.1"
            )
        if not 0.0 < self.layer_lr_decay <= 1.0:
            raise ConfigError(
                f"layer_lr_decay must be in (0, 1], found {self.layer_lr_decay!r}; "
                "1.0 gives every layer the same lr, e.g. --layer-lr-decay 0.9"
            )
        if self.max_grad_norm is not None and self.max_grad_norm <= 0:
            raise ConfigError(
                f"max_grad_norm must be > 0 or null, found {self.max_grad_norm!r}; "
                "pass --max-grad-norm null to disable clipping"
            )

    def _check_lr(self) -> None:
        if isinstance(self.lr, str):  # a flag value: a number, or auto
            text = self.lr.strip().lower()
            try:
                self.lr = LR_AUTO if text == LR_AUTO else float(text)
            except ValueError:
                raise ConfigError(
                    f"lr must be a number, auto or null, found {self.lr!r}; e.g. --lr 5e-5 or --lr auto"
                ) from None
        if isinstance(self.lr, (int, float)) and not isinstance(self.lr, bool):
            self.lr = float(self.lr)
            if not self.lr > 0:
                raise ConfigError(f"lr must be > 0, found {self.lr!r}; e.g. --lr 5e-5")
        if self.lr_candidates is not None and (
            not self.lr_candidates or any(not c > 0 for c in self.lr_candidates)
        ):
            raise ConfigError(
                f"lr_candidates must be a non-empty list of rates > 0 or null, found "
                f"{self.lr_candidates!r}; e.g. --lr-candidates [1e-4,3e-4,1e-3]"
            )

    def _check_optimizer(self) -> None:
        if not 0.0 <= self.momentum < 1.0:
            raise ConfigError(f"momentum must be in [0, 1), found {self.momentum!r}")
        if self.momentum and self.optimizer != "sgd":
            raise ConfigError(
                f"momentum={self.momentum} is only used by optimizer 'sgd', found optimizer "
                f"{self.optimizer!r}; pass --optimizer sgd or drop --momentum"
            )
        if self.nesterov and not (self.optimizer == "sgd" and self.momentum > 0):
            raise ConfigError(
                "nesterov=True needs optimizer 'sgd' with momentum > 0, found optimizer "
                f"{self.optimizer!r}, momentum {self.momentum}; pass --optimizer sgd --momentum 0.9"
            )
        betas = list(self.adam_betas)
        if len(betas) != 2 or not all(0.0 <= b < 1.0 for b in betas):
            raise ConfigError(
                f"adam_betas must be two numbers in [0, 1), found {self.adam_betas!r}; "
                "e.g. --adam-betas [0.9,0.999]"
            )

    def _check_strategies(self) -> None:
        if self.eval_strategy == "steps" and not self.eval_steps:
            raise ConfigError("eval_strategy 'steps' needs eval_steps; pass --eval-steps 100")
        if self.save_strategy == "steps" and not self.save_steps:
            raise ConfigError("save_strategy 'steps' needs save_steps; pass --save-steps 500")
        _at_least("eval_steps", self.eval_steps, 1, allow_none=True)
        _at_least("save_steps", self.save_steps, 1, allow_none=True)
        if self.early_stopping_patience is not None:
            _at_least("early_stopping_patience", self.early_stopping_patience, 1)
            if self.eval_strategy == "no":
                raise ConfigError(
                    "early stopping watches dev evaluations, but eval_strategy is 'no'; "
                    "pass --eval-strategy epoch (or steps with --eval-steps N)"
                )

    def _check_class_weights(self) -> None:
        weights = self.class_weights
        if isinstance(weights, str):
            _choice("class_weights", weights, ("none", "balanced"))
            return
        if not isinstance(weights, (list, tuple)) or not weights:
            raise ConfigError(
                f"class_weights must be none, balanced or a non-empty list of numbers, found {weights!r}"
            )
        try:
            values = [float(w) for w in weights]
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"class_weights list must hold numbers, found {weights!r}; e.g. --class-weights [1,3]"
            ) from err
        if any(w <= 0 for w in values):
            raise ConfigError(f"class_weights must all be > 0, found {weights!r}")
        self.class_weights = values

    def checkpoint_folder(self) -> str | None:
        """Where checkpoints go: ``checkpoint_dir``, else ``<out>.checkpoints``, else none."""
        if self.checkpoint_dir:
            return self.checkpoint_dir
        return f"{str(self.out).rstrip('/')}.checkpoints" if self.out else None


@dataclass
class LoraArgs(Args):
    """LoRA adapter (peft): set lora true to train low-rank adapters plus the head only."""

    lora: bool = field(False, help="train a LoRA adapter (peft) instead of all weights")
    lora_r: int = field(8, help="rank of the LoRA update matrices")
    lora_alpha: int = field(16, help="LoRA scaling numerator (scale = alpha / r)")
    lora_dropout: float = field(0.1, help="dropout on the LoRA input")
    lora_target_modules: list[str] | None = field(
        None, help="module names to adapt (default: attention query/value of the architecture)"
    )
    lora_modules_to_save: list[str] | None = field(
        None, help="extra modules trained fully and saved with the adapter (the head always is)"
    )
    lora_bias: str = field("none", help="which biases train: none, all or lora_only")

    def validate(self) -> None:
        _at_least("lora_r", self.lora_r, 1)
        _at_least("lora_alpha", self.lora_alpha, 1)
        if not 0.0 <= self.lora_dropout < 1.0:
            raise ConfigError(
                f"lora_dropout must be in [0, 1), found {self.lora_dropout!r}; e.g. --lora-dropout 0.1"
            )
        _choice("lora_bias", self.lora_bias, LORA_BIAS)
        for name in ("lora_target_modules", "lora_modules_to_save"):
            value = getattr(self, name)
            if isinstance(value, str):
                setattr(self, name, [value])
            elif value is not None and (not value or not all(isinstance(v, str) for v in value)):
                raise ConfigError(
                    f"{name} must be a non-empty list of module names or null, found {value!r}; "
                    f"e.g. --{name.replace('_', '-')} [query,value]"
                )
