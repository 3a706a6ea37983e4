"""Files textxfer writes: atomic writes, run folders, tables and fingerprints.

Every write goes through a temp file or folder beside the target and one rename, so a reader (or a
killed run) never sees half an output. A *run folder* is what every command that saves a result
writes, with the same names everywhere::

    DIR/textxfer.json      the marker: {"kind": ..., "textxfer_version": ..., ...}
    DIR/metrics.json       results
    DIR/config.yaml        every option used, by section (accepted back by the command's --config)
    DIR/train_log.jsonl    training records, one JSON object per line (when there are any)
    DIR/...                the payload (model weights, tokenizer, pipeline, predictions)

>>> import tempfile, pathlib
>>> folder = save_run(pathlib.Path(tempfile.mkdtemp()) / "run", kind="demo", metrics={"accuracy": 1.0})
>>> read_run_info(folder)["kind"], read_json(folder / METRICS_FILE)["accuracy"]
('demo', 1.0)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

MARKER = "textxfer.json"
METRICS_FILE = "metrics.json"
CONFIG_FILE = "config.yaml"
LOG_FILE = "train_log.jsonl"

__all__ = [
    "CONFIG_FILE",
    "LOG_FILE",
    "MARKER",
    "METRICS_FILE",
    "atomic_dir",
    "atomic_file",
    "atomic_write_json",
    "atomic_write_text",
    "cache_root",
    "file_fingerprint",
    "read_json",
    "read_metrics",
    "read_run_info",
    "save_run",
    "write_tables",
]


@contextlib.contextmanager
def atomic_file(path: str | Path, suffix: str = "") -> Iterator[Path]:
    """Yield a temp path beside ``path``; on success it is renamed onto ``path``, else removed.

    ``suffix`` keeps an extension that a writer needs (``np.save`` adds ``.npy`` otherwise).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` through a temp file in the same folder, then rename."""
    with atomic_file(path) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """JSON with indent 2 and a trailing newline, written atomically."""
    return atomic_write_text(path, json.dumps(data, indent=2, default=_json_default) + "\n")


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    if isinstance(obj, Path):
        return str(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def jsonl(records: Iterable[dict]) -> str:
    """One JSON object per line."""
    return "".join(json.dumps(r, default=_json_default) + "\n" for r in records)


@contextlib.contextmanager
def atomic_dir(path: str | Path) -> Iterator[Path]:
    """Yield a temp folder beside ``path``; on success it replaces ``path`` in one rename.

    On error the temp folder is removed and ``path`` is left as it was. Callers decide beforehand
    whether ``path`` may be replaced (see ``textxfer.io`` callers and ``--overwrite``).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~_umask())
        if path.exists():
            old = path.with_name(f".{path.name}.old-{os.getpid()}")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def read_json(path: str | Path) -> Any:
    """Read a JSON file."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def save_run(
    folder: str | Path,
    *,
    kind: str,
    info: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    history: list[dict] | None = None,
    payload: Callable[[Path], dict[str, Any] | None] | None = None,
    extra_dirs: dict[str, Path] | None = None,
) -> Path:
    """Write a run folder atomically (layout in the module docstring).

    Args:
        folder: the output folder; replaced as a whole when it exists.
        kind: the marker's ``kind`` (``baseline``, ``finetune``, ``adapted``, ...); ``predict``
            picks its loader by it.
        info: more marker fields.
        metrics: ``metrics.json``.
        config: sections of dataclass instances or dicts, written as ``config.yaml``.
        history: records for ``train_log.jsonl``.
        payload: ``payload(tmp_folder)`` writes the model files; what it returns is merged into the
            marker (e.g. the name of a sub-folder it wrote).
        extra_dirs: name -> existing folder copied in (e.g. tracker logs).

    Returns:
        The folder.
    """
    from . import __version__
    from .config import dump_yaml, to_sections

    marker = {"kind": kind, **(info or {}), "textxfer_version": __version__}
    with atomic_dir(folder) as tmp:
        if payload is not None:
            marker.update(payload(tmp) or {})
        if metrics is not None:
            atomic_write_json(tmp / METRICS_FILE, metrics)
        if config is not None:
            atomic_write_text(tmp / CONFIG_FILE, dump_yaml(to_sections(config)))
        if history is not None:
            atomic_write_text(tmp / LOG_FILE, jsonl(history))
        for name, source in (extra_dirs or {}).items():
            if Path(source).is_dir():
                shutil.copytree(source, tmp / name)
        atomic_write_json(tmp / MARKER, marker)
    return Path(folder)


def read_run_info(folder: str | Path) -> dict[str, Any] | None:
    """The marker of a run folder, or None when ``folder`` is not one."""
    marker = Path(folder) / MARKER
    if not marker.is_file():
        return None
    try:
        info = read_json(marker)
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None


def read_metrics(folder: str | Path) -> dict[str, Any]:
    """``metrics.json`` of a run folder."""
    return read_json(Path(folder) / METRICS_FILE)


def write_tables(table, folder: str | Path, stem: str = "results") -> dict[str, Path]:
    """``<stem>.csv``, ``.json`` and ``.parquet`` of a pandas frame, each written atomically."""
    folder = Path(folder)
    paths = {
        "csv": atomic_write_text(folder / f"{stem}.csv", table.to_csv(index=False)),
        "json": atomic_write_text(
            folder / f"{stem}.json", table.to_json(orient="records", indent=2)
        ),
    }
    with atomic_file(folder / f"{stem}.parquet", suffix=".parquet") as tmp:
        table.to_parquet(tmp, index=False)
    paths["parquet"] = folder / f"{stem}.parquet"
    return paths


def file_fingerprint(path: str | os.PathLike | None) -> str | None:
    """Resolved path plus name, size and mtime of every file under it, hashed: a changed file or
    folder gets a new fingerprint. A string that is not a path (a Hub id) is returned unchanged."""
    if not path or not Path(path).exists():
        return None if path is None else str(path)
    target = Path(path)
    files = sorted(p for p in target.rglob("*") if p.is_file()) if target.is_dir() else [target]
    stats = [(str(p.relative_to(target)) if target.is_dir() else p.name,
              p.stat().st_size, p.stat().st_mtime_ns) for p in files]  # fmt: skip
    return f"{target.resolve()}|{hashlib.sha256(repr(stats).encode()).hexdigest()[:16]}"


CACHE_ENV = "TEXTXFER_CACHE"


def cache_root() -> Path:
    """Root of textxfer's caches: ``$TEXTXFER_CACHE``, else ``~/.cache/textxfer``."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "textxfer"
