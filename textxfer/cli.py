"""The ``textxfer`` command line: one subcommand module per concern in ``textxfer.commands``.

Each module defines ``register(subparsers)``, which adds its parser and sets ``func`` to the
function that runs it. Options come from the config dataclasses (``textxfer.config``), so every
command takes ``--config file.yaml`` with flag overrides. ``-q`` / ``-v`` (before or after the
command) set what the console shows; the rest goes to the run log, ``run.log`` in the run folder
(``textxfer.console``). A user error (``TextxferError``) prints one line and exits with status 2;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from . import __version__, console
from .errors import TextxferError

# Order here is the order in --help.
COMMAND_MODULES = (
    "data", "augment", "baseline", "finetune", "fewshot", "adapt", "predict", "compare", "crossdomain", "wordnet",
)  # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The top-level parser with every registered subcommand."""
    parser = argparse.ArgumentParser(
        prog="textxfer",
        description="Transfer learning on text: augment, baselines, fine-tune, adapt, compare.",
    )
    parser.add_argument("--version", action="version", version=f"textxfer {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(f"textxfer.commands.{name}").register(sub)
    _add_verbosity(parser, top=True)
    return parser


def _add_verbosity(parser: argparse.ArgumentParser, top: bool = False) -> None:
    """``-q`` / ``-v`` on ``parser`` and every subcommand under it (a subcommand's default is
    SUPPRESS, so ``textxfer -v finetune`` and ``textxfer finetune -v`` both count)."""
    group = parser.add_argument_group("console")
    group.add_argument(
        "-v", "--verbose", action="count", default=0 if top else argparse.SUPPRESS,
        help="also show textxfer's log and library warnings (-vv: debug); they always go to "
        "run.log in the run folder",
    )  # fmt: skip
    group.add_argument(
        "-q", "--quiet", action="store_true", default=False if top else argparse.SUPPRESS,
        help="errors and the results only: no progress bars",
    )  # fmt: skip
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                _add_verbosity(child)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``textxfer`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 0 if args.command is None else 2
    console.configure(console.QUIET if args.quiet else args.verbose)
    from .io import release_all_outputs

    error = None
    try:
        result = args.func(args)
    except TextxferError as err:
        error = err
    finally:
        release_all_outputs()
        console.finish()
    if error is not None:  # last, so that the error is the line a user reads
        print(f"textxfer {args.command}: error: {error}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
