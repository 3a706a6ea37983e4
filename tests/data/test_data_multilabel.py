"""Multi-label data: label sets from delimited strings or lists, detected or declared; float labels."""

from __future__ import annotations

import json
import logging

import ftutil
import pandas as pd
import pytest

from textxfer.cli import main as cli_main
from textxfer.data import DataArgs, DataError, check_splits, describe, load_data, save_data
from textxfer.data.multilabel import (
    few_shot_sets,
    is_multilabel,
    label_keys,
    multi_hot,
    parse_label_set,
)

NAMES = ["comedy", "drama", "horror"]


@pytest.fixture()
def folder(tmp_path):
    return ftutil.write_multilabel(tmp_path / "ml")


def sets(split):
    names = split.features["label"].feature.names
    return [sorted(names[i] for i in ids) for ids in split["label"]]


def test_delimited_labels_with_label_sep_become_label_sets(folder):
    ds = load_data(str(folder), label_sep=",")
    assert is_multilabel(ds) and ds["train"].features["label"].feature.names == NAMES
    expected = [sorted(lab.split(",")) for _, lab in ftutil.MULTI_LABEL_ROWS[:12]]
    assert sets(ds["train"]) == expected and len(ds["test"]) == 4
    assert check_splits(ds) == NAMES
    declared = load_data(str(folder), task="multi-label")  # ',' is the default separator
    assert sets(declared["train"]) == expected


@pytest.mark.parametrize("suffix", [".jsonl", ".csv", ".parquet"])
def test_lists_per_row_are_detected(tmp_path, suffix):
    rows = ftutil.MULTI_LABEL_ROWS
    frame = pd.DataFrame(
        {"text": [t for t, _ in rows], "label": [lab.split(",") for _, lab in rows]}
    )
    for split, part in (("train", frame[:12]), ("dev", frame[12:16]), ("test", frame[16:])):
        path = tmp_path / f"{split}{suffix}"
        if suffix == ".jsonl":
            part.to_json(path, orient="records", lines=True)
        elif suffix == ".csv":  # a JSON list in the cell, as save_data writes it
            part.assign(label=[json.dumps(v) for v in part["label"]]).to_csv(path, index=False)
        else:
            part.to_parquet(path)
    ds = load_data(str(tmp_path))
    assert is_multilabel(ds) and sets(ds["test"]) == [sorted(v) for v in frame["label"][16:]]


def test_save_data_writes_json_lists_that_load_back(folder, tmp_path):
    ds = load_data(str(folder), label_sep=",")
    out = save_data(ds, tmp_path / "copy")
    first = pd.read_csv(out / "train.csv")["label"][3]
    assert json.loads(first) == ["comedy", "drama"]
    again = load_data(str(out))
    assert (
        sets(again["train"]) == sets(ds["train"])
        and again["train"].features == ds["train"].features
    )


def test_describe_counts_texts_per_label(folder):
    summary = describe(load_data(str(folder), label_sep=","))
    assert summary["train"]["labels"] == {"comedy": 7, "drama": 6, "horror": 6}
    assert summary["train"]["labels_per_row"] == pytest.approx(19 / 12)


def test_delimited_labels_without_label_sep_warn_and_stay_classes(folder, caplog):
    with caplog.at_level(logging.WARNING, logger="textxfer.data.multilabel"):
        ds = load_data(str(folder))
    assert not is_multilabel(ds) and "comedy,drama" in ds["train"].features["label"].names
    assert "look like label sets" in caplog.text and "--label-sep ','" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textxfer.data.multilabel"):
        load_data(str(folder), task="single-label")
    assert not caplog.records


def test_float_labels_are_refused_unless_declared_classes(tmp_path):
    rows = [(f"text number {i}", str(0.25 * (i % 4) + 0.1)) for i in range(12)]
    ftutil.write_csv(tmp_path / "all.csv", rows)
    with pytest.raises(DataError, match="real numbers.*multi-class.*--task single-label"):
        load_data(str(tmp_path / "all.csv"))
    ds = load_data(str(tmp_path / "all.csv"), task="single-label", test_size=0.25, dev_size=0.34)
    assert sorted(ds["train"].features["label"].names) == ["0.1", "0.35", "0.6", "0.85"]


def test_integer_labels_are_still_classes(tmp_path):
    ftutil.write_csv(tmp_path / "all.csv", [(f"text {i}", str(i % 2)) for i in range(12)])
    ds = load_data(str(tmp_path / "all.csv"), test_size=0.25, dev_size=0.34)
    assert ds["train"].features["label"].names == ["0", "1"]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"task": "regression"}, "task must be one of"),
        ({"label_sep": ",", "task": "single-label"}, "label_sep ',' splits label sets"),
    ],
)
def test_bad_task_options(kwargs, match):
    with pytest.raises(DataError, match=match):
        DataArgs("x", **kwargs)


def test_k_keeps_at_least_k_rows_of_every_label(folder):
    ds = load_data(str(folder), label_sep=",", k=2, seed=3)
    counts = describe(ds)["train"]["labels"]
    assert min(counts.values()) >= 2 and len(ds["train"]) < 12
    assert sets(load_data(str(folder), label_sep=",", k=2, seed=3)["train"]) == sets(ds["train"])
    with pytest.raises(DataError, match=r"k=7 examples per class requested, but label\(s\)"):
        load_data(str(folder), label_sep=",", k=7)
    label_sets = [[0], [0, 1], [1], [2], [2], [0, 2]]
    rows = few_shot_sets(label_sets, 1, seed=0)
    assert all(any(lab in label_sets[i] for i in rows) for lab in (0, 1, 2)) and len(rows) <= 3


def test_a_label_only_in_test_is_refused(folder):
    ftutil.write_csv(folder / "test.csv", [("a new kind of film", "western,comedy")])
    with pytest.raises(DataError, match=r"labels \['western'\] in the test split never occur"):
        load_data(str(folder), label_sep=",")


def test_limit_samples_label_sets(folder):
    ds = load_data(str(folder), label_sep=",", limit=6)
    assert len(ds["train"]) == 6 and is_multilabel(ds)


def test_helpers():
    assert parse_label_set(" drama | comedy|", sep="|") == ["comedy", "drama"]
    assert parse_label_set("['b', 'a']") == ["a", "b"]  # a Python list, as pandas writes one
    assert multi_hot([[0, 2], []], 3).tolist() == [[1, 0, 1], [0, 0, 0]]


def test_data_show_reports_label_counts_and_long_texts(folder, capsys, tiny_bert):
    assert cli_main(["data", "show", str(folder), "--label-sep", ",", "--model", str(tiny_bert),
                     "--max-length", "8", "--json"]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out)
    assert summary["train"]["labels"] == {"comedy": 7, "drama": 6, "horror": 6}
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(tiny_bert))
    lengths = [len(tokenizer(t)["input_ids"]) for t, _ in ftutil.MULTI_LABEL_ROWS[:12]]
    assert summary["train"]["over_max_length"] == {
        "max_length": 8,
        "texts": sum(n > 8 for n in lengths),
    }
    assert summary["train"]["tokens"]["max"] == max(lengths)
    keys = label_keys(load_data(str(folder), label_sep=",")["train"])
    assert keys[:4] == ["0", "1", "2", "0,1"]
