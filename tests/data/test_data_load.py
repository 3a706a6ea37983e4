"""The data layer: sources, splits, sampling, and a clear error for every kind of bad input."""

from __future__ import annotations

import json
import logging

import pandas as pd
import pytest
from ftutil import rows as tiny_rows
from ftutil import write_csv

from textxfer.data import (
    DataArgs,
    DataError,
    describe,
    few_shot,
    load_data,
    save_data,
    stratified_subsample,
)


def names(ds):
    return ds["train"].features["label"].names


# --- real datasets under ../shared/datasets -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "labels", "train_rows"),
    [
        ("sst2", ["negative", "positive"], 6920),  # sorted, as GLUE: negative=0
        ("trec", ["ABBR", "DESC", "ENTY", "HUM", "LOC", "NUM"], None),
        ("subj", None, None),
        ("amazon_mds/books", None, None),
        ("movie_reviews", None, None),
    ],
)
def test_named_local_datasets_load(shared_datasets, name, labels, train_rows):
    ds = load_data(name)
    assert set(ds) == {"train", "dev", "test"}
    assert ds["train"].column_names == ["text", "label"]
    assert len(names(ds)) == (len(labels) if labels else 2)
    if labels:
        assert names(ds) == labels  # sorted names, whatever the row order
    if train_rows:
        assert len(ds["train"]) == train_rows
    assert all(len(ds[s]) > 0 for s in ds)
    assert all(isinstance(t, str) and t.strip() for t in ds["test"]["text"][:50])


def test_all_csv_split_is_stratified_seeded_and_disjoint(shared_datasets):
    a = load_data("amazon_mds/books", seed=1)
    b = load_data("amazon_mds/books", seed=1)
    c = load_data("amazon_mds/books", seed=2)
    assert a["test"]["text"] == b["test"]["text"]
    assert a["test"]["text"] != c["test"]["text"]
    assert (len(a["train"]), len(a["dev"]), len(a["test"])) == (1440, 160, 400)
    assert sum(a["test"]["label"]) == 200  # balanced 200 / 200 kept by stratification


def test_split_rows_partition_the_source(shared_datasets):
    ds = load_data("amazon_mds/kitchen")
    source = pd.read_csv(shared_datasets / "amazon_mds/kitchen/all.csv")
    assert sum(len(ds[s]) for s in ds) == len(source)
    assert sorted(t for s in ds for t in ds[s]["text"]) == sorted(source["text"].str.strip())


def test_dev_is_carved_from_train_when_absent(shared_datasets):
    ds = load_data("trec", dev_size=0.1)
    assert len(ds["test"]) == 500
    assert len(ds["train"]) + len(ds["dev"]) == 5452
    assert abs(len(ds["dev"]) - 545) <= 1


def test_few_shot_k_per_class_and_deterministic(shared_datasets):
    a = load_data("trec", k=5, seed=3)
    b = load_data("trec", k=5, seed=3)
    assert len(a["train"]) == 30
    assert sorted(pd.Series(a["train"]["label"]).value_counts().tolist()) == [5] * 6
    assert a["train"]["text"] == b["train"]["text"]
    assert len(a["test"]) == 500  # k only touches train


def test_limit_caps_every_split_stratified(shared_datasets):
    ds = load_data("sst2", limit=100)
    assert [len(ds[s]) for s in ("train", "dev", "test")] == [100, 100, 100]
    assert 40 <= sum(ds["train"]["label"]) <= 60


def test_train_limit_caps_train_only(shared_datasets):
    full = load_data("sst2")
    ds = load_data("sst2", train_limit=500)
    assert [len(ds[s]) for s in ("train", "dev", "test")] == [500, 872, 1821]
    assert ds["dev"]["text"] == full["dev"]["text"] and ds["test"]["text"] == full["test"]["text"]
    assert set(ds["train"]["text"]) <= set(full["train"]["text"])
    share = sum(full["train"]["label"]) / len(full["train"])
    assert abs(sum(ds["train"]["label"]) / 500 - share) < 0.01  # stratified
    assert load_data("sst2", train_limit=500)["train"]["text"] == ds["train"]["text"]  # seeded


# --- files and folders ------------------------------------------------------------------------------


def test_folder_of_jsonl_and_parquet(tmp_path):
    rows = tiny_rows()
    frame = pd.DataFrame(rows, columns=["text", "label"])
    frame.to_json(tmp_path / "train.jsonl", orient="records", lines=True)
    frame.iloc[:8].to_parquet(tmp_path / "test.parquet")
    ds = load_data(str(tmp_path), dev_size=0.2)
    assert len(ds["test"]) == 8
    assert len(ds["train"]) + len(ds["dev"]) == 20
    assert names(ds) == ["negative", "positive"]


