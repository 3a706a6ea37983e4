"""The one cell store and cell runner of every grid (``compare``, ``crossdomain``).

A grid is a list of ``Cell`` objects, each with a file-safe id and the values that define it. Each
finished cell is one JSON record in ``<out>/cells/<id>.json``, written atomically, so an
interrupted grid loses at most the cells in flight and a rerun skips finished ones; a failed cell
is recorded with ``status: error`` (and its message) and is tried again on the next run.

A cell also carries a digest of the settings its result depends on (``settings_digest`` of the
resolved method sections, data options, adaptation settings, ...), stored in its record: a rerun
with other settings in the same folder runs the cell again instead of reusing a result computed
under the old ones.

>>> cell_id("finetune-lora", "eda", "8/class", 0)
'finetune-lora__eda__8-class__0'
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import logging
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..io import atomic_write_json, read_json

if TYPE_CHECKING:
    from .executors import ExecutorArgs

logger = logging.getLogger(__name__)

CELL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._=+-]*$")

__all__ = ["Cell", "CellStore", "cell_id", "run_cells", "settings_digest", "slug"]


def slug(value: Any) -> str:
    """A file-name-safe form of ``value``: runs of other characters become ``-`` and runs of dots
    one dot, so a path such as ``recipes/../eda.yaml`` names a file inside the store."""
    text = re.sub(r"[^A-Za-z0-9._=+]+", "-", str(value))
    return re.sub(r"\.{2,}", ".", text).strip("-.") or "x"


def cell_id(*parts: Any) -> str:
    """A file-safe cell id from its defining values, joined with ``__``."""
    return "__".join(slug(p) for p in parts)


def settings_digest(*parts: Any) -> str:
    """A short, stable digest of JSON-able ``parts`` (dataclasses go through their sections)."""
    from ..config import to_sections

    def plain(value: Any) -> Any:
        if isinstance(value, dict):
            return {str(k): plain(v) for k, v in value.items()}
        if dataclasses.is_dataclass(value) and not isinstance(value, type):
            return to_sections({"": value})[""]
        return value

    text = json.dumps([plain(p) for p in parts], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Cell:
    """One cell of a grid: its id, the values that define it (copied into its record) and the
    digest of the settings its result depends on."""

    id: str
    key: dict[str, Any] = field(default_factory=dict, hash=False)
    settings: str = field(default="", compare=False)

    def record(self, **values: Any) -> dict[str, Any]:
        """A record of this cell: id, key values, settings digest and ``values``."""
        return {"cell_id": self.id, **self.key, "settings": self.settings, **values}


class CellStore:
    """One atomic JSON file per cell under ``<out>/cells``."""

    def __init__(self, out: str | Path) -> None:
        self.root = Path(out) / "cells"

    def path(self, cid: str) -> Path:
        """Where the record of ``cid`` lives; ids that could leave the folder are refused."""
        if not CELL_ID.fullmatch(cid) or ".." in cid:
            raise ConfigError(
                f"cell id {cid!r} is not file-safe (expected letters, digits and ._=+-); "
                "name methods, recipes and datasets without path separators"
            )
        return self.root / f"{cid}.json"

    def read(self) -> dict[str, dict]:
        """cell id -> record, for every stored cell."""
        if not self.root.is_dir():
            return {}
        return {p.stem: read_json(p) for p in sorted(self.root.glob("*.json"))}

    def get(self, cid: str) -> dict | None:
        """The record of ``cid``, or None."""
        path = self.path(cid)
        return read_json(path) if path.is_file() else None

    def put(self, record: dict) -> Path:
        """Store a record (its ``cell_id`` names the file), atomically."""
        return atomic_write_json(self.path(record["cell_id"]), record)

    def finished(self, cell: Cell) -> bool:
        """Whether ``cell`` has an ``ok`` record made under its settings."""
        record = self.get(cell.id)
        return bool(record) and record.get("status") == "ok" and self.current(cell, record)

    @staticmethod
    def current(cell: Cell, record: dict) -> bool:
        """Whether ``record`` was made under ``cell``'s settings (logged when it was not)."""
        if record.get("settings", "") == cell.settings:
            return True
        logger.info("cell %s was run under other settings: running it again", cell.id)
        return False


def failure_record(cell: Cell, err: BaseException) -> dict[str, Any]:
    """The record of a cell whose run raised: status ``error`` with the message."""
    return cell.record(status="error", error=f"{type(err).__name__}: {err}")


def run_one(cell: Cell, run: Callable[[Cell], dict], fail_fast: bool = False) -> dict[str, Any]:
    """``run(cell)`` as an ``ok`` record, or a failure record (re-raised with ``fail_fast``)."""
    try:
        return cell.record(status="ok", error="", **run(cell))
    except Exception as err:  # noqa: BLE001 - a failing cell is recorded, the grid goes on
        if fail_fast:
            raise
        logger.exception("cell %s failed", cell.id)
        return failure_record(cell, err)


def run_cells(
    cells: Iterable[Cell],
    run: Callable[[Cell], dict],
    store: CellStore,
    *,
    fail_fast: bool = False,
    progress: bool = True,
    on_record: Callable[[dict], None] | None = None,
    executor: ExecutorArgs | None = None,
) -> list[dict]:
    """Run the cells that have no ``ok`` record with ``executor``; store every record.

    Args:
        cells: the grid, in run order.
        run: ``run(cell) -> {metric: value, ...}``; an exception becomes an ``error`` record.
            Parallel executors need a picklable ``run`` (a ``CellTask``).
        store: where records go (written here, by the driver, whichever executor ran the cell).
        fail_fast: re-raise the first failure instead of recording it.
        progress: show a tqdm bar.
        on_record: called with each new record after it is stored (e.g. to rewrite the table).
        executor: where cells run (``ExecutorArgs``; default: one after the other, here).

    Returns:
        The new records, in the order they finished.
    """
    from ..console import progress as progress_bar
    from .executors import CellTask, execute

    task = run if isinstance(run, CellTask) else CellTask(lambda _, cell: run(cell), None)
    todo = [c for c in cells if not store.finished(c)]
    records = []
    with (
        contextlib.closing(execute(todo, task, executor, fail_fast)) as done,
        progress_bar(total=len(todo), desc="cells", enabled=progress) as bar,
    ):
        for record in done:
            store.put(record)
            records.append(record)
            bar.update()
            if on_record is not None:
                on_record(record)
    return records
