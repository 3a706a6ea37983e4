"""Word- and char-level augmentation operations, each a pure function of (text, rng), and the op
registry: ``register_op`` is the one place an op is declared (its name, sources, nlpaug coverage,
builder and version); recipe validation, the cache key and ``build_ops`` all read it.

Cheap ops (delete, swap, substitute/insert from a word -> candidates table) are implemented here
on whitespace tokens: fast, picklable, and random only through the ``random.Random`` handed to
``apply``, so a row's output depends on nothing but its own seed. Ops on nlpaug's augmenters
(``engine: nlpaug`` and char noise) call nlpaug's single-text methods, never its thread pool,
with nlpaug's global ``random``/``numpy.random`` state seeded per row (``isolated_global_random``
restores the caller's state afterwards).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import random
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..errors import ConfigError, require

if TYPE_CHECKING:
    from .recipes import OpSpec

logger = logging.getLogger(__name__)

# EDA's stop-word list (Wei & Zou, 2019): never substituted nor used as insertion anchors.
STOPWORDS = frozenset(
    """i me my myself we our ours ourselves you your yours yourself yourselves he him his himself
    she her hers herself it its itself they them their theirs themselves what which who whom this
    that these those am is are was were be been being have has had having do does did doing a an
    the and but if or because as until while of at by for with about against between into through
    during before after above below to from up down in out on off over under again further then
    once here there when where why how all any both each few more most other some such no nor not
    only own same so than too very s t can will just don should now""".split()
)
_EDGES = re.compile(r"^(\W*)(.*?)(\W*)$", re.S)
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")


def split_token(token: str) -> tuple[str, str, str]:
    """``"(great),"`` -> ``("(", "great", "),")``: leading punctuation, word, trailing punctuation."""
    prefix, core, suffix = _EDGES.match(token).groups()
    return prefix, core, suffix


@functools.lru_cache(maxsize=1 << 17)
def token_info(token: str) -> tuple[str, str, str, str | None]:
    """``split_token(token)`` plus the word's lookup key (cached: tokens repeat a lot)."""
    prefix, core, suffix = split_token(token)
    return prefix, core, suffix, word_key(core)


def word_key(core: str) -> str | None:
    """Lower-cased lookup key of a word, or None for stop words, numbers and symbols."""
    if not _WORD.fullmatch(core):
        return None
    key = core.lower()
    return None if key in STOPWORDS else key


def vocabulary(texts) -> set[str]:
    """Lookup keys of every content word in ``texts``."""
    words: set[str] = set()
    for text in texts:
        for token in text.split():
            key = token_info(token)[3]
            if key:
                words.add(key)
    return words


def n_changes(n_words: int, alpha: float, aug_min: int = 1, aug_max: int | None = None) -> int:
    """EDA's count of words to change: ``max(aug_min, int(alpha * n_words))``, capped by aug_max."""
    count = max(aug_min, int(alpha * n_words))
    return min(count, aug_max) if aug_max is not None else count


def match_case(original: str, new: str) -> str:
    """Give ``new`` the capitalisation of ``original`` (all caps or first letter)."""
    if original.isupper() and len(original) > 1:
        return new.upper()
    if original[:1].isupper():
        return new[:1].upper() + new[1:]
    return new


class WordOp:
    """Base of the cheap word ops: ``apply(text, rng) -> text``, deterministic given ``rng``."""

    contextual = False

    def __init__(self, spec: OpSpec, alpha: float) -> None:
        self.spec = spec
        self.alpha = spec.alpha if spec.alpha is not None else alpha

    def count(self, n_words: int) -> int:
        """How many words to change in a text of ``n_words`` words."""
        return n_changes(n_words, self.alpha, self.spec.aug_min, self.spec.aug_max)

    def apply(self, text: str, rng: random.Random) -> str:  # pragma: no cover - abstract
        raise NotImplementedError


class DeleteOp(WordOp):
    """Random deletion of ``count`` words; a text always keeps at least one word."""

    def apply(self, text: str, rng: random.Random) -> str:
        tokens = text.split()
        if len(tokens) < 2:
            return text
        k = min(self.count(len(tokens)), len(tokens) - 1)
        drop = set(rng.sample(range(len(tokens)), k))
        return " ".join(t for i, t in enumerate(tokens) if i not in drop)