def test_single_json_array_file_is_split(tmp_path):
    path = tmp_path / "data.json"
    path.write_text(json.dumps([{"text": t, "label": y} for t, y in tiny_rows()]), encoding="utf-8")
    ds = load_data(str(path), test_size=0.25, dev_size=0.2)
    assert len(ds["test"]) == 5
    assert sum(len(ds[s]) for s in ds) == 20


def test_column_mapping_and_joined_text_columns(tmp_path):
    rows = [(f"title {i}", f"body {i}", "pos" if i % 2 else "neg") for i in range(20)]
    path = tmp_path / "reviews.csv"
    pd.DataFrame(rows, columns=["title", "body", "stars"]).to_csv(path, index=False)
    ds = load_data(str(path), text_column=["title", "body"], label_column="stars")
    assert all(t.startswith("title ") and " body " in t for t in ds["train"]["text"])
    assert names(ds) == ["neg", "pos"]


def test_given_label_names_fix_the_order_and_map_integer_ids(tmp_path):
    rows = [(t, "1" if y == "positive" else "0") for t, y in tiny_rows()]
    write_csv(tmp_path / "train.csv", rows)
    ds = load_data(str(tmp_path), label_names=["negative", "positive"])
    assert names(ds) == ["negative", "positive"]
    first = ds["train"][0]
    assert names(ds)[first["label"]] in {"negative", "positive"}
    plain = load_data(str(tmp_path))
    assert names(plain) == ["0", "1"]


def test_save_data_round_trips(tmp_path, tiny_dataset_dir):
    ds = load_data(str(tiny_dataset_dir))
    out = save_data(ds, tmp_path / "copy")
    again = load_data(str(out))
    for split in ds:
        assert again[split]["text"] == ds[split]["text"]
        assert again[split]["label"] == ds[split]["label"]
    assert not [p for p in (tmp_path).iterdir() if p.name.startswith(".")]


def test_describe_reports_sizes_labels_and_lengths(tiny_dataset_dir):
    summary = describe(load_data(str(tiny_dataset_dir)))
    assert summary["train"]["rows"] == 20
    assert list(summary["train"]["labels"].items()) == [("negative", 10), ("positive", 10)]
    words = summary["train"]["words"]
    assert 4 <= words["p5"] <= words["p50"] <= words["p95"] <= words["max"] == 9


def test_few_shot_and_subsample_helpers():
    frame = pd.DataFrame({"text": [f"t{i}" for i in range(30)], "label": ["a", "b", "c"] * 10})
    shot = few_shot(frame, 3, seed=0)
    assert shot["label"].value_counts().to_dict() == {"a": 3, "b": 3, "c": 3}
    sub = stratified_subsample(frame, 12, seed=0)
    assert len(sub) == 12 and sub["label"].value_counts().to_dict() == {"a": 4, "b": 4, "c": 4}
    assert stratified_subsample(frame, 100, seed=0).equals(frame)


# --- bad input: expected / found / fix ------------------------------------------------------------


def test_missing_file_or_folder(tmp_path):
    with pytest.raises(DataError, match=r"not found.*no such file or folder"):
        load_data(str(tmp_path / "nope.csv"))


def test_unknown_dataset_name_lists_the_known_ones(shared_datasets):
    with pytest.raises(
        DataError,
        match=r"dataset 'sst3' not found.*built in: \['subj'\]; in TEXTXFER_DATASETS=.*'sst2'",
    ):
        load_data("sst3")


