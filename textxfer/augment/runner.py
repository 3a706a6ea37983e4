"""Execution of a recipe over a dataset: expand rows into copies, apply ops phase by phase.

Cheap ops run over chunks of rows in ``num_proc`` forked worker processes (the prepared ops
and the texts are inherited through ``fork``, results come back in order); a contextual
(masked-LM) op runs batched in the calling process. Copy ``j`` of row ``i`` draws everything
from ``random.Random(f"{seed}:{i}:{j}")`` (ops of later phases from ``...:{k}``), so the output
depends neither on ``num_proc`` nor on chunk or batch boundaries.

A plain fork pool rather than ``datasets.map(num_proc=...)``: the latter also starts a manager
process, pickles the ops with dill and writes every shard to Arrow files, which cost 30-50%
more CPU in the workers than the ops themselves on sst2; here the overhead is ~5-10%.

With ``num_proc=None`` the worker count comes from measured cost: the first chunks run in the
calling process for ``PROBE_SECONDS``, their rate estimates the rest, and ``choose_num_proc``
starts a pool only when every worker gets at least ``MIN_SECONDS_PER_PROC`` of work, on cores
that other processes leave idle. Small inputs (1,000 sst2 rows: ~0.3 s) therefore run in one
process, where a pool's start-up and result transfer would cost more than they save.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import random
import threading
import time

from .ops import isolated_global_random
from .recipes import Recipe

logger = logging.getLogger(__name__)

MARKER_COLUMNS = ("is_augmented", "source_id", "aug_index", "aug_op")
COLUMNS = ("text", "label", *MARKER_COLUMNS, "_mask")
CHUNK_ROWS = 500  # source rows per task: small enough for a smooth progress bar and balance
CONTEXTUAL_ROWS = 1000  # rows handed to a contextual op at a time (it batches inside)
PROBE_SECONDS = 0.1  # auto num_proc: serial work timed before choosing (its output is kept)
MIN_SECONDS_PER_PROC = 1.0  # auto num_proc: least estimated work that pays for one more process
MAX_AUTO_PROCS = 8

_clock = time.perf_counter
_SHARED: dict = {}  # what forked workers read: the runner and the columns
_LOCK = threading.Lock()


class Runner:
    """Per-row work: pick each copy's ops with its own rng, apply them, emit rows."""

    def __init__(
        self, recipe: Recipe, ops: list, seed: int, n_aug: int, keep_original: bool
    ) -> None:
        self.ops, self.seed, self.n_aug, self.keep = ops, seed, n_aug, keep_original
        self.mode = recipe.mode
        self.weights = [spec.p for spec in recipe.ops]
        self.labels = [spec.label for spec in recipe.ops]

    def select(self, rng: random.Random) -> int:
        """Bitmask of the ops applied to one copy."""
        if self.mode == "one_of":
            return 1 << rng.choices(range(len(self.ops)), weights=self.weights)[0]
        mask = sum(1 << k for k, p in enumerate(self.weights) if rng.random() < p)
        if mask or not any(self.weights):
            return mask
        return 1 << rng.choices(range(len(self.ops)), weights=self.weights)[0]  # never a no-op copy

    def rng(self, i: int, j: int, k: int | None = None) -> random.Random:
        """The generator of copy ``j`` of row ``i`` (for ops of later phases: and op ``k``)."""
        return random.Random(f"{self.seed}:{i}:{j}" + ("" if k is None else f":{k}"))

    def expand(self, texts: list, labels: list, start: int, stages: list[int]) -> dict:
        """Rows ``start..`` -> original + copies; each copy's rng picks its ops, runs ``stages``."""
        out: dict[str, list] = {c: [] for c in COLUMNS}
        with isolated_global_random():
            for i, (text, label) in enumerate(zip(texts, labels), start):
                text = text if isinstance(text, str) else ""
                rows = [(text, label, False, i, 0, "", 0)] if self.keep else []
                for j in range(1, self.n_aug + 1):
                    rng = self.rng(i, j)
                    mask = self.select(rng)
                    new = text
                    for k in stages:
                        if mask >> k & 1:
                            new = self.ops[k].apply(new, rng)
                    ops = "+".join(lab for k, lab in enumerate(self.labels) if mask >> k & 1)
                    rows.append((new, label, True, i, j, ops, mask))
                for row in rows:
                    for column, value in zip(COLUMNS, row):
                        out[column].append(value)
        return out

    def apply(self, columns: dict, start: int, end: int, stages: list[int]) -> list[str]:
        """Texts of rows ``start:end`` after the cheap ``stages`` their masks select."""
        texts = columns["text"][start:end]
        rows = zip(columns["source_id"][start:end], columns["aug_index"][start:end])
        masks = columns["_mask"][start:end]
        with isolated_global_random():
            for r, ((i, j), mask) in enumerate(zip(rows, masks)):
                for k in stages:
                    if mask >> k & 1:
                        texts[r] = self.ops[k].apply(texts[r], self.rng(i, j, k))
        return texts

    def apply_contextual(self, columns: dict, start: int, end: int, k: int) -> None:
        """Run contextual op ``k`` (batched) on the selected rows of ``start:end``, in place."""
        rows = [r for r in range(start, end) if columns["_mask"][r] >> k & 1]
        ids = [(columns["source_id"][r], columns["aug_index"][r]) for r in rows]
        rngs = [self.rng(i, j, k) for i, j in ids]
        new = self.ops[k].apply_batch([columns["text"][r] for r in rows], rngs)
        for r, text in zip(rows, new):
            columns["text"][r] = text


