"""``textxfer wordnet setup|status``: set up NLTK's WordNet corpus offline (from Debian's files)."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..augment.wnindex import open_index
from ..augment.wordnet import DEBIAN_WORDNET, find_wordnet, has_pos_tagger, setup_wordnet
from ..config import Args, field
from .options import add_common, build


@dataclass
class WordnetArgs(Args):
    """Where the WordNet 3.0 files come from and which NLTK corpus folder to fill."""

    source: str = field(str(DEBIAN_WORDNET), help="Debian WordNet folder")
    target: str | None = field(None, help="NLTK wordnet corpus folder (default: in the venv)")
    apt: bool = field(False, help="apt-get install the data when it is missing (as root)")


SECTIONS = {"wordnet": WordnetArgs}


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``wordnet``."""
    p = sub.add_parser("wordnet", help="set up or check the offline WordNet data for augmentation")
    p.add_argument("action", choices=("setup", "status"))
    add_common(p, SECTIONS, positional=None)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    options = build(args, SECTIONS)["wordnet"]
    found = find_wordnet(options.target)
    if args.action == "status":
        print(f"wordnet: {found or 'not found'}; POS tagger: {has_pos_tagger()}")
        return 0 if found else 1
    if found is not None:
        print(f"wordnet: already set up in {found}")
    else:
        found = setup_wordnet(options.source, options.target, apt=options.apt)
        print(f"wordnet: set up in {found}")
    print(f"wordnet: synonym index {open_index(found).path}")
    return 0
