"""Save and load fine-tuned models: one folder that ``transformers.pipeline`` and peft both read.

Layout of a saved folder (written atomically)::

    DIR/config.json, model.safetensors, tokenizer files   the full (LoRA: merged) model
    DIR/adapter/                                          LoRA only: the peft adapter + tokenizer
    DIR/adapter/base/                                     LoRA only: the base model the adapter
                                                          applies to, with the task's labels
    DIR/textxfer.json                                     {"kind": "finetune", method, labels, ...}
    DIR/metrics.json, train_log.jsonl, config.yaml        results, history, resolved config

peft's own ``AutoPeftModelForSequenceClassification.from_pretrained("DIR/adapter")`` builds the base
from ``base_model_name_or_path`` of ``adapter_config.json`` and takes its class count from that
model's config; a Hub checkpoint would give it 2 classes named ``LABEL_0/1``. So the adapter names
``DIR/adapter/base`` (as the path ``--out`` was given, relative when it was), a copy of the base with
the real label names and class count: it loads for any class count, from where the run was started.
textxfer's own loader resolves it inside the folder, from anywhere.

>>> from textxfer.finetune.io import load_predictor
>>> clf = load_predictor("runs/sst2-full")          # doctest: +SKIP
>>> clf.predict(["a great movie"])                  # doctest: +SKIP
['positive']
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import DataError
from ..io import run_path, save_run
from ..predict import as_texts, model_info

logger = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
BASE_DIR = "base"  # inside ADAPTER_DIR
KIND = "finetune"


def save_finetuned(
    folder: str | Path,
    model,
    tokenizer,
    *,
    info: dict[str, Any],
    metrics: dict[str, Any] | None = None,
    history: list[dict] | None = None,
    config: dict[str, Any] | None = None,
    extra_dirs: dict[str, Path] | None = None,
    **output: Any,
) -> Path:
    """Write a fine-tuned model folder atomically (layout in the module docstring).

    Args:
        folder: output folder; replaced as a whole when it exists.
        model: a ``transformers`` model, or a peft model (its adapter goes to ``adapter/`` and
            the merged model to ``folder``; the peft model is merged in place).
        tokenizer: saved beside the model (and the adapter).
        info: marker fields; ``method`` and ``adapter`` are set here.
        metrics, history, config: ``metrics.json``, ``train_log.jsonl``, ``config.yaml``.
        extra_dirs: name -> existing folder copied in (e.g. tracker logs).
        **output: ``overwrite`` and ``inputs`` (``textxfer.io.prepare_output``).

    Returns:
        The folder.
    """
    from ..train.lora import is_peft_model, merge_lora

    peft = is_peft_model(model)

    def payload(tmp: Path) -> dict[str, Any]:
        if peft:
            _save_adapter(model, tokenizer, tmp / ADAPTER_DIR, Path(folder) / ADAPTER_DIR)
        merged = merge_lora(model)
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        return {"method": "lora" if peft else "full", "adapter": ADAPTER_DIR if peft else None}

    save_run(
        folder, kind=KIND, info=info, metrics=metrics, config=config, history=history,
        payload=payload, extra_dirs=extra_dirs, **output,
    )  # fmt: skip
    logger.info("saved %s model to %s", "lora" if peft else "full", folder)
    return Path(folder)


def _save_adapter(model, tokenizer, target: Path, final: Path) -> None:
    """The peft adapter, the tokenizer and the base (with the labels) it applies to; the adapter
    config names that base by its final path (``final``), never an absolute path of the machine's
    model store."""
    import copy
    import json

    model.save_pretrained(str(target))
    tokenizer.save_pretrained(str(target))
    base = copy.deepcopy(model).unload()  # original weights, the task's config (labels)
    base.save_pretrained(str(target / BASE_DIR))
    config_file = target / "adapter_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config["base_model_name_or_path"] = str(final / BASE_DIR)
    config_file.write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def _require_files(folder: Path, *names: str) -> None:
    missing = [n for n in names if not (folder / n).exists()]
    if missing:
        raise DataError(
            f"{folder} is incomplete: {missing} missing; re-run `textxfer finetune ... --out "
            f"{folder} --overwrite`"
        )


def load_finetuned(folder: str | Path, adapter: bool = False):
    """Load ``(model, tokenizer, info)`` from a folder written by ``save_finetuned``.

    Args:
        folder: the saved folder.
        adapter: for LoRA folders, return the base model with the adapter attached (a peft model)
            instead of the merged model.
    """
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    folder = Path(folder)
    info = model_info(folder)
    _require_files(folder, "config.json")
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if adapter:
        if not info.get("adapter"):
            raise DataError(f"{folder} holds a {info.get('method')} model, not a LoRA adapter")
        from ..train.lora import load_adapter

        adapter_dir = run_path(folder, ADAPTER_DIR)
        _require_files(adapter_dir, "adapter_config.json", f"{BASE_DIR}/config.json")
        base = AutoModelForSequenceClassification.from_pretrained(str(adapter_dir / BASE_DIR))
        model = load_adapter(adapter_dir, base)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    model.eval()
    return model, tokenizer, info


class FinetunedPredictor:
    """``Predictor`` over a fine-tuned classifier: ``predict`` and ``predict_proba`` on texts."""

    def __init__(
        self, model, tokenizer, label_names: list[str], max_length: int = 128, batch_size: int = 32
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.label_names = list(label_names)
        self.max_length, self.batch_size = max_length, batch_size

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Class probabilities, shape ``(len(texts), n_labels)``, columns in label order."""
        import torch

        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, len(self.label_names)))
        device = next(self.model.parameters()).device
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), self.batch_size):
                enc = self.tokenizer(
                    texts[i : i + self.batch_size],
                    truncation=True,
                    max_length=self.max_length,
                    padding=True,
                    return_tensors="pt",
                ).to(device)
                logits = self.model(**enc).logits.float()  # (batch, n_labels)
                out.append(torch.softmax(logits, dim=-1).cpu().numpy())
        return np.concatenate(out)

    def predict(self, texts: list[str]) -> list[str]:
        """Predicted label names."""
        return [self.label_names[i] for i in self.predict_proba(texts).argmax(axis=1)]


def load_predictor(folder: str | Path) -> FinetunedPredictor:
    """Load a ``textxfer finetune`` output folder as a ``Predictor`` (for ``textxfer predict``)."""
    model, tokenizer, info = load_finetuned(folder)
    return FinetunedPredictor(model, tokenizer, info["label_names"], info.get("max_length", 128))
