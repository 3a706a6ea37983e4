"""WordNet 3.0 offline: set up NLTK's corpus from Debian's files, load it, build synonym tables.

NLTK cannot download WordNet here, and nlpaug's ``SynonymAug`` also wants NLTK's POS tagger data,
which has no offline source. Debian ships the WordNet 3.0 database (``wordnet-base`` and
``wordnet-sense-index``, in ``/usr/share/wordnet``); NLTK reads it once the files are *copied*
(NLTK refuses symlinked paths) into ``<nltk_data>/corpora/wordnet`` with a ``lexnames`` file.

``textxfer wordnet setup --apt`` does that (``make install`` runs it): it installs the
Debian packages with apt-get only when the data is missing and apt-get is there (as root), and
copies the files into ``.venv/nltk_data``, a folder NLTK searches by default.

>>> from textxfer.augment.wordnet import load_wordnet, synonym_table
>>> table = synonym_table(["film", "great"], load_wordnet())   # doctest: +SKIP
>>> table["film"][:3]                                          # doctest: +SKIP
('movie', 'picture', 'moving picture')
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

from ..errors import MissingSourceError, require

logger = logging.getLogger(__name__)

WORDNET_ENV = "TEXTXFER_WORDNET"
DEBIAN_WORDNET = Path("/usr/share/wordnet")
APT_PACKAGES = ("wordnet-base", "wordnet-sense-index")
INSTALL_HINT = (
    "install the WordNet 3.0 data: `make install` (as root on Debian/Ubuntu), or "
    "`apt-get install -y wordnet-base wordnet-sense-index && textxfer wordnet setup`, "
    f"or point ${WORDNET_ENV} at a folder holding NLTK's wordnet corpus"
)
# The files NLTK's WordNetCorpusReader opens (lexnames is written from LEXNAMES below).
WORDNET_FILES = (
    "cntlist.rev",
    "index.sense",
    "index.adj",
    "index.adv",
    "index.noun",
    "index.verb",
    "data.adj",
    "data.adv",
    "data.noun",
    "data.verb",
    "adj.exc",
    "adv.exc",
    "noun.exc",
    "verb.exc",
)
# WordNet 3.0 lexicographer files (`man 5 lexnames`): number, name, syntactic category.
_LEXNAME_NAMES = (
    "adj.all adj.pert adv.all noun.Tops noun.act noun.animal noun.artifact noun.attribute "
    "noun.body noun.cognition noun.communication noun.event noun.feeling noun.food noun.group "
    "noun.location noun.motive noun.object noun.person noun.phenomenon noun.plant "
    "noun.possession noun.process noun.quantity noun.relation noun.shape noun.state "
    "noun.substance noun.time verb.body verb.change verb.cognition verb.communication "
    "verb.competition verb.consumption verb.contact verb.creation verb.emotion verb.motion "
    "verb.perception verb.possession verb.social verb.stative verb.weather adj.ppl"
).split()
_CATEGORY = {"noun": 1, "verb": 2, "adj": 3, "adv": 4}
LEXNAMES = "".join(
    f"{i:02d}\t{name}\t{_CATEGORY[name.split('.')[0]]}\n" for i, name in enumerate(_LEXNAME_NAMES)
)
TAGGER_RESOURCE = "taggers/averaged_perceptron_tagger_eng/"

_READERS: dict[str, object] = {}


def default_target() -> Path:
    """``<sys.prefix>/nltk_data/corpora/wordnet``: inside the virtualenv, searched by NLTK."""
    return Path(sys.prefix) / "nltk_data" / "corpora" / "wordnet"


def is_complete(folder: Path) -> bool:
    """Whether ``folder`` holds every file NLTK's WordNet reader opens."""
    return all((folder / name).is_file() for name in (*WORDNET_FILES, "lexnames"))


