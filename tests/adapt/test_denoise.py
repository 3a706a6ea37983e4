"""Denoising adaptation (TSDAE) for encoders without a masked-LM head: word deletion, the
objective chosen by ``auto``, what is saved, determinism and refusals."""

from __future__ import annotations

from pathlib import Path

import ftutil
import pytest
import torch

from textxfer.adapt import adapt
from textxfer.adapt.args import AdaptArgs, MLMTrainArgs
from textxfer.errors import ConfigError
from textxfer.train.args import LoraArgs, ModelArgs

TEXTS = [t for t, _ in ftutil.rows()]

pytestmark = pytest.mark.usefixtures("quiet_transformers")


def _train(out, **overrides) -> MLMTrainArgs:
    values = dict(max_steps=12, batch_size=4, lr=1e-3, progress_bar=False, seed=0, out=str(out))
    return MLMTrainArgs(**{**values, **overrides})


def _weights(folder) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(Path(folder) / "model.safetensors"))


def test_word_deletion_drops_whole_words_keeps_special_tokens_and_is_seeded():
    from textxfer.adapt.denoise import delete_words

    ids = torch.tensor([[101, 11, 12, 13, 14, 15, 102, 0], [101, 21, 22, 102, 0, 0, 0, 0]])
    words = torch.tensor([[-1, 0, 0, 1, 2, 2, -1, -1], [-1, 0, 1, -1, -1, -1, -1, -1]])
    mask = (words != -1).long()
    mask[:, 0] = 1
    mask[0, 6] = mask[1, 3] = 1
    draws = [
        delete_words(ids, words, mask, 0.5, 0, torch.Generator().manual_seed(s)) for s in range(20)
    ]
    for noisy, noisy_mask in draws:
        for row, row_mask, n_real in zip(noisy, noisy_mask, (7, 4), strict=True):
            kept = row[row_mask.bool()].tolist()
            assert kept[0] == 101 and kept[-1] == 102 and 3 <= len(kept) <= n_real
            assert (11 in kept) == (12 in kept) and (14 in kept) == (15 in kept)  # whole words
            assert all(t == 0 for t in row[~row_mask.bool()].tolist())  # padding after
    again = delete_words(ids, words, mask, 0.5, 0, torch.Generator().manual_seed(3))
    assert torch.equal(again[0], draws[3][0])
    assert len({tuple(n[0].tolist()) for n, _ in draws}) > 1
    # a ratio near 1 still keeps one word of every row
    for seed in range(10):
        noisy, noisy_mask = delete_words(
            ids, words, mask, 0.999, 0, torch.Generator().manual_seed(seed)
        )
        first, second = noisy_mask.sum(1).tolist()
        assert first in (3, 4) and second == 3  # [CLS] + one word (1 or 2 tokens) + [SEP]


def test_auto_picks_denoising_without_a_head_and_mlm_with_one(encoder, bert, tmp_path):
    headless = adapt(
        ModelArgs(str(encoder), max_length=32), TEXTS, AdaptArgs(), _train(tmp_path / "a")
    )
    assert headless.metrics["objective"] == "denoising"
    assert headless.metrics["fresh_mlm_head"] is False
    assert headless.metrics["n_heldout_tokens"] > 0
    with_head = adapt(
        ModelArgs(str(bert), max_length=32), TEXTS, AdaptArgs(), _train(tmp_path / "b")
    )
    assert (
        with_head.metrics["objective"] == "mlm" and "n_heldout_masked_tokens" in with_head.metrics
    )
    lora = adapt(ModelArgs(str(encoder), max_length=32), TEXTS, AdaptArgs(),
                 _train(tmp_path / "c"), LoraArgs(lora=True, lora_r=4))  # fmt: skip
    assert lora.metrics["objective"] == "mlm"


