"""The one evaluation function every method uses."""

from __future__ import annotations

import json

import pytest

from textxfer.metrics import evaluate


def test_evaluate_numbers_and_shapes():
    result = evaluate([0, 0, 1, 1, 2], [0, 1, 1, 1, 0], ["a", "b", "c"])
    assert result["accuracy"] == pytest.approx(3 / 5)
    assert result["n"] == 5
    assert result["confusion_matrix"] == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert result["per_class"]["b"] == {
        "precision": pytest.approx(2 / 3),
        "recall": 1.0,
        "f1": pytest.approx(0.8),
        "support": 2,
    }
    assert result["per_class"]["c"]["f1"] == 0.0
    assert result["macro_f1"] == pytest.approx((0.5 + 0.8 + 0.0) / 3)
    json.dumps(result)  # plain JSON


def test_evaluate_errors():
    with pytest.raises(ValueError, match=r"differ in length: 2 vs 1"):
        evaluate([0, 1], [0], ["a", "b"])
    with pytest.raises(ValueError, match=r"nothing to evaluate"):
        evaluate([], [], ["a", "b"])


def test_multi_label_set_metrics_on_a_hand_made_example():
    from textxfer.metrics import headline

    gold = [[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]]
    pred = [[1, 0, 0], [0, 1, 0], [1, 1, 0], [0, 1, 1]]
    result = evaluate(gold, pred, ["a", "b", "c"])
    assert result["task"] == "multi-label" and result["n"] == 4
    assert result["accuracy"] == result["subset_accuracy"] == 0.5  # rows 2 and 3 exactly right
    # micro: tp 5, fp 1, fn 1 -> F1 10/12; per label F1: a 1.0, b 0.8, c 2/3
    assert result["micro_f1"] == pytest.approx(5 / 6)
    assert result["macro_f1"] == pytest.approx((1.0 + 0.8 + 2 / 3) / 3)
    assert result["hamming_loss"] == pytest.approx(2 / 12)
    assert result["per_class"]["c"] == {
        "precision": 1.0,
        "recall": 0.5,
        "f1": pytest.approx(2 / 3),
        "support": 2,
    }
    assert result["label_confusion"]["b"] == [[1, 1], [0, 2]]
    assert "confusion_matrix" not in result
    json.dumps(result)
    assert headline({**result, "threshold": 0.4}).startswith(
        "subset accuracy 0.5000, micro-F1 0.8333"
    )
    with pytest.raises(ValueError, match=r"must both be \(n, 3\) 0/1 matrices"):
        evaluate(gold, pred[:3], ["a", "b", "c"])


def test_threshold_tuning_picks_the_best_micro_f1():
    from textxfer.metrics import tune_threshold

    gold = [[1, 0], [0, 1], [1, 1]]
    scores = [[0.35, 0.1], [0.2, 0.3], [0.6, 0.4]]
    assert tune_threshold(gold, scores) == 0.3  # 0.3 gets every label right, 0.5 misses three
    assert tune_threshold(gold, scores, thresholds=(0.5, 0.9)) == 0.5
