"""The ``textxfer`` command line: one subcommand module per concern in ``textxfer.commands``.

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` to the
function that runs it. Options come from the config dataclasses (``textxfer.config``), so every
command takes ``--config file.yaml`` with flag overrides. A user error (``TextxferError``) prints
one line and exits with status 2; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from . import __version__
from .errors import TextxferError

# Order here is the order in --help.
COMMAND_MODULES = (
    "data", "augment", "baseline", "finetune", "adapt", "predict", "compare", "crossdomain", "wordnet",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="textxfer",
        description="Transfer learning on text: augment, baselines, fine-tune, adapt, compare.",
    )
    parser.add_argument("--version", action="version", version=f"textxfer {__version__}")
    parser.add_argument(
        "-v", "--verbose", action="count", default=0, help="more logging (-vv for debug)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"textxfer.commands.{name}").register(sub)
    return parser


def _setup_logging(verbose: int) -> None:
    level = logging.WARNING if verbose <= 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("textxfer").setLevel(min(level, logging.INFO))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textxfer`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    _setup_logging(args.verbose)
    from .io import release_all_outputs

    try:
        result = args.func(args)
    except TextxferError as err:
        print(f"textxfer {args.command}: error: {err}", file=sys.stderr)
        return 2
    finally:
        release_all_outputs()
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
