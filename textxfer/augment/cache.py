"""On-disk cache of augmented datasets, keyed by everything that determines the output.

The key hashes the data (texts, labels, label names), the recipe, each op's registered builder and
version, ``n_aug``, ``alpha``, the seed, ``keep_original``, the models' files (size and mtime) and
the WordNet/tagger/nlpaug in use, but
not ``num_proc``, which never changes the output. An entry is a folder ``<recipe>-<key>/``
holding ``data/`` (``Dataset.save_to_disk``) and ``meta.json``, written atomically.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

from ..io import CACHE_ENV, atomic_dir, atomic_write_json, cache_root, file_fingerprint
from .recipes import Recipe

logger = logging.getLogger(__name__)

__all__ = ["CACHE_ENV", "cache_key", "count_entries", "default_cache_dir", "entry", "load", "save"]

CACHE_VERSION = 2


def default_cache_dir() -> Path:
    """``$TEXTXFER_CACHE/augment``, else ``~/.cache/textxfer/augment``."""
    return cache_root() / "augment"


def fingerprint(dataset) -> str:
    """sha256 of the texts, labels and label feature of ``dataset``."""
    digest = hashlib.sha256(repr(dataset.features["label"]).encode())
    for text, label in zip(dataset["text"][:], dataset["label"][:]):
        digest.update(f"{text}\x1f{label}\x1e".encode())
    return digest.hexdigest()


def cache_key(args, recipe: Recipe, data_fp: str, n_aug: int, alpha: float) -> str:
    """A short hex key of everything that determines the augmented output."""
    from .. import __version__
    from .ops import get_op
    from .wordnet import find_wordnet, has_pos_tagger

    models = [args.w2v_model, args.mlm_model, *(o.model for o in recipe.ops)]
    parts: dict[str, Any] = {
        "version": [CACHE_VERSION, __version__],
        "data": data_fp,
        "recipe": recipe.to_dict(),
        "ops": [get_op(o.op).identity for o in recipe.ops],
        "n_aug": n_aug,
        "alpha": alpha,
        "seed": args.seed,
        "keep_original": args.keep_original,
        "models": [file_fingerprint(m) for m in models],
    }
    if "wordnet" in recipe.sources():
        parts["wordnet"] = [str(find_wordnet(args.wordnet_dir)), has_pos_tagger()]
    if any(o.engine == "nlpaug" for o in recipe.ops):
        from ..errors import require

        parts["nlpaug"] = require("nlpaug", extra="aug", purpose="the nlpaug engine").__version__
    text = json.dumps(parts, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def entry(cache_dir: Path, recipe: Recipe, key: str) -> Path:
    """The cache folder of one augmented dataset."""
    return Path(cache_dir) / f"{recipe.name}-{key}"


def load(folder: Path):
    """The cached dataset in ``folder``, or None when there is none."""
    if not (folder / "meta.json").is_file():
        return None
    import datasets

    logger.info("augment: cache hit %s", folder)
    return datasets.load_from_disk(str(folder / "data"))


def save(dataset, folder: Path, meta: dict):
    """Write ``dataset`` and ``meta`` into ``folder`` atomically; return the dataset read back."""
    import datasets

    with atomic_dir(folder) as tmp:
        dataset.save_to_disk(str(tmp / "data"))
        atomic_write_json(tmp / "meta.json", meta)
    logger.info("augment: cached %d rows in %s", len(dataset), folder)
    return datasets.load_from_disk(str(folder / "data"))


def count_entries(cache_dir: str | Path) -> int:
    """How many augmented datasets ``cache_dir`` holds."""
    folder = Path(cache_dir)
    return sum(1 for p in folder.glob("*/meta.json")) if folder.is_dir() else 0
