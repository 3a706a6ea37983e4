"""Optimizers, schedules, gradient accumulation, class weights, layer groups, freezing,
discriminative learning rates and gradual unfreezing."""

from __future__ import annotations

import ftutil  # noqa: E402
import numpy as np
import pytest

from textxfer.config import ConfigError  # noqa: E402
from textxfer.data import DataArgs  # noqa: E402
from textxfer.finetune import finetune  # noqa: E402
from textxfer.finetune.task import ClassificationLoss, build_classifier, class_weights  # noqa: E402
from textxfer.train.args import ModelArgs  # noqa: E402
from textxfer.train.loop import Callback  # noqa: E402
from textxfer.train.optim import (  # noqa: E402
    build_optimizer,
    build_scheduler,
    freeze,
    layer_groups,
    param_groups,
)

LABELS = ["positive", "negative"]


pytestmark = pytest.mark.usefixtures("quiet_transformers")


@pytest.fixture(scope="module")
def data(data_dir) -> DataArgs:
    return DataArgs(str(data_dir))


class Recorder(Callback):
    """Keeps the parameters at train begin and the trainable names / lrs before each step."""

    def on_train_begin(self, loop):
        model = loop.accelerator.unwrap_model(loop.model)
        self.start = {n: p.detach().clone() for n, p in model.named_parameters()}
        self.trainable, self.lrs = [], []

    def on_step_end(self, loop):
        model = loop.accelerator.unwrap_model(loop.model)
        self.trainable.append({n for n, p in model.named_parameters() if p.requires_grad})
        self.lrs.append(loop.scheduler.get_last_lr())

    def changed(self, loop) -> set[str]:
        model = loop.accelerator.unwrap_model(loop.model)
        return {n for n, p in model.named_parameters() if not p.detach().equal(self.start[n])}


class KeepLoop(Recorder):
    def on_train_end(self, loop):
        self.loop = loop


def test_layer_groups_cover_every_parameter_bottom_to_top(bert):
    model, _ = build_classifier(str(bert), LABELS)
    groups = layer_groups(model)
    assert len(groups) == 4  # embeddings, layer 0, layer 1, head (pooler + classifier)
    assert all(n.startswith("bert.embeddings.") for n in groups[0])
    assert all(".layer.0." in n for n in groups[1]) and all(".layer.1." in n for n in groups[2])
    assert set(groups[3]) == {
        n for n, _ in model.named_parameters() if "pooler" in n or "classifier" in n
    }
    assert sorted(sum(groups, [])) == sorted(n for n, _ in model.named_parameters())


def test_discriminative_learning_rates_decay_per_group(bert):
    model, _ = build_classifier(str(bert), LABELS)
    groups = param_groups(model, ftutil.train_args(lr=1e-3, layer_lr_decay=0.5, weight_decay=0.1))
    lr = {g["name"]: g["lr"] for g in groups}
    assert lr == pytest.approx(
        {"head": 1e-3, "layer_1": 5e-4, "layer_0": 2.5e-4, "embeddings": 1.25e-4}
    )
    for g in groups:  # biases and LayerNorm weights are never decayed
        assert g["weight_decay"] in (0.0, 0.1)
        if g["weight_decay"]:
            assert all(p.ndim == 2 for p in g["params"])


def test_sgd_nesterov_and_schedules(bert):
    import torch

    model, _ = build_classifier(str(bert), LABELS)
    args = ftutil.train_args(optimizer="sgd", momentum=0.9, nesterov=True, lr=0.1)
    opt = build_optimizer(param_groups(model, args), args)
    assert isinstance(opt, torch.optim.SGD)
    assert opt.defaults["momentum"] == 0.9 and opt.defaults["nesterov"] is True
    adamw = build_optimizer(param_groups(model, ftutil.train_args()), ftutil.train_args())
    assert isinstance(adamw, torch.optim.AdamW) and adamw.defaults["fused"] is True  # on CPU too
    for name, mid in (("linear", 0.05), ("cosine", 0.05), ("constant", 0.1)):
        args = ftutil.train_args(lr=0.1, scheduler=name, warmup_steps=2)
        opt = build_optimizer(param_groups(model, args), args)
        sched = build_scheduler(opt, args, total_steps=12)
        lrs = []
        for _ in range(12):
            lrs.append(sched.get_last_lr()[0])
            opt.step()
            sched.step()
        assert lrs[0] == 0.0 and lrs[1] == pytest.approx(0.05) and lrs[2] == pytest.approx(0.1)
        assert lrs[7] == pytest.approx(mid)  # halfway through the 10 decay steps


def test_sgd_momentum_trains_end_to_end(bert, data):
    args = ftutil.train_args(
        optimizer="sgd", momentum=0.9, nesterov=True, lr=0.05, epochs=2, eval_strategy="no"
    )
    result = finetune(ModelArgs(str(bert)), data, args)
    assert result.global_step == 10 and np.isfinite(result.metrics["test"]["loss"])


