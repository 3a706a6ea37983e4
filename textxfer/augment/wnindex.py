"""WordNet synonyms from a prebuilt index: one SQLite file per WordNet folder, built once.

NLTK's ``WordNetCorpusReader`` parses every index file when it loads (4-6 s here) and its
``synsets`` parses whole synsets (pointers, gloss) to hand back lemma names; augmentation needs
only, for each word of a vocabulary, the lemma names of its senses. ``synonym_table`` answers that
from an index built once per WordNet folder (a few seconds, kept in ``$TEXTXFER_CACHE/wordnet``)
that holds, per (lemma, POS), the lemma names of its senses in WordNet's order, and the exception
lists. A lookup applies NLTK's morphy (the exception list, else its suffix rules), so the table
is what NLTK's ``synsets`` gives (a test checks it against NLTK on the real WordNet): 1,000 sst2
sentences (4,500 words) take ~0.05 s instead of ~0.4 s, and no NLTK reader is loaded.

The index is data only (SQLite rows), never code; it is keyed by the WordNet files' fingerprint
(path, sizes, mtimes) and the index version, so a changed WordNet gets a new index.

>>> from textxfer.augment.wnindex import synonym_table
>>> synonym_table(["films"])["films"][:3]      # doctest: +SKIP
('film', 'movie', 'picture')
"""

from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from ..errors import MissingSourceError
from ..io import atomic_file, cache_root, file_fingerprint

logger = logging.getLogger(__name__)

INDEX_VERSION = 1
POS_FILES = {"n": "noun", "v": "verb", "a": "adj", "r": "adv"}  # NLTK's POS_LIST order
# NLTK's WordNetCorpusReader.MORPHOLOGICAL_SUBSTITUTIONS (morphy's suffix rules), in its order.
SUBSTITUTIONS = {
    "n": (("s", ""), ("ses", "s"), ("ves", "f"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
          ("shes", "sh"), ("men", "man"), ("ies", "y")),
    "v": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
          ("ing", "e"), ("ing", "")),
    "a": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
    "r": (),
}  # fmt: skip
_ADJ_MARKER = re.compile(r"\([a-z]+\)$")  # "galore(ip)": adjective position markers
_CHUNK = 900  # SQL parameters per query (SQLite's oldest limit is 999)


def index_dir() -> Path:
    """Where the indexes live: ``$TEXTXFER_CACHE/wordnet`` (else ``~/.cache/textxfer/wordnet``)."""
    return cache_root() / "wordnet"


def index_path(root: str | Path) -> Path:
    """The index file of the WordNet folder ``root`` (its name hashes the files' fingerprint)."""
    key = f"{INDEX_VERSION}|{file_fingerprint(root)}"
    return index_dir() / f"index-{hashlib.sha256(key.encode()).hexdigest()[:16]}.sqlite"


class _LemmaNames:
    """Lemma names of a synset read straight from ``data.<pos>`` (no full Synset objects).

    WordNet data lines read ``offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id...]``.
    """

    def __init__(self, root: Path) -> None:
        files = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "r": "data.adv"}
        self.data = {pos: (root / name).read_bytes() for pos, name in files.items()}
        self.seen: dict[tuple[str, int], list[str]] = {}  # synsets are shared by their lemmas

    def __call__(self, pos: str, offset: int) -> list[str]:
        found = self.seen.get((pos, offset))
        if found is None:
            data = self.data[pos]
            head = data[offset : data.index(b"\n", offset)].split(b" ", 4)
            count = int(head[3], 16)
            words = head[4].split(b" ", 2 * count)[: 2 * count : 2]
            found = [_ADJ_MARKER.sub("", w.decode()) for w in words]
            self.seen[(pos, offset)] = found
        return found


def _sense_rows(root: Path) -> Iterable[tuple[str, str, str]]:
    """``(lemma, pos, tab-joined synonyms)`` for every lemma of ``index.<pos>`` with synonyms.

    Names keep WordNet's sense order, ``_`` becomes a space, duplicates and names with capitals
    (proper nouns such as "Bible") are left out.
    """
    names_of = _LemmaNames(root)
    for pos, stem in POS_FILES.items():
        for line in (root / f"index.{stem}").read_bytes().split(b"\n"):
            if not line or line.startswith(b" "):  # the licence header is indented
                continue
            parts = line.split()
            offsets = parts[-int(parts[2]) :]  # lemma pos synset_cnt ... synset_offset * cnt
            names = dict.fromkeys(
                name
                for offset in offsets
                for name in (n.replace("_", " ") for n in names_of(pos, int(offset)))
                if name.islower()
            )
            if names:
                yield parts[0].decode(), pos, "\t".join(names)


def _exception_rows(root: Path) -> Iterable[tuple[str, str, str]]:
    """``(inflected form, pos, tab-joined base forms)`` from ``<pos>.exc``."""
    for pos, stem in POS_FILES.items():
        for line in (root / f"{stem}.exc").read_text(encoding="utf-8").splitlines():
            terms = line.split()
            if terms:
                yield terms[0], pos, "\t".join(terms[1:])


