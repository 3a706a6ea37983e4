"""Recipes from YAML, presets, WordNet set-up, and the errors when a source is missing."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from textxfer.augment import AugmentArgs, augment
from textxfer.augment.recipes import OpSpec, load_recipe
from textxfer.augment.wordnet import LEXNAMES, WORDNET_FILES, find_wordnet, setup_wordnet
from textxfer.cli import main as cli_main
from textxfer.config import build_configs
from textxfer.data import DataArgs
from textxfer.errors import ConfigError, MissingExtraError, MissingSourceError

CONFIGS = Path(__file__).resolve().parents[2] / "recipes" / "configs"


def test_recipe_from_yaml_file_with_mode_probabilities_and_params(tmp_path, train):
    path = tmp_path / "mine.yaml"
    path.write_text(
        "name: mine\nmode: chain\nops:\n"
        "  - {op: substitute, source: word2vec, p: 0.5, top_k: 3}\n"
        "  - {op: swap, p: 1.0, alpha: 0.3}\n"
        "  - delete\n",
        encoding="utf-8",
    )
    recipe = load_recipe(path)
    assert (recipe.name, recipe.mode) == ("mine", "chain")
    assert recipe.ops == (
        OpSpec("substitute", "word2vec", p=0.5, top_k=3),
        OpSpec("swap", p=1.0, alpha=0.3),
        OpSpec("delete"),
    )
    out = augment(train, str(path), n_aug=2, seed=0, use_cache=False)
    assert all("swap" in ops for ops, a in zip(out["aug_op"][:], out["is_augmented"][:]) if a)
    assert load_recipe(recipe.to_dict()) == recipe  # round trip


@pytest.mark.parametrize(
    ("recipe", "match"),
    [
        ([{"op": "shuffle"}], "unknown augmentation op 'shuffle'"),
        ([{"op": "insert", "source": "ppdb"}], r"takes source in \['wordnet', 'word2vec', 'mlm'\]"),
        ([{"op": "swap", "speed": 2}], "expected a mapping with keys among"),
        ({"mode": "chain", "ops": [{"op": "swap", "p": 2}]}, "in chain mode p is a probability"),
        ({"mode": "random", "ops": ["swap"]}, "mode must be one of"),
        ({"ops": []}, "has no ops"),
        ([{"op": "substitute", "source": "mlm", "engine": "nlpaug"}], "engine 'nlpaug' covers"),
        ([{"op": "swap", "alpha": 0}], r"alpha must be in \(0, 1\]"),
        ("missing.yaml", "recipe file 'missing.yaml' not found"),
    ],
)
def test_bad_recipes_say_what_is_wrong(recipe, match):
    with pytest.raises(ConfigError, match=match):
        AugmentArgs(recipe=recipe)


@pytest.mark.parametrize("path", sorted(CONFIGS.glob("aug_*.yaml")), ids=lambda p: p.stem)
def test_every_augment_preset_loads(path):
    import yaml

    configs = build_configs(
        {"data": DataArgs, "augment": AugmentArgs}, yaml.safe_load(path.read_text())
    )
    assert configs["augment"].load_recipe().ops


def test_setup_wordnet_copies_files_and_writes_lexnames(tmp_path):
    source = tmp_path / "debian"
    source.mkdir()
    for name in WORDNET_FILES:
        (source / name).write_text(f"{name}\n")
    target = setup_wordnet(source, tmp_path / "nltk_data" / "corpora" / "wordnet")
    assert find_wordnet(target) == target
    assert not any(p.is_symlink() for p in target.iterdir())  # NLTK refuses symlinks
    rows = (target / "lexnames").read_text().splitlines()
    assert len(rows) == 45 and rows[0] == "00\tadj.all\t3" and rows[44] == "44\tadj.ppl\t3"
    assert (target / "data.noun").read_text() == "data.noun\n" and LEXNAMES.count("\n") == 45
    assert cli_main(["wordnet", "status", "--target", str(target)]) == 0


def test_missing_wordnet_names_what_to_install(tmp_path, train, capsys):
    with pytest.raises(
        MissingSourceError, match="lacks .*apt-get install -y wordnet-base wordnet-sense-index"
    ):
        setup_wordnet(tmp_path / "nowhere", tmp_path / "target")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MissingSourceError, match="no WordNet data found in .*make install"):
        augment(train, "synonym", wordnet_dir=str(empty), use_cache=False)
    with pytest.raises(MissingSourceError, match="no WordNet data found"):
        augment(train, "eda_nlpaug", wordnet_dir=str(empty), use_cache=False)
    assert (
        cli_main(
            ["wordnet", "setup", "--source", str(tmp_path / "nowhere"), "--target", str(empty)]
        )
        == 2
    )
    assert "wordnet-base" in capsys.readouterr().err


def test_missing_gensim_nltk_nlpaug_name_the_extra(train, monkeypatch):
    monkeypatch.setitem(sys.modules, "gensim", None)
    with pytest.raises(
        MissingExtraError, match=r"needs the package 'gensim'.*pip install 'textxfer\[w2v\]'"
    ):
        augment(train, "eda_w2v", use_cache=False)
    monkeypatch.setitem(sys.modules, "nltk.corpus.reader.wordnet", None)
    with pytest.raises(
        MissingExtraError,
        match=r"WordNet synonyms needs the package 'nltk'.*pip install 'textxfer\[aug\]'",
    ):
        augment(train, "eda_nlpaug", use_cache=False)
    # textxfer's own WordNet ops read the synonym index, not NLTK's reader
    assert augment(train, "synonym", n_aug=1, use_cache=False)["aug_op"][1] == "substitute:wordnet"
    monkeypatch.setitem(sys.modules, "nlpaug.augmenter.word", None)
    with pytest.raises(
        MissingExtraError, match=r"engine nlpaug\) needs the package 'nlpaug'.*'textxfer\[aug\]'"
    ):
        augment(train, "char", use_cache=False)


def test_missing_models_name_the_option(train, tmp_path):
    with pytest.raises(MissingSourceError, match=r"needs a masked-LM model: pass mlm_model="):
        augment(train, "mlm", use_cache=False)
    with pytest.raises(MissingSourceError, match="not found or has no config.json"):
        augment(train, "mlm", mlm_model=str(tmp_path / "no_model"), use_cache=False)
    with pytest.raises(MissingSourceError, match="word vectors file .* not found"):
        augment(train, "w2v", w2v_model=str(tmp_path / "none.bin"), use_cache=False)
    with pytest.raises(MissingSourceError, match="pickles and can run code"):
        augment(train, "w2v", w2v_model=str(tmp_path / "none.kv"), use_cache=False)
