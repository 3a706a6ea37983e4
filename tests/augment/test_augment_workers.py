"""Worker-count selection: one process for small inputs, a pool only when the work pays for it."""

from __future__ import annotations

import itertools

import pytest

from textxfer.augment import AugmentArgs, augment_with_info, runner
from textxfer.augment.runner import MAX_AUTO_PROCS, choose_num_proc


@pytest.mark.parametrize(
    "seconds, cores, load, expected",
    [
        (0.3, 8, 1.0, 1),  # 1,000 sst2 rows: a pool costs more than it saves
        (1.9, 2, 1.0, 1),  # not a second of work for a second process
        (2.5, 2, 1.0, 2),
        (3.4, 8, 1.0, 3),  # each process gets at least MIN_SECONDS_PER_PROC
        (30.0, 2, 1.0, 2),
        (30.0, 2, 3.0, 1),  # two other busy processes: no idle core to add
        (30.0, 4, 2.0, 3),  # one other busy process
        (30.0, 64, 0.0, MAX_AUTO_PROCS),
        (0.0, 8, 0.0, 1),
    ],
)
def test_choose_num_proc_from_measured_work_and_idle_cores(seconds, cores, load, expected):
    assert choose_num_proc(seconds, cores=cores, load=load) == expected


def test_auto_runs_small_inputs_in_one_process(train):
    args = AugmentArgs("eda", n_aug=2, seed=0, use_cache=False)
    _, info = augment_with_info(train, args)
    assert info.num_proc == 1


def test_auto_measures_the_first_chunk_and_keeps_its_output(train, monkeypatch, caplog):
    ticks = itertools.count()
    monkeypatch.setattr(runner, "_clock", lambda: float(next(ticks)))  # each chunk "takes" 1 s
    monkeypatch.setattr(runner, "available_cores", lambda: 2)
    monkeypatch.setattr(runner, "_load_average", lambda: 0.0)
    args = AugmentArgs("eda", n_aug=2, seed=0, use_cache=False)
    with caplog.at_level("DEBUG", logger="textxfer.augment.runner"):
        auto, info = augment_with_info(train, args)
    assert info.num_proc == 2
    probe = next(r.getMessage() for r in caplog.records if "left:" in r.getMessage())
    assert probe.startswith("augment: 1.00s for 3 rows, ~5.7s left: 2 process(es)")
    assert any("over 2 processes" in r.getMessage() for r in caplog.records)
    one, info_one = augment_with_info(
        train, AugmentArgs("eda", n_aug=2, seed=0, num_proc=1, use_cache=False)
    )
    assert info_one.num_proc == 1
    assert auto["text"][:] == one["text"][:] and auto["aug_op"][:] == one["aug_op"][:]
