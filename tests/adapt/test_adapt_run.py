"""Masked-LM adaptation: learning, output folder, fresh heads, leakage, resume, whole-word masking,
config errors, LoRA, the CLI / recipe and the adapt-finetune method of the compare grid."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import ftutil
import pytest
import torch
import yaml

from textxfer.adapt import adapt, split_heldout
from textxfer.adapt.args import AdaptArgs, MLMTrainArgs
from textxfer.adapt.mlm import MLMCollator, draw_mask, make_masker, masked_perplexity
from textxfer.config import build_configs
from textxfer.data import DataArgs, load_data
from textxfer.data.checks import check_no_leak
from textxfer.errors import ConfigError, DataError
from textxfer.io import read_metrics
from textxfer.train.args import LoraArgs, ModelArgs

ROOT = Path(__file__).resolve().parents[2]
TEXTS = [t for t, _ in ftutil.rows()]


Interrupt = ftutil.Interrupt
CrashAt = ftutil.crash_at


pytestmark = pytest.mark.usefixtures("quiet_transformers")


def _train(out, **overrides) -> MLMTrainArgs:
    values = dict(max_steps=30, batch_size=8, lr=3e-3, scheduler="constant", warmup_ratio=0.0,
                  progress_bar=False, seed=0, out=str(out))  # fmt: skip
    return MLMTrainArgs(**{**values, **overrides})


@pytest.fixture(scope="module")
def adapted(bert, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("adapted") / "model"
    result = adapt(  # lr 1e-2: perplexity 132 -> 96 on the deterministic tiny vocabulary
        ModelArgs(str(bert), max_length=32), TEXTS, AdaptArgs(heldout_fraction=0.2),
        _train(out, lr=1e-2),
    )  # fmt: skip
    return Path(result.output_dir)


def _folder(result) -> Path:
    return Path(result.output_dir)


def load_classifier(path, names):
    from textxfer.finetune.task import build_classifier

    return build_classifier(str(path), names)[0]


def test_mlm_training_lowers_perplexity_on_the_training_texts(bert, adapted):
    train, held = split_heldout(TEXTS, AdaptArgs(heldout_fraction=0.2))
    assert len(train) == 16 and len(held) == 4 and not set(train) & set(held)
    before = masked_perplexity(str(bert), train, max_length=32)
    after = masked_perplexity(str(adapted), train, max_length=32)
    assert before["n_masked_tokens"] == after["n_masked_tokens"] > 0  # same masks
    assert after["perplexity"] < 0.8 * before["perplexity"]
    log = [json.loads(x) for x in (adapted / "train_log.jsonl").read_text().splitlines()]
    losses = [r["loss"] for r in log if r["split"] == "train"]
    assert len(losses) == 3 and losses[-1] < losses[0]
    assert [r["split"] for r in (log[0], log[-1])] == ["heldout", "heldout"]


def test_output_folder_reloads_with_the_recorded_perplexity(adapted):
    from transformers import AutoModelForMaskedLM

    metrics = read_metrics(adapted)
    assert metrics["global_step"] == 30 and metrics["method"] == "full"
    assert (metrics["n_texts"], metrics["n_train_texts"], metrics["n_heldout_texts"]) == (20, 16, 4)
    assert metrics["seconds"] >= metrics["train_seconds"] > 0 and not metrics["fresh_mlm_head"]
    info = json.loads((adapted / "textxfer.json").read_text())
    assert info["kind"] == "adapted" and info["source"] == "texts"
    config = yaml.safe_load((adapted / "config.yaml").read_text())
    sections = {"adapt": AdaptArgs, "train": MLMTrainArgs, "model": ModelArgs}
    rebuilt = build_configs(sections, {k: config[k] for k in sections})
    assert rebuilt["train"].max_steps == 30 and rebuilt["adapt"].heldout_fraction == 0.2
    _, info = AutoModelForMaskedLM.from_pretrained(str(adapted), output_loading_info=True)
    assert not info["missing_keys"]
    _, held = split_heldout(TEXTS, AdaptArgs(heldout_fraction=0.2))
    again = masked_perplexity(str(adapted), held, max_length=32)
    assert again["perplexity"] == pytest.approx(metrics["perplexity_after"], rel=1e-5)
    assert not list(adapted.parent.glob(".model.*"))  # the atomic temp folder is gone


def test_the_adapted_checkpoint_loads_into_finetune(adapted, data_dir):
    from transformers import AutoModelForMaskedLM

    from textxfer.finetune import finetune

    clf = load_classifier(str(adapted), ["positive", "negative"])
    mlm = AutoModelForMaskedLM.from_pretrained(str(adapted))
    assert torch.equal(clf.bert.encoder.layer[0].attention.self.query.weight,
                       mlm.bert.encoder.layer[0].attention.self.query.weight)  # fmt: skip
    result = finetune(ModelArgs(str(adapted)), DataArgs(str(data_dir)), ftutil.train_args(epochs=1))
    assert result.global_step == 5 and result.metrics["test"]["n"] == 8


def test_a_checkpoint_without_mlm_head_gets_a_fresh_one_and_keeps_its_pooler(tmp_path, caplog):
    from transformers import AutoModel

    from textxfer.testing import make_tiny_bert

    base = make_tiny_bert(tmp_path / "encoder", texts=TEXTS * 3, with_mlm_head=False)
    with caplog.at_level(logging.WARNING, logger="textxfer.adapt"):
        out = _folder(
            adapt(
                ModelArgs(str(base), max_length=32),
                TEXTS,
                AdaptArgs(objective="mlm"),
                _train(tmp_path / "o", max_steps=3),
            )
        )
    assert "has no masked-LM head: a fresh head was initialised" in caplog.text
    assert read_metrics(out)["fresh_mlm_head"] is True
    original = AutoModel.from_pretrained(str(base)).pooler.dense.weight
    assert torch.equal(load_classifier(str(out), ["a", "b"]).bert.pooler.dense.weight, original)


def test_evaluation_texts_never_reach_adaptation(bert, data_dir, tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"1 adaptation text\(s\) also occur in the test split"):
        check_no_leak(["fresh text", "held out"], ["held out", "other"])
    check_no_leak(["fresh text"], ["held out"])
    # The tiny data's test rows are also training rows: adaptation_texts drops them.
    out = _folder(adapt(ModelArgs(str(bert), max_length=32), DataArgs(str(data_dir)), AdaptArgs(),
                _train(tmp_path / "ok", max_steps=1)))  # fmt: skip
    test_texts = set(load_data(str(data_dir))["test"]["text"])
    assert read_metrics(out)["n_texts"] == len(set(TEXTS) - test_texts) == 12
    leaky = list(load_data(str(data_dir))["train"]["text"])  # includes every test text
    monkeypatch.setattr("textxfer.adapt.run.adaptation_texts", lambda args: leaky)
    with pytest.raises(DataError, match=r"8 adaptation text\(s\) also occur in the test split"):
        adapt(ModelArgs(str(bert)), DataArgs(str(data_dir)), AdaptArgs(), _train(tmp_path / "bad"))
    assert not (tmp_path / "bad").exists()


def test_an_interrupted_run_resumes_to_the_same_weights_and_perplexity(bert, tmp_path):
    from safetensors.torch import load_file

    model = ModelArgs(str(bert), max_length=32)  # dropout 0.1 stays on
    common = dict(
        max_steps=7, batch_size=4, scheduler="linear", save_strategy="steps", save_steps=3
    )
    whole = _folder(adapt(model, TEXTS, AdaptArgs(), _train(tmp_path / "a", **common)))
    args = _train(tmp_path / "b", checkpoint_dir=str(tmp_path / "ckpt"), **common)
    with pytest.raises(Interrupt):
        adapt(model, TEXTS, AdaptArgs(), args, callbacks=[CrashAt(5)])  # mid epoch 2 of 4 steps
    assert sorted(p.name for p in (tmp_path / "ckpt").iterdir()) == ["step-00000003"]
    resumed = _folder(adapt(model, TEXTS, AdaptArgs(),
                    _train(tmp_path / "b", checkpoint_dir=str(tmp_path / "ckpt"), resume=True, **common)))  # fmt: skip
    want, got = (
        load_file(str(whole / "model.safetensors")),
        load_file(str(resumed / "model.safetensors")),
    )
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    a, b = read_metrics(whole), read_metrics(resumed)
    assert a["perplexity_after"] == b["perplexity_after"] and b["global_step"] == 7


def _word_spans(tokenizer, text: str) -> list[list[int]]:
    enc = tokenizer(text)
    spans: dict[int, list[int]] = {}
    for i, w in enumerate(enc.word_ids()):
        if w is not None:
            spans.setdefault(w, []).append(i)
    return list(spans.values())


@pytest.mark.parametrize("whole_word", [True, False])
def test_whole_word_masking_masks_every_piece_of_a_word(bert, whole_word):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(bert))
    text = "extraordinarily unremarkable cinematography and a great script"
    spans = _word_spans(tokenizer, text)
    assert any(len(s) > 1 for s in spans)  # some words are split into pieces
    rows = [
        dict(tokenizer(text, return_special_tokens_mask=True, return_offsets_mapping=True))
    ] * 32
    batch = MLMCollator(tokenizer)(rows)
    masker = make_masker(tokenizer, 0.4, whole_word_mask=whole_word)
    torch.manual_seed(0)
    _, labels = draw_mask(
        masker, batch["input_ids"], batch["special_tokens_mask"], batch["offset_mapping"]
    )
    masked = (labels != -100).tolist()
    partial = [
        any(row[i] for i in s) and not all(row[i] for i in s) for row in masked for s in spans
    ]
    assert any(any(row[i] for i in s) for row in masked for s in spans if len(s) > 1)
    assert not any(partial) if whole_word else any(partial)
    assert not any(row[0] or row[-1] for row in masked)  # [CLS] and [SEP] are never masked


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: AdaptArgs(mlm_probability=0), r"mlm_probability must be in \(0, 1\), found 0"),
        (lambda: AdaptArgs(mlm_probability=1.5), r"mlm_probability must be in \(0, 1\)"),
        (lambda: AdaptArgs(heldout_fraction=0.0), "needs held-out texts, e.g. --heldout-fraction 0.1"),
        (lambda: AdaptArgs(max_heldout=0), "max_heldout must be >= 1, found 0"),
        (lambda: AdaptArgs(max_texts=1), r"max_texts must be >= 2 \(one to train on, one held out\)"),
        (lambda: MLMTrainArgs(eval_strategy="epoch", best_metric="accuracy"),
         r"best_metric must be one of \['perplexity', 'loss'\] for masked-LM adaptation"),
        (lambda: MLMTrainArgs(class_weights="balanced"), "class_weights is a classification option"),
        (lambda: MLMTrainArgs(lr=0), "lr must be > 0"),
    ],
)  # fmt: skip
def test_bad_adapt_settings_say_what_to_do(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_adapt_refuses_a_missing_out_and_too_few_texts(bert, tmp_path):
    with pytest.raises(ConfigError, match="adapt writes a model folder; pass --out DIR"):
        adapt(ModelArgs(str(bert)), TEXTS, AdaptArgs(), MLMTrainArgs())
    with pytest.raises(DataError, match="at least 2 distinct non-empty texts .* found 1"):
        adapt(ModelArgs(str(bert)), ["same", "same", " "], AdaptArgs(), _train(tmp_path / "o"))


def test_lora_mlm_stage_is_merged_into_a_plain_checkpoint(bert, tmp_path):
    from safetensors.torch import load_file

    out = _folder(adapt(ModelArgs(str(bert), max_length=32), TEXTS, AdaptArgs(),
                _train(tmp_path / "lora", max_steps=5), LoraArgs(lora=True, lora_r=4)))  # fmt: skip
    metrics = read_metrics(out)
    assert metrics["method"] == "lora" and metrics["trainable_params"] < metrics["total_params"]
    weights, base = (
        load_file(str(out / "model.safetensors")),
        load_file(str(bert / "model.safetensors")),
    )
    assert not any("lora" in k for k in weights) and weights.keys() == base.keys()
    query = "bert.encoder.layer.0.attention.self.query.weight"
    embeddings = "bert.embeddings.word_embeddings.weight"
    assert not torch.equal(weights[query], base[query])  # the merged adapter changed it
    assert torch.equal(weights[embeddings], base[embeddings])  # frozen under LoRA


def test_cli_adapt_on_a_text_file_end_to_end(bert, tmp_path, capsys):
    from textxfer.cli import main

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n\n", encoding="utf-8")
    out = tmp_path / "cli"
    argv = ["adapt", str(texts), "--model", str(bert), "--out", str(out), "--max-steps", "3",
            "--batch-size", "4", "--max-length", "32", "--whole-word-mask", "--progress-bar", "false"]  # fmt: skip
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "held-out masked-LM perplexity" in printed and f"saved to {out}" in printed
    assert read_metrics(out)["global_step"] == 3
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["adapt"]["whole_word_mask"] is True and config["data"]["dataset"] == str(texts)
    assert json.loads((out / "textxfer.json").read_text())["source"] == "file"
    assert (
        main(["adapt", "--config", str(out / "config.yaml"), "--out", str(tmp_path / "again")]) == 0
    )
    assert main(["adapt", str(texts), "--target", "x", "--out", str(tmp_path / "no")]) == 2
    assert "--target x needs a dataset" in capsys.readouterr().err


def test_recipe_adapts_on_a_dataset_with_the_preset(bert, data_dir, tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "recipes"))
    import adapt as recipe

    out = tmp_path / "recipe"
    argv = [str(data_dir), "--config", str(ROOT / "recipes/configs/adapt.yaml"), "--model", str(bert),
            "--out", str(out), "--max-steps", "2", "--max-length", "32", "--progress-bar", "false"]  # fmt: skip
    assert recipe.main(argv) == 0
    info = json.loads((out / "textxfer.json").read_text())
    assert info["source"] == "task-adaptive" and info["dataset"] == str(data_dir)
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["train"]["lr"] == 1e-4 and config["adapt"]["whole_word_mask"] is True
    assert "held-out masked-LM perplexity" in capsys.readouterr().out


@pytest.mark.parametrize("method", ["adapt-finetune", "adapt-finetune-lora"])
def test_adapt_finetune_runs_in_the_compare_grid(bert, data_dir, tmp_path, method):
    from textxfer.compare.registry import run_method

    dataset = load_data(str(data_dir))
    options = {"mlm": {"lr": 1e-3}, "model": {"max_length": 32}}
    result = run_method(method, dataset, seed=0, model=str(bert), options=options,
                        work_dir=tmp_path / "w", smoke=True, unlabeled=["an extra unlabelled review"])  # fmt: skip
    assert result.metrics["n"] == 8 and 0 <= result.metrics["accuracy"] <= 1
    assert result.fit_seconds > 0 and not (tmp_path / "w" / "adapted").exists()
    assert (result.trainable_params < result.total_params) == method.endswith("lora")
    with pytest.raises(DataError, match="also occur in the test split"):
        run_method(method, dataset, model=str(bert), work_dir=tmp_path / "x", smoke=True,
                   unlabeled=[dataset["test"]["text"][0]])  # fmt: skip
