"""Each augmentation op and source: what it does to a text, on tiny data and the tiny BERT."""

from __future__ import annotations

import random
from collections import Counter

import pytest

from textxfer.augment import augment
from textxfer.augment.ops import DeleteOp, SwapOp, TableOp, match_case, split_token
from textxfer.augment.recipes import OpSpec


def _pairs(out, train):
    """(source text, augmented text) for every augmented row."""
    texts = train["text"][:]
    rows = zip(out["source_id"][:], out["text"][:], out["is_augmented"][:])
    return [(texts[i], text) for i, text, augmented in rows if augmented]


def _op(op: str, **params) -> list[dict]:
    return [{"op": op, **params}]


@pytest.mark.parametrize("engine", ["textxfer", "nlpaug"])
def test_delete_drops_words_and_swap_keeps_the_multiset(train, engine):
    for source, new in _pairs(
        augment(train, _op("delete", engine=engine), n_aug=2, alpha=0.2, use_cache=False), train
    ):
        assert len(new.split()) < len(source.split())
        assert not Counter(new.split()) - Counter(source.split())
    swapped = _pairs(
        augment(train, _op("swap", engine=engine), n_aug=2, alpha=0.2, use_cache=False), train
    )
    # (nlpaug re-capitalises a word swapped into first place)
    assert all(sorted(new.lower().split()) == sorted(src.lower().split()) for src, new in swapped)
    assert sum(new != src for src, new in swapped) >= 0.9 * len(swapped)


@pytest.mark.parametrize(
    ("source", "engine"), [("wordnet", "textxfer"), ("wordnet", "nlpaug"), ("word2vec", "textxfer")]
)
def test_substitute_replaces_words_and_insert_adds_them(train, source, engine):
    subs = _pairs(
        augment(train, _op("substitute", source=source, engine=engine), n_aug=2, use_cache=False),
        train,
    )
    assert sum(new != src for src, new in subs) >= 0.8 * len(subs)
    for src, new in subs:  # the words that stayed are in place; the text's length is close
        kept = set(src.split()) & set(new.split())
        assert len(kept) >= len(src.split()) - 3
    ins = _pairs(
        augment(train, _op("insert", source=source, engine=engine), n_aug=2, use_cache=False), train
    )
    assert sum(len(new.split()) > len(src.split()) for src, new in ins) >= 0.8 * len(ins)
    for src, new in ins:  # insertion never drops a word
        assert not Counter(src.split()) - Counter(new.split())


def test_wordnet_synonyms_are_real_synonyms(train):
    out = augment(train, _op("substitute", source="wordnet", alpha=0.2), n_aug=4, use_cache=False)
    replaced = Counter()
    for src, new in _pairs(out, train):
        if len(src.split()) == len(new.split()):
            replaced.update((a, b) for a, b in zip(src.split(), new.split()) if a != b)
    assert replaced and all(b.islower() for _, b in replaced)
    synonyms = {
        "film": {"movie", "picture", "flick", "pic", "cinema", "celluloid", "shoot", "take"}
    }
    film = {b for a, b in replaced if a == "film"}
    assert film <= synonyms["film"] | {"photographic", "plastic", "moving", "motion"}


def test_word2vec_from_a_given_keyed_vectors_file(train, tmp_path):
    from gensim.models import Word2Vec

    sentences = [t.split() for t in train["text"][:]] * 5
    path = tmp_path / "vectors.bin"
    Word2Vec(sentences, vector_size=16, min_count=1, seed=0, workers=1).wv.save_word2vec_format(
        str(path), binary=True
    )
    kwargs = {"n_aug": 2, "seed": 0, "use_cache": False}
    out = augment(
        train, _op("substitute", source="word2vec", top_k=3), w2v_model=str(path), **kwargs
    )
    vocab = {w for t in train["text"][:] for w in t.split()}
    new_words = {w for _, new in _pairs(out, train) for w in new.split()}
    assert new_words <= vocab  # neighbours come from the given vectors' vocabulary
    assert _pairs(out, train) != _pairs(
        augment(train, _op("substitute", source="word2vec", top_k=3), **kwargs), train
    )


def test_mlm_substitute_and_insert_with_the_tiny_bert(train, tiny_bert):
    from transformers import AutoTokenizer

    vocab = set(AutoTokenizer.from_pretrained(str(tiny_bert)).get_vocab())
    kwargs = {"n_aug": 2, "alpha": 0.2, "seed": 0, "use_cache": False, "mlm_model": str(tiny_bert)}
    subs = _pairs(augment(train, _op("substitute", source="mlm", top_k=5), **kwargs), train)
    assert sum(new != src for src, new in subs) >= 0.8 * len(subs)
    for src, new in subs:
        assert len(new.split()) == len(src.split())
        assert all(b in vocab for a, b in zip(src.split(), new.split()) if a != b)
    ins = _pairs(augment(train, _op("insert", source="mlm"), **kwargs), train)
    assert all(len(new.split()) > len(src.split()) for src, new in ins)
    # batches depend on the rows only: a different batch size gives the same output
    again = augment(train, _op("insert", source="mlm"), mlm_batch_size=3, **kwargs)
    assert _pairs(again, train) == ins


@pytest.mark.parametrize("kind", ["keyboard", "ocr", "random"])
def test_char_noise_changes_characters_not_words(train, kind):
    out = augment(train, _op("char", source=kind, alpha=0.3), n_aug=2, seed=0, use_cache=False)
    pairs = _pairs(out, train)
    assert sum(new != src for src, new in pairs) >= 0.8 * len(pairs)
    assert all(len(new.split()) == len(src.split()) for src, new in pairs)


def test_table_op_uses_pos_tags_when_a_tagger_is_given():
    table = {"run": {"n": ("trial",), "v": ("sprint",)}, "fast": {"a": ("quick",)}}
    spec = OpSpec("substitute", "wordnet", alpha=1.0)

    def tagger(words):
        return [(w, {"run": "VB", "fast": "RB"}.get(w, "DT")) for w in words]

    op = TableOp(spec, 1.0, table, tagger=tagger)
    assert op.apply("i run fast", random.Random(0)) == "i sprint fast"  # no adverb sense of fast


def test_cheap_ops_on_edge_inputs_keep_capitalisation_and_punctuation():
    table = {"great": ("outstanding",)}
    synonyms = TableOp(OpSpec("substitute", alpha=1.0), 1.0, table)
    expected = "A Outstanding, (outstanding) film!"
    assert synonyms.apply("A Great, (great) film!", random.Random(0)) == expected
    assert split_token("(great),") == ("(", "great", "),") and match_case("GREAT", "fine") == "FINE"
    rng = random.Random(0)
    for op in (DeleteOp(OpSpec("delete"), 0.5), SwapOp(OpSpec("swap"), 0.5), synonyms):
        for text in ("", "   ", "word", "!!!", "? !"):
            out = op.apply(text, rng)
            assert isinstance(out, str) and (out.split() or not text.split())
    assert DeleteOp(OpSpec("delete"), 1.0).apply("a b c", rng).count(" ") == 0  # one word kept