def test_folder_without_data_files(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(
        DataError, match=r"no data files; expected train/dev/test or all.*notes.txt"
    ):
        load_data(str(tmp_path))


def test_misnamed_columns_say_which_flags_to_pass(tmp_path):
    write_csv(tmp_path / "train.csv", tiny_rows(), header="sentence,y")
    with pytest.raises(
        DataError,
        match=r"expected columns \['text', 'label'\].*found \['sentence', 'y'\].*--text-column sentence --label-column y",
    ):
        load_data(str(tmp_path))


def test_empty_file(tmp_path):
    (tmp_path / "train.csv").write_bytes(b"")
    with pytest.raises(DataError, match=r"is empty; expected a header row"):
        load_data(str(tmp_path))


def test_header_only_file(tmp_path):
    (tmp_path / "train.csv").write_text("text,label\n", encoding="utf-8")
    with pytest.raises(DataError, match=r"has a header \(\['text', 'label'\]\) but no data rows"):
        load_data(str(tmp_path))


def test_non_utf8_bytes_name_the_line(tmp_path):
    (tmp_path / "train.csv").write_bytes(b"text,label\ngood movie,pos\ncaf\xe9 scene,neg\n")
    with pytest.raises(
        DataError, match=r"not valid UTF-8: byte 0xe9 at line 3; re-save it as UTF-8"
    ):
        load_data(str(tmp_path))


def test_empty_and_null_texts_are_dropped_with_a_count(tmp_path, caplog):
    rows = [*tiny_rows(), ("", "positive"), ("   ", "negative")]
    path = write_csv(tmp_path / "train.csv", rows)
    with path.open("a", encoding="utf-8") as fh:
        fh.write(",positive\n")
    with caplog.at_level(logging.WARNING, logger="textxfer"):
        ds = load_data(str(tmp_path))
    assert sum(len(ds[s]) for s in ds) == 20
    assert "dropped 3 of 23 rows" in caplog.text


def test_all_texts_empty_is_an_error(tmp_path):
    write_csv(tmp_path / "train.csv", [("", "a"), (" ", "b")])
    with pytest.raises(DataError, match=r"every row of train.csv has an empty or null text"):
        load_data(str(tmp_path))


def test_label_in_test_unseen_in_train(tmp_path):
    write_csv(tmp_path / "train.csv", tiny_rows())
    write_csv(tmp_path / "test.csv", [("so so", "neutral"), ("fine", "positive")])
    with pytest.raises(
        DataError, match=r"labels \['neutral'\] in the test split never occur in the training split"
    ):
        load_data(str(tmp_path))


def test_single_class(tmp_path):
    write_csv(tmp_path / "train.csv", [(t, "positive") for t, _ in tiny_rows()])
    with pytest.raises(
        DataError, match=r"single class \('positive'\); a classifier needs at least 2"
    ):
        load_data(str(tmp_path))


def test_k_larger_than_a_class(tmp_path, tiny_dataset_dir):
    with pytest.raises(DataError, match=r"k=50 examples per class requested.*pass k <= 10"):
        load_data(str(tiny_dataset_dir), k=50)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("dev_size", 1.5, r"dev_size must be a fraction in \(0, 1\), found 1.5"),
        ("k", 0, r"k must be a positive integer or null, found 0"),
        ("label_names", ["a", "a"], r"label_names has duplicates"),
        ("dataset", " ", r"no dataset given"),
    ],
)
def test_bad_data_args(field, value, message):
    kwargs = {"dataset": "sst2", field: value}
    with pytest.raises(DataError, match=message):
        DataArgs(**kwargs)


def test_failed_load_writes_nothing(tmp_path):
    write_csv(tmp_path / "train.csv", [(t, "positive") for t, _ in tiny_rows()])
    before = sorted(p.name for p in tmp_path.iterdir())
    with pytest.raises(DataError):
        save_data(load_data(str(tmp_path)), tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == before


# --- cross-domain and adaptation texts --------------------------------------------------------------


def test_target_replaces_test_with_the_target_domain(shared_datasets):
    from textxfer.data import adaptation_texts

    ds = load_data("amazon_mds/books", target="amazon_mds/kitchen")
    books, kitchen = load_data("amazon_mds/books"), load_data("amazon_mds/kitchen")
    assert ds["train"]["text"] == books["train"]["text"]
    assert ds["test"]["text"] == kitchen["test"]["text"]
    assert names(ds) == names(books)
    texts = adaptation_texts("amazon_mds/books", target="amazon_mds/kitchen")
    assert not set(texts) & set(kitchen["test"]["text"])  # no held-out row leaks into adaptation
    assert set(texts) <= set(kitchen["train"]["text"]) | set(kitchen["dev"]["text"])
    assert len(texts) >= 1550


def test_task_adaptive_texts_are_the_training_texts(tiny_dataset_dir):
    from textxfer.data import adaptation_texts

    ds = load_data(str(tiny_dataset_dir))
    texts = adaptation_texts(str(tiny_dataset_dir))
    assert texts == [t for t in ds["train"]["text"] if t not in set(ds["test"]["text"])]


def test_target_with_other_labels_is_refused(tmp_path, tiny_dataset_dir):
    rows = [("fine", "neutral"), ("good", "positive"), ("so so", "neutral"), ("great", "positive")]
    write_csv(tmp_path / "test.csv", rows)
    write_csv(tmp_path / "train.csv", rows)
    with pytest.raises(
        DataError, match=r"target .* has labels \['neutral'\] that the source .* never uses"
    ):
        load_data(str(tiny_dataset_dir), target=str(tmp_path))
