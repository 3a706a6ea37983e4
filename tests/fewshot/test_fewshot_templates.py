"""Templated examples from the label names: the auto rule, the added rows, their use by the
contrastive method (pairs and head), the record in the metrics and the config errors."""

from __future__ import annotations

import logging
from pathlib import Path

import ftutil
import pytest

from textxfer.data import DataArgs, load_data
from textxfer.errors import ConfigError
from textxfer.fewshot import ContrastiveArgs, ContrastiveTrainArgs, fit_contrastive
from textxfer.fewshot.templates import (
    AUTO_TEMPLATES,
    add_templates,
    names_are_words,
    resolve_templates,
    templated_texts,
)
from textxfer.train.args import ModelArgs

pytestmark = pytest.mark.usefixtures("quiet_transformers")


@pytest.mark.parametrize(
    ("names", "words"),
    [
        (["negative", "positive"], True),
        (["objective", "subjective"], True),
        (["Negative", "Very positive", "neutral_ish"], True),
        (["ABBR", "DESC", "HUM"], False),  # trec's codes: templates lose accuracy there
        (["a", "B"], True),  # one capital letter is not a code
        (["0", "1"], False),
        (["-1", "1"], False),
        (["LABEL_0", "LABEL_1"], False),
        (["class 3", "class 4"], False),
        (["positive", "2"], False),  # one name without meaning: none
    ],
)
def test_names_are_words_and_the_auto_rule(names, words):
    assert names_are_words(names) is words
    assert resolve_templates(None, names) == (AUTO_TEMPLATES if words else 0)
    assert resolve_templates(3, names) == 3 and resolve_templates(0, names) == 0  # given: kept


def test_templated_texts_fill_the_template_per_label():
    texts, labels = templated_texts(["very_bad", "good"], 2, "A {} review.")
    assert texts == ["A very bad review.", "A very bad review.", "A good review.", "A good review."]
    assert labels == [0, 0, 1, 1]


@pytest.fixture
def small(tmp_path) -> Path:
    rows = [("fine film", "positive"), ("awful film", "negative"), ("great", "positive")]
    for split in ("train", "dev", "test"):
        ftutil.write_csv(tmp_path / "small" / f"{split}.csv", rows)
    return tmp_path / "small"


def test_add_templates_appends_to_train_only(small, caplog):
    ds = load_data(DataArgs(str(small)))
    names = ds["train"].features["label"].names
    with caplog.at_level(logging.INFO, logger="textxfer.fewshot.templates"):
        out, copies = add_templates(ds, names, None, "This sentence is {}")
    assert copies == 8 and len(out["train"]) == 3 + 8 * 2
    extra = out["train"].select(range(3, 19))
    assert extra["text"] == ["This sentence is negative"] * 8 + ["This sentence is positive"] * 8
    assert extra["label"] == [names.index("negative")] * 8 + [names.index("positive")] * 8
    assert out["train"].select(range(3))["text"] == ds["train"]["text"]  # the real rows first
    assert len(out["dev"]) == len(out["test"]) == 3  # dev and test untouched
    assert "8 templated examples per label" in caplog.text
    same, none = add_templates(ds, names, 0, "This sentence is {}")
    assert none == 0 and same is ds


@pytest.fixture
def numbered(tmp_path) -> Path:
    rows = [("fine film", "1"), ("awful film", "0"), ("great", "1"), ("bad", "0")]
    for split in ("train", "dev", "test"):
        ftutil.write_csv(tmp_path / "numbered" / f"{split}.csv", rows)
    return tmp_path / "numbered"


def _fit(bert, data, **contrastive):
    train = ContrastiveTrainArgs(lr=1e-3, max_steps=2, batch_size=4, progress_bar=False, seed=0)
    return fit_contrastive(ModelArgs(str(bert), max_length=16), DataArgs(str(data)),
                           ContrastiveArgs(pairs_per_example=4, **contrastive), train)  # fmt: skip


def test_the_method_trains_on_the_templates_and_records_them(bert, small, numbered):
    words = _fit(bert, small)  # names negative / positive: 8 per label
    assert words.metrics["n_templates"] == 8
    assert words.metrics["n_pairs"] == (3 + 16) * 4  # the templates anchor pairs too
    assert words.metrics["test"]["n"] == 3  # the test split has no templates
    off = _fit(bert, small, templates=0)
    assert off.metrics["n_templates"] == 0 and off.metrics["n_pairs"] == 3 * 4
    ids = _fit(bert, numbered)  # names 0 / 1 say nothing: none by default
    assert ids.metrics["n_templates"] == 0 and ids.metrics["n_pairs"] == 4 * 4
    forced = _fit(bert, numbered, templates=2, template="label {}")
    assert forced.metrics["n_templates"] == 2 and forced.metrics["n_pairs"] == (4 + 4) * 4


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"templates": -1}, "templates must be >= 0 or null"),
        ({"template": "This sentence is"}, r"template must hold one \{\}"),
        ({"template": "{} and {}"}, r"template must hold one \{\}"),
        ({"template": "{} is {name}"}, r"template must hold one \{\}"),
    ],
)
def test_bad_template_options_are_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        ContrastiveArgs(**values)