def test_gradient_accumulation_matches_the_larger_batch(bert, data):
    """batch 2 x 2 accumulated == batch 4: same samples per optimizer step, same updates.

    Plain SGD without clipping, so a wrongly scaled accumulated gradient would show."""
    model = ModelArgs(str(bert), dropout=0.0)
    common = dict(
        epochs=2,
        scheduler="linear",
        warmup_steps=1,
        eval_strategy="no",
        optimizer="sgd",
        lr=0.5,
        weight_decay=0.0,
        max_grad_norm=None,
    )
    big = finetune(model, data, ftutil.train_args(batch_size=4, **common))
    rec = KeepLoop()
    acc = finetune(
        model, data, ftutil.train_args(batch_size=2, grad_accum=2, **common), callbacks=[rec]
    )
    assert big.global_step == acc.global_step == 10
    assert acc.metrics["test"]["loss"] == pytest.approx(big.metrics["test"]["loss"], rel=1e-4)
    # the scheduler stepped once per optimizer step: warm-up at step 1, zero after the last
    assert rec.lrs[0][0] == pytest.approx(0.5) and rec.lrs[-1][0] == 0.0
    assert len(rec.lrs) == 10


def test_accumulation_with_a_partial_last_window_counts_steps_per_epoch(bert, data):
    # 20 rows / batch 4 = 5 micro-batches; accumulating 2 gives 3 optimizer steps per epoch
    rec = KeepLoop()
    result = finetune(
        ModelArgs(str(bert)),
        data,
        ftutil.train_args(epochs=2, grad_accum=2, scheduler="linear", eval_strategy="no"),
        callbacks=[rec],
    )
    assert result.global_step == 6 and rec.loop.total_steps == 6
    assert rec.lrs[-1][0] == 0.0


def test_class_weights_balanced_and_weighted_loss():
    import torch

    w = class_weights("balanced", [0, 0, 0, 1], 2)
    assert w.tolist() == pytest.approx([4 / 6, 4 / 2])
    assert class_weights("none", [0, 1], 2) is None
    assert class_weights([1.0, 3.0], [0, 1], 2).tolist() == [1.0, 3.0]

    class Fixed(torch.nn.Module):
        def forward(self, **kwargs):
            return type("Out", (), {"logits": torch.tensor([[2.0, 0.0], [0.0, 1.0]])})()

    batch = {"input_ids": torch.zeros(2, 3), "labels": torch.tensor([1, 1]), "idx": torch.arange(2)}
    loss = ClassificationLoss(torch.tensor([1.0, 3.0]))(Fixed(), batch)
    expected = torch.nn.functional.cross_entropy(
        torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([1, 1])
    )
    assert float(loss) == pytest.approx(float(expected))  # one class in the batch: weights cancel
    batch["labels"] = torch.tensor([0, 1])
    per = torch.nn.functional.cross_entropy(
        torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 1]), reduction="none"
    )
    loss = ClassificationLoss(torch.tensor([1.0, 3.0]))(Fixed(), batch)
    assert float(loss) == pytest.approx(float((per[0] + 3 * per[1]) / 4))


def test_balanced_class_weights_train(bert, data):
    result = finetune(
        ModelArgs(str(bert)), data, ftutil.train_args(epochs=1, class_weights="balanced")
    )
    assert result.global_step == 5 and np.isfinite(result.metrics["dev"]["loss"])


def test_frozen_embeddings_and_first_layer_never_change(bert, data):
    rec = KeepLoop()
    args = ftutil.train_args(epochs=1, freeze_embeddings=True, freeze_layers=1, eval_strategy="no")
    result = finetune(ModelArgs(str(bert)), data, args, callbacks=[rec])
    changed = rec.changed(rec.loop)
    assert changed and not any("embeddings" in n or ".layer.0." in n for n in changed)
    assert any(".layer.1." in n for n in changed) and any("classifier" in n for n in changed)
    assert result.trainable_params < result.total_params


def test_freezing_more_layers_than_the_model_has_is_refused(bert):
    model, _ = build_classifier(str(bert), LABELS)
    with pytest.raises(ConfigError, match="freeze_layers=5 but the model has 2 transformer layers"):
        freeze(model, first_layers=5)


def test_gradual_unfreezing_opens_one_group_at_a_time_from_the_top(bert, data):
    rec = KeepLoop()
    args = ftutil.train_args(
        epochs=2, gradual_unfreeze=True, unfreeze_every=2, layer_lr_decay=0.5, eval_strategy="no"
    )
    finetune(ModelArgs(str(bert)), data, args, callbacks=[rec])
    counts = [sum(1 for n in names if "embeddings" in n) for names in rec.trainable]
    # trainable during steps 1-2: head only; 3-4: + layer 1; 5-6: + layer 0; 7+: + embeddings
    heads = [any("classifier" in n for n in names) for names in rec.trainable]
    layer0 = [any(".layer.0." in n for n in names) for names in rec.trainable]
    assert all(heads)
    assert layer0 == [False] * 4 + [True] * 6
    assert counts[:6] == [0] * 6 and all(c > 0 for c in counts[6:])
    changed = rec.changed(rec.loop)
    assert any("word_embeddings" in n for n in changed)  # unfrozen at the end, trained since


def test_gradual_unfreezing_default_opens_every_group_in_the_first_epoch(bert, data):
    rec = KeepLoop()
    args = ftutil.train_args(epochs=2, gradual_unfreeze=True, eval_strategy="no")
    finetune(ModelArgs(str(bert)), data, args, callbacks=[rec])
    n_params = len(rec.start)
    sizes = [len(names) for names in rec.trainable]
    assert sizes[0] < n_params and sizes[4] == n_params  # 5 steps per epoch, 4 groups
