"""Frozen features of long texts: the mean of the window features, cached apart, warned when cut."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from ftutil import rows as tiny_rows
from sklearn.base import clone

from textxfer.baselines import TransformerFeaturizer, make_baseline

TEXTS = [t for t, _ in tiny_rows()]
LONG = " ".join(TEXTS[:4])  # 30 words; each is one token of the tiny BERT's vocabulary


@pytest.fixture(scope="module")
def bert(_tiny_bert_master) -> str:
    return str(_tiny_bert_master)


def test_a_long_text_s_feature_is_the_mean_of_its_windows(bert):
    from transformers import AutoTokenizer

    words = LONG.split()
    assert (
        len(AutoTokenizer.from_pretrained(bert)(LONG, add_special_tokens=False)["input_ids"]) == 30
    )
    plain = TransformerFeaturizer(model=bert, progress=False).fit(TEXTS)
    # 8-token windows hold 6 text tokens (plus [CLS] and [SEP]); a stride of 4 overlaps them by 2
    chunked = clone(plain).set_params(chunk_window=8, chunk_stride=4).fit(TEXTS)
    starts = range(0, len(words) - 6 + 4, 4)  # 0, 4, ..., 24: the last window ends the text
    windows = [" ".join(words[s : s + 6]) for s in starts]
    expected = plain.transform(windows).mean(axis=0)
    got = chunked.transform([LONG, "the best movie"])
    np.testing.assert_allclose(got[0], expected, atol=1e-5)
    np.testing.assert_allclose(got[1], plain.transform(["the best movie"])[0], atol=1e-5)
    assert not np.allclose(got[0], plain.transform([LONG])[0], atol=1e-3)  # not the truncated one


def test_chunking_settings_are_part_of_the_cache_key(bert, tmp_path):
    plain = TransformerFeaturizer(model=bert, cache_dir=str(tmp_path), progress=False).fit(TEXTS)
    keys = {
        plain.cache_key(TEXTS),
        clone(plain).set_params(chunk_window=8).fit(TEXTS).cache_key(TEXTS),
        clone(plain).set_params(chunk_window=8, chunk_stride=4).fit(TEXTS).cache_key(TEXTS),
        clone(plain).set_params(chunk_window=16).fit(TEXTS).cache_key(TEXTS),
    }
    assert len(keys) == 4
    chunked = clone(plain).set_params(chunk_window=8).fit(TEXTS)
    first = chunked.transform([LONG])
    assert chunked.transform([LONG]).tolist() == first.tolist() and chunked.cache_hits_ == 1
    assert not plain.transform([LONG]).tolist() == first.tolist()  # a miss: its own entry


def test_truncating_most_texts_warns_and_chunking_does_not(bert, caplog):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(bert)
    longer = sum(len(tokenizer(t)["input_ids"]) > 8 for t in TEXTS)
    assert 2 < longer < 20
    with caplog.at_level(logging.WARNING, logger="textxfer.chunking"):
        TransformerFeaturizer(model=bert, max_length=8, progress=False).fit_transform(TEXTS)
    assert (
        f"features: {longer} of 20 texts ({100 * longer / 20:.0f}%) are longer than max_length=8"
        in caplog.text
    )
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textxfer.chunking"):
        TransformerFeaturizer(model=bert, progress=False).fit_transform(TEXTS)
        TransformerFeaturizer(model=bert, chunk_window=8, progress=False).fit_transform(TEXTS)
    assert "longer than max_length" not in caplog.text


def test_features_lr_fits_on_chunked_features(bert):
    y = np.array([lab == "positive" for _, lab in tiny_rows()], dtype=int)
    pipe = make_baseline("features-lr", model=bert, chunk_window=8, chunk_stride=4).fit(TEXTS, y)
    assert pipe.named_steps["features"].chunk_window == 8
    assert (pipe.predict(TEXTS) == y).mean() >= 0.9