class SwapOp(WordOp):
    """Random swap of two words, ``count`` times (EDA's RS)."""

    def apply(self, text: str, rng: random.Random) -> str:
        tokens = text.split()
        if len(tokens) < 2:
            return text
        for _ in range(self.count(len(tokens))):
            i, j = rng.sample(range(len(tokens)), 2)
            tokens[i], tokens[j] = tokens[j], tokens[i]
        return " ".join(tokens)


class TableOp(WordOp):
    """Substitute or insert words drawn from a word -> candidates table (WordNet, word2vec).

    ``table`` values are tuples of candidates, or ``{pos letter: candidates}`` when ``tagger``
    (tokens -> Penn tags) is given, as for WordNet with NLTK's POS tagger installed.
    """

    def __init__(self, spec: OpSpec, alpha: float, table: dict, tagger=None) -> None:
        super().__init__(spec, alpha)
        self.table = table
        self.tagger = tagger

    def _candidates(self, tokens: list[str]) -> list[tuple[int, str, str, str, tuple]]:
        tags = self.tagger([token_info(t)[1] for t in tokens]) if self.tagger else None
        found = []
        table = self.table
        for i, token in enumerate(tokens):
            prefix, core, suffix, key = token_info(token)
            options = table.get(key) if key else None
            if options and tags is not None:
                options = _by_tag(options, tags[i][1])
            if options:
                found.append((i, prefix, core, suffix, options))
        return found

    def apply(self, text: str, rng: random.Random) -> str:
        tokens = text.split()
        found = self._candidates(tokens)
        if not found:
            return text
        k = min(self.count(len(tokens)), len(found))
        if self.spec.op == "substitute":
            for i, prefix, core, suffix, options in rng.sample(found, k):
                tokens[i] = prefix + match_case(core, rng.choice(options)) + suffix
            return " ".join(tokens)
        picks = [rng.choice(found)[4] for _ in range(k)]  # EDA's RI: a synonym of a random word
        for options in picks:
            tokens.insert(rng.randrange(len(tokens) + 1), rng.choice(options))
        return " ".join(tokens)


def _by_tag(per_pos: dict[str, tuple[str, ...]], tag: str) -> tuple[str, ...]:
    from .wordnet import penn_to_wordnet

    pos = penn_to_wordnet(tag)
    if pos is None:  # a tag WordNet has no POS for: every sense counts, as in nlpaug
        return tuple(dict.fromkeys(n for names in per_pos.values() for n in names))
    return per_pos.get(pos, ())


@contextlib.contextmanager
def isolated_global_random() -> Iterator[None]:
    """Restore ``random``'s and ``numpy.random``'s global state on exit (nlpaug draws from them)."""
    import numpy as np

    py_state, np_state = random.getstate(), np.random.get_state()
    try:
        yield
    finally:
        random.setstate(py_state)
        np.random.set_state(np_state)


class NlpaugOp(WordOp):
    """An nlpaug augmenter called through its single-text method, seeded per row.

    The augmenter is built lazily in each worker process (it is not pickled). Callers wrap
    batches in ``isolated_global_random()``.
    """

    def __init__(self, spec: OpSpec, alpha: float, wordnet_root: str | None = None) -> None:
        super().__init__(spec, alpha)
        self.wordnet_root = wordnet_root
        self._aug = None

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_aug": None}

    @property
    def augmenter(self):
        """The nlpaug augmenter (built on first use)."""
        if self._aug is None:
            self._aug = build_nlpaug(self.spec, self.alpha, self.wordnet_root)
        return self._aug

    def apply(self, text: str, rng: random.Random) -> str:
        import numpy as np

        if not text.split():
            return text
        seed = rng.getrandbits(32)
        random.seed(seed)
        np.random.seed(seed)
        aug = self.augmenter
        try:
            out = getattr(aug, aug.action)(text)
        except (ValueError, IndexError, KeyError) as err:  # nlpaug's rough edges on odd inputs
            logger.debug("nlpaug %s failed on %r: %s; row kept as is", self.spec.label, text, err)
            return text
        out = out[0] if isinstance(out, (list, tuple)) and out else out
        return out if isinstance(out, str) and out.strip() else text


