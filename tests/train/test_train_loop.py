"""The training loop: evaluation cadence, best model, early stopping, max_steps, checkpoints and
exact resume, trackers, and the seeded (length-grouped) sampler."""

from __future__ import annotations

import json
import logging

import ftutil  # noqa: E402
import pytest

from textxfer.config import ConfigError  # noqa: E402
from textxfer.data import DataArgs  # noqa: E402
from textxfer.finetune import finetune  # noqa: E402
from textxfer.train.accel import SeededSampler  # noqa: E402
from textxfer.train.args import ModelArgs  # noqa: E402
from textxfer.train.loop import latest_checkpoint  # noqa: E402

Interrupt = ftutil.Interrupt
CrashAt = ftutil.crash_at


pytestmark = pytest.mark.usefixtures("quiet_transformers")


@pytest.fixture(scope="module")
def data(data_dir) -> DataArgs:
    return DataArgs(str(data_dir))


def _evals(result) -> list[dict]:
    return [r for r in result.history if r["split"] == "eval"]


def test_resume_after_a_mid_epoch_interruption_is_exact(bert, data, tmp_path):
    """Dropout on, eval every 2 steps, linear schedule: the resumed run ends bit-for-bit alike."""
    model = ModelArgs(str(bert))  # the model's dropout 0.1 stays on
    common = dict(
        epochs=3,
        scheduler="linear",
        warmup_ratio=0.2,
        eval_strategy="steps",
        eval_steps=2,
        save_strategy="steps",
        save_steps=3,
        save_total_limit=2,
    )
    whole = finetune(model, data, ftutil.train_args(checkpoint_dir=str(tmp_path / "a"), **common))
    ckpt = tmp_path / "b"
    args = ftutil.train_args(checkpoint_dir=str(ckpt), **common)
    with pytest.raises(Interrupt):
        finetune(model, data, args, callbacks=[CrashAt(8)])  # step 8 of 15: mid epoch 2
    assert sorted(p.name for p in ckpt.iterdir()) == ["step-00000003", "step-00000006"]  # limit 2
    state = json.loads((ckpt / "step-00000006" / "loop_state.json").read_text())
    assert (state["epoch"], state["batch_in_epoch"], state["global_step"]) == (1, 1, 6)
    resumed = finetune(
        model, data, ftutil.train_args(checkpoint_dir=str(ckpt), resume=True, **common)
    )
    assert resumed.global_step == whole.global_step == 15
    assert resumed.metrics["test"] == whole.metrics["test"]  # bit for bit
    assert resumed.metrics["dev"] == whole.metrics["dev"]
    assert resumed.best_step == whole.best_step
    assert resumed.history == whole.history  # losses, lrs, grad norms, dev metrics
    assert latest_checkpoint(ckpt).name == "step-00000015"


def test_resume_without_a_checkpoint_starts_from_scratch(bert, data, tmp_path, caplog):
    args = ftutil.train_args(epochs=1, checkpoint_dir=str(tmp_path / "none"), resume=True)
    with caplog.at_level(logging.WARNING, logger="textxfer.train.loop"):
        result = finetune(ModelArgs(str(bert)), data, args)
    assert result.global_step == 5 and "no checkpoint" in caplog.text


def test_eval_every_n_steps_and_the_best_weights_are_restored(bert, data):
    args = ftutil.train_args(epochs=2, eval_strategy="steps", eval_steps=3, best_metric="loss")
    result = finetune(ModelArgs(str(bert), dropout=0.0), data, args)
    evals = _evals(result)
    assert [r["step"] for r in evals] == [3, 6, 9, 10]  # plus the final step
    best = min(evals, key=lambda r: r["loss"])
    assert result.best_step == best["step"]
    assert result.metrics["dev"]["loss"] == pytest.approx(best["loss"], abs=1e-6)


def test_without_load_best_the_last_weights_are_kept(bert, data):
    args = ftutil.train_args(epochs=3, load_best=False, best_metric="loss", lr=0.05)
    result = finetune(ModelArgs(str(bert), dropout=0.0), data, args)
    assert result.metrics["dev"]["loss"] == pytest.approx(_evals(result)[-1]["loss"], abs=1e-6)


def test_early_stopping_has_its_own_metric_and_patience(bert, data):
    # best model on accuracy; early stopping on loss with a min_delta nothing can beat
    args = ftutil.train_args(
        epochs=10,
        early_stopping_patience=2,
        early_stopping_metric="loss",
        early_stopping_min_delta=10.0,
    )
    result = finetune(ModelArgs(str(bert)), data, args)
    assert result.stopped_early and result.global_step == 15  # evals at 5, 10, 15: 2 without gain
    assert len(_evals(result)) == 3


def test_max_steps_overrides_epochs(bert, data):
    result = finetune(
        ModelArgs(str(bert)), data, ftutil.train_args(epochs=5, max_steps=7, scheduler="linear")
    )
    assert result.global_step == 7 and result.epochs == 1.4
    train = [r for r in result.history if r["split"] == "train"]
    assert train[-1]["step"] == 7 and train[-1]["lr"] == 0.0
    assert [r["step"] for r in _evals(result)] == [5, 7]


def test_unknown_best_metric_is_refused_at_the_first_evaluation(bert, data):
    with pytest.raises(
        ConfigError,
        match=r"metric 'f1' .* not among the evaluation metrics \['accuracy', 'loss', 'macro_f1', 'n'\]",
    ):
        finetune(ModelArgs(str(bert)), data, ftutil.train_args(epochs=1, best_metric="f1"))


def test_tensorboard_tracker_writes_event_files(bert, data, tmp_path):
    pytest.importorskip("tensorboard")
    out = tmp_path / "tb"
    finetune(
        ModelArgs(str(bert)),
        data,
        ftutil.train_args(epochs=1, out=str(out), report_to="tensorboard", logging_steps=1),
    )
    events = list((out / "logs").rglob("events.out.tfevents.*"))
    assert events and events[0].stat().st_size > 0


def test_seeded_sampler_is_a_function_of_seed_and_epoch():
    sampler = SeededSampler(50, seed=3)
    first = list(sampler)
    assert sorted(first) == list(range(50)) and list(sampler) == first
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert list(SeededSampler(50, seed=4)) != first


def test_length_grouped_batches_need_less_padding():
    import random

    rng = random.Random(0)
    lengths = [rng.randint(3, 60) for _ in range(400)]

    def padded(order):
        return sum(max(lengths[i] for i in order[j : j + 8]) * 8 for j in range(0, 400, 8))

    grouped = list(SeededSampler(400, seed=0, lengths=lengths, group_size=8))
    shuffled = list(SeededSampler(400, seed=0))
    assert sorted(grouped) == list(range(400))
    assert padded(grouped) < 0.8 * padded(shuffled)
