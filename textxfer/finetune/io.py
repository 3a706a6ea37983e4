"""Save and load fine-tuned models: one folder that ``transformers.pipeline`` and peft both read.

Layout of a saved folder (written atomically)::

    DIR/config.json, model.safetensors, tokenizer files   the full (LoRA: merged) model
    DIR/README.md                                         the model card (``textxfer.card``)
    DIR/adapter/                                          LoRA only: the peft adapter + tokenizer
    DIR/adapter/base/                                     LoRA only: the base model the adapter
                                                          applies to, with the task's labels
                                                          (the adapter has its own card)
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

from ..chunking import Chunking, aggregate, cut, padded_batches
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
            model_card(info, metrics, config, "adapter").write(tmp / ADAPTER_DIR)
        merged = merge_lora(model)
        merged.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        model_card(info, metrics, config, "lora" if peft else "full").write(tmp)
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


def model_card(info: dict[str, Any], metrics: dict | None, config: dict | None, what: str):
    """The card of a fine-tuned folder: ``what`` is full, lora (the merged model) or adapter."""
    from ..card import ModelCard, base_model_id, dataset_ids, describe_dataset

    data = (config or {}).get("data")
    target = getattr(data, "target", None)
    labels = list(info.get("label_names", []))
    base = base_model_id(info.get("model"))
    rows = info.get("rows") or {}
    method = {"full": "full fine-tuning (every weight trained)",
              "lora": "LoRA fine-tuning, adapter merged into the base weights",
              "adapter": "LoRA fine-tuning: this folder is the peft adapter alone"}[what]  # fmt: skip
    lines = [f"dataset: {describe_dataset(info.get('dataset'))}"]
    if target:
        lines.append(
            f"cross-domain: trained on that dataset, evaluated on the test split of {describe_dataset(target)}"
        )
    lines += [f"{split}: {n:,} rows" for split, n in rows.items()]
    if info.get("trainable_params"):
        lines.append(
            f"trainable parameters: {info['trainable_params']:,} of {info['total_params']:,}"
        )
    results = {s: (metrics or {})[s] for s in ("dev", "test") if s in (metrics or {})}
    return ModelCard(
        title=f"{info.get('dataset') or 'text'} classifier ({what})",
        summary=f"A {len(labels)}-class text classifier from `{base or info.get('model')}`, trained "
        f"with textxfer by {method}.",
        library="peft" if what == "adapter" else "transformers",
        tags=["text-classification", *(["lora", "peft"] if what != "full" else [])],
        base_model=base, datasets=dataset_ids(info.get("dataset"), target), labels=labels,
        results=results, data=lines, config=config, how_to_load=_how_to_load(what, base, labels),
    )  # fmt: skip


def _how_to_load(what: str, base: str | None, labels: list[str]) -> str:
    if what != "adapter":
        return (
            "from transformers import pipeline\n\n"
            'classifier = pipeline("text-classification", model="THIS_FOLDER_OR_REPO")\n'
            'classifier("a great movie")'
        )
    return (
        "from peft import PeftModel\n"
        "from transformers import AutoModelForSequenceClassification, AutoTokenizer\n\n"
        f"labels = {labels!r}\n"
        f'base = AutoModelForSequenceClassification.from_pretrained("{base or "BASE_MODEL"}", '
        "num_labels=len(labels),\n    id2label=dict(enumerate(labels)), "
        "label2id={l: i for i, l in enumerate(labels)})\n"
        'model = PeftModel.from_pretrained(base, "THIS_FOLDER")  # or (REPO, subfolder="adapter")\n'
        'tokenizer = AutoTokenizer.from_pretrained("THIS_FOLDER")\n'
        "# with textxfer: textxfer.finetune.io.load_finetuned(PARENT_FOLDER, adapter=True)"
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

        texts = as_texts(texts)
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