def test_denoising_lowers_reconstruction_perplexity_and_saves_the_encoder_only(encoder, tmp_path):
    from transformers import AutoModel

    result = adapt(ModelArgs(str(encoder), max_length=32), TEXTS, AdaptArgs(objective="denoising"),
                   _train(tmp_path / "out", max_steps=40))  # fmt: skip
    metrics = result.metrics
    assert metrics["perplexity_after"] < 0.85 * metrics["perplexity_before"]
    saved, original = _weights(tmp_path / "out"), _weights(encoder)
    assert not any("crossattention" in k or k.startswith(("decoder", "cls.")) for k in saved)
    assert set(saved) == set(original)
    layer = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(saved[layer], original[layer])  # the encoder learned
    words = "embeddings.word_embeddings.weight"
    assert torch.equal(saved[words], original[words])  # embeddings frozen
    assert torch.equal(saved["pooler.dense.weight"], original["pooler.dense.weight"])  # unused
    model = AutoModel.from_pretrained(str(tmp_path / "out"))
    assert model.config.is_decoder is False and model.config.add_cross_attention is False
    card = (tmp_path / "out" / "README.md").read_text()
    assert "denoising (TSDAE)" in card and "feature-extraction" in card


def test_denoising_is_deterministic_for_a_seed_and_resumes_exactly(encoder, tmp_path):
    model = ModelArgs(str(encoder), max_length=32)
    args = AdaptArgs(objective="denoising")
    first = adapt(model, TEXTS, args, _train(tmp_path / "a"))
    second = adapt(model, TEXTS, args, _train(tmp_path / "b"))
    assert first.metrics["perplexity_after"] == second.metrics["perplexity_after"]
    a, b = _weights(tmp_path / "a"), _weights(tmp_path / "b")
    assert all(torch.equal(a[k], b[k]) for k in a)
    other = adapt(
        model, TEXTS, AdaptArgs(objective="denoising", seed=7), _train(tmp_path / "c", seed=7)
    )
    key = "encoder.layer.1.output.dense.weight"
    assert not torch.equal(_weights(tmp_path / "c")[key], a[key])
    common = dict(save_strategy="steps", save_steps=4, checkpoint_dir=None)
    whole = adapt(model, TEXTS, args, _train(tmp_path / "w", **common))
    ckpt = dict(common, checkpoint_dir=str(tmp_path / "ckpt"))
    with pytest.raises(ftutil.Interrupt):  # stops at step 6, resumes from step 4
        adapt(model, TEXTS, args, _train(tmp_path / "r", **ckpt), callbacks=[ftutil.crash_at(6)])
    resumed = adapt(model, TEXTS, args, _train(tmp_path / "r", resume=True, **ckpt))
    want, got = _weights(whole.output_dir), _weights(resumed.output_dir)
    assert want.keys() == got.keys() and all(torch.equal(want[k], got[k]) for k in want)
    assert resumed.metrics["perplexity_after"] == whole.metrics["perplexity_after"]
    assert other.metrics["objective"] == "denoising"


def test_bad_denoising_settings_are_refused_with_the_fix(encoder, tmp_path):
    with pytest.raises(ConfigError, match="objective must be one of .*found 'tsdae'"):
        AdaptArgs(objective="tsdae")
    with pytest.raises(ConfigError, match=r"deletion_ratio must be in \(0, 1\), found 1.0"):
        AdaptArgs(deletion_ratio=1.0)
    with pytest.raises(ConfigError, match="reconstruct_length must be >= 4"):
        AdaptArgs(reconstruct_length=2)
    with pytest.raises(ConfigError, match="LoRA works with --objective mlm"):
        adapt(ModelArgs(str(encoder), max_length=32), TEXTS, AdaptArgs(objective="denoising"),
              _train(tmp_path / "x"), LoraArgs(lora=True, lora_r=4))  # fmt: skip
    assert not (tmp_path / "x").exists() or not any((tmp_path / "x").iterdir())


def test_cli_adapts_a_headless_encoder_by_denoising_and_refuses_an_unknown_objective(
    encoder, tmp_path, capsys
):
    import yaml

    from textxfer.cli import main

    texts = tmp_path / "texts.txt"
    texts.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "cli"
    argv = ["adapt", str(texts), "--model", str(encoder), "--out", str(out), "--max-steps", "3",
            "--batch-size", "4", "--max-length", "32", "--progress-bar", "false"]  # fmt: skip
    assert main(argv) == 0
    assert "held-out reconstruction (denoising) perplexity" in capsys.readouterr().out
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["adapt"]["objective"] == "auto" and config["adapt"]["deletion_ratio"] == 0.6
    assert main([*argv[:5], str(tmp_path / "no"), "--objective", "tsdae"]) == 2
    err = capsys.readouterr().err
    assert "objective must be one of ['auto', 'mlm', 'denoising'], found 'tsdae'" in err
    assert not (tmp_path / "no").exists()