def _whitespace_kwargs() -> dict:
    # Whitespace tokens, as the textxfer ops use; nlpaug's default splits "re-imagining" apart.
    return {"tokenizer": str.split, "reverse_tokenizer": " ".join}


def build_nlpaug(spec: OpSpec, alpha: float, wordnet_root: str | None = None):
    """The nlpaug augmenter for ``spec`` (delete, swap, wordnet substitute/insert, char noise)."""
    purpose = f"augmentation op {spec.label} (engine nlpaug)"
    nac = require("nlpaug.augmenter.char", extra="aug", purpose=purpose)
    naw = require("nlpaug.augmenter.word", extra="aug", purpose=purpose)
    counts = {"aug_min": spec.aug_min, "aug_max": spec.aug_max, "aug_p": alpha}
    if spec.op in ("delete", "swap"):
        return naw.RandomWordAug(action=spec.op, **counts, **_whitespace_kwargs())
    if spec.op == "char":
        chars = {"aug_char_p": spec.char_p, "aug_word_p": alpha, "aug_word_min": spec.aug_min}
        chars |= {"aug_word_max": spec.aug_max, **_whitespace_kwargs()}
        kinds = {"keyboard": nac.KeyboardAug, "ocr": nac.OcrAug, "random": nac.RandomCharAug}
        return kinds[spec.source](**chars)
    classes = _nlpaug_wordnet_classes()
    model = classes["model"](wordnet_root, use_tagger=spec.pos_tagger)
    cls = classes["substitute" if spec.op == "substitute" else "insert"]
    return cls(model, stopwords=list(STOPWORDS), **counts, **_whitespace_kwargs())


@functools.cache
def _nlpaug_wordnet_classes() -> dict[str, type]:
    """nlpaug's SynonymAug over the local WordNet without the POS tagger, plus EDA's insertion."""
    import nlpaug.augmenter.word as naw
    import nlpaug.model.word_dict as nmw
    from nlpaug.util import Action

    from .wordnet import has_pos_tagger, load_wordnet

    class OfflineWordNet(nmw.WordNet):
        """nlpaug's WordNet model on the local reader; POS tags only when NLTK's tagger is there."""

        def __init__(self, root: str | None, use_tagger: bool | None = None) -> None:
            nmw.WordDictionary.__init__(self, cache=True)
            self.lang, self.is_synonym, self.model = "eng", True, load_wordnet(root)
            self.use_tagger = has_pos_tagger() if use_tagger is None else use_tagger

        def pos_tag(self, tokens):
            if self.use_tagger:
                import nltk

                return nltk.pos_tag(tokens)
            return [(t, None) for t in tokens]  # no tag: nlpaug then looks at every POS

    class OfflineSynonymAug(naw.SynonymAug):
        def __init__(self, model, **kwargs) -> None:
            self._offline_model = model
            super().__init__(aug_src="wordnet", **kwargs)

        def get_model(self, *args, **kwargs):
            return self._offline_model

    class SynonymInsertAug(OfflineSynonymAug):
        """EDA's random insertion (a synonym of a random word, at a random place): not in nlpaug."""

        def __init__(self, model, **kwargs) -> None:
            super().__init__(model, **kwargs)
            self.action = Action.INSERT

        def insert(self, data):
            tokens = self.tokenizer(data)
            idxes = self._get_aug_idxes(self.model.pos_tag(tokens)) if tokens else None
            words = [tokens[i] for i in idxes or []]
            for word in words:
                options = [c for c in self.model.predict(word) if c.lower() != word.lower()]
                if options:
                    new = self.sample(options, 1)[0].replace("_", " ")
                    tokens.insert(random.randint(0, len(tokens)), new)
            return self.reverse_tokenizer(tokens)

    return {"model": OfflineWordNet, "substitute": OfflineSynonymAug, "insert": SynonymInsertAug}