def find_wordnet(root: str | os.PathLike | None = None) -> Path | None:
    """The WordNet corpus folder: ``root``, else ``$TEXTXFER_WORDNET``, else NLTK's data path."""
    explicit = root or os.environ.get(WORDNET_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        return path if is_complete(path) else None
    try:
        import nltk.data
    except ImportError:
        return default_target() if is_complete(default_target()) else None
    for base in nltk.data.path:
        path = Path(base) / "corpora" / "wordnet"
        if is_complete(path):
            return path
    return None


def _apt_install() -> bool:
    """apt-get install the Debian WordNet packages (root only); True when it succeeded."""
    if shutil.which("apt-get") is None or not hasattr(os, "geteuid") or os.geteuid() != 0:
        logger.warning("WordNet: apt-get is not available here (or not root); skipping install")
        return False
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", *APT_PACKAGES]

    def call(command: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(command, env=env, capture_output=True, text=True, check=False)

    done = call(install)
    if done.returncode != 0:  # a fresh machine has no package lists yet
        call(["apt-get", "update", "-q"])
        done = call(install)
    if done.returncode != 0:
        logger.warning("WordNet: apt-get install failed: %s", done.stderr.strip()[-300:])
    return done.returncode == 0


def setup_wordnet(
    source: str | os.PathLike = DEBIAN_WORDNET,
    target: str | os.PathLike | None = None,
    apt: bool = False,
) -> Path:
    """Copy the WordNet 3.0 database into an NLTK corpus folder and write ``lexnames``.

    Args:
        source: folder with Debian's WordNet files (``/usr/share/wordnet``).
        target: NLTK corpus folder to fill (default: ``.venv/nltk_data/corpora/wordnet``).
        apt: when the source is missing, install ``wordnet-base wordnet-sense-index`` with apt-get.

    Returns:
        The target folder.

    Raises:
        MissingSourceError: when the source files are missing (and apt could not install them).
    """
    target = Path(target) if target else default_target()
    if is_complete(target):
        logger.info("WordNet already set up in %s", target)
        return target
    source = Path(source)
    missing = [n for n in WORDNET_FILES if not (source / n).is_file()]
    if missing and apt and _apt_install():
        missing = [n for n in WORDNET_FILES if not (source / n).is_file()]
    if missing:
        raise MissingSourceError(
            f"WordNet source {str(source)!r} lacks {missing[:4]}{'...' if len(missing) > 4 else ''}; "
            + INSTALL_HINT
        )
    from ..io import (
        MARKER,
        atomic_dir,
        atomic_write_json,
        atomic_write_text,
        prepare_output,
        release_output,
    )

    # an earlier, partial setup of textxfer's (it has the marker) is replaced; other files never
    prepare_output(target, overwrite=True, option="--target")
    with atomic_dir(target) as tmp:
        tmp.chmod(0o755)  # mkdtemp makes it private; the corpus is for every user
        for name in WORDNET_FILES:
            shutil.copyfile(source / name, tmp / name)  # copies: NLTK refuses symlinks
        atomic_write_text(tmp / "lexnames", LEXNAMES)
        atomic_write_json(tmp / MARKER, {"kind": "wordnet", "source": str(source)})
    release_output(target)
    logger.info("WordNet set up in %s (from %s)", target, source)
    return target


def load_wordnet(root: str | os.PathLike | None = None):
    """NLTK's ``WordNetCorpusReader`` over the local WordNet 3.0 files (cached per process).

    Raises:
        MissingSourceError: naming what to install when nltk or the data is missing.
    """
    import warnings

    reader = require("nltk.corpus.reader.wordnet", extra="aug", purpose="WordNet synonyms")
    WordNetCorpusReader = reader.WordNetCorpusReader
    path = find_wordnet(root)
    if path is None:
        where = root or os.environ.get(WORDNET_ENV) or "NLTK's data path"
        raise MissingSourceError(f"no WordNet data found in {where}; " + INSTALL_HINT)
    key = str(path.resolve())
    if key not in _READERS:

        class LocalWordNet(WordNetCorpusReader):
            def map_wn(self, version="wordnet"):
                # NLTK maps the sense keys of its own "wordnet" corpus onto the loaded one (~3 s)
                # for multilingual lookups; reading WordNet 3.0 itself needs no mapping.
                return None

        with warnings.catch_warnings():  # "multilingual functions are not available": expected
            warnings.simplefilter("ignore")
            _READERS[key] = LocalWordNet(key, None)
    return _READERS[key]


def has_pos_tagger() -> bool:
    """Whether NLTK's English POS tagger data is installed (it cannot be downloaded here)."""
    try:
        import nltk.data

        nltk.data.find(TAGGER_RESOURCE)
    except (ImportError, LookupError):
        return False
    return True


def penn_to_wordnet(tag: str) -> str | None:
    """Penn Treebank tag -> WordNet POS letter (``n v a r``), None for other tags."""
    return {"N": "n", "V": "v", "J": "a", "R": "r"}.get(tag[:1])


_ADJ_MARKER = re.compile(r"\([a-z]+\)$")  # "galore(ip)": adjective position markers


class _LemmaNames:
    """Lemma names of a synset read straight from ``data.<pos>`` (no full Synset objects).

    Parsing whole synsets (pointers, frames, gloss) dominates NLTK's ``synsets`` on a large
    vocabulary; only the names are needed here. WordNet data lines read
    ``offset lex_filenum ss_type w_cnt(hex) word lex_id [word lex_id ...] ...``.
    """

    _FILES = {"n": "data.noun", "v": "data.verb", "a": "data.adj", "s": "data.adj", "r": "data.adv"}

    def __init__(self, root: str) -> None:
        self.data = {pos: (Path(root) / name).read_bytes() for pos, name in self._FILES.items()}

    def __call__(self, pos: str, offset: int) -> tuple[str, list[str]]:
        data = self.data[pos]
        fields = data[offset : data.index(b"\n", offset)].split(b" ", 4 + 2 * 255)
        count = int(fields[3], 16)
        names = [_ADJ_MARKER.sub("", n.decode()) for n in fields[4 : 4 + 2 * count : 2]]
        return fields[2].decode(), names


def synonyms_by_pos(word: str, reader) -> dict[str, tuple[str, ...]]:
    """POS letter -> synonyms of ``word`` (lemma names, ``_`` as space, ``word`` excluded)."""
    lowered = word.lower()
    found: dict[str, dict[str, None]] = {}
    for pos, names in _senses(lowered, reader):
        pos = "a" if pos == "s" else pos
        for lemma in names:
            name = lemma.replace("_", " ")
            if name.lower() != lowered and name.islower():  # proper nouns ("Bible") left out
                found.setdefault(pos, {})[name] = None
    return {pos: tuple(names) for pos, names in found.items()}


def _senses(word: str, reader):
    """(synset POS, lemma names) of every sense of ``word``, in NLTK's ``synsets`` order."""
    index = getattr(reader, "_lemma_pos_offset_map", None)
    if index is None or not hasattr(reader, "_morphy"):  # another NLTK: the public, slower path
        return [(s.pos(), s.lemma_names()) for s in reader.synsets(word)]
    names = _LEMMA_NAMES.get(reader.root.path)
    if names is None:
        names = _LEMMA_NAMES[reader.root.path] = _LemmaNames(reader.root.path)
    return [
        names(pos, offset)
        for pos in "nvar"
        for form in reader._morphy(word, pos)
        for offset in index[form].get(pos, [])
    ]


_LEMMA_NAMES: dict[str, _LemmaNames] = {}


def _merge(per_pos: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(n for names in per_pos.values() for n in names))


def synonym_table(
    words: Iterable[str], reader, by_pos: bool = False
) -> dict[str, tuple[str, ...] | dict[str, tuple[str, ...]]]:
    """word -> synonyms (all POS, in WordNet order) for each word that has any.

    With ``by_pos`` the values are ``{pos letter: synonyms}`` for a tagger to choose from.
    """
    table: dict = {}
    for word in sorted(set(words)):
        per_pos = synonyms_by_pos(word, reader)
        if per_pos:
            table[word] = per_pos if by_pos else _merge(per_pos)
    return table
