"""Save and load fine-tuned models: one folder that ``transformers.pipeline`` and peft both read.

Layout of a saved folder (written atomically)::

    DIR/config.json, model.safetensors, tokenizer files   the full (LoRA: merged) model
    DIR/adapter/                                          LoRA only: the peft adapter + tokenizer
    DIR/textxfer.json                                     {"kind": "finetune", method, labels, ...}
    DIR/metrics.json, train_log.jsonl, config.yaml        results, history, resolved config

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

from ..chunking import Chunking, aggregate, cut, padded_batches
from ..io import save_run
from ..predict import model_info

logger = logging.getLogger(__name__)

ADAPTER_DIR = "adapter"
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

    Returns:
        The folder.
    """
    from ..train.lora import is_peft_model, merge_lora

    peft = is_peft_model(model)

    def payload(tmp: Path) -> dict[str, Any]:
        if peft:
            model.save_pretrained(str(tmp / ADAPTER_DIR))
            tokenizer.save_pretrained(str(tmp / ADAPTER_DIR))
        merged = merge_lora(model)
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        return {"method": "lora" if peft else "full", "adapter": ADAPTER_DIR if peft else None}

    save_run(
        folder, kind=KIND, info=info, metrics=metrics, config=config, history=history,
        payload=payload, extra_dirs=extra_dirs,
    )  # fmt: skip
    logger.info("saved %s model to %s", "lora" if peft else "full", folder)
    return Path(folder)


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
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if adapter:
        if not info.get("adapter"):
            raise ValueError(f"{folder} holds a {info.get('method')} model, not a LoRA adapter")
        from ..models import label_maps, resolve_model
        from ..train.lora import load_adapter

        base_path = info["base_model"]
        if not Path(base_path).is_dir():  # saved on another machine: resolve the name again
            base_path = resolve_model(info.get("model") or base_path)
        multi = info.get("task") == "multi-label"
        base = AutoModelForSequenceClassification.from_pretrained(
            base_path, **label_maps(info["label_names"], multi), ignore_mismatched_sizes=True
        )
        model = load_adapter(folder / info["adapter"], base)
    else:
        model = AutoModelForSequenceClassification.from_pretrained(str(folder))
    model.eval()
    return model, tokenizer, info


class FinetunedPredictor:
    """``Predictor`` over a fine-tuned classifier: ``predict`` and ``predict_proba`` on texts.

    Texts are cut as in training: truncated to ``max_length``, or with ``chunking`` into token
    windows whose logits are aggregated per text (``textxfer.chunking``). Multi-label models
    give a sigmoid per label, and ``predict`` returns the label sets (lists of names) whose
    probability reaches ``threshold``.
    """

    def __init__(
        self,
        model,
        tokenizer,
        label_names: list[str],
        max_length: int = 128,
        batch_size: int = 32,
        chunking: Chunking | None = None,
        multi_label: bool = False,
        threshold: float = 0.5,
    ) -> None:
        self.model, self.tokenizer = model, tokenizer
        self.label_names = list(label_names)
        self.max_length, self.batch_size = max_length, batch_size
        self.chunking, self.multi_label, self.threshold = chunking, multi_label, threshold

    def predict_proba(self, texts: list[str]) -> np.ndarray:
        """Probabilities, shape ``(len(texts), n_labels)``, columns in label order: rows sum to 1
        (single-label), or one independent probability per label (multi-label)."""
        import torch

        texts = [str(t) for t in texts]
        if not texts:
            return np.zeros((0, len(self.label_names)))
        device = next(self.model.parameters()).device
        chunk = self.chunking
        window = chunk.window if chunk else self.max_length
        enc, doc, _ = cut(self.tokenizer, texts, window, chunk and chunk.stride, chunk is None)
        with torch.no_grad():
            logits = np.concatenate([
                self.model(**batch).logits.float().cpu().numpy()  # (batch, n_labels)
                for batch in padded_batches(self.tokenizer, enc, self.batch_size, device)
            ])  # fmt: skip
        return aggregate(logits, doc, chunk.aggregation if chunk else "mean", self.multi_label)[1]

    def predict(self, texts: list[str]) -> list:
        """Predicted label names (multi-label: a list of names per text)."""
        proba = self.predict_proba(texts)
        if self.multi_label:
            return [
                [n for n, p in zip(self.label_names, row) if p >= self.threshold] for row in proba
            ]
        return [self.label_names[i] for i in proba.argmax(axis=1)]


def load_predictor(folder: str | Path) -> FinetunedPredictor:
    """Load a ``textxfer finetune`` output folder as a ``Predictor`` (for ``textxfer predict``),
    cutting texts and deciding labels with the settings recorded in its ``textxfer.json``."""
    model, tokenizer, info = load_finetuned(folder)
    chunking = info.get("chunking")
    return FinetunedPredictor(
        model, tokenizer, info["label_names"], info.get("max_length", 128),
        chunking=Chunking(
            chunking["chunk_window"], chunking["chunk_stride"], chunking["chunk_aggregation"]
        ) if chunking else None,
        multi_label=info.get("task") == "multi-label", threshold=info.get("threshold") or 0.5,
    )  # fmt: skip
