"""Every saved model folder has a Hub-format model card; --push-to-hub uploads it (mocked HfApi)."""

from __future__ import annotations

import json
from unittest import mock

import pytest
import yaml

from textxfer.card import base_model_id, dataset_ids
from textxfer.cli import main
from textxfer.errors import ConfigError
from textxfer.publish import HubError, push_to_hub

SECTIONS = ("## Data", "## Labels", "## Results", "## Training config", "## How to load")


def card(folder):
    text = (folder / "README.md").read_text()
    assert text.startswith("---\n")
    meta = yaml.safe_load(text.split("---\n")[1])
    return meta, text


def test_lora_folder_and_its_adapter_have_cards(data_dir, bert, tmp_path):
    out = tmp_path / "lora"
    argv = ["finetune", str(data_dir), "--model", str(bert), "--max-steps", "2", "--lora",
            "--eval-strategy", "no", "--out", str(out), "-q"]  # fmt: skip
    assert main(argv) == 0
    meta, text = card(out)
    metrics = json.loads((out / "metrics.json").read_text())
    assert meta["library_name"] == "transformers" and meta["pipeline_tag"] == "text-classification"
    assert {"textxfer", "lora"} <= set(meta["tags"]) and meta["metrics"] == ["accuracy", "f1"]
    assert (
        "datasets" not in meta and "base_model" not in meta
    )  # local folders mean nothing on the Hub
    assert all(s in text for s in SECTIONS)
    assert (
        f"| test | {metrics['test']['accuracy']:.4f} | {metrics['test']['macro_f1']:.4f} | 8 |"
        in text
    )
    assert "| 0 | negative |" in text and "train: 20 rows" in text and "lora_r: 8" in text
    adapter_meta, adapter_text = card(out / "adapter")
    assert adapter_meta["library_name"] == "peft"
    assert (
        "More Information Needed" not in adapter_text
        and "PeftModel.from_pretrained" in adapter_text
    )


def test_baseline_and_adapted_folders_have_cards(data_dir, bert, tmp_path):
    base = tmp_path / "tfidf"
    assert main(["baseline", str(data_dir), "--method", "tfidf-lr", "--out", str(base), "-q"]) == 0
    meta, text = card(base)
    metrics = json.loads((base / "metrics.json").read_text())
    assert meta["library_name"] == "sklearn" and "tfidf-lr" in meta["tags"]
    assert f"| test | {metrics['accuracy']:.4f} |" in text and "cannot run code" in text
    adapted = tmp_path / "mlm"
    argv = [
        "adapt",
        str(data_dir),
        "--model",
        str(bert),
        "--max-steps",
        "2",
        "--out",
        str(adapted),
        "-q",
    ]
    assert main(argv) == 0
    meta, text = card(adapted)
    m = json.loads((adapted / "metrics.json").read_text())
    assert meta["pipeline_tag"] == "fill-mask" and meta["metrics"] == ["perplexity"]
    assert f"| held-out, after | {m['perplexity_after']:.4f} |" in text
    assert all(s in text for s in ("## Data", "## Results", "## Training config", "## How to load"))


def test_hub_ids_for_front_matter(tmp_path):
    assert base_model_id("default") == "sentence-transformers/all-MiniLM-L6-v2"
    assert base_model_id("bert-base-uncased") == "bert-base-uncased"
    assert base_model_id(str(tmp_path)) is None and base_model_id("./x") is None
    (tmp_path / "textxfer.json").write_text(json.dumps({"kind": "adapted", "model": "default"}))
    assert base_model_id(str(tmp_path)) == "sentence-transformers/all-MiniLM-L6-v2"
    assert dataset_ids("subj", str(tmp_path), None, "subj") == ["subj"]


@pytest.fixture()
def baseline_folder(data_dir, tmp_path):
    out = tmp_path / "tfidf"
    assert main(["baseline", str(data_dir), "--method", "bow-lr", "--out", str(out), "-q"]) == 0
    return out


def test_push_to_hub_creates_the_repo_and_uploads_the_folder(baseline_folder, monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    api = mock.Mock()
    assert (
        push_to_hub(baseline_folder, "me/demo", private=True, api=api)
        == "https://huggingface.co/me/demo"
    )
    api.create_repo.assert_called_once_with(
        "me/demo", repo_type="model", private=True, exist_ok=True
    )
    kwargs = api.upload_folder.call_args.kwargs
    assert kwargs["folder_path"] == str(baseline_folder) and kwargs["repo_id"] == "me/demo"
    assert "checkpoints/**" in kwargs["ignore_patterns"]


def test_push_to_hub_refusals(baseline_folder, tmp_path, monkeypatch):
    with pytest.raises(HubError, match="HF_HUB_OFFLINE is set"):
        push_to_hub(baseline_folder, "me/demo", api=mock.Mock())
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(ConfigError, match="not a textxfer model folder"):
        push_to_hub(tmp_path, "me/demo", api=mock.Mock())
    api = mock.Mock()
    api.upload_folder.side_effect = RuntimeError("401 Unauthorized")
    with pytest.raises(HubError, match=r"could not push .* 401 Unauthorized.*hf auth login"):
        push_to_hub(baseline_folder, "me/demo", api=api)


def test_push_to_hub_flag(data_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    api = mock.Mock()
    monkeypatch.setattr("huggingface_hub.HfApi", lambda: api)
    out = tmp_path / "b"
    argv = ["baseline", str(data_dir), "--method", "bow-lr", "--out", str(out), "-q"]
    assert main([*argv, "--push-to-hub", "me/bow"]) == 0
    assert f"pushed {out} to https://huggingface.co/me/bow" in capsys.readouterr().out
    assert api.upload_folder.call_args.kwargs["folder_path"] == str(out)
    assert main([*argv, "--push-to-hub", "not-a-repo-id"]) == 2
    assert "takes a Hub repo id owner/name" in capsys.readouterr().err
