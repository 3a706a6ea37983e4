"""textxfer's errors: every user error says what was expected, what was found, and the fix.

The command line prints any ``TextxferError`` as one line and exits with status 2; anything else is a
bug and keeps its traceback. ``require`` is the one guard for optional packages.

>>> try:
...     require("no_such_package_xyz", extra="aug", purpose="the test")
... except MissingExtraError as err:
...     print(err)
the test needs the package 'no_such_package_xyz', which is not installed; run `pip install 'textxfer[aug]'`
"""

from __future__ import annotations

import importlib
from types import ModuleType

__all__ = [
    "ConfigError",
    "DataError",
    "MissingExtraError",
    "MissingSourceError",
    "ModelNotFoundError",
    "OutputError",
    "TextxferError",
    "require",
]


class TextxferError(Exception):
    """Base of the user errors: the message names what was expected, what was found, the fix."""


class ConfigError(TextxferError, ValueError):
    """A configuration value or file that textxfer cannot use."""


class DataError(TextxferError, ValueError):
    """Input data textxfer cannot use."""


class ModelNotFoundError(TextxferError, FileNotFoundError):
    """A model argument that names no usable local folder, cached Hub model or reachable Hub id."""


class MissingExtraError(TextxferError, ImportError):
    """An optional package is not installed; the message names the extra that provides it."""


class MissingSourceError(TextxferError, FileNotFoundError):
    """An augmentation source (WordNet data, word vectors, a masked-LM folder) is not found."""


class OutputError(TextxferError, FileExistsError):
    """An output path textxfer must not write to (it would lose data that textxfer did not create)."""


def require(module: str, extra: str, purpose: str | None = None) -> ModuleType:
    """Import an optional package, or raise ``MissingExtraError`` naming the extra to install.

    Args:
        module: the import name, e.g. ``"gensim"``.
        extra: the textxfer extra that installs it, e.g. ``"w2v"``.
        purpose: what needs it, for the message (default: ``"this feature"``).
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        top = module.split(".")[0]
        raise MissingExtraError(
            f"{purpose or 'this feature'} needs the package {top!r}, which is not installed; "
            f"run `pip install 'textxfer[{extra}]'`"
        ) from err
