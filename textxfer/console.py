"""What the ``textxfer`` command line prints, and the run log it keeps beside the results.

By default a command shows textxfer's progress bars (one level: a bar inside another bar is hidden)
and its short summary. Everything else goes to the *run log*: textxfer's log records (the JSON
training records among them), the warnings and notices of the libraries underneath (transformers,
datasets, huggingface_hub) and Python warnings (``FutureWarning`` ...). Every run folder a command
writes gets the log as ``run.log`` (``textxfer.io.save_run``, ``compare``). Levels:

- ``-q``: errors and the summary only, no progress bars;
- default: also textxfer's warnings and the progress bars; a last line counts the warnings that
  went to ``run.log`` only;
- ``-v``: also textxfer's INFO records, library warnings and the libraries' own progress bars;
- ``-vv``: everything down to DEBUG.

Nothing here runs on ``import textxfer``: the CLI calls ``configure`` and ``finish``; a library user
keeps their own logging set-up (``progress`` is the only piece the library uses).

>>> configure(QUIET).verbosity, progress_enabled()
(-1, False)
>>> finish()
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import logging
import os
import sys
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

QUIET, NORMAL, VERBOSE, DEBUG = -1, 0, 1, 2
RUN_LOG = "run.log"
# Library loggers that install their own stderr handler: it is removed while a command runs, so
# their records reach the run log (and the console only with -v).
LIBRARIES = ("transformers", "datasets", "huggingface_hub")
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

__all__ = ["DEBUG", "NORMAL", "QUIET", "RUN_LOG", "VERBOSE", "RunLog", "attach", "configure",
           "finish", "progress", "progress_enabled", "run_log"]  # fmt: skip


class _State:
    verbosity = NORMAL
    depth = 0  # textxfer progress bars open right now (shown ones)
    log: RunLog | None = None


def progress_enabled() -> bool:
    """False under ``-q``."""
    return _State.verbosity > QUIET


def progress(iterable=None, *, enabled: bool | None = True, **kwargs: Any):
    """A ``tqdm`` bar that follows the console: hidden under ``-q``, and hidden inside another shown
    textxfer bar unless ``-v`` (a grid's bar is enough). ``enabled=None`` shows it on terminals only.

    >>> list(progress(range(3), desc="demo", enabled=False))
    [0, 1, 2]
    """
    show = enabled is not False and progress_enabled()
    show = show and (_State.depth == 0 or _State.verbosity >= VERBOSE)
    disable = None if show and enabled is None else not show
    return _bar_class()(iterable, disable=disable, **kwargs)


_BAR: type | None = None


def _bar_class() -> type:
    """tqdm.auto's class, counting the shown bars that are open (for ``progress``)."""
    global _BAR
    if _BAR is None:
        from tqdm.auto import tqdm

        class Bar(tqdm):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                self._counted = not self.disable
                _State.depth += self._counted

            def close(self) -> None:
                if getattr(self, "_counted", False):
                    self._counted = False
                    _State.depth -= 1
                super().close()

        _BAR = Bar
    return _BAR


class RunLog(logging.Handler):
    """Every record of a command, formatted, in a temp file; copied as ``run.log`` into the run
    folders the command writes (``attach``), again when it finishes (then complete)."""

    def __init__(self, verbosity: int) -> None:
        super().__init__(logging.DEBUG if verbosity >= DEBUG else logging.INFO)
        self.verbosity = verbosity
        fd, name = tempfile.mkstemp(prefix="textxfer-run-", suffix=".log")
        self.path = Path(name)
        self.stream = os.fdopen(fd, "w", encoding="utf-8")
        self.setFormatter(logging.Formatter(FORMAT))
        self.folders: list[Path] = []
        self.hidden_warnings = 0  # warnings written here and not shown on the console

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.stream.write(self.format(record) + "\n")
            if record.levelno >= logging.WARNING and not _on_console(record, self.verbosity):
                self.hidden_warnings += 1
        except Exception:  # noqa: BLE001 - logging must never break the run
            self.handleError(record)

    def text(self) -> str:
        """Everything logged so far."""
        self.stream.flush()
        return self.path.read_text(encoding="utf-8")

    def attach(self, folder: str | os.PathLike, tmp: str | os.PathLike | None = None) -> None:
        """Write the log so far into ``tmp`` (a run folder being written) or ``folder``, and
        rewrite ``folder/run.log`` with the whole log when the command finishes."""
        from .io import atomic_write_text

        atomic_write_text(Path(tmp or folder) / RUN_LOG, self.text())
        if Path(folder) not in self.folders:
            self.folders.append(Path(folder))

    def close(self) -> None:
        from .io import atomic_write_text

        text = self.text()
        for folder in self.folders:
            if folder.is_dir():
                atomic_write_text(folder / RUN_LOG, text)
        self.stream.close()
        self.path.unlink(missing_ok=True)
        super().close()


def run_log() -> RunLog | None:
    """The run log of the command running in this process, or None (library use)."""
    return _State.log


def attach(folder: str | os.PathLike) -> None:
    """Keep ``folder/run.log`` (a grid's output folder) when a command runs; no-op otherwise."""
    if _State.log is not None:
        _State.log.attach(folder)


def _on_console(record: logging.LogRecord, verbosity: int) -> bool:
    ours = record.name == "textxfer" or record.name.startswith("textxfer.")
    if verbosity >= DEBUG or record.levelno >= logging.ERROR:
        return True
    if verbosity <= QUIET:
        return False
    if verbosity == VERBOSE:
        return record.levelno >= (logging.INFO if ours else logging.WARNING)
    return ours and record.levelno >= logging.WARNING


class _Console(logging.StreamHandler):
    """stderr as it is at each record (pytest and notebooks swap it)."""

    def __init__(self, verbosity: int) -> None:
        super().__init__()
        self.verbosity = verbosity
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))

    @property
    def stream(self):  # noqa: D102
        return sys.stderr

    @stream.setter
    def stream(self, _value) -> None:
        pass

    def filter(self, record: logging.LogRecord) -> bool:
        return _on_console(record, self.verbosity)


