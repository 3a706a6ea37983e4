"""Fine-tuning on token windows: windows train with their text's label, metrics count texts, the
saved predictor cuts and aggregates the same way; CLI, YAML and compare reach the options."""

from __future__ import annotations

import json
import logging
import math

import ftutil
import numpy as np
import pytest
import yaml

from textxfer.chunking import cut
from textxfer.cli import main as cli_main
from textxfer.data import DataArgs, load_data
from textxfer.finetune import finetune
from textxfer.finetune.task import encode
from textxfer.train.args import ModelArgs

pytestmark = pytest.mark.usefixtures("quiet_transformers")

WINDOW = dict(chunk_window=8, chunk_stride=4)  # 6 text tokens per window, a new one every 4


@pytest.fixture(scope="module")
def chunked_run(bert, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft_chunk") / "model"
    args = ftutil.train_args(out=str(out), **ftutil.LEARNS)
    result = finetune(ModelArgs(str(bert), dropout=0.0, **WINDOW), DataArgs(str(data_dir)), args)
    return result, out


def _windows(bert, texts):
    from transformers import AutoTokenizer

    return cut(AutoTokenizer.from_pretrained(str(bert)), texts, 8, 4)


def test_every_window_is_a_training_row_and_metrics_count_texts(chunked_run, bert, data_dir):
    result, _ = chunked_run
    train = load_data(str(data_dir))["train"]
    n_windows = len(_windows(bert, list(train["text"]))[1])
    assert n_windows > len(train)  # most texts are longer than one window
    assert result.global_step == 12 * math.ceil(n_windows / 4)  # 12 epochs of batch 4 windows
    assert result.metrics["test"]["n"] == 8 and result.metrics["dev"]["n"] == 8
    assert sum(sum(r) for r in result.metrics["test"]["confusion_matrix"]) == 8
    assert result.metrics["dev"]["accuracy"] == 1.0  # dev rows are training rows


def test_saved_predictor_aggregates_the_window_logits(chunked_run, bert, data_dir):
    import torch

    from textxfer.predict import load_predictor

    result, out = chunked_run
    info = json.loads((out / "textxfer.json").read_text())
    assert info["chunking"] == {"chunk_window": 8, "chunk_stride": 4, "chunk_aggregation": "mean"}
    predictor = load_predictor(out)
    test = load_data(str(data_dir))["test"]
    texts, names = list(test["text"]), test.features["label"].names
    gold = [names[i] for i in test["label"]]
    accuracy = np.mean([p == g for p, g in zip(predictor.predict(texts), gold)])
    assert accuracy == result.metrics["test"]["accuracy"]
    enc, doc, _ = _windows(bert, texts[:1])  # by hand: the mean of the first text's window logits
    with torch.no_grad():
        logits = torch.cat(
            [predictor.model(**{k: torch.tensor([v[i]]) for k, v in enc.items()}).logits
             for i in range(len(doc))]
        )  # fmt: skip
    expected = torch.softmax(logits.mean(0), -1).numpy()
    np.testing.assert_allclose(predictor.predict_proba(texts[:1])[0], expected, atol=1e-5)


def test_truncation_of_most_texts_warns(bert, data_dir, caplog):
    from transformers import AutoTokenizer

    with caplog.at_level(logging.WARNING, logger="textxfer.chunking"):
        encode(load_data(str(data_dir)), AutoTokenizer.from_pretrained(str(bert)), max_length=6)
    assert "finetune: 36 of 36 texts (100%) are longer than max_length=6" in caplog.text


def test_cli_yaml_and_predict_use_the_chunk_options(bert, data_dir, tmp_path, capsys):
    cfg = tmp_path / "chunks.yaml"
    cfg.write_text(yaml.safe_dump({"model": {"chunk_window": 8, "chunk_aggregation": "vote"}}))
    out = tmp_path / "m"
    argv = ["finetune", str(data_dir), "--config", str(cfg), "--chunk-stride", "4",
            "--model", str(bert), "--epochs", "1", "--batch-size", "4", "--out", str(out),
            "--progress-bar", "false"]  # fmt: skip
    assert cli_main(argv) == 0
    info = json.loads((out / "textxfer.json").read_text())
    assert info["chunking"] == {"chunk_window": 8, "chunk_stride": 4, "chunk_aggregation": "vote"}
    saved = yaml.safe_load((out / "config.yaml").read_text())["model"]
    assert (saved["chunk_window"], saved["chunk_stride"]) == (8, 4)
    capsys.readouterr()
    assert (
        cli_main(["predict", str(out), "--text", "a great and moving film with superb acting"]) == 0
    )
    assert (
        capsys.readouterr().out.splitlines()[0] == "text,label,p_negative,p_positive"
    )  # sorted label ids


def test_compare_takes_chunk_options_per_method(bert, data_dir, tmp_path):
    from textxfer.compare import CompareArgs, compare

    options = {"finetune-full": {"chunk_window": 8, "max_steps": 2, "eval_strategy": "no"},
               "features-lr": {"chunk_window": 8, "chunk_stride": 4}}  # fmt: skip
    table = compare(
        CompareArgs(dataset=str(data_dir), methods=list(options), options=options,
                    model=str(bert), out=str(tmp_path / "grid")),
        progress=False,
    )  # fmt: skip
    assert table["status"].tolist() == ["ok", "ok"] and (table["n_eval"] == 8).all()


def test_bench_chunking_recipe_runs_both_inputs_per_method(bert, data_dir, tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "recipes" / "bench_chunking.py"
    spec = importlib.util.spec_from_file_location("bench_chunking", path)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    out = tmp_path / "bench.json"
    argv = [str(data_dir), "--model", str(bert), "--window", "8", "--stride", "4", "--max-length",
            "6", "--max-steps", "2", "--batch-size", "4", "--out", str(out)]  # fmt: skip
    assert recipe.main(argv) == 0
    rows = json.loads(out.read_text())["rows"]
    assert [(r["method"], r["input"]) for r in rows] == [
        ("features-lr", "truncate 6"), ("features-lr", "chunks 8/4"),
        ("finetune-full", "truncate 6"), ("finetune-full", "chunks 8/4"),
    ]  # fmt: skip
    assert all(r["n_test"] == 8 for r in rows)
    table = capsys.readouterr().out.split("| method | input |")[1]
    assert table.count("\n| features-lr |") == 2 and "| gain (points) |" in table


def test_masked_lm_adaptation_refuses_windows(tmp_path):
    from textxfer.adapt import adapt
    from textxfer.adapt.args import MLMTrainArgs
    from textxfer.errors import ConfigError

    with pytest.raises(ConfigError, match="chunk_window cuts texts for classification"):
        adapt(ModelArgs(chunk_window=64), ["a text"], train_args=MLMTrainArgs(out=str(tmp_path)))
