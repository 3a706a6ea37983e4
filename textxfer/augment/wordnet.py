"""WordNet 3.0 offline: set up NLTK's corpus from Debian's files, load it, build synonym tables.

NLTK cannot download WordNet here, and nlpaug's ``SynonymAug`` also wants NLTK's POS tagger data,
which has no offline source. Debian ships the WordNet 3.0 database (``wordnet-base`` and
``wordnet-sense-index``, in ``/usr/share/wordnet``); NLTK reads it once the files are *copied*
(NLTK refuses symlinked paths) into ``<nltk_data>/corpora/wordnet`` with a ``lexnames`` file.

``textxfer wordnet setup --apt`` does that (``make install`` runs it): it installs the
Debian packages with apt-get only when the data is missing and apt-get is there (as root), and
copies the files into ``.venv/nltk_data``, a folder NLTK searches by default, and builds the
synonym index that textxfer's own ops read (``wnindex``: NLTK's reader is loaded only for nlpaug).

>>> from textxfer.augment.wordnet import find_wordnet, load_wordnet
>>> reader = load_wordnet(find_wordnet())                   # doctest: +SKIP
>>> reader.synsets("film")[0].lemma_names()[:2]             # doctest: +SKIP
['movie', 'film']
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
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


def nltk_data_path() -> list[str]:
    """The folders NLTK searches for its data, without importing NLTK where it is not loaded yet.

    ``import nltk`` takes seconds (it imports scikit-learn and much more) and textxfer's own ops
    only need to find files; NLTK's default list is rebuilt here (``nltk.data.path`` as NLTK 3.x
    sets it on Linux and macOS; a test compares them). Once NLTK is imported, its list (which a
    user may have changed) is used, and on Windows NLTK is always asked.
    """
    if "nltk.data" in sys.modules or sys.platform.startswith("win"):
        try:
            import nltk.data
        except ImportError:
            return [str(default_target().parents[1])]
        return list(nltk.data.path)
    path = [os.path.expanduser(d) for d in os.environ.get("NLTK_DATA", "").split(os.pathsep) if d]
    if "APPENGINE_RUNTIME" not in os.environ and os.path.expanduser("~/") != "~/":
        path.append(os.path.expanduser("~/nltk_data"))
    prefix = sys.prefix
    path += [os.path.join(prefix, "nltk_data"), os.path.join(prefix, "share", "nltk_data")]
    path += [os.path.join(prefix, "lib", "nltk_data")]
    path += [f"/usr/{d}nltk_data" for d in ("share/", "local/share/", "lib/", "local/lib/")]
    return path


def find_wordnet(root: str | os.PathLike | None = None) -> Path | None:
    """The WordNet corpus folder: ``root``, else ``$TEXTXFER_WORDNET``, else NLTK's data path."""
    explicit = root or os.environ.get(WORDNET_ENV)
    if explicit:
        path = Path(explicit).expanduser()
        return path if is_complete(path) else None
    for base in nltk_data_path():
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
    if importlib.util.find_spec("nltk") is None:
        return False
    name = TAGGER_RESOURCE.rstrip("/")
    return any(
        Path(base, name).is_dir() or Path(base, f"{name}.zip").is_file()
        for base in nltk_data_path()
    )


def penn_to_wordnet(tag: str) -> str | None:
    """Penn Treebank tag -> WordNet POS letter (``n v a r``), None for other tags."""
    return {"N": "n", "V": "v", "J": "a", "R": "r"}.get(tag[:1])
