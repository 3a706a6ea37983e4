"""Files textxfer writes: atomic writes, run folders, tables and fingerprints.

Every write goes through a temp file or folder beside the target and one rename, so a reader (or a
killed run) never sees half an output. A *run folder* is what every command that saves a result
writes, with the same names everywhere::

    DIR/textxfer.json      the marker: {"kind": ..., "textxfer_version": ..., ...}
    DIR/metrics.json       results
    DIR/config.yaml        every option used, by section (accepted back by the command's --config)
    DIR/train_log.jsonl    training records, one JSON object per line (when there are any)
    DIR/run.log            the command's log and library warnings (CLI runs: ``textxfer.console``)
    DIR/...                the payload (model weights, tokenizer, pipeline, predictions)

Output safety: ``prepare_output`` is the one check every writer goes through (``save_run`` calls it,
commands call it before any work): ``--out`` never deletes or moves what textxfer did not write. A
missing or empty folder is written; a textxfer run folder (it has the marker) is replaced only with
``overwrite`` (or resumed into, for resumable kinds such as compare grids); a folder with other
files, an existing file, ``""`` and any path equal to, inside or around an input are refused. It also
takes a lock beside the output (a second concurrent run on it is refused) and removes the temp files
a killed run left there. Files and folders get the modes of the umask (0644 / 0755 under 022).

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
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from .errors import OutputError

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
    "prepare_output",
    "read_json",
    "read_metrics",
    "read_run_info",
    "release_output",
    "run_path",
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
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
) -> Path:
    """Write a run folder atomically (layout in the module docstring).

    Args:
        folder: the output folder; checked by ``prepare_output`` (an existing run folder is
            replaced as a whole only with ``overwrite``).
        kind: the marker's ``kind`` (``baseline``, ``finetune``, ``adapted``, ...); ``predict``
            picks its loader by it.
        info: more marker fields.
        metrics: ``metrics.json``.
        config: sections of dataclass instances or dicts, written as ``config.yaml``.
        history: records for ``train_log.jsonl``.
        payload: ``payload(tmp_folder)`` writes the model files; what it returns is merged into the
            marker (e.g. the name of a sub-folder it wrote).
        extra_dirs: name -> existing folder copied in (e.g. tracker logs).
        overwrite: replace ``folder`` when it holds a textxfer run.
        inputs: paths the run read (data, model folders); ``folder`` must not overlap them.

    Returns:
        The folder.

    Raises:
        OutputError: when writing ``folder`` could lose data (see ``prepare_output``).
    """
    from . import __version__
    from .config import dump_yaml, to_sections
    from .console import run_log

    prepare_output(folder, overwrite=overwrite, inputs=inputs)
    marker = {"kind": kind, **(info or {}), "textxfer_version": __version__}
    with _released(folder), atomic_dir(folder) as tmp:
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
        log = run_log()
        if log is not None:
            log.attach(folder, tmp)
    return Path(folder)


# ------------------------------------------------------------------------------ output safety
_TMP_NAME = r"\.{name}\.[a-z0-9_]{{8}}\.tmp(\..*)?|\.{name}\.old-\d+"  # atomic_* temp names
_HELD: dict[str, int] = {}  # lock file -> open descriptor, per process (reentrant)


def _main_process() -> bool:
    """Rank 0 (or no launcher): the process that writes outputs and holds their locks."""
    return os.environ.get("RANK", "0") == "0"


def _overlap(out: Path, source: Path) -> str | None:
    if out == source:
        return "is"
    if out.is_relative_to(source):
        return "is inside"
    if source.is_relative_to(out):
        return "holds"
    return None


def _check_inputs(path: Path, inputs: Iterable[str | os.PathLike | None], option: str) -> None:
    out = path.resolve()
    for source in inputs:
        if not source or not Path(source).expanduser().exists():
            continue  # a Hub id or a name: nothing on disk to protect
        relation = _overlap(out, Path(source).expanduser().resolve())
        if relation:
            raise OutputError(
                f"{option} {str(path)!r} {relation} the input {str(source)!r}; writing there would "
                f"replace what is being read. Pass another {option}"
            )


def _check_folder(path: Path, overwrite: bool, resume_kinds: tuple[str, ...], option: str) -> None:
    if path.is_file() or (path.exists() and not path.is_dir()):
        raise OutputError(
            f"{option} {str(path)!r} is a file; textxfer writes a folder there and never replaces "
            f"a file. Pass another {option}"
        )
    if not path.is_dir() or not any(path.iterdir()):
        return
    info = read_run_info(path)
    if info is None:
        found = sorted(p.name for p in path.iterdir())[:3]
        raise OutputError(
            f"{option} {str(path)!r} holds files textxfer did not write (e.g. {found}); it is not a "
            "textxfer run folder, so it is left as it is, even with --overwrite. Pass a new or "
            "empty folder"
        )
    if info.get("kind") in resume_kinds or overwrite:
        return
    raise OutputError(
        f"{option} {str(path)!r} already holds a textxfer {info.get('kind')!r} run; pass "
        f"--overwrite to replace it, or another {option}"
    )


def _check_file(path: Path, overwrite: bool) -> None:
    if path.is_dir():
        raise OutputError(
            f"--out {str(path)!r} is a folder; pass a file name, e.g. predictions.csv"
        )
    if path.exists() and not overwrite:
        raise OutputError(
            f"--out {str(path)!r} exists; pass --overwrite to replace it, or another --out"
        )


def _lock(path: Path, option: str = "--out") -> None:
    """Hold ``.NAME.lock`` beside ``path`` for this process (released at exit or by
    ``release_output``); another process holding it means a concurrent run."""
    import fcntl

    lock = path.parent / f".{path.name}.lock"
    key = str(lock.resolve())
    if key in _HELD:
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise OutputError(
                f"{option} {str(path)!r} is in use by another textxfer run (lock {str(lock)!r}); "
                f"wait for it to finish, or pass another {option}"
            ) from None
        with contextlib.suppress(FileNotFoundError):
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                break  # else the holder removed the file as we opened it: take the new one
        os.close(fd)
    _HELD[key] = fd


def release_output(path: str | Path) -> None:
    """Release the lock ``prepare_output`` took on ``path`` (no-op when not held)."""
    path = Path(path)
    lock = path.parent / f".{path.name}.lock"
    fd = _HELD.pop(str(lock.resolve()), None) if lock.parent.exists() else None
    if fd is not None:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()
        os.close(fd)


def release_all_outputs() -> None:
    """Release every output lock this process holds (the CLI does at the end of a command, so a
    failed run leaves no lock file behind; a killed one leaves a stale file the next run takes)."""
    for key in list(_HELD):
        lock = Path(key)
        release_output(lock.parent / lock.name[1:].removesuffix(".lock"))


@contextlib.contextmanager
def _released(path: str | Path) -> Iterator[None]:
    """Release ``path``'s lock after the block (written or failed): the output is done."""
    try:
        yield
    finally:
        release_output(path)