def test_a_share_of_a_denoising_adaptation_interpolates_the_saved_encoder(encoder, tmp_path):
    model = ModelArgs(str(encoder), max_length=32)
    runs = {share: adapt(model, TEXTS, AdaptArgs(objective="denoising", adapted_share=share),
                         _train(tmp_path / str(share))) for share in (0.0, 0.5, 1.0)}  # fmt: skip
    none, half, whole = (_weights(runs[s].output_dir) for s in (0.0, 0.5, 1.0))
    original = _weights(encoder)
    key = "encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(whole[key], original[key])
    assert all(torch.allclose(none[k], original[k], atol=1e-6) for k in original)
    assert torch.allclose(half[key], (original[key] + whole[key]) / 2, atol=1e-6)
    assert runs[0.5].metrics["perplexity_whole_adaptation"] == pytest.approx(
        runs[1.0].metrics["perplexity_after"]
    )


def test_masking_options_under_denoising_are_named_as_unused(encoder, tmp_path, caplog):
    import logging

    with caplog.at_level(logging.INFO, logger="textxfer.adapt"):
        result = adapt(ModelArgs(str(encoder), max_length=32), TEXTS,
                       AdaptArgs(whole_word_mask=True), _train(tmp_path / "o", max_steps=2))  # fmt: skip
    assert result.metrics["objective"] == "denoising"
    assert (
        "--whole-word-mask: masked-LM options, not used by the denoising objective" in caplog.text
    )
    assert "has no masked-LM head: adapting with the denoising objective" in caplog.text


def test_the_decoders_new_weights_train_at_fresh_head_lr_and_the_rest_at_lr(encoder, tmp_path):
    rates = {}

    class Rates:
        def on_step_end(self, loop) -> None:
            model = loop.accelerator.unwrap_model(loop.model)
            ids = {id(p): n for n, p in model.named_parameters()}
            for group in loop.optimizer.param_groups:
                for param in group["params"]:
                    rates.setdefault(ids[id(param)], group["lr"])

    adapt(ModelArgs(str(encoder), max_length=32), TEXTS, AdaptArgs(objective="denoising"),
          _train(tmp_path / "o", max_steps=1, lr=1e-4, warmup_ratio=0.0, fresh_head_lr=2e-3,
                 scheduler="constant"), callbacks=[Rates()])  # fmt: skip
    cross = [n for n in rates if "crossattention" in n]
    assert cross and all(rates[n] == pytest.approx(2e-3) for n in cross)
    assert rates["encoder.encoder.layer.0.attention.self.query.weight"] == pytest.approx(1e-4)
    assert rates["decoder.bert.encoder.layer.0.attention.self.query.weight"] == pytest.approx(1e-4)
    assert "encoder.pooler.dense.weight" not in rates  # frozen: mean pooling does not use it


def test_a_slow_tokenizer_or_an_architecture_without_a_decoder_is_refused(encoder, tmp_path):
    from types import SimpleNamespace

    from transformers import DistilBertConfig, DistilBertModel

    from textxfer.adapt.denoise import load_denoiser, tokenize_words

    slow = SimpleNamespace(is_fast=False)  # transformers 5 gives BERT a fast tokenizer
    with pytest.raises(
        ConfigError, match="needs a fast tokenizer .*found SimpleNamespace; pass --objective mlm"
    ):
        tokenize_words(TEXTS[:2], slow, 32)
    config = DistilBertConfig(vocab_size=64, dim=16, n_layers=1, n_heads=2, hidden_dim=32)
    DistilBertModel(config).save_pretrained(str(tmp_path / "distil"))
    with pytest.raises(
        ConfigError,
        match="is a 'distilbert' model, which has no decoder class with cross-attention; .*pass --objective mlm$",
    ):
        load_denoiser(str(tmp_path / "distil"))