def build_index(root: str | Path, path: str | Path | None = None) -> Path:
    """Build the synonym index of the WordNet folder ``root`` (atomically) and return its path."""
    root = Path(root)
    path = Path(path) if path else index_path(root)
    with atomic_file(path, suffix=".sqlite") as tmp:
        with sqlite3.connect(tmp) as db:
            db.executescript(
                "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT);"
                "CREATE TABLE senses(form TEXT, pos TEXT, names TEXT, PRIMARY KEY (form, pos))"
                " WITHOUT ROWID;"
                "CREATE TABLE exceptions(form TEXT, pos TEXT, bases TEXT,"
                " PRIMARY KEY (form, pos)) WITHOUT ROWID;"
            )
            db.executemany("INSERT INTO senses VALUES (?, ?, ?)", _sense_rows(root))
            # Later lines win, as in NLTK's exception map.
            db.executemany("INSERT OR REPLACE INTO exceptions VALUES (?, ?, ?)", _exception_rows(root))  # fmt: skip
            meta = {"version": str(INDEX_VERSION), "source": str(file_fingerprint(root))}
            db.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        db.close()
    logger.info("WordNet synonym index built for %s at %s", root, path)
    return path


class SynonymIndex:
    """Read-only lookups in one index file (opened per call: cheap, and nothing to fork)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def _rows(self, db, sql: str, keys: list[str]) -> list[tuple]:
        rows: list[tuple] = []
        for start in range(0, len(keys), _CHUNK):
            part = keys[start : start + _CHUNK]
            rows += db.execute(sql.format(",".join("?" * len(part))), part).fetchall()
        return rows

    def lookup(self, words: Iterable[str]) -> dict[str, dict[str, tuple[str, ...]]]:
        """word -> {POS letter: synonyms} for each word that has any (as NLTK's ``synsets``)."""
        lowered = {w: w.lower() for w in words}
        keys = sorted(set(lowered.values()))
        db = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True)
        try:
            exceptions: dict[str, dict[str, list[str]]] = {}
            sql = "SELECT form, pos, bases FROM exceptions WHERE form IN ({})"
            for form, pos, bases in self._rows(db, sql, keys):
                exceptions.setdefault(form, {})[pos] = bases.split("\t")
            others = {key: _other_forms(key, exceptions.get(key)) for key in keys}
            wanted = sorted({*keys, *(f for o in others.values() for fs in o.values() for f in fs)})
            senses: dict[str, dict[str, list[str]]] = {}
            sql = "SELECT form, pos, names FROM senses WHERE form IN ({})"
            for form, pos, names in self._rows(db, sql, wanted):
                senses.setdefault(form, {})[pos] = names.split("\t")
        finally:
            db.close()
        table = {}
        for word, key in lowered.items():
            found, own, other = {}, senses.get(key, {}), others[key]
            for pos in POS_FILES:
                if pos in other:  # merge the senses of the word and of its base forms
                    forms = (key, *other[pos])
                    got = (n for f in forms for n in senses.get(f, {}).get(pos, ()) if n != key)
                    names = list(dict.fromkeys(got))
                else:  # most words: only their own senses, already in order and unique
                    names = [n for n in own.get(pos, ()) if n != key]
                if names:
                    found[pos] = tuple(names)
            if found:
                table[word] = found
        return table


# morphy's rules by the last letter of the suffix they strip: most words end otherwise.
_RULES_BY_LAST: dict[str, dict[str, list[tuple[str, str]]]] = {}
for _pos, _rules in SUBSTITUTIONS.items():
    for _old, _new in _rules:
        _RULES_BY_LAST.setdefault(_old[-1], {}).setdefault(_pos, []).append((_old, _new))


def _other_forms(word: str, exceptions: dict[str, list[str]] | None) -> dict[str, list[str]]:
    """POS -> base forms of ``word`` other than itself, by NLTK's morphy (its exception list,
    else its suffix rules), before the check that they are lemmas; POS without any are absent."""
    rules = _RULES_BY_LAST.get(word[-1:])
    if rules is None and exceptions is None:
        return {}
    out = {}
    for pos in POS_FILES:
        bases = exceptions.get(pos) if exceptions else None
        if bases is None:
            if not rules or pos not in rules:
                continue
            bases = [word[: -len(old)] + new for old, new in rules[pos] if word.endswith(old)]
        bases = [b for b in dict.fromkeys(bases) if b != word]
        if bases:
            out[pos] = bases
    return out


def open_index(root: str | Path | None = None) -> SynonymIndex:
    """The synonym index of the WordNet folder ``root`` (default: ``find_wordnet``), built if missing.

    Raises:
        MissingSourceError: no WordNet data found (says what to install).
    """
    from .wordnet import INSTALL_HINT, WORDNET_ENV, find_wordnet

    folder = find_wordnet(root)
    if folder is None:
        import os

        where = root or os.environ.get(WORDNET_ENV) or "NLTK's data path"
        raise MissingSourceError(f"no WordNet data found in {where}; " + INSTALL_HINT)
    path = index_path(folder)
    if not path.is_file():
        build_index(folder, path)
    return SynonymIndex(path)


def synonym_table(
    words: Iterable[str], root: str | Path | None = None, by_pos: bool = False
) -> dict[str, tuple[str, ...] | dict[str, tuple[str, ...]]]:
    """word -> synonyms (all POS, in WordNet order) for each word that has any.

    Args:
        words: the words to look up (the table's keys; looked up lower-cased).
        root: WordNet corpus folder (default: ``find_wordnet``).
        by_pos: values are ``{pos letter: synonyms}`` for a POS tagger to choose from.
    """
    table = open_index(root).lookup(sorted(set(words)))
    if by_pos:
        return table
    return {
        w: tuple(dict.fromkeys(n for ns in per.values() for n in ns)) for w, per in table.items()
    }
