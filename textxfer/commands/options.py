"""What every subcommand shares: the positional dataset, ``--config``, ``--out`` and the config
sections turned into flags (``textxfer.config``), so every command reads the same way.

- the dataset (or texts, or model folder) is the positional argument; it may instead come from the
  YAML file (``data: {dataset: ...}``), so a saved ``config.yaml`` runs again as it is;
- ``--config FILE`` takes YAML sections (``data:``, ``train:``, ...) under the flags;
- ``--out DIR`` is where the result goes (a default under ``runs/`` is printed at the end);
  ``--overwrite`` lets it replace an earlier textxfer run there (``textxfer.io.prepare_output``).
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Mapping
from typing import Any

from ..config import add_config_args, configs_from_args
from ..errors import ConfigError

DATASET_HELP = (
    "dataset: a name (subj is built in; others, e.g. sst2, under $TEXTXFER_DATASETS), a "
    "CSV/TSV/JSON/JSONL/Parquet file, a folder of train/dev/test files, or a Hub id (owner/name, "
    "name/config); may instead be given as data.dataset in --config"
)


def add_common(
    parser: argparse.ArgumentParser,
    sections: Mapping[str, type],
    *,
    positional: str | None = "dataset",
    metavar: str = "DATASET",
    help: str = DATASET_HELP,
    nargs: str = "?",
    skip: tuple[str, ...] = (),
) -> None:
    """The positional (optional: it may come from YAML), ``--config`` and the section flags."""
    if positional:
        parser.add_argument(
            positional, metavar=metavar, nargs=nargs, default=argparse.SUPPRESS, help=help
        )
    parser.add_argument(
        "--config", metavar="FILE", help="YAML file of options by section (flags override it)"
    )
    add_config_args(parser, sections, skip=skip)


OVERWRITE_HELP = "replace --out when it holds a textxfer run (never other files, nor an input)"


def add_out(parser: argparse.ArgumentParser, what: str) -> None:
    """``--out`` and ``--overwrite`` for commands whose output is not a field of their sections."""
    parser.add_argument("--out", metavar="DIR", help=f"output folder ({what}); default under runs/")
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def out_folder(args: argparse.Namespace, command: str, *parts: str) -> str:
    """``--out`` as given (an empty one is refused where it is used), else ``default_out``."""
    return args.out if args.out is not None else default_out(command, *parts)


def build(args: argparse.Namespace, sections: Mapping[str, type], **kwargs: Any) -> dict[str, Any]:
    """Section instances (defaults < YAML < flags); the ``dataset`` must come from somewhere."""
    try:
        return configs_from_args(args, sections, **kwargs)
    except ConfigError:
        raise
    except TypeError as err:  # a missing required field
        raise ConfigError(f"{err}; pass it as a flag or in --config") from err


def push(hub, folder) -> None:
    """``--push-to-hub REPO_ID``: upload the saved ``folder`` (``hub`` is the ``HubArgs``)."""
    if hub is not None and hub.push_to_hub and folder:
        from ..publish import push_to_hub

        url = push_to_hub(folder, hub.push_to_hub, private=hub.hub_private)
        print(f"pushed {folder} to {url}")


def slug(text: str) -> str:
    """A folder-name form of a dataset or method name."""
    return re.sub(r"[^A-Za-z0-9]+", "-", str(text)).strip("-") or "data"


def default_out(command: str, *parts: str) -> str:
    """``runs/<command>/<slug of parts>``."""
    return f"runs/{command}/" + "-".join(slug(p) for p in parts if p)
