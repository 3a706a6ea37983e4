"""LoRA: config from LoraArgs, default targets per architecture, head always saved, save -> reload
-> identical logits, merge -> plain model within 1e-4, and LoRA through finetune()."""

from __future__ import annotations

import json
from pathlib import Path

import ftutil  # noqa: E402
import pytest

from textxfer.config import ConfigError  # noqa: E402
from textxfer.data import DataArgs  # noqa: E402
from textxfer.finetune import finetune  # noqa: E402
from textxfer.finetune.task import build_classifier  # noqa: E402
from textxfer.train.args import LoraArgs, ModelArgs  # noqa: E402
from textxfer.train.lora import (  # noqa: E402
    apply_lora,
    count_parameters,
    default_target_modules,
    head_modules,
    load_adapter,
    lora_config,
    merge_lora,
)

LABELS = ["positive", "negative"]


pytestmark = pytest.mark.usefixtures("quiet_transformers")


def _tiny(config_cls, model_cls, **kwargs):
    import torch

    torch.manual_seed(0)
    config = config_cls(vocab_size=50, num_labels=2, **kwargs)
    return model_cls(config)


def _batch(bert: Path):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(bert))
    return tok([t for t, _ in ftutil.rows()[:6]], padding=True, return_tensors="pt")


def _perturb_trainable(model) -> None:
    """LoRA B starts at zero (adapter = identity); give every trainable tensor a real value."""
    import torch

    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for p in model.parameters():
            if p.requires_grad:
                p.add_(0.2 * torch.randn(p.shape, generator=gen))


def test_default_targets_per_architecture():
    from transformers import (
        DistilBertConfig,
        DistilBertForSequenceClassification,
        RobertaConfig,
        RobertaForSequenceClassification,
    )

    distil = _tiny(
        DistilBertConfig,
        DistilBertForSequenceClassification,
        dim=16,
        hidden_dim=32,
        n_layers=1,
        n_heads=2,
    )
    roberta = _tiny(
        RobertaConfig,
        RobertaForSequenceClassification,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
    )
    assert default_target_modules(distil) == ["q_lin", "v_lin"]
    assert default_target_modules(roberta) == ["query", "value"]
    assert head_modules(distil) == ["classifier", "pre_classifier"]
    assert head_modules(roberta) == ["classifier"]
    config = lora_config(distil, LoraArgs(lora=True, lora_r=4, lora_modules_to_save=["extra"]))
    assert set(config.target_modules) == {"q_lin", "v_lin"}
    assert config.modules_to_save == ["classifier", "extra", "pre_classifier"]
    assert (config.r, config.lora_alpha, config.lora_dropout) == (4, 16, 0.1)


def test_unknown_architecture_and_bad_targets_say_the_fix(bert):
    import torch

    class Odd(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.config = type("Cfg", (), {"model_type": "oddformer"})()
            self.proj = torch.nn.Linear(4, 4)

    with pytest.raises(
        ConfigError, match=r"no default LoRA target modules for model type 'oddformer'.*\['proj'\]"
    ):
        default_target_modules(Odd())
    model, _ = build_classifier(str(bert), LABELS)
    with pytest.raises(
        ConfigError,
        match=r"lora_target_modules \['qkv'\] not found in BertForSequenceClassification",
    ):
        lora_config(model, LoraArgs(lora=True, lora_target_modules=["qkv"]))


def test_head_and_new_modules_train_base_stays_frozen(bert):
    model, new_keys = build_classifier(str(bert), LABELS)
    # the tiny BERT was saved as a masked LM: pooler and classifier are newly initialised
    assert head_modules(model, new_keys) == ["bert.pooler.dense", "classifier"]
    peft_model = apply_lora(model, LoraArgs(lora=True, lora_r=4), new_keys)
    trainable = [n for n, p in peft_model.named_parameters() if p.requires_grad]
    assert any("lora_A" in n for n in trainable) and any("classifier" in n for n in trainable)
    assert any("pooler" in n for n in trainable)
    assert not any("word_embeddings" in n or "intermediate" in n for n in trainable)
    n_trainable, n_total = count_parameters(peft_model)
    assert n_trainable == sum(p.numel() for p in peft_model.parameters() if p.requires_grad)
    assert 0 < n_trainable < n_total / 3


def test_adapter_save_reload_identical_and_merge_within_tolerance(bert, tmp_path):
    import torch

    model, new_keys = build_classifier(str(bert), LABELS)
    peft_model = apply_lora(model, LoraArgs(lora=True, lora_r=4), new_keys)
    _perturb_trainable(peft_model)
    peft_model.eval()
    batch = _batch(bert)
    with torch.no_grad():
        logits = peft_model(**batch).logits
    peft_model.save_pretrained(str(tmp_path / "adapter"))
    base, _ = build_classifier(str(bert), LABELS)  # fresh random head: the adapter must restore it
    reloaded = load_adapter(tmp_path / "adapter", base).eval()
    merged = merge_lora(peft_model).eval()
    assert type(merged).__name__ == "BertForSequenceClassification"
    with torch.no_grad():
        assert torch.equal(reloaded(**batch).logits, logits)
        assert torch.allclose(merged(**batch).logits, logits, atol=1e-4)
    assert not any("lora" in n for n, _ in merged.named_parameters())


def test_lora_finetune_output_adapter_and_merged_model_agree(bert, data_dir, tmp_path):
    import torch
    from safetensors.torch import load_file
    from transformers import pipeline

    from textxfer.finetune.io import load_finetuned

    out = tmp_path / "lora"
    args = ftutil.train_args(out=str(out), epochs=2, lr=3e-2, mixed_precision="bf16")
    result = finetune(
        ModelArgs(str(bert)), DataArgs(str(data_dir)), args, LoraArgs(lora=True, lora_r=4)
    )
    assert result.method == "lora" and result.trainable_params < result.total_params / 3
    info = json.loads((out / "textxfer.json").read_text())
    assert (info["method"], info["adapter"]) == ("lora", "adapter")
    assert info["trainable_params"] == result.trainable_params
    assert (out / "adapter" / "adapter_model.safetensors").is_file()
    merged, tok, _ = load_finetuned(out)
    attached, _, _ = load_finetuned(out, adapter=True)
    batch = tok([t for t, _ in ftutil.rows()], padding=True, return_tensors="pt")
    with torch.no_grad():
        assert torch.allclose(merged(**batch).logits, attached(**batch).logits, atol=1e-4)
    # the base weights outside the adapter did not move; the merged attention weights did
    original = load_file(str(bert / "model.safetensors"))
    saved = load_file(str(out / "model.safetensors"))
    key = "bert.encoder.layer.0.intermediate.dense.weight"
    assert torch.equal(saved[key], original[key])
    query = "bert.encoder.layer.0.attention.self.query.weight"
    assert not torch.equal(saved[query], original[query])
    pipe = pipeline("text-classification", model=str(out))
    assert {p["label"] for p in pipe(["a great film", "a dull film"])} <= set(LABELS)
