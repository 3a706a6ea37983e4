"""textxfer.augment: rows, markers, labels, determinism across processes, cache, defaults, inputs."""

from __future__ import annotations

import random

import datasets
import numpy as np
import pytest

from textxfer.augment import (
    AugmentArgs,
    augment,
    augment_with_info,
    format_examples,
    op_counts,
    side_by_side,
)
from textxfer.augment.cache import count_entries
from textxfer.augment.recipes import eda_defaults
from textxfer.config import ConfigError
from textxfer.data import load_data
from textxfer.data.readers import DataError

# Every source and engine in one chain: WordNet, word2vec, masked LM (contextual phase between
# cheap ones), nlpaug's char noise (global random state seeded per row).
ALL_SOURCES = {
    "name": "all_sources",
    "mode": "chain",
    "ops": [
        {"op": "substitute", "source": "wordnet", "p": 0.5},
        {"op": "insert", "source": "word2vec", "p": 0.5},
        {"op": "substitute", "source": "mlm", "p": 0.5},
        {"op": "swap", "p": 0.5},
        {"op": "char", "source": "keyboard", "p": 0.3},
        {"op": "delete", "p": 0.3},
    ],
}


@pytest.fixture(scope="module")
def tiny(tiny_dataset_dir):
    return load_data(str(tiny_dataset_dir))


def test_public_call_signature_adds_marked_label_preserving_copies(train):
    out = augment(train, "eda", n_aug=4, seed=0, num_proc=1)
    assert len(out) == 5 * len(train)
    assert out.features["label"] == train.features["label"]
    assert out.column_names == ["text", "label", "is_augmented", "source_id", "aug_index", "aug_op"]
    texts, labels = train["text"][:], train["label"][:]
    for row in out:
        i = row["source_id"]
        assert row["label"] == labels[i]
        assert row["is_augmented"] == (row["aug_index"] > 0)
        if not row["is_augmented"]:
            assert row["text"] == texts[i] and row["aug_op"] == ""
        else:
            assert row["aug_op"] in ("substitute:wordnet", "insert:wordnet", "swap", "delete")
    assert out["source_id"][:] == [i for i in range(len(train)) for _ in range(5)]
    assert out["aug_index"][:] == list(range(5)) * len(train)
    changed = sum(
        t != texts[i]
        for t, i, a in zip(out["text"][:], out["source_id"][:], out["is_augmented"][:])
        if a
    )
    assert changed >= 0.9 * 4 * len(train)


def test_same_output_for_num_proc_1_and_2_and_global_random_untouched(train, tiny_bert, caplog):
    random.seed(123)
    np.random.seed(123)
    before = (random.random(), np.random.random())
    random.seed(123)
    np.random.seed(123)
    kwargs = {"n_aug": 3, "seed": 7, "use_cache": False, "mlm_model": str(tiny_bert)}
    one = augment(train, ALL_SOURCES, num_proc=1, **kwargs)
    assert (random.random(), np.random.random()) == before  # nlpaug's seeding was undone
    with caplog.at_level("DEBUG", logger="textxfer.augment.runner"):
        two = augment(train, ALL_SOURCES, num_proc=2, **kwargs)
    pools = [r.getMessage() for r in caplog.records if "over 2 processes" in r.getMessage()]
    assert len(pools) == 2  # both cheap phases (before and after the masked LM) ran in 2 workers
    assert one["text"][:] == two["text"][:]
    assert one["aug_op"][:] == two["aug_op"][:]
    used = {op for ops in one["aug_op"][:] for op in ops.split("+") if op}
    assert used == {
        "substitute:wordnet",
        "insert:word2vec",
        "substitute:mlm",
        "swap",
        "char:keyboard",
        "delete",
    }
    assert "" not in [op for op, a in zip(one["aug_op"][:], one["is_augmented"][:]) if a]


def test_seed_changes_output_and_copies_depend_only_on_their_row(train):
    a = augment(train, "eda", n_aug=2, seed=0, use_cache=False)
    b = augment(train, "eda", n_aug=2, seed=1, use_cache=False)
    assert a["text"][:] != b["text"][:]
    # Row 5's copies are the same whether or not the other rows are there.
    alone = augment(train.select(range(6)), "eda", n_aug=2, seed=0, use_cache=False)
    assert alone["text"][15:18] == a["text"][15:18]


def test_cache_hit_on_second_call_and_key_changes_with_settings(train, tmp_path):
    args = AugmentArgs("eda", n_aug=2, seed=0, num_proc=1, aug_cache_dir=str(tmp_path / "c"))
    first, info1 = augment_with_info(train, args)
    second, info2 = augment_with_info(train, args)
    assert (info1.cache_hit, info2.cache_hit) == (False, True)
    assert info1.key == info2.key and count_entries(tmp_path / "c") == 1
    assert first["text"][:] == second["text"][:]
    _, info3 = augment_with_info(
        train, AugmentArgs("eda", n_aug=2, seed=1, aug_cache_dir=str(tmp_path / "c"))
    )
    _, info4 = augment_with_info(train.select(range(10)), args)
    assert not info3.cache_hit and not info4.cache_hit and count_entries(tmp_path / "c") == 3
    # num_proc never changes the output, so it is not part of the key
    _, info5 = augment_with_info(
        train, AugmentArgs("eda", n_aug=2, seed=0, num_proc=2, aug_cache_dir=str(tmp_path / "c"))
    )
    assert info5.cache_hit


