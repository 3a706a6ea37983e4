"""Adaptation defaults that do not hurt: a fresh masked-LM head trains alone first and at its own
rate, the (tied) word embeddings stay fixed, only scored positions reach the vocabulary layer; a
warm-up resumes exactly."""

from __future__ import annotations

import math
from pathlib import Path

import ftutil
import pytest
import torch

from textxfer.adapt import adapt
from textxfer.adapt.args import AdaptArgs, MLMTrainArgs
from textxfer.errors import ConfigError
from textxfer.train.args import ModelArgs

TEXTS = [t for t, _ in ftutil.rows()]

pytestmark = pytest.mark.usefixtures("quiet_transformers")


def _train(out, **overrides) -> MLMTrainArgs:
    values = dict(max_steps=10, batch_size=4, lr=1e-3, progress_bar=False, seed=0, out=str(out))
    return MLMTrainArgs(**{**values, **overrides})


class Watch:
    """Records, after every optimizer step, a copy of a few weights and the rates of the groups."""

    def __init__(self) -> None:
        self.steps: list[dict] = []

    def on_step_end(self, loop) -> None:
        model = loop.accelerator.unwrap_model(loop.model)
        weights = {
            "layer": model.bert.encoder.layer[0].attention.self.query.weight,
            "words": model.bert.embeddings.word_embeddings.weight,
            "head": model.cls.predictions.transform.dense.weight,
        }
        self.steps.append({
            **{k: v.detach().clone() for k, v in weights.items()},
            "lrs": {g["name"]: g["lr"] for g in loop.optimizer.param_groups},
        })  # fmt: skip


def test_scored_positions_only_gives_the_full_loss_and_gradients(bert):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    from textxfer.adapt.mlm import draw_mask, make_masker, masked_nll, scored_positions_only

    tok = AutoTokenizer.from_pretrained(str(bert))
    model = AutoModelForMaskedLM.from_pretrained(str(bert))
    enc = tok(TEXTS[:6], padding=True, return_tensors="pt", return_special_tokens_mask=True)
    ids, labels = draw_mask(make_masker(tok), enc["input_ids"], enc["special_tokens_mask"],
                            generator=torch.Generator().manual_seed(0))  # fmt: skip
    results = []
    for only_scored in (False, True):
        model.zero_grad()
        with scored_positions_only(model, labels != -100) if only_scored else torch.enable_grad():
            logits = model(input_ids=ids, attention_mask=enc["attention_mask"]).logits
        sums, counts = masked_nll(logits, labels)
        (sums.sum() / counts.sum()).backward()
        grad = model.bert.encoder.layer[0].attention.self.query.weight.grad.clone()
        results.append((logits.shape, sums.detach(), grad))
    (full_shape, full_sums, full_grad), (part_shape, part_sums, part_grad) = results
    assert full_shape[:2] == labels.shape and part_shape[0] == int((labels != -100).sum())
    assert torch.allclose(full_sums, part_sums, atol=1e-5)
    assert torch.allclose(full_grad, part_grad, atol=1e-6)


def test_a_fresh_head_trains_alone_first_at_its_own_rate(encoder, tmp_path):
    from transformers import AutoModel

    watch = Watch()
    result = adapt(ModelArgs(str(encoder), max_length=32), TEXTS, AdaptArgs(objective="mlm"),
                   _train(tmp_path / "out", lr=1e-4), callbacks=[watch])  # fmt: skip
    original = AutoModel.from_pretrained(str(encoder))
    layer0 = original.encoder.layer[0].attention.self.query.weight
    words = original.embeddings.word_embeddings.weight
    warm = 3  # ceil(0.3 x 10 steps)
    for step, seen in enumerate(watch.steps, start=1):
        assert torch.equal(seen["words"], words)  # tied embeddings never move (frozen)
        assert torch.equal(seen["layer"], layer0) == (step <= warm), step
    assert not torch.equal(watch.steps[0]["head"], watch.steps[1]["head"])  # the head learns
    lrs = watch.steps[0]["lrs"]
    assert lrs["own_lr"] == pytest.approx(10 * lrs["all"])  # 1e-3 vs 1e-4, same schedule
    assert result.metrics["fresh_mlm_head"] is True
    assert result.metrics["adapted_share"] == 1.0  # the default keeps all of the adaptation


def test_a_checkpoint_with_its_own_head_trains_everything_from_step_one(bert, tmp_path):
    from transformers import AutoModelForMaskedLM

    watch = Watch()
    result = adapt(ModelArgs(str(bert), max_length=32), TEXTS, AdaptArgs(objective="mlm"), _train(tmp_path / "out"),
                   callbacks=[watch])  # fmt: skip
    assert result.metrics["adapted_share"] == 1.0
    assert "perplexity_whole_adaptation" not in result.metrics
    layer0 = AutoModelForMaskedLM.from_pretrained(str(bert)).bert.encoder.layer[0]
    # step 1 runs at lr 0 (the schedule's one warm-up step), step 2 already moves the encoder
    assert not torch.equal(watch.steps[1]["layer"], layer0.attention.self.query.weight)
    assert "own_lr" not in watch.steps[0]["lrs"]


