"""The WordNet synonym index: same synonyms as NLTK's ``synsets``, built once, keyed by the files."""

from __future__ import annotations

import pytest

from textxfer.augment import wnindex
from textxfer.augment.wordnet import LEXNAMES, WORDNET_FILES, find_wordnet, load_wordnet

# A hand-made WordNet: synsets per POS as (ss_type, lemma names); lemmas are indexed in this order.
SYNSETS = {
    "noun": [
        ("n", ["movie", "film", "picture", "moving_picture"]),
        ("n", ["film", "thin_layer"]),
        ("n", ["goose"]),
        ("n", ["Bible", "book"]),
    ],
    "verb": [("v", ["film", "shoot", "take"]), ("v", ["walk", "go_on_foot"])],
    "adj": [("a", ["great(a)", "outstanding"]), ("s", ["big", "great", "large"])],
    "adv": [("r", ["well", "good"])],
}
EXCEPTIONS = {"noun": "geese goose\n", "verb": "went go\n", "adj": "bigger big\n", "adv": ""}


def make_wordnet(folder):
    """Write data.<pos> (with true byte offsets), index.<pos>, <pos>.exc and empty extras."""
    folder.mkdir(parents=True)
    for pos, synsets in SYNSETS.items():
        data, lemmas = [], {}
        header = "  1 a hand-made WordNet for tests\n"
        offset = len(header)
        head = None
        for ss_type, names in synsets:
            words = " ".join(f"{n} 0" for n in names)
            # a satellite points (&, similar to) at its head adjective; verbs list frames (none)
            pointers = f"001 & {head:08d} a 0000" if ss_type == "s" else "000"
            frames = " 00" if pos == "verb" else ""
            line = (
                f"{offset:08d} 00 {ss_type} {len(names):02x} {words} {pointers}{frames} | gloss  \n"
            )
            head = offset if ss_type == "a" else head
            data.append(line)
            for name in names:
                lemma = name.split("(")[0].lower()
                lemmas.setdefault(lemma, []).append(offset)
            offset += len(line)
        (folder / f"data.{pos}").write_text(header + "".join(data))
        letter = synsets[0][0]
        index = [
            f"{lemma} {letter} {len(offs)} 0 {len(offs)} 0 {' '.join(f'{o:08d}' for o in offs)}  \n"
            for lemma, offs in sorted(lemmas.items())
        ]
        (folder / f"index.{pos}").write_text(header + "".join(index))
        (folder / f"{pos}.exc").write_text(EXCEPTIONS[pos])
    for name in WORDNET_FILES:
        if not (folder / name).exists():
            (folder / name).write_text("")
    (folder / "lexnames").write_text(LEXNAMES)
    return folder


def nltk_synonyms(reader, word: str) -> dict[str, tuple[str, ...]]:
    """What textxfer computed through NLTK before the index: lemma names of ``synsets(word)``."""
    low, found = word.lower(), {}
    for synset in reader.synsets(low):
        pos = "a" if synset.pos() == "s" else synset.pos()
        for lemma in synset.lemma_names():
            name = lemma.replace("_", " ")
            if name.lower() != low and name.islower():
                found.setdefault(pos, {})[name] = None
    return {pos: tuple(names) for pos, names in found.items() if names}


def test_index_applies_morphy_exceptions_order_and_filters(tmp_path):
    root = make_wordnet(tmp_path / "wordnet")
    table = wnindex.synonym_table(["films", "Film", "geese", "bigger", "went", "book", "zzz"], root)
    # "films": the noun rule s -> "" finds "film"; names in sense order, "film" itself kept
    assert table["films"] == (
        "movie",
        "film",
        "picture",
        "moving picture",
        "thin layer",
        "shoot",
        "take",
    )
    assert table["Film"] == ("movie", "picture", "moving picture", "thin layer", "shoot", "take")
    assert table["geese"] == ("goose",) and table["bigger"] == ("big", "great", "large")
    assert "book" not in table and "zzz" not in table  # "Bible" is a proper noun: left out
    assert "went" not in table  # "go" is not a verb lemma here: exceptions still need the lemma
    by_pos = wnindex.synonym_table(["great", "walking"], root, by_pos=True)
    assert by_pos["great"] == {"a": ("outstanding", "big", "large")}  # "(a)" marker stripped
    assert by_pos["walking"] == {"v": ("walk", "go on foot")}


def test_index_equals_nltk_on_the_hand_made_wordnet(tmp_path, monkeypatch):
    nltk_data = pytest.importorskip("nltk.data")
    monkeypatch.setattr(
        nltk_data, "path", [str(tmp_path), *nltk_data.path]
    )  # NLTK reads only there
    root = make_wordnet(tmp_path / "corpora" / "wordnet")
    words = ["films", "film", "geese", "bigger", "great", "greatest", "walked", "walking", "well"]
    reader = load_wordnet(root)
    expected = {w: s for w in words if (s := nltk_synonyms(reader, w))}
    assert wnindex.synonym_table(words, root, by_pos=True) == expected


def test_index_is_built_once_and_rebuilt_when_wordnet_changes(tmp_path):
    root = make_wordnet(tmp_path / "wordnet")
    first = wnindex.open_index(root).path
    assert first.is_file() and first.parent == wnindex.index_dir()
    stamp = first.stat().st_mtime_ns
    assert wnindex.open_index(root).path == first and first.stat().st_mtime_ns == stamp
    with (root / "noun.exc").open("a") as f:
        f.write("mice mouse\n")
    assert wnindex.open_index(root).path != first


def test_index_equals_nltk_on_real_wordnet():
    root = find_wordnet()
    if root is None:
        pytest.skip("WordNet 3.0 data not installed (textxfer wordnet setup)")
    words = (
        "films movie great greatest better running ran geese mice happily was is books "
        "studies quickly boring bored dull funny actors performances wonderful terrible "
        "men women children leaves wives axes buses churches wishes loved loving lies"
    ).split()
    reader = load_wordnet(root)
    expected = {w: s for w in words if (s := nltk_synonyms(reader, w))}
    assert wnindex.synonym_table(words, root, by_pos=True) == expected
    assert len(expected) > 30


def test_nltk_data_path_is_nltks_own_list():
    import sys

    from textxfer.augment.wordnet import nltk_data_path

    nltk_data = pytest.importorskip("nltk.data")
    if sys.platform.startswith("win"):
        pytest.skip("on Windows NLTK is always asked")
    module = sys.modules.pop("nltk.data")  # the rebuilt list, as before NLTK is imported
    try:
        rebuilt = nltk_data_path()
    finally:
        sys.modules["nltk.data"] = module
    assert rebuilt == nltk_data.path


def test_textxfer_wordnet_ops_do_not_import_nltk(tmp_path):
    import os
    import subprocess
    import sys

    root = make_wordnet(tmp_path / "wordnet")
    code = (
        "import sys; from textxfer.augment import wnindex, wordnet; "
        f"t = wnindex.synonym_table(['films'], {str(root)!r}); "
        "wordnet.find_wordnet(); wordnet.has_pos_tagger(); "
        "assert t['films'][0] == 'movie', t; assert 'nltk' not in sys.modules, 'nltk imported'"
    )
    env = {**os.environ, "TEXTXFER_CACHE": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
