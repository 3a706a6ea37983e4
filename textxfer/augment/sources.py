"""Substitution sources for the augmentation ops: WordNet, word2vec neighbours, a masked LM.

``build_ops`` turns a recipe into op objects ready to run. Lookup tables are built once in the
calling process for the vocabulary of the texts (``word -> candidates``), so worker processes
only do dict lookups and never load WordNet or a word2vec model themselves.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np

from ..errors import MissingSourceError, require
from ..io import atomic_file
from ..models import load_word_vectors
from .ops import WordOp, token_info, vocabulary, word_key
from .recipes import OpSpec, Recipe
from .wnindex import synonym_table
from .wordnet import has_pos_tagger

logger = logging.getLogger(__name__)

W2V_PARAMS = {"vector_size": 100, "window": 5, "min_count": 1, "sg": 1, "epochs": 10}
W2V_MAX_CANDIDATES = 50_000  # neighbours come from the most frequent words of a large model


def _nltk_tagger(words: list[str]):
    import nltk

    return nltk.pos_tag(words)


def wordnet_source(vocab: set[str], root: str | None, pos_tagger: bool | None):
    """(table, tagger) for WordNet synonyms; the tagger is used only when installed or asked."""
    use_tagger = has_pos_tagger() if pos_tagger is None else pos_tagger
    if use_tagger and not has_pos_tagger():
        raise MissingSourceError(
            "pos_tagger: true needs NLTK's 'averaged_perceptron_tagger_eng' data, not found; "
            "install it with nltk.download or set pos_tagger: false"
        )
    table = synonym_table(vocab, root, by_pos=use_tagger)
    logger.info("WordNet synonyms for %d of %d words", len(table), len(vocab))
    return table, (_nltk_tagger if use_tagger else None)


def train_word2vec(texts: list[str], seed: int, cache_dir: Path | None = None):
    """A skip-gram word2vec on ``texts`` (lower-cased tokens), seeded, single worker, cached."""
    gensim = require("gensim", extra="w2v", purpose="word2vec augmentation")
    digest = hashlib.sha256("\n".join(texts).encode()).hexdigest()[:16]
    path = cache_dir / f"w2v-{digest}-{seed}.bin" if cache_dir else None
    if path is not None and path.is_file():
        logger.info("word2vec: loading cached vectors %s", path)
        return load_word_vectors(path)
    sentences = [[c.lower() for c in map(_core, text.split()) if c] for text in texts]
    model = gensim.models.Word2Vec(sentences, seed=seed, workers=1, **W2V_PARAMS)  # reproducible
    if path is not None:
        with atomic_file(path, suffix=".bin") as tmp:
            model.wv.save_word2vec_format(str(tmp), binary=True)
    logger.info("word2vec: trained on %d texts (%d words)", len(texts), len(model.wv))
    return model.wv


def _core(token: str) -> str:
    return token_info(token)[1]


def neighbour_table(vocab: set[str], kv, top_k: int) -> dict[str, tuple[str, ...]]:
    """word -> its ``top_k`` nearest content words by cosine similarity in ``kv``."""
    candidates = [
        (i, w) for i, w in enumerate(kv.index_to_key[:W2V_MAX_CANDIDATES]) if word_key(w) == w
    ]
    if not candidates:
        return {}
    cand_ids, cand_words = zip(*candidates)
    normed = kv.get_normed_vectors()
    cand = normed[list(cand_ids)]
    queries = sorted(w for w in vocab if w in kv.key_to_index)
    table: dict[str, tuple[str, ...]] = {}
    k = min(top_k + 1, len(cand_words))
    for start in range(0, len(queries), 1024):
        chunk = queries[start : start + 1024]
        sims = normed[[kv.key_to_index[w] for w in chunk]] @ cand.T
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        for row, word in enumerate(chunk):
            order = top[row][np.argsort(-sims[row, top[row]], kind="stable")]
            near = tuple(cand_words[j] for j in order if cand_words[j] != word)[:top_k]
            if near:
                table[word] = near
    return table


def check_mlm_model(path: str | None, spec: OpSpec) -> str:
    """The masked-LM folder for ``spec``, or a clear error naming what to pass."""
    if not path:
        raise MissingSourceError(
            f"op {spec.label} needs a masked-LM model: pass mlm_model=<local folder> (--mlm-model) "
            "holding config.json, weights with an MLM head, and its tokenizer"
        )
    folder = Path(path).expanduser()
    if not (folder / "config.json").is_file():
        raise MissingSourceError(
            f"masked-LM model folder {str(folder)!r} not found or has no config.json; pass a local "
            "folder saved with save_pretrained (model with an MLM head + tokenizer)"
        )
    return str(folder)


class Sources:
    """Lazily built, shared lookup tables for one augment call."""

    def __init__(self, texts: list[str], args) -> None:
        self.texts, self.args = texts, args
        self._vocab: set[str] | None = None
        self._tables: dict[tuple, tuple] = {}
        self._w2v = None

    @property
    def vocab(self) -> set[str]:
        if self._vocab is None:
            self._vocab = vocabulary(self.texts)
        return self._vocab

    def table(self, spec: OpSpec) -> tuple[dict, object]:
        """(table, tagger) for a wordnet/word2vec op, built once per distinct setting."""
        key = (spec.source, spec.model, spec.top_k, spec.pos_tagger)
        if key in self._tables:
            return self._tables[key]
        if spec.source == "wordnet":
            root = spec.model or self.args.wordnet_dir
            self._tables[key] = wordnet_source(self.vocab, root, spec.pos_tagger)
        else:
            table = neighbour_table(self.vocab, self.word2vec(spec), spec.top_k)
            logger.info("word2vec neighbours for %d of %d words", len(table), len(self.vocab))
            self._tables[key] = (table, None)
        return self._tables[key]

    def word2vec(self, spec: OpSpec):
        path = spec.model or self.args.w2v_model
        if path:
            return load_word_vectors(path)
        if self._w2v is None:
            cache = Path(self.args.cache_path) / "word2vec" if self.args.use_cache else None
            self._w2v = train_word2vec(self.texts, self.args.seed, cache)
        return self._w2v


def build_op(spec: OpSpec, alpha: float, sources: Sources):
    """The runnable op for ``spec``, from the op registry (tables built from ``sources``)."""
    from .ops import build_nlpaug_op, get_op

    if spec.engine == "nlpaug":
        return build_nlpaug_op(spec, alpha, sources)
    return get_op(spec.op).build(spec, alpha, sources)


def build_ops(recipe: Recipe, alpha: float, texts: list[str], args) -> list[WordOp]:
    """One runnable op per recipe op, in order."""
    sources = Sources(texts, args)
    return [build_op(spec, alpha, sources) for spec in recipe.ops]