def test_default_cache_dir_follows_textxfer_cache_env(train, tmp_path):
    _, info = augment_with_info(train, AugmentArgs("swap", n_aug=1))
    assert info.cache_path.startswith(str(tmp_path / "cache_root" / "augment"))
    assert count_entries(tmp_path / "cache_root" / "augment") == 1


@pytest.mark.parametrize(
    ("n", "expected"),
    [(500, (0.05, 16)), (1000, (0.05, 16)), (2000, (0.05, 8)), (3000, (0.05, 8)), (6920, (0.1, 4))],
)
def test_eda_defaults_by_training_size(n, expected):
    assert eda_defaults(n) == expected


def test_defaults_come_from_the_size_when_not_given(train):
    out, info = augment_with_info(train, AugmentArgs("delete", use_cache=False))
    assert (info.alpha, info.n_aug) == (0.05, 16) and len(out) == 17 * len(train)


def test_keep_original_false_and_datasetdict(tiny):
    only = augment(tiny["train"], "swap", n_aug=2, keep_original=False, use_cache=False)
    assert len(only) == 2 * len(tiny["train"]) and all(only["is_augmented"][:])
    out = augment(tiny, "swap", n_aug=1, use_cache=False)
    assert isinstance(out, datasets.DatasetDict) and len(out["train"]) == 2 * len(tiny["train"])
    assert (
        out["dev"]["text"][:] == tiny["dev"]["text"][:]
        and "is_augmented" not in out["test"].column_names
    )


def test_short_empty_punctuation_and_long_texts(train, tiny_bert):
    long_text = " ".join(["the film is great and the acting superb"] * 250)  # 2,000 words
    texts = ["", "film", "!!! ... ?", ",", "great film", long_text]
    ds = datasets.Dataset.from_dict(
        {"text": texts, "label": [0, 1, 0, 1, 0, 1]}, features=train.features
    )
    for recipe in ("eda", "eda_w2v", "char", "mlm", "eda_nlpaug"):
        out = augment(ds, recipe, n_aug=2, seed=0, use_cache=False, mlm_model=str(tiny_bert))
        aug = dict(zip(zip(out["source_id"][:], out["aug_index"][:]), out["text"][:]))
        assert len(out) == 18, recipe
        assert aug[(0, 1)] == aug[(0, 2)] == "", recipe
        assert len(aug[(1, 1)].split()) >= 1 and len(aug[(1, 2)].split()) >= 1, recipe
        assert sorted(aug[(2, 1)].split()) == sorted(texts[2].split()) or recipe == "char"
        assert aug[(3, 1)] == "," or recipe == "char"
        assert len(aug[(5, 1)].split()) > 1500, recipe


def test_bad_arguments_and_inputs_raise_clear_errors(train):
    with pytest.raises(ConfigError, match="n_aug must be an integer >= 0"):
        AugmentArgs(n_aug=-1)
    with pytest.raises(ConfigError, match=r"alpha must be in \(0, 1\]"):
        AugmentArgs(alpha=1.5)
    with pytest.raises(ConfigError, match="unknown recipe 'nope'"):
        augment(train, "nope")
    with pytest.raises(ConfigError, match="leaves no rows"):
        augment(train, "swap", n_aug=0, keep_original=False)
    with pytest.raises(DataError, match=r"expects columns \['text', 'label'\]"):
        augment(train.rename_column("text", "sentence"), "swap")
    aug = augment(train, "swap", n_aug=1, use_cache=False)
    with pytest.raises(DataError, match="already augmented"):
        augment(aug, "swap")


def test_side_by_side_counts_and_examples(train):
    out = augment(train, "eda", n_aug=2, seed=0, use_cache=False)
    frame = side_by_side(out, n=2)
    assert list(frame.columns) == ["source_id", "aug_index", "aug_op", "original", "augmented"]
    texts = train["text"][:]
    assert frame["original"].tolist() == [texts[0], texts[0], texts[1], texts[1]]
    assert frame["augmented"].tolist() == out["text"][1:3] + out["text"][4:6]
    counts = op_counts(out)
    assert sum(counts.values()) == 40 and set(counts) <= {
        "substitute:wordnet",
        "insert:wordnet",
        "swap",
        "delete",
    }
    lines = format_examples(out, n=1).splitlines()
    assert lines[0] == f"  [0] {texts[0]}" and len(lines) == 3 and lines[1].startswith("    [")