# ------------------------------------------------------------------- library loggers and bars
class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs a hook right after a module is first imported (libraries configure their loggers at
    import time, so they can only be adjusted after it)."""

    def __init__(self, hooks: dict[str, Callable[[ModuleType], None]]) -> None:
        self.hooks = hooks

    def find_spec(self, fullname, path, target=None):
        hook = self.hooks.get(fullname)
        if hook is None:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        loader = spec.loader

        class Loader(importlib.abc.Loader):
            def create_module(self, spec):
                return loader.create_module(spec)

            def exec_module(self, module):
                loader.exec_module(module)
                hook(module)

        spec.loader = Loader()
        return spec


def _adopt(name: str, verbosity: int) -> Callable[[ModuleType], None]:
    """A hook that routes library ``name``'s logger to the root (not its own stderr handler)."""

    def hook(module: ModuleType) -> None:
        if name == "transformers":
            module.get_verbosity()  # transformers adds its handler on first use: now
            if verbosity < VERBOSE and module.is_progress_bar_enabled():
                module.disable_progress_bar()
                _Saved.undo.append(module.enable_progress_bar)
        logger = logging.getLogger(name)
        own = [h for h in logger.handlers if type(h) is logging.StreamHandler]
        _Saved.libraries.append((logger, own, logger.propagate, logger.level))
        for handler in own:
            logger.removeHandler(handler)
        logger.propagate = True
        logger.setLevel(logging.DEBUG if verbosity >= DEBUG else logging.WARNING)

    return hook


def _quiet_bars(module: ModuleType) -> None:
    if not module.are_progress_bars_disabled():
        module.disable_progress_bars()
        _Saved.undo.append(module.enable_progress_bars)


_HOOK_MODULES = {lib: f"{lib}.utils.logging" for lib in LIBRARIES}


class _Saved:
    """What ``configure`` changed, restored by ``finish``."""

    handlers: list[logging.Handler] = []
    root_level = logging.WARNING
    finder: _AfterImport | None = None
    filters: list = []
    libraries: list[tuple[logging.Logger, list[logging.Handler], bool, int]] = []
    undo: list[Callable[[], None]] = []

    @classmethod
    def restore(cls) -> None:
        root = logging.getLogger()
        for handler in cls.handlers:
            root.removeHandler(handler)
        root.setLevel(cls.root_level)
        if cls.finder in sys.meta_path:
            sys.meta_path.remove(cls.finder)
        logging.captureWarnings(False)
        warnings.filters[:] = cls.filters
        for logger, own, propagate, level in cls.libraries:
            for handler in own:
                logger.addHandler(handler)
            logger.propagate, logger.level = propagate, level
        for undo in cls.undo:
            undo()
        cls.handlers, cls.finder, cls.libraries, cls.undo = [], None, [], []


def configure(verbosity: int = NORMAL) -> RunLog:
    """Set up the console and a fresh run log for one command (the CLI calls this).

    Args:
        verbosity: ``QUIET`` (-1), ``NORMAL`` (0), ``VERBOSE`` (1) or ``DEBUG`` (2+).

    Returns:
        The run log (also ``run_log()``).
    """
    finish()
    verbosity = max(QUIET, min(DEBUG, verbosity))
    _State.verbosity, _State.depth = verbosity, 0
    root = logging.getLogger()
    _Saved.root_level, _Saved.filters = root.level, warnings.filters[:]
    _State.log = RunLog(verbosity)
    _Saved.handlers = [_Console(verbosity), _State.log]
    for handler in _Saved.handlers:
        root.addHandler(handler)
    root.setLevel(logging.DEBUG if verbosity >= DEBUG else logging.INFO)
    logging.captureWarnings(True)
    warnings.simplefilter("default")  # each distinct warning once, into the log
    hooks = {module: _adopt(lib, verbosity) for lib, module in _HOOK_MODULES.items()}
    if verbosity < VERBOSE:
        hooks["datasets.utils.tqdm"] = _quiet_bars
    for module, hook in hooks.items():
        if module in sys.modules:
            hook(sys.modules[module])
    _Saved.finder = _AfterImport({m: h for m, h in hooks.items() if m not in sys.modules})
    sys.meta_path.insert(0, _Saved.finder)
    return _State.log


def finish() -> None:
    """Write the complete ``run.log`` into the attached run folders, say how many warnings went
    there only, and undo ``configure`` (a no-op when nothing is configured)."""
    log = _State.log
    if log is None:
        return
    _Saved.restore()
    if log.hidden_warnings and log.verbosity > QUIET:
        where = f"logged to {log.folders[0] / RUN_LOG}" if log.folders else "hidden (-v shows them)"
        print(f"textxfer: {log.hidden_warnings} warning(s) from the libraries {where}",
              file=sys.stderr)  # fmt: skip
    log.close()
    _State.log, _State.verbosity, _State.depth = None, NORMAL, 0
