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
