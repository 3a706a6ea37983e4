"""Multi-label fine-tuning end to end on a tiny 3-label set: BCE training, a threshold tuned on dev,
set metrics in metrics.json, and a saved model that transformers.pipeline and textxfer predict read."""

from __future__ import annotations

import json

import ftutil
import numpy as np
import pytest

from textxfer.cli import main as cli_main
from textxfer.data import DataArgs, load_data
from textxfer.data.multilabel import multi_hot
from textxfer.errors import ConfigError
from textxfer.finetune import finetune
from textxfer.metrics import THRESHOLDS, evaluate, tune_threshold
from textxfer.train.args import LoraArgs, ModelArgs

pytestmark = pytest.mark.usefixtures("quiet_transformers")

NAMES = ["comedy", "drama", "horror"]


@pytest.fixture(scope="module")
def ml_bert(tmp_path_factory):
    """A tiny BERT whose vocabulary covers the multi-label sentences."""
    from textxfer.testing import make_tiny_bert

    texts = [t for t, _ in ftutil.MULTI_LABEL_ROWS] * 3
    return make_tiny_bert(tmp_path_factory.mktemp("ml_bert"), texts=texts)


@pytest.fixture(scope="module")
def ml_data(tmp_path_factory):
    return ftutil.write_multilabel(tmp_path_factory.mktemp("ml_data"))


@pytest.fixture(scope="module")
def ml_run(ml_bert, ml_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft_ml") / "model"
    args = ftutil.train_args(out=str(out), epochs=30, lr=3e-3, logging_steps=3)
    result = finetune(
        ModelArgs(str(ml_bert), dropout=0.0), DataArgs(str(ml_data), label_sep=","), args
    )
    return result, out


def _sets_to_matrix(sets):
    return multi_hot([[NAMES.index(n) for n in s] for s in sets], len(NAMES))


def test_metrics_json_has_set_metrics_and_the_dev_threshold(ml_run, ml_data):
    from textxfer.predict import load_predictor

    result, out = ml_run
    metrics = json.loads((out / "metrics.json").read_text())
    for split in ("dev", "test"):
        m = metrics[split]
        assert m["task"] == "multi-label" and m["n"] == 4
        assert m["accuracy"] == m["subset_accuracy"]
        assert {"micro_f1", "macro_f1", "samples_f1", "hamming_loss"} <= set(m)
        assert set(m["label_confusion"]) == set(NAMES) and "confusion_matrix" not in m
    threshold = metrics["dev"]["threshold"]
    assert metrics["test"]["threshold"] == threshold and threshold in THRESHOLDS
    dev = load_data(str(ml_data), label_sep=",")["dev"]
    proba = load_predictor(out).predict_proba(list(dev["text"]))
    assert tune_threshold(multi_hot(dev["label"], 3), proba) == threshold  # tuned on dev


def test_bce_training_fits_the_training_label_sets(ml_run, ml_data):
    from textxfer.predict import load_predictor

    result, out = ml_run
    losses = [r["loss"] for r in result.history if r["split"] == "train"]
    assert losses[-1] < losses[0] / 2
    train = load_data(str(ml_data), label_sep=",")["train"]
    predictor = load_predictor(out)
    assert predictor.multi_label and predictor.threshold == result.metrics["dev"]["threshold"]
    predicted = _sets_to_matrix(predictor.predict(list(train["text"])))
    assert evaluate(multi_hot(train["label"], 3), predicted, NAMES)["micro_f1"] >= 0.75


def test_transformers_pipeline_reads_the_model_as_multi_label(ml_run):
    from transformers import AutoConfig, pipeline

    from textxfer.predict import load_predictor

    _, out = ml_run
    assert AutoConfig.from_pretrained(str(out)).problem_type == "multi_label_classification"
    texts = ["funny jokes", "scary ghost and sad tears"]
    pipe = pipeline("text-classification", model=str(out), top_k=None)
    scores = np.array(
        [[{d["label"]: d["score"] for d in row}[n] for n in NAMES] for row in pipe(texts)]
    )
    proba = load_predictor(out).predict_proba(texts)
    np.testing.assert_allclose(scores, proba, atol=1e-5)  # the same sigmoid per label
    assert not np.allclose(proba.sum(axis=1), 1.0)


def test_predict_cli_writes_label_sets(ml_run, capsys):
    from textxfer.predict import load_predictor

    _, out = ml_run
    text = "funny jokes and sad tears"
    assert cli_main(["predict", str(out), "--text", text]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "text,label,p_comedy,p_drama,p_horror"
    expected = json.dumps(load_predictor(out).predict([text])[0]).replace('"', '""')
    assert lines[1].startswith(f'{text},"{expected}",')


def test_lora_with_a_fixed_threshold_chunks_and_balanced_weights(ml_bert, ml_data, tmp_path):
    from textxfer.finetune.io import load_finetuned

    out = tmp_path / "lora"
    result = finetune(
        ModelArgs(str(ml_bert), threshold=0.5, chunk_window=8, chunk_aggregation="max"),
        DataArgs(str(ml_data), label_sep=","),
        ftutil.train_args(out=str(out), epochs=1, class_weights="balanced"),
        LoraArgs(lora=True),
    )
    assert result.metrics["dev"]["threshold"] == result.metrics["test"]["threshold"] == 0.5
    assert result.metrics["test"]["n"] == 4
    model, _, info = load_finetuned(out, adapter=True)
    assert model.config.problem_type == "multi_label_classification"
    assert info["task"] == "multi-label" and info["chunking"]["chunk_aggregation"] == "max"


def test_vote_is_refused_for_multi_label_before_training(ml_bert, ml_data):
    with pytest.raises(ConfigError, match="'vote' .* multi-label: pass --chunk-aggregation mean"):
        finetune(
            ModelArgs(str(ml_bert), chunk_window=8, chunk_aggregation="vote"),
            DataArgs(str(ml_data), label_sep=","),
            ftutil.train_args(epochs=1),
        )
