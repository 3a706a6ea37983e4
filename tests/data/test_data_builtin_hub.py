"""The built-in subj dataset, gzipped tables, and Hub datasets read offline from a locally built
``datasets`` cache (config names, other column names, unlabelled -1 rows and splits)."""

from __future__ import annotations

import gzip
import json
import logging
from pathlib import Path

import pytest

from textxfer.data import DataArgs, DataError, load_data
from textxfer.data.hub import candidates, looks_like_hub_id

ROOT = Path(__file__).resolve().parents[2]


def test_subj_is_built_in_and_needs_no_environment(monkeypatch):
    monkeypatch.delenv("TEXTXFER_DATASETS", raising=False)
    ds = load_data("subj")
    assert {s: len(d) for s, d in ds.items()} == {"train": 8100, "dev": 900, "test": 1000}
    assert sorted(ds["train"].features["label"].names) == ["objective", "subjective"]
    assert ds["test"]["label"].count(0) == 500  # the EDA split: 500 per class


def test_a_local_dataset_of_the_same_name_wins(tmp_path, monkeypatch):
    (tmp_path / "subj").mkdir()
    rows = "text,label\n" + "".join(f"text {i},{'ab'[i % 2]}\n" for i in range(20))
    (tmp_path / "subj" / "train.csv").write_text(rows)
    monkeypatch.setenv("TEXTXFER_DATASETS", str(tmp_path))
    assert load_data("subj")["train"].features["label"].names == ["a", "b"]


def test_the_package_ships_the_attribution_and_names_no_shared_folder():
    source = (ROOT / "textxfer/data/builtin/subj/SOURCE.md").read_text()
    assert "Bo Pang and Lillian Lee" in source and "CC BY 4.0" in source
    code = "".join(p.read_text() for p in (ROOT / "textxfer").rglob("*.py"))
    assert "../shared" not in code and "shared/datasets" not in code


def test_gzipped_tables_load(tmp_path):
    rows = "text,label\n" + "".join(f"words number {i},{'xy'[i % 2]}\n" for i in range(30))
    (tmp_path / "train.csv.gz").write_bytes(gzip.compress(rows.encode()))
    assert len(load_data(str(tmp_path), test_size=0.2)["test"]) == 6
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "train.csv.gz").write_bytes(b"not gzip")
    with pytest.raises(DataError, match="not a valid gzip file"):
        load_data(str(tmp_path / "bad"))


# --- Hub datasets from a local datasets cache (no network) ---------------------------------------
ROWS = {
    "train": [("a good film", 1), ("a bad film", 0), ("great fun", 1), ("dull and long", 0)] * 5,
    "validation": [("nice", 1), ("awful", 0), ("no label here", -1)] * 2,
    "test": [("unlabelled one", -1), ("unlabelled two", -1)],
}


def build_cache(cache: Path, src: Path, repo: str, config: str) -> None:
    """What ``load_dataset(repo, config)`` leaves in the cache once the Hub has served it."""
    import datasets
    from datasets.packaged_modules.json.json import Json

    files = {}
    for split, rows in ROWS.items():
        path = src / f"{split}.jsonl"
        path.write_text("".join(json.dumps({"sentence": t, "label": y}) + "\n" for t, y in rows))
        files[split] = str(path)
    features = datasets.Features(
        {"sentence": datasets.Value("string"), "label": datasets.ClassLabel(names=["neg", "pos"])}
    )
    builder = Json(cache_dir=str(cache), dataset_name=repo.split("/")[-1], config_name=config,
                   config_id=config, data_files=files, features=features, hash="0" * 16)  # fmt: skip
    if "/" in repo:  # the Hub's namespaced cache folder (owner___name)
        builder.repo_id = repo
        builder._cache_dir = builder._build_cache_dir()
    builder.download_and_prepare()


@pytest.fixture(scope="module")
def hub_cache(tmp_path_factory):
    cache, src = tmp_path_factory.mktemp("hf_cache"), tmp_path_factory.mktemp("src")
    build_cache(cache, src, "glue", "sst2")
    build_cache(cache, src, "someone/tiny", "default")
    return cache


@pytest.fixture()
def offline_hub(hub_cache, monkeypatch):
    import datasets

    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", hub_cache)
    return hub_cache


def test_config_names_and_unlabelled_rows(offline_hub, caplog):
    caplog.set_level(logging.WARNING, logger="textxfer.data.hub")
    ds = load_data(DataArgs("glue/sst2", text_column="sentence"))
    assert ds["train"].features["label"].names == ["neg", "pos"]
    assert len(ds["dev"]) == 4 and set(ds["dev"]["text"]) == {"nice", "awful"}  # -1 rows dropped
    assert (
        len(ds["test"]) == 4 and len(ds["train"]) == 16
    )  # the unlabelled test split: held out of train
    assert "dropped 2 of 6 rows without a label (-1)" in caplog.text
    assert "no labels (all 2 rows are -1" in caplog.text
    again = load_data(DataArgs("glue", hub_config="sst2", text_column="sentence"))
    assert again["train"]["text"] == ds["train"]["text"]


def test_namespaced_hub_dataset_from_the_cache(offline_hub):
    ds = load_data(DataArgs("someone/tiny", text_column="sentence"))
    assert ds["train"].features["label"].names == ["neg", "pos"] and len(ds["dev"]) == 4


def test_other_column_names_get_the_flags_that_map_them(offline_hub):
    with pytest.raises(
        DataError,
        match=r"found \['sentence', 'label'\].*--text-column sentence --label-column label",
    ):
        load_data("glue/sst2")


def test_a_dataset_not_in_the_cache_says_how_to_name_configs(offline_hub, monkeypatch):
    monkeypatch.delenv("TEXTXFER_DATASETS", raising=False)
    with pytest.raises(
        DataError,
        match=r"not found.*built in: \['subj'\].*local Hugging Face datasets cache.*--hub-config",
    ):
        load_data("glue/cola")


def test_hub_id_forms():
    assert candidates("glue/sst2", None) == [("glue/sst2", None), ("glue", "sst2")]
    assert candidates("owner/name/cfg", None) == [("owner/name", "cfg")]
    assert candidates("owner/name", "cfg") == [("owner/name", "cfg")]
    assert looks_like_hub_id("nyu-mll/glue") and not looks_like_hub_id("data/train.csv")
    assert not looks_like_hub_id("./glue") and not looks_like_hub_id("a/b/c/d")
