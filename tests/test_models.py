"""Model resolution: offline default, local folders, Hub ids that fail fast offline; tiny fixtures."""

from __future__ import annotations

import pytest

from textxfer.models import (
    ModelNotFoundError,
    default_model_path,
    label_maps,
    resolve_model,
)


def test_default_model_is_the_packaged_minilm():
    try:
        path = default_model_path()
    except ModelNotFoundError as err:
        pytest.skip(str(err))
    assert (path / "config.json").is_file()
    assert resolve_model("default") == str(path)
    assert resolve_model(None) == str(path)


def test_local_folder_resolves_to_itself(tiny_bert):
    assert resolve_model(str(tiny_bert)) == str(tiny_bert)


def test_folder_without_config_is_refused(tmp_path):
    with pytest.raises(
        ModelNotFoundError,
        match=r"has no config.json; expected a folder written by save_pretrained",
    ):
        resolve_model(str(tmp_path))


def test_missing_local_path(tmp_path):
    with pytest.raises(ModelNotFoundError, match=r"model folder .* not found"):
        resolve_model(str(tmp_path / "nope"))


def test_uncached_hub_id_fails_fast_offline_with_the_fix(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(
        ModelNotFoundError,
        match=r"not in the Hugging Face cache.*hf download someone/missing-model --local-dir DIR.*--model default",
    ):
        resolve_model("someone/missing-model")


def test_classifier_gets_the_real_label_names(tiny_bert):
    from textxfer.finetune.task import build_classifier

    model, new_keys = build_classifier(str(tiny_bert), ["negative", "positive", "neutral"])
    assert any(k.startswith("classifier.") for k in new_keys)
    assert model.config.id2label == {0: "negative", 1: "positive", 2: "neutral"}
    assert model.config.label2id["neutral"] == 2
    assert model.classifier.out_features == 3


def test_label_maps():
    assert label_maps(["a", "b"]) == {
        "num_labels": 2,
        "id2label": {0: "a", 1: "b"},
        "label2id": {"a": 0, "b": 1},
    }


def test_tiny_bert_fixture_is_small_and_tokenizes(tiny_bert):
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(tiny_bert)
    assert (config.hidden_size, config.num_hidden_layers) == (32, 2)
    tok = AutoTokenizer.from_pretrained(tiny_bert)
    ids = tok("a great movie")["input_ids"]
    assert ids[0] == tok.cls_token_id and ids[-1] == tok.sep_token_id


def test_loading_logs_no_tensor_parallel_wall(tiny_bert):
    """Quieting transformers' load table switches on its tensor-parallel plan check, which warns
    that every layer of a model loaded without a plan was "not sharded": quieted as well."""
    import logging

    from transformers import AutoModel

    from textxfer.models import load_pretrained

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    watched = logging.getLogger("transformers.distributed.tensor_parallel")
    watched.addHandler(handler)
    try:
        model, _ = load_pretrained(AutoModel, str(tiny_bert))
    finally:
        watched.removeHandler(handler)
    assert type(model).__name__ == "BertModel"
    assert [r.getMessage() for r in records if r.levelno >= logging.WARNING] == []
    assert watched.level == logging.NOTSET  # restored