def phases(ops: list) -> list[tuple[str, list[int]]]:
    """Consecutive cheap ops share one parallel pass; each contextual op gets its own."""
    found: list[tuple[str, list[int]]] = []
    for k, op in enumerate(ops):
        kind = "contextual" if op.contextual else "cheap"
        if kind == "cheap" and found and found[-1][0] == "cheap":
            found[-1][1].append(k)
        else:
            found.append((kind, [k]))
    return found


def _features(label_feature):
    """Output columns: text, the input's label feature and the markers."""
    import datasets

    return datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": label_feature,
            "is_augmented": datasets.Value("bool"),
            "source_id": datasets.Value("int64"),
            "aug_index": datasets.Value("int32"),
            "aug_op": datasets.Value("string"),
        }
    )


def available_cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def _load_average() -> float:
    return os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0


def choose_num_proc(serial_seconds: float, cores: int, load: float) -> int:
    """Worker processes for ``serial_seconds`` of estimated single-process work.

    Args:
        serial_seconds: the measured rate times the rows left.
        cores: cores this process may use (``available_cores()``).
        load: the 1-minute load average, this process included (it is busy measuring).

    Returns:
        1 unless each worker gets at least ``MIN_SECONDS_PER_PROC`` of work, and never more than
        the cores that other processes leave idle (or ``MAX_AUTO_PROCS``).

    >>> choose_num_proc(0.3, cores=8, load=1.0), choose_num_proc(30.0, cores=8, load=1.0)
    (1, 8)
    """
    idle = int(cores - max(0.0, load - 1.0) + 0.5)
    by_work = int(serial_seconds / MIN_SECONDS_PER_PROC)
    return max(1, min(idle, by_work, MAX_AUTO_PROCS))


