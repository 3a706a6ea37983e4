"""Contrastive few-shot classification (SetFit-style) on the shared training stage.

``fit_contrastive`` adds templated examples from the label names to the training set
(``templates``: "This sentence is positive"), draws sentence pairs from it (``pairs``), tunes the
encoder with the cosine-similarity objective on the shared stage (``textxfer.train.stage``: one or
several processes, mixed precision, checkpoints and exact resume), embeds the training texts with
the tuned encoder, fits a logistic-regression head on them (``head``) and evaluates dev and test.
With ``eval_strategy`` set, every evaluation fits the head on the current embeddings and scores
dev, so ``load_best`` and early stopping work as in fine-tuning.

Long texts: with ``chunk_window`` (``ModelArgs``, as in fine-tuning and features) every token window
of a text is a training example with the text's label (pairs are drawn between windows), and a
text's embedding for the head is the mean of its windows' embeddings, as in ``features-lr``.
Without it texts are truncated to ``max_length``.

>>> from textxfer.data import DataArgs
>>> from textxfer.fewshot import ContrastiveArgs, ContrastiveTrainArgs, fit_contrastive
>>> from textxfer.train import ModelArgs
>>> result = fit_contrastive(ModelArgs("default"), DataArgs("sst2", k=8), ContrastiveArgs(),
...                          ContrastiveTrainArgs(out="runs/fewshot/sst2"))   # doctest: +SKIP
>>> result.metrics["test"]["accuracy"]                                       # doctest: +SKIP
0.79
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

from ..chunking import Chunking, chunking_from, mean_per_text
from ..config import to_sections
from ..data.checks import check_splits
from ..data.load import DataArgs, load_data
from ..data.multilabel import is_multilabel
from ..errors import ConfigError
from ..metrics import evaluate
from ..models import load_tokenizer, resolve_model
from ..train.accel import eval_dataloader, make_accelerator
from ..train.args import ModelArgs
from ..train.stage import Result, build_stage, eval_batch_size, save_on_main
from .args import ContrastiveArgs, ContrastiveTrainArgs
from .head import LinearHead, fit_head
from .pairs import CosineSimilarityLoss, PairCollator, PairDataset, embed, sample_pairs
from .templates import add_templates

logger = logging.getLogger(__name__)

METHOD = "contrastive"
# Tokens of parameters that mean pooling never uses (DDP refuses parameters without gradients).
UNUSED_PREFIXES = ("pooler.",)

__all__ = [
    "METHOD",
    "check_contrastive_inputs",
    "fit_contrastive",
    "gather_embeddings",
    "load_body",
]


def load_body(model_path: str, dropout: float | None = None):
    """``(encoder, [])``: ``AutoModel`` of ``model_path``; its pooler (unused) is frozen."""
    from transformers import AutoModel

    from ..finetune.task import model_config

    model = AutoModel.from_pretrained(model_path, config=model_config(model_path, dropout))
    for name, param in model.named_parameters():
        if name.startswith(UNUSED_PREFIXES):
            param.requires_grad_(False)
    return model, []


def gather_embeddings(accelerator, model, dataloader, pooling: str, n_texts: int) -> np.ndarray:
    """Pooled embeddings of a prepared dataloader (rows with ``idx``, the row's text), gathered
    from every process: one row per text, in text order (the mean of a text's windows)."""
    import torch

    chunks, ids = [], []
    was_training = model.training
    model.eval()
    with torch.no_grad():
        for batch in dataloader:
            emb, idx = accelerator.gather_for_metrics(
                (embed(model, batch, pooling).float(), batch["idx"])
            )
            chunks.append(emb.cpu())
            ids.append(idx.cpu())
    model.train(was_training)
    return mean_per_text(torch.cat(chunks).numpy(), torch.cat(ids).numpy(), n_texts)


def check_contrastive_inputs(model_args: ModelArgs, dataset) -> Chunking | None:
    """The chunking of ``model_args``; refuses the settings the method cannot honour."""
    if is_multilabel(dataset):
        raise ConfigError(
            "the contrastive method needs one label per text (pairs are same-label or not), found a "
            "multi-label dataset; use `textxfer finetune` or `--method features-lr` for it"
        )
    if model_args.threshold is not None:
        raise ConfigError(
            f"threshold={model_args.threshold} is for multi-label fine-tuning; the contrastive "
            "method predicts one label per text: drop --threshold"
        )
    chunking = chunking_from(model_args)
    if chunking and chunking.aggregation != "mean":
        raise ConfigError(
            f"chunk_aggregation={chunking.aggregation!r}: a text's contrastive embedding is the mean "
            "of its windows' embeddings; pass --chunk-aggregation mean (the default)"
        )
    return chunking


def fit_contrastive(
    model_args: ModelArgs,
    data_args: DataArgs | None,
    contrastive_args: ContrastiveArgs | None = None,
    train_args: ContrastiveTrainArgs | None = None,
    dataset=None,
    callbacks: Sequence[Any] = (),
    eval_splits: Sequence[str] = ("test", "dev"),
) -> Result:
    """Contrastive tuning of ``model_args.model`` on label pairs, then a logistic-regression head.

    Args:
        model_args: the encoder, max length, dropout override.
        data_args: dataset to load (only recorded when ``dataset`` is given).
        contrastive_args: pairs, pooling and head settings (default ``ContrastiveArgs()``).
        train_args: loop settings, ``out`` folder (default ``ContrastiveTrainArgs()``).
        dataset: an already loaded ``DatasetDict`` with train/dev/test.
        callbacks: extra ``textxfer.train.loop.Callback`` objects.
        eval_splits: the splits scored at the end (a grid cell needs only its evaluation split).

    Returns:
        ``Result`` with ``metrics`` {"test": ..., "dev": ...} (``textxfer.metrics.evaluate`` plus
        the log-loss ``loss``); ``metrics["n_pairs"]`` counts the pairs and
        ``metrics["n_templates"]`` the templated examples per label.
    """
    cargs = contrastive_args or ContrastiveArgs()
    targs = train_args or ContrastiveTrainArgs()
    if dataset is None and data_args is None:
        raise ConfigError("fit_contrastive needs data_args or dataset=; pass DataArgs('sst2', k=8)")
    if targs.group_by_length:
        raise ConfigError("group_by_length is not supported by the contrastive stage; drop it")
    from ..finetune.task import encode

    accelerator = make_accelerator(targs)
    dataset = dataset if dataset is not None else load_data(data_args)
    label_names = check_splits(dataset)
    chunking = check_contrastive_inputs(model_args, dataset)
    dataset, n_templates = add_templates(dataset, label_names, cargs.templates, cargs.template)
    model_path = resolve_model(model_args.model)
    tokenizer = load_tokenizer(model_path)
    with accelerator.main_process_first():
        encoded = encode(dataset, tokenizer, model_args.max_length, model_args.pad_to_max_length,
                         chunking, where="fewshot")  # fmt: skip
    window_labels = np.asarray(encoded["train"]["label"], dtype=int)  # a text's label per window
    pairs = sample_pairs(window_labels, cargs.pairs_per_example, targs.seed, cargs.max_pairs)
    logger.info("contrastive: %d pairs from %d examples%s", len(pairs), len(window_labels),
                f" (windows of {len(dataset['train'])} texts)" if chunking else "")  # fmt: skip
    config = {"model": model_args, "data": data_args, "contrastive": cargs, "train": targs}
    loaders = _Loaders(accelerator, encoded, tokenizer, targs)
    labels = {split: np.asarray(dataset[split]["label"], dtype=int) for split in dataset}
    scorer = _Scorer(accelerator, loaders, cargs, labels, label_names)
    stage = build_stage(
        accelerator, targs, build_model=lambda: load_body(model_path, model_args.dropout),
        train_dataset=PairDataset(encoded["train"], pairs), collate=PairCollator(tokenizer),
        loss_fn=CosineSimilarityLoss(cargs.pooling),
        eval_dataset=encoded["dev"] if targs.eval_strategy != "no" else None,
        eval_fn=(lambda model, _dl: scorer.dev_metrics(model)), callbacks=callbacks,
        run_name="fewshot", config=to_sections(config),
    )  # fmt: skip
    fitted = stage.loop.fit()
    head = scorer.fit(stage.loop.model)
    metrics = {s: scorer.evaluate(stage.loop.model, head, s) for s in eval_splits}
    result = stage.result(
        fitted, {**metrics, "n_pairs": len(pairs), "n_templates": n_templates}, targs.out, METHOD
    )
    if targs.out:
        save_on_main(
            accelerator,
            lambda: _save(stage, result, tokenizer, head, model_path, label_names, config),
        )
    return result


class _Loaders:
    """Prepared, ordered evaluation loaders of the encoded splits (built once, on demand)."""

    def __init__(self, accelerator, encoded, tokenizer, args: ContrastiveTrainArgs) -> None:
        from transformers import DataCollatorWithPadding

        self.accelerator, self.encoded, self.args = accelerator, encoded, args
        self.collate = DataCollatorWithPadding(tokenizer)
        self._cache: dict[str, Any] = {}

    def __getitem__(self, split: str):
        if split not in self._cache:
            dl = eval_dataloader(self.encoded[split], eval_batch_size(self.args), self.collate,
                                 self.args.num_workers)  # fmt: skip
            self._cache[split] = self.accelerator.prepare_data_loader(dl)
        return self._cache[split]


class _Scorer:
    """Embeds splits with the current encoder, fits the head on train, scores a split."""

    def __init__(self, accelerator, loaders: _Loaders, cargs: ContrastiveArgs,
                 labels: dict[str, np.ndarray], label_names: list[str]) -> None:  # fmt: skip
        self.accelerator, self.loaders, self.cargs = accelerator, loaders, cargs
        self.labels, self.label_names = labels, label_names  # per split, one per text

    def embeddings(self, model, split: str) -> np.ndarray:
        return gather_embeddings(self.accelerator, model, self.loaders[split], self.cargs.pooling,
                                 len(self.labels[split]))  # fmt: skip

    def fit(self, model) -> LinearHead:
        c = self.cargs
        return fit_head(
            self.embeddings(model, "train"), self.labels["train"], len(self.label_names),
            c=c.head_c, max_iter=c.head_max_iter, balanced=c.balanced_head, normalize=c.normalize,
        )  # fmt: skip

    def evaluate(self, model, head: LinearHead, split: str) -> dict[str, Any]:
        probs = head.predict_proba(self.embeddings(model, split))
        gold = self.labels[split]
        loss = float(-np.log(np.clip(probs[np.arange(len(gold)), gold], 1e-12, 1.0)).mean())
        return {**evaluate(gold, probs.argmax(axis=1), self.label_names), "loss": loss}

    def dev_metrics(self, model) -> dict[str, float]:
        metrics = self.evaluate(model, self.fit(model), "dev")
        return {k: v for k, v in metrics.items() if isinstance(v, (int, float))}


def _save(stage, result: Result, tokenizer, head, model_path: str, label_names, config) -> None:
    from .io import save_contrastive

    model_args, data_args, cargs = config["model"], config["data"], config["contrastive"]
    chunking = chunking_from(model_args)
    info = {
        "base_model": model_path, "model": model_args.model, "label_names": label_names,
        "max_length": model_args.max_length, "pooling": cargs.pooling,
        "dataset": getattr(data_args, "dataset", None),
        "chunking": chunking.to_dict() if chunking else None,
    }  # fmt: skip
    extra = {k: v for k, v in result.to_dict().items() if k not in ("metrics", "output_dir")}
    save_contrastive(
        config["train"].out, stage.model, tokenizer, head, info=info,
        metrics={**result.metrics, "best_dev": stage.loop.state.best_metrics, **extra},
        history=result.history, config=config,
    )  # fmt: skip
