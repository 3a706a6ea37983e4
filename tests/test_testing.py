"""textxfer.testing: the tiny tokenizer and model are a pure function of their texts and seed,
in any process (tokenizers' WordPiece trainer broke ties differently per process, which made the
tiny models, and thresholds measured on them, change from run to run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from textxfer.testing import make_tiny_bert, train_wordpiece_tokenizer

ROOT = Path(__file__).resolve().parents[1]
BUILD = (
    "import hashlib, sys; from pathlib import Path; from textxfer.testing import make_tiny_bert; "
    "d = make_tiny_bert(Path(sys.argv[1]), texts=['the film is good', 'the plot is bad', "
    "'a truly good film', 'what a bad plot']); "
    "print(*(hashlib.sha256((d / f).read_bytes()).hexdigest() for f in "
    "('tokenizer.json', 'model.safetensors')))"
)


def test_two_processes_build_the_same_tokenizer_and_weights(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("TOKENIZERS_PARALLELISM", None)  # the trainer's ties came from its parallel merges
    digests = {
        subprocess.run(
            [sys.executable, "-c", BUILD, str(tmp_path / name)],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.split()[-2:].__str__()
        for name in ("a", "b")
    }  # fmt: skip
    assert len(digests) == 1


def test_vocabulary_holds_specials_characters_then_words_by_frequency(tmp_path):
    tok = train_wordpiece_tokenizer(tmp_path, ["b a b", "c b a", "Zz"])
    vocab = sorted(tok.get_vocab(), key=tok.get_vocab().get)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    assert vocab[5:13] == ["a", "b", "c", "z", "##a", "##b", "##c", "##z"]
    assert vocab[13:] == ["zz"]  # single-letter words are already characters; then by count
    assert tok.tokenize("Zz ab?") == ["zz", "a", "##b", "[UNK]"]
    assert tok("a b")["input_ids"] == [2, 5, 6, 3]  # [CLS] a b [SEP]


def test_vocab_size_caps_the_words(tmp_path):
    tok = train_wordpiece_tokenizer(tmp_path, ["dog dog cat", "cat emu dog"], vocab_size=24)
    words = [t for t in tok.get_vocab() if len(t) > 1 and not t.startswith(("[", "##"))]
    assert len(tok) == 24 and words == ["dog"]  # 5 + 2 x 9 characters, then dog (3) before cat (2)


def test_make_tiny_bert_saves_a_loadable_model_of_the_vocabulary(tmp_path):
    from transformers import AutoModelForMaskedLM, AutoTokenizer

    folder = make_tiny_bert(tmp_path, texts=["a good film", "a bad film"], hidden_size=16)
    model, tok = AutoModelForMaskedLM.from_pretrained(folder), AutoTokenizer.from_pretrained(folder)
    assert model.config.vocab_size == len(tok) and model.config.hidden_size == 16
    assert model.config.pad_token_id == tok.pad_token_id == 0