def _chunk_size(n: int, num_proc: int, most: int = CHUNK_ROWS) -> int:
    """Rows per task: at most ``most``, and at least 4 tasks per process when there are rows."""
    return max(1, min(most, -(-n // (4 * max(num_proc, 1)))))


def _expand_task(task: tuple) -> dict:
    start, end, stages = task
    runner, texts, labels = _SHARED["runner"], _SHARED["texts"], _SHARED["labels"]
    return runner.expand(texts[start:end], labels[start:end], start, stages)


def _apply_task(task: tuple) -> list[str]:
    start, end, stages = task
    return _SHARED["runner"].apply(_SHARED["columns"], start, end, stages)


def _map_chunks(fn, tasks: list[tuple], num_proc: int, desc: str) -> list:
    """``[fn(t) for t in tasks]``, in order, over ``num_proc`` forked processes when > 1."""
    from ..console import progress

    results = []
    with progress(total=len(tasks), desc=desc, unit="chunk") as bar:
        if num_proc <= 1 or len(tasks) < 2:
            for task in tasks:
                results.append(fn(task))
                bar.update(1)
            return results
        procs = min(num_proc, len(tasks))
        logger.debug("%s: %d chunks over %d processes", desc, len(tasks), procs)
        with multiprocessing.get_context("fork").Pool(procs) as pool:
            for result in pool.imap(fn, tasks):
                results.append(result)
                bar.update(1)
    return results


def run(dataset, runner: Runner, num_proc: int | None):
    """Expand ``dataset`` into originals + copies and apply the ops phase by phase.

    Args:
        num_proc: worker processes, or ``None`` to choose them from measured cost.

    Returns:
        ``(datasets.Dataset with text, label and the marker columns, processes used)``.
    """
    if "fork" not in multiprocessing.get_all_start_methods() and num_proc != 1:
        if num_proc is not None:
            logger.warning("augment: no fork start method here; running in one process")
        num_proc = 1
    steps = phases(runner.ops)
    first = steps.pop(0)[1] if steps and steps[0][0] == "cheap" else []
    texts, labels = dataset["text"][:], dataset["label"][:]
    with _LOCK:  # one run at a time per process: workers read the module-level _SHARED
        columns, num_proc = _run_locked(runner, texts, labels, first, steps, num_proc)
    del columns["_mask"]
    return _to_dataset(columns, _features(dataset.features["label"])), num_proc


def _run_locked(runner: Runner, texts, labels, first, steps, num_proc: int | None):
    _SHARED.update(runner=runner, texts=texts, labels=labels)
    try:
        size = _chunk_size(len(texts), num_proc or available_cores())
        chunks = [(a, min(a + size, len(texts)), first) for a in range(0, len(texts), size)]
        parts, num_proc = _probe(chunks, len(texts)) if num_proc is None else ([], num_proc)
        parts += _map_chunks(_expand_task, chunks[len(parts) :], num_proc, "augment")
        columns: dict[str, list] = {c: [] for c in COLUMNS}
        for part in parts:
            for column, values in part.items():
                columns[column].extend(values)
        _SHARED["columns"] = columns
        for kind, stages in steps:
            _run_phase(runner, columns, kind, stages, num_proc)
    finally:
        _SHARED.clear()
    return columns, num_proc


def _probe(chunks: list[tuple], n_rows: int) -> tuple[list[dict], int]:
    """Run chunks in this process for ``PROBE_SECONDS``; choose the workers for the rest."""
    parts, start, seconds = [], _clock(), 0.0
    while len(parts) < len(chunks) and seconds < PROBE_SECONDS:
        parts.append(_expand_task(chunks[len(parts)]))
        seconds = _clock() - start
    done = chunks[len(parts) - 1][1] if parts else 0
    left = seconds / max(done, 1) * (n_rows - done)
    num_proc = choose_num_proc(left, available_cores(), _load_average())
    logger.debug("augment: %.2fs for %d rows, ~%.1fs left: %d process(es)", seconds, done, left, num_proc)  # fmt: skip
    return parts, num_proc


def _to_dataset(columns: dict[str, list], features):
    """Columns -> ``Dataset`` via one Arrow table (``from_dict`` encodes each value: ~20x slower)."""
    import datasets
    import pyarrow as pa
    from datasets.table import InMemoryTable

    table = pa.Table.from_pydict(columns, schema=features.arrow_schema)
    return datasets.Dataset(InMemoryTable(table), info=datasets.DatasetInfo(features=features))


def _run_phase(runner: Runner, columns: dict, kind: str, stages: list[int], num_proc: int) -> None:
    from ..console import progress

    n = len(columns["text"])
    if kind == "contextual":
        for start in progress(range(0, n, CONTEXTUAL_ROWS), desc="augment (contextual ops)"):
            runner.apply_contextual(columns, start, min(start + CONTEXTUAL_ROWS, n), stages[0])
        return
    step = _chunk_size(n, num_proc, CHUNK_ROWS * (runner.n_aug + runner.keep))
    tasks = [(a, min(a + step, n), stages) for a in range(0, n, step)]
    texts: list[str] = []
    for part in _map_chunks(_apply_task, tasks, num_proc, "augment (cheap ops)"):
        texts.extend(part)
    columns["text"] = texts
