"""``textxfer wordnet setup|status``: set up NLTK's WordNet corpus offline (from Debian's files)."""

from __future__ import annotations

import argparse

from ..augment.wordnet import DEBIAN_WORDNET, find_wordnet, has_pos_tagger, setup_wordnet


def register(sub: argparse._SubParsersAction) -> None:
    """Add ``wordnet``."""
    p = sub.add_parser("wordnet", help="set up or check the offline WordNet data for augmentation")
    p.add_argument("action", choices=("setup", "status"))
    p.add_argument("--source", default=str(DEBIAN_WORDNET), help="Debian WordNet folder")
    p.add_argument("--target", default=None, help="NLTK wordnet corpus folder to fill")
    p.add_argument("--apt", action="store_true", help="apt-get install the data when it is missing")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    found = find_wordnet(args.target)
    if args.action == "status":
        print(f"wordnet: {found or 'not found'}; POS tagger: {has_pos_tagger()}")
        return 0 if found else 1
    if found is not None:
        print(f"wordnet: already set up in {found}")
        return 0
    print(f"wordnet: set up in {setup_wordnet(args.source, args.target, apt=args.apt)}")
    return 0
