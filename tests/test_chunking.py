"""textxfer.chunking: aggregation of known window logits, token windows, option checks, the warning."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from textxfer.baselines import BaselineArgs
from textxfer.chunking import aggregate, check_chunk_options, cut, warn_truncation
from textxfer.errors import ConfigError
from textxfer.train.args import ModelArgs

# Windows of 3 texts, in scrambled order: text 7 has 3 windows, text 2 has 2, text 5 one.
DOC = np.array([7, 2, 7, 5, 2, 7])
LOGITS = np.array(
    [
        [4.0, 0.0, 0.0],  # 7: votes class 0
        [0.0, 1.0, 0.0],  # 2: votes class 1
        [0.0, 1.0, 0.0],  # 7: votes class 1
        [0.0, 0.0, 2.0],  # 5
        [0.0, 3.0, 0.0],  # 2: votes class 1
        [0.0, 1.5, 0.0],  # 7: votes class 1
    ]
)


def softmax(x):
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def test_mean_aggregation_is_the_softmax_of_the_mean_window_logits():
    docs, proba = aggregate(LOGITS, DOC, "mean")
    assert docs.tolist() == [2, 5, 7]
    expected = softmax(np.array([[0.0, 2.0, 0.0], [0.0, 0.0, 2.0], [4 / 3, 2.5 / 3, 0.0]]))
    np.testing.assert_allclose(proba, expected)
    assert proba.argmax(axis=1).tolist() == [1, 2, 0]  # text 7: one strong window wins


def test_max_aggregation_takes_each_class_s_largest_logit():
    docs, proba = aggregate(LOGITS, DOC, "max")
    expected = softmax(np.array([[0.0, 3.0, 0.0], [0.0, 0.0, 2.0], [4.0, 1.5, 0.0]]))
    np.testing.assert_allclose(proba, expected)
    assert proba.argmax(axis=1).tolist() == [1, 2, 0]


def test_vote_aggregation_counts_window_predictions():
    docs, proba = aggregate(LOGITS, DOC, "vote")
    np.testing.assert_allclose(proba, [[0, 1, 0], [0, 0, 1], [1 / 3, 2 / 3, 0]], atol=1e-5)
    assert proba.sum(axis=1) == pytest.approx(1.0)
    assert proba.argmax(axis=1).tolist() == [1, 2, 1]  # text 7: two windows out-vote the strong one


def test_a_vote_tie_goes_to_the_higher_mean_window_probability():
    logits = np.array([[0.2, 0.0], [0.0, 3.0]])  # one vote each; window 2 is far more confident
    _, proba = aggregate(logits, np.array([0, 0]), "vote")
    assert proba[0, 1] > proba[0, 0] and proba[0] == pytest.approx([0.5, 0.5], abs=1e-5)


def test_one_window_per_text_is_plain_softmax_or_sigmoid():
    logits = np.array([[1.0, -1.0], [0.5, 2.0]])
    for how in ("mean", "max", "vote"):
        docs, proba = aggregate(logits, np.array([1, 0]), how)
        assert docs.tolist() == [0, 1]
        assert proba.argmax(axis=1).tolist() == [1, 0]
    np.testing.assert_allclose(aggregate(logits, np.array([0, 1]), "mean")[1], softmax(logits))
    _, sig = aggregate(logits, np.array([0, 1]), "mean", multi_label=True)
    np.testing.assert_allclose(sig, 1 / (1 + np.exp(-logits)))


def test_multi_label_aggregates_logits_per_label_and_refuses_vote():
    logits = np.array([[2.0, -2.0], [0.0, 1.0]])
    _, mean = aggregate(logits, np.array([0, 0]), "mean", multi_label=True)
    _, top = aggregate(logits, np.array([0, 0]), "max", multi_label=True)
    np.testing.assert_allclose(mean, 1 / (1 + np.exp(-np.array([[1.0, -0.5]]))))
    np.testing.assert_allclose(top, 1 / (1 + np.exp(-np.array([[2.0, 1.0]]))))
    with pytest.raises(ConfigError, match="vote.*single-label"):
        aggregate(logits, np.array([0, 0]), "vote", multi_label=True)


@pytest.fixture(scope="module")
def tokenizer(tmp_path_factory):
    from textxfer.testing import train_wordpiece_tokenizer

    words = [f"w{i}" for i in range(30)]
    return train_wordpiece_tokenizer(tmp_path_factory.mktemp("tok"), [" ".join(words)] * 3)


def _text_tokens(tokenizer, ids):
    return [t for t in tokenizer.convert_ids_to_tokens(ids) if t not in ("[CLS]", "[SEP]")]


def test_windows_cover_the_text_with_the_stride_as_step(tokenizer):
    text = " ".join(f"w{i}" for i in range(20))  # 20 text tokens
    whole = _text_tokens(tokenizer, tokenizer(text)["input_ids"])
    assert len(whole) == 20
    enc, doc, n_windows = cut(tokenizer, [text, "w1 w2"], window=8, stride=4)
    windows = [_text_tokens(tokenizer, ids) for ids in enc["input_ids"]]
    assert all(len(ids) <= 8 for ids in enc["input_ids"])
    # 6 text tokens per window (8 minus [CLS] and [SEP]), starting every 4 tokens
    assert [w[0] for w in windows[:-1]] == [whole[i] for i in (0, 4, 8, 12, 16)]
    assert windows[0] == whole[:6] and windows[1] == whole[4:10]
    assert doc.tolist() == [0] * 5 + [1] and n_windows.tolist() == [5, 1]
    no_overlap = cut(tokenizer, [text], window=8)[0]["input_ids"]
    assert [len(_text_tokens(tokenizer, ids)) for ids in no_overlap] == [6, 6, 6, 2]


def test_first_window_only_is_truncation(tokenizer):
    texts = [" ".join(f"w{i}" for i in range(20)), "w1 w2"]
    enc, doc, n_windows = cut(tokenizer, texts, window=8, first_only=True)
    plain = tokenizer(texts, truncation=True, max_length=8)
    assert enc["input_ids"] == plain["input_ids"] and doc.tolist() == [0, 1]
    assert (n_windows > 1).sum() == 1  # the texts truncation shortens


def test_a_stride_past_the_window_text_is_refused(tokenizer):
    with pytest.raises(ConfigError, match="chunk_stride=7 is more than the 6 text tokens"):
        cut(tokenizer, ["w1 w2"], window=8, stride=7)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda: ModelArgs(chunk_stride=64), "chunk_stride=64 needs chunk_window"),
        (lambda: ModelArgs(chunk_window=4), "chunk_window must be >= 8"),
        (lambda: ModelArgs(chunk_window=64, chunk_stride=65), r"chunk_stride must be in \[1, "),
        (lambda: ModelArgs(chunk_aggregation="median"), "chunk_aggregation must be one of"),
        (lambda: ModelArgs(threshold=1.5), r"threshold must be in \(0, 1\)"),
        (lambda: BaselineArgs("features-lr", chunk_window=64, chunk_aggregation="vote"),
         "features-\\* average the window embeddings"),
    ],
)  # fmt: skip
def test_bad_chunk_options_are_refused_with_the_fix(make, match):
    with pytest.raises(ConfigError, match=match):
        make()


def test_the_options_mean_the_same_in_both_sections():
    check_chunk_options(256, 128, "max")
    model = ModelArgs(chunk_window=256, chunk_stride=128, chunk_aggregation="max")
    base = BaselineArgs("features-lr", chunk_window=256, chunk_stride=128)
    assert (model.chunk_window, model.chunk_stride) == (base.chunk_window, base.chunk_stride)


def test_truncation_warns_above_ten_percent(caplog):
    with caplog.at_level(logging.WARNING, logger="textxfer.chunking"):
        assert warn_truncation(1, 10, 128, "finetune") == 0.1
        assert not caplog.records
        assert warn_truncation(2, 10, 128, "finetune") == 0.2
    assert "2 of 10 texts (20%) are longer than max_length=128" in caplog.text
    assert "--chunk-window" in caplog.text