def test_an_interrupted_warm_up_resumes_to_the_same_weights(encoder, tmp_path):
    from safetensors.torch import load_file

    common = dict(save_strategy="steps", save_steps=2, checkpoint_dir=None)
    model = ModelArgs(str(encoder), max_length=32)
    whole = adapt(model, TEXTS, AdaptArgs(objective="mlm"), _train(tmp_path / "a", **common))
    ckpt = dict(common, checkpoint_dir=str(tmp_path / "ckpt"))
    with pytest.raises(ftutil.Interrupt):  # stops inside the warm-up (steps 1-3), resumes from 2
        adapt(model, TEXTS, AdaptArgs(objective="mlm"), _train(tmp_path / "b", **ckpt),
              callbacks=[ftutil.crash_at(3)])  # fmt: skip
    resumed = adapt(
        model, TEXTS, AdaptArgs(objective="mlm"), _train(tmp_path / "b", resume=True, **ckpt)
    )
    want = load_file(str(Path(whole.output_dir) / "model.safetensors"))
    got = load_file(str(Path(resumed.output_dir) / "model.safetensors"))
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)


@pytest.mark.parametrize(
    ("values", "message"),
    [({"head_warmup": 1.0}, "head_warmup must be in"), ({"fresh_head_lr": 0}, "fresh_head_lr must be > 0")],
)  # fmt: skip
def test_bad_warm_up_settings_say_what_to_do(values, message):
    with pytest.raises(ConfigError, match=message):
        MLMTrainArgs(**values)


def _weights(result) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(Path(result.output_dir) / "model.safetensors"))


def test_a_share_of_the_adaptation_is_kept_by_interpolating_towards_the_original(encoder, tmp_path):
    from safetensors.torch import load_file

    model = ModelArgs(str(encoder), max_length=32)
    runs = {share: adapt(model, TEXTS, AdaptArgs(objective="mlm", adapted_share=share), _train(tmp_path / str(share)))
            for share in (1.0, 0.5, 0.0)}  # fmt: skip
    whole, half, none = (_weights(runs[s]) for s in (1.0, 0.5, 0.0))
    original = {f"bert.{k}": v for k, v in load_file(str(encoder / "model.safetensors")).items()}
    query = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(whole[query], original[query])  # adaptation moved the encoder
    for name in whole:
        if name in original:
            assert torch.allclose(half[name], (original[name] + whole[name]) / 2, atol=1e-6), name
            assert torch.allclose(none[name], original[name], atol=1e-7), name
        else:  # the fresh head has no original: kept as trained (same seed, same steps)
            assert name.startswith("cls.") and torch.equal(half[name], whole[name]), name
    metrics = {s: r.metrics for s, r in runs.items()}
    assert (
        metrics[0.5]["adapted_share"] == 0.5 and "perplexity_whole_adaptation" not in metrics[1.0]
    )
    assert metrics[0.5]["perplexity_whole_adaptation"] == pytest.approx(
        metrics[1.0]["perplexity_after"], rel=1e-5
    )
    assert metrics[0.5]["perplexity_after"] != pytest.approx(metrics[1.0]["perplexity_after"])


def test_lora_keeps_a_share_of_its_merged_update(bert, tmp_path):
    from safetensors.torch import load_file

    from textxfer.train.args import LoraArgs

    model, lora = ModelArgs(str(bert), max_length=32), LoraArgs(lora=True, lora_r=4)
    whole, half = (
        _weights(
            adapt(
                model,
                TEXTS,
                AdaptArgs(objective="mlm", adapted_share=s),
                _train(tmp_path / str(s)),
                lora,
            )
        )
        for s in (1.0, 0.5)
    )
    base = load_file(str(bert / "model.safetensors"))
    query = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.allclose(whole[query], base[query])
    assert torch.allclose(half[query], (base[query] + whole[query]) / 2, atol=1e-6)


def test_a_share_outside_zero_to_one_is_refused():
    with pytest.raises(ConfigError, match=r"adapted_share must be in \[0, 1\], found 1.5"):
        AdaptArgs(objective="mlm", adapted_share=1.5)


@pytest.mark.parametrize(
    ("values", "n_rows", "processes", "expected"),
    [
        ({}, 1600, 1, (150, 2)),  # 100 steps per pass: at least 150 steps
        ({}, 16000, 1, (1000, 1)),  # a pass is more than 150 steps: one pass
        ({}, 4000, 4, (150, 3)),  # 4 processes: 63 steps per pass
        ({"max_steps": 50}, 1600, 1, (50, 1)),  # the user's max_steps is kept
        ({"epochs": 2}, 1600, 1, (None, 2)),  # the user's epochs are kept, max_steps unset
    ],
)
def test_the_adaptation_budget_is_one_pass_and_at_least_150_steps(
    values, n_rows, processes, expected
):
    from textxfer.adapt.args import resolve_adapt_budget

    args, rule = resolve_adapt_budget(MLMTrainArgs(**values), n_rows, processes)
    assert (args.max_steps, args.epochs) == expected
    assert (rule is not None) == (not values)
    if rule:
        assert f"max_steps {expected[0]} = max(150," in rule


def test_a_default_budget_is_resolved_recorded_and_trained(encoder, tmp_path, monkeypatch, caplog):
    import yaml

    import textxfer.adapt.args as adapt_args

    monkeypatch.setattr(adapt_args, "MIN_ADAPT_STEPS", 7)  # the rule, on a budget a test can afford
    out = tmp_path / "out"
    train = MLMTrainArgs(batch_size=8, progress_bar=False, seed=0, out=str(out))
    assert train.epochs is None and train.max_steps is None and train.lr == 1e-4
    with caplog.at_level("INFO", logger="textxfer.adapt.run"):
        result = adapt(ModelArgs(str(encoder), max_length=32), TEXTS, AdaptArgs(), train)
    per_pass = math.ceil(result.metrics["n_train_texts"] / 8)
    steps = max(7, per_pass)
    assert result.metrics["global_step"] == steps
    recorded = yaml.safe_load((out / "config.yaml").read_text())["train"]
    assert recorded["max_steps"] == steps and recorded["epochs"] == math.ceil(steps / per_pass)
    assert f"max_steps {steps} = max(7, one pass of" in caplog.text