# ---------------------------------------------------------------------------------- registry
@dataclass(frozen=True)
class OpType:
    """A registered augmentation op.

    Attributes:
        name: the ``op`` of recipe entries.
        build: ``build(spec, alpha, sources) -> op`` with ``apply(text, rng)`` (see ``WordOp``);
            ``sources`` is the call's ``textxfer.augment.sources.Sources`` (lookup tables, args).
        sources: the ``source`` values it takes (first = default; ``(None,)`` for none).
        nlpaug_sources: the sources ``engine: nlpaug`` covers (empty: no nlpaug engine).
        nlpaug_only: always runs on nlpaug (char noise).
        version: bump when the op's output changes, so cached results are recomputed.
        help: one line for docs.
    """

    name: str
    build: Callable
    sources: tuple[str | None, ...] = (None,)
    nlpaug_sources: tuple[str | None, ...] = ()
    nlpaug_only: bool = False
    version: int = 1
    help: str = ""

    @property
    def identity(self) -> str:
        """What the cache key records of the op: builder and version."""
        return f"{self.build.__module__}.{self.build.__qualname__}:v{self.version}"


OP_TYPES: dict[str, OpType] = {}


def register_op(name: str, build: Callable, *, replace: bool = False, **attributes) -> OpType:
    """Register an augmentation op (see ``OpType``); it is then usable in any recipe.

    Raises:
        ConfigError: the name is taken (unless ``replace``).
    """
    if name in OP_TYPES and not replace:
        raise ConfigError(f"augmentation op {name!r} is registered already; pick another name")
    OP_TYPES[name] = OpType(name, build, **attributes)
    return OP_TYPES[name]


def get_op(name: str) -> OpType:
    """The registered op ``name``, or a ``ConfigError`` listing the known ones."""
    if name not in OP_TYPES:
        raise ConfigError(f"unknown augmentation op {name!r}; expected one of {sorted(OP_TYPES)}")
    return OP_TYPES[name]


def _build_word_table_op(spec: OpSpec, alpha: float, sources) -> WordOp:
    """Substitute/insert from WordNet or word2vec tables, or a masked LM (contextual)."""
    if spec.contextual:
        from .mlm import MaskedLMOp
        from .sources import check_mlm_model

        args = sources.args
        model = check_mlm_model(spec.model or args.mlm_model, spec)
        return MaskedLMOp(
            spec, alpha, model, batch_size=args.mlm_batch_size, device=args.mlm_device
        )
    table, tagger = sources.table(spec)
    return TableOp(spec, alpha, table, tagger)


def build_nlpaug_op(spec: OpSpec, alpha: float, sources) -> NlpaugOp:
    """An op on nlpaug's augmenters (``engine: nlpaug`` and char noise), loaded before workers fork."""
    op = NlpaugOp(spec, alpha, wordnet_root=spec.model or sources.args.wordnet_dir)
    _ = op.augmenter  # import nlpaug (~5 s) and load WordNet once, before workers fork
    return op


WORD_SOURCES = ("wordnet", "word2vec", "mlm")
register_op(
    "delete",
    lambda spec, alpha, _: DeleteOp(spec, alpha),
    nlpaug_sources=(None,),
    help="delete words at random (EDA's RD)",
)
register_op(
    "swap",
    lambda spec, alpha, _: SwapOp(spec, alpha),
    nlpaug_sources=(None,),
    help="swap two words, count times (EDA's RS)",
)
register_op(
    "substitute",
    _build_word_table_op,
    sources=WORD_SOURCES,
    nlpaug_sources=("wordnet",),
    help="replace words by synonyms / neighbours / masked-LM predictions (EDA's SR)",
)
register_op(
    "insert",
    _build_word_table_op,
    sources=WORD_SOURCES,
    nlpaug_sources=("wordnet",),
    help="insert a synonym of a random word at a random place (EDA's RI)",
)
register_op(
    "char",
    build_nlpaug_op,
    sources=("keyboard", "ocr", "random"),
    nlpaug_only=True,
    nlpaug_sources=("keyboard", "ocr", "random"),
    help="character noise (nlpaug)",
)