def remove_stale_temps(path: str | Path, inside: bool = False) -> list[Path]:
    """Remove the temp files and folders a killed write of ``path`` left beside it (and, with
    ``inside``, the ones left inside it by a resumable run); return what was removed."""
    path = Path(path)
    found = []
    if path.parent.is_dir():
        pattern = re.compile(_TMP_NAME.format(name=re.escape(path.name)))
        found += [p for p in path.parent.iterdir() if pattern.fullmatch(p.name)]
    if inside and path.is_dir():
        found += [
            p for p in path.rglob(".*.tmp*") if re.fullmatch(_TMP_NAME.format(name=".+"), p.name)
        ]
    for stale in found:
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
    return found


def prepare_output(
    path: str | os.PathLike | None,
    *,
    overwrite: bool = False,
    inputs: Iterable[str | os.PathLike | None] = (),
    resume_kinds: tuple[str, ...] = (),
    file: bool = False,
    option: str = "--out",
) -> Path:
    """Check that writing ``path`` loses nothing textxfer did not write; lock it; clean it up.

    Args:
        path: the output folder (or file, with ``file``).
        overwrite: an existing textxfer run folder (or, with ``file``, an existing file) may be
            replaced. Never a folder without textxfer's marker, nor an input.
        inputs: paths the run reads; the output must not be, be inside or hold one of them.
        resume_kinds: run kinds written incrementally (compare grids) that a rerun continues.
        file: ``path`` is one output file (e.g. predictions), not a run folder.
        option: the flag that named ``path``, for the messages.

    Returns:
        ``path`` as a ``Path``, locked for this process (see ``release_output``).

    Raises:
        OutputError: naming the path, what is there and the fix.

    >>> import tempfile, pathlib
    >>> prepare_output(pathlib.Path(tempfile.mkdtemp()) / "new").name
    'new'
    """
    if path is None or not str(path).strip():
        raise OutputError(
            f"{option} is empty (found {str(path)!r}); pass a {'file' if file else 'folder'} name, "
            f"e.g. {option} runs/NAME"
        )
    path = Path(path).expanduser()
    _check_inputs(path, inputs, option)
    if file:
        _check_file(path, overwrite)
    else:
        _check_folder(path, overwrite, resume_kinds, option)
    if _main_process():
        _lock(path, option)
        remove_stale_temps(path, inside=bool(resume_kinds) and path.is_dir())
    return path


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


def run_path(folder: str | Path, name: str) -> Path:
    """``folder / name`` for a name recorded in a run folder, refused when it leads outside it (a
    crafted marker must not make a loader read elsewhere).

    Raises:
        DataError: for an absolute name or one that leaves ``folder``.
    """
    from .errors import DataError

    folder = Path(folder)
    path = folder / str(name)
    if Path(str(name)).is_absolute() or not path.resolve().is_relative_to(folder.resolve()):
        raise DataError(
            f"{str(folder)!r} records the path {str(name)!r}, which leads outside the folder; "
            "textxfer reads a run folder's files only from inside it. Re-create the folder with textxfer"
        )
    return path


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
