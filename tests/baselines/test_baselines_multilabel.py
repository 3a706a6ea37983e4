"""Multi-label baselines: one-vs-rest, a threshold tuned on dev, set metrics, save/load, CLI."""

from __future__ import annotations

import json

import ftutil
import numpy as np
import pandas as pd
import pytest

from textxfer.baselines import BaselineArgs, train_baseline
from textxfer.cli import main as cli_main
from textxfer.data import load_data
from textxfer.data.multilabel import multi_hot
from textxfer.metrics import tune_threshold
from textxfer.predict import load_predictor

NAMES = ["comedy", "drama", "horror"]


@pytest.fixture(scope="module")
def ml_ds(tmp_path_factory):
    return load_data(str(ftutil.write_multilabel(tmp_path_factory.mktemp("ml"))), label_sep=",")


def test_one_vs_rest_with_the_threshold_tuned_on_dev(ml_ds):
    from sklearn.multiclass import OneVsRestClassifier

    from textxfer.baselines.train import multilabel_scores

    result = train_baseline(BaselineArgs("tfidf-lr"), ml_ds)
    assert isinstance(result.pipeline.named_steps["clf"], OneVsRestClassifier)
    dev = ml_ds["dev"]
    scores = multilabel_scores(result.pipeline, list(dev["text"]))
    assert result.threshold == tune_threshold(multi_hot(dev["label"], 3), scores)
    test_scores = multilabel_scores(result.pipeline, list(ml_ds["test"]["text"]))
    np.testing.assert_array_equal(result.predictions, test_scores >= result.threshold)
    m = result.metrics
    assert m["task"] == "multi-label" and m["n"] == 4 and m["threshold"] == result.threshold
    assert m["micro_f1"] >= 0.5  # distinct words per label: tf-idf finds most of them


def test_a_fixed_threshold_and_dev_as_evaluation_split(ml_ds):
    fixed = train_baseline(BaselineArgs("tfidf-svm", threshold=0.3), ml_ds)
    assert fixed.threshold == fixed.metrics["threshold"] == 0.3
    on_dev = train_baseline(BaselineArgs("tfidf-lr"), ml_ds, eval_split="dev")
    assert on_dev.threshold == 0.5  # never tuned on the split it is scored on


def test_saved_baseline_predicts_label_sets(ml_ds, tmp_path):
    result = train_baseline(BaselineArgs("tfidf-svm"), ml_ds, out_dir=tmp_path / "svm")
    frame = pd.read_csv(tmp_path / "svm" / "predictions.csv")
    names = ml_ds["test"].features["label"].feature.names
    assert [json.loads(g) for g in frame["gold"]] == [
        [names[i] for i in ids] for ids in ml_ds["test"]["label"]
    ]
    assert list(frame.columns) == ["text", "gold", "predicted", "p_comedy", "p_drama", "p_horror"]
    predictor = load_predictor(tmp_path / "svm")
    texts = list(ml_ds["test"]["text"])
    sets = predictor.predict(texts)
    assert [[names.index(n) for n in s] for s in sets] == [
        np.flatnonzero(row).tolist() for row in result.predictions
    ]
    proba = predictor.predict_proba(texts)
    assert proba.shape == (4, 3) and ((proba >= 0) & (proba <= 1)).all()
    gold = [[names[i] for i in ids] for ids in ml_ds["test"]["label"]]
    assert predictor.evaluate(texts, gold)["micro_f1"] == result.metrics["micro_f1"]


def test_features_lr_one_vs_rest_on_chunked_features(ml_ds, tiny_bert):
    result = train_baseline(
        BaselineArgs("features-lr", model=str(tiny_bert), chunk_window=8), ml_ds
    )
    assert result.metrics["n"] == 4 and result.probabilities.shape == (4, 3)


def test_cli_baseline_and_predict_on_multi_label_data(tmp_path, capsys):
    data = ftutil.write_multilabel(tmp_path / "ml")
    out = tmp_path / "runs"
    argv = [
        "baseline",
        str(data),
        "--label-sep",
        ",",
        "--method",
        "tfidf-lr,tfidf-nb",
        "--out",
        str(out),
    ]
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "tfidf-lr on" in printed and "tfidf-nb on" in printed
    metrics = json.loads((out / "tfidf-nb" / "metrics.json").read_text())
    assert {"subset_accuracy", "micro_f1", "macro_f1", "threshold"} <= set(metrics)
    assert cli_main(["predict", str(out / "tfidf-lr"), "--text", "funny jokes"]) == 0
    row = capsys.readouterr().out.strip().splitlines()[1]
    assert row.startswith('funny jokes,"[') and "comedy" in row.split('"]"')[0]
