"""Save and read adapted encoders: one folder that ``AutoModelForMaskedLM`` (``AutoModel`` after
denoising, which saves the encoder only), ``finetune`` and the frozen-feature baselines all load.

Layout (written atomically)::

    DIR/config.json, model.safetensors, tokenizer files   the adapted model (LoRA: merged)
    DIR/README.md          the model card (``textxfer.card``)
    DIR/textxfer.json      {"kind": "adapted", base_model, method, source, ...}
    DIR/metrics.json       perplexity before/after, steps, seconds, text counts
    DIR/train_log.jsonl    training-loss records and the held-out evaluations
    DIR/config.yaml        model / adapt / train / lora sections and the text source

Base-model weights that the masked-LM class has no slot for (BERT's pooler, say) are copied from
the source checkpoint, so a classifier built from the folder starts from the same pooler as one
built from the original model.

>>> from textxfer.io import read_metrics
>>> read_metrics("runs/adapt/kitchen")["perplexity_after"]     # doctest: +SKIP
18.4
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from ..io import save_run

logger = logging.getLogger(__name__)

KIND = "adapted"

__all__ = ["KIND", "save_adapted"]


def save_adapted(
    folder: str | Path,
    model,
    tokenizer,
    *,
    base_model: str,
    unexpected_keys: list[str],
    info: dict[str, Any],
    metrics: dict[str, Any],
    history: list[dict],
    config: dict[str, Any],
    **output: Any,
) -> Path:
    """Write an adapted model folder atomically (layout in the module docstring).

    Args:
        folder: output folder; replaced as a whole when it exists.
        model: the masked LM, or a peft model (merged here, in place, into a plain model).
        tokenizer: saved beside the model.
        base_model: path or Hub id the model was loaded from (source of carried-over weights).
        unexpected_keys: checkpoint keys the masked-LM class did not load.
        info, metrics, history, config: marker extras, ``metrics.json``, ``train_log.jsonl``
            records and ``config.yaml`` sections.
        **output: ``overwrite`` and ``inputs`` (``textxfer.io.prepare_output``).
    """
    from ..train.lora import merge_lora

    model = merge_lora(model)

    def payload(tmp: Path) -> None:
        model.save_pretrained(str(tmp))
        tokenizer.save_pretrained(str(tmp))
        _carry_base_weights(base_model, model, unexpected_keys, tmp)
        model_card(info, metrics, config).write(tmp)

    save_run(
        folder, kind=KIND, info={"base_model": base_model, **info}, metrics=metrics,
        config=config, history=history, payload=payload, **output,
    )  # fmt: skip
    logger.info("saved the adapted model to %s", folder)
    return Path(folder)


def model_card(info: dict[str, Any], metrics: dict[str, Any], config: dict[str, Any]):
    """The card of an adapted encoder: where its texts came from, perplexity before and after."""
    from ..card import ModelCard, base_model_id, dataset_ids, describe_dataset

    base = base_model_id(info.get("model"))
    names = [info.get("dataset"), info.get("target")]
    source = info.get("source", "texts")
    lines = [
        f"texts: {source}"
        + (f", from {describe_dataset(names[1] or names[0])}" if any(names) else "")
    ]
    lines.append(f"{metrics['n_train_texts']:,} texts trained on, {metrics['n_heldout_texts']:,} "
                 "held out for perplexity (never a test text of the task)")  # fmt: skip
    if info.get("fresh_mlm_head"):
        lines.append("the base checkpoint has no masked-LM head: a fresh one was initialised and "
                     "trained with the encoder (the perplexity before is that of the untrained head)")  # fmt: skip
    results = {
        "held-out, before": {"perplexity": metrics["perplexity_before"]},
        "held-out, after": {"perplexity": metrics["perplexity_after"], "n": metrics["n_heldout_texts"]},
    }  # fmt: skip
    denoising = info.get("objective") == "denoising"
    if denoising:
        lines.append("objective: denoising (TSDAE): each text rebuilt by a decoder, since discarded, "
                     "from the mean-pooled embedding of a copy with words deleted; the perplexity "
                     "is that of the rebuilt held-out texts")  # fmt: skip
    head = "AutoModel" if denoising else "AutoModelForMaskedLM"
    load = (
        f"from transformers import {head}, AutoModelForSequenceClassification\n\n"
        f'encoder = {head}.from_pretrained("THIS_FOLDER_OR_REPO")\n'
        "# or fine-tune from it: textxfer finetune DATASET --model THIS_FOLDER\n"
        'classifier = AutoModelForSequenceClassification.from_pretrained("THIS_FOLDER_OR_REPO", num_labels=2)'
    )
    task = "feature-extraction" if denoising else "fill-mask"
    how = "denoising (TSDAE)" if denoising else "masked-LM"
    return ModelCard(
        title=f"{base or info.get('model')} adapted to {names[1] or names[0] or 'new text'}",
        summary=f"`{base or info.get('model')}` after continued {how} pretraining "
        f"({info.get('method', 'full')}, {metrics['global_step']} steps) with textxfer: a starting "
        "point for fine-tuning on the same domain.",
        library="transformers", pipeline_tag=task,
        tags=[task, "domain-adaptation", *(["lora"] if info.get("method") == "lora" else [])],
        base_model=base, datasets=dataset_ids(*names), results=results, data=lines,
        config=config, how_to_load=load,
    )  # fmt: skip


def _base_weight_names(model, unexpected: list[str]) -> dict[str, str]:
    """checkpoint key -> key in the saved masked LM, for base-model weights it had no slot for."""
    prefix = model.base_model_prefix
    base = getattr(model, prefix, None)
    out = {}
    for key in unexpected:
        if key.startswith(f"{prefix}."):
            out[key] = key
        elif base is not None and hasattr(base, key.split(".")[0]):
            out[key] = f"{prefix}.{key}"
    return out


def _carry_base_weights(base_model: str, model, unexpected: list[str], folder: Path) -> None:
    """Copy base-model tensors of the source checkpoint that the masked LM dropped (e.g. BERT's
    pooler) into ``folder/model.safetensors``."""
    names = _base_weight_names(model, unexpected)
    target = folder / "model.safetensors"
    if not names:
        return
    source = _checkpoint_file(base_model)
    if source is None or not target.is_file():
        logger.warning(
            "could not carry %s over from %s (no single safetensors file)",
            sorted(names),
            base_model,
        )
        return
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    tensors = load_file(str(target))
    with safe_open(str(source), framework="pt") as fh:
        for key, new_key in names.items():
            tensors[new_key] = fh.get_tensor(key)
    save_file(tensors, str(target), metadata={"format": "pt"})
    logger.info("carried %s over from %s", sorted(names.values()), base_model)


def _checkpoint_file(base_model: str) -> Path | None:
    from transformers.utils import cached_file

    try:
        found = cached_file(
            base_model, "model.safetensors", _raise_exceptions_for_missing_entries=False
        )
    except OSError:
        return None
    return Path(found) if found else None
