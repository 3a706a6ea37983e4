"""The defaults rule (method-aware lr, epochs, warm-up, evaluation), lr auto and training from scratch."""

from __future__ import annotations

import json
import logging

import ftutil  # noqa: E402
import pytest
import torch
import yaml

from textxfer.cli import main as cli_main
from textxfer.config import ConfigError
from textxfer.data import DataArgs
from textxfer.finetune import finetune
from textxfer.finetune.task import build_classifier
from textxfer.train.args import LoraArgs, ModelArgs, TrainArgs
from textxfer.train.defaults import resolve_train_args, steps_per_epoch

pytestmark = pytest.mark.usefixtures("quiet_transformers")


# --- the rule ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("regime", "n", "lr", "epochs", "evals"),
    [
        ("full", 500, 5e-5, 10, ("epoch", None)),  # 32 steps per epoch -> ceil(300 / 32)
        ("lora", 500, 1e-3, 10, ("epoch", None)),
        ("scratch", 6920, 1e-4, 3, ("epoch", None)),  # 433 steps per epoch: 3 epochs
        ("lora", 16, 1e-3, 300, ("steps", 30)),  # 1 step per epoch: 300 epochs, 10 evaluations
        ("full", 100, 5e-5, 43, ("steps", 31)),  # 7 per epoch: 301 steps, every 31
    ],
)
def test_rule_fills_lr_epochs_warmup_and_eval_cadence(regime, n, lr, epochs, evals):
    args, notes = resolve_train_args(TrainArgs(), regime, n_train=n)
    assert (args.lr, args.epochs, args.warmup_ratio) == (lr, epochs, 0.1)
    assert (args.eval_strategy, args.eval_steps) == evals
    assert set(notes) >= {"lr", "epochs", "warmup_ratio", "eval_strategy"}
    assert notes["lr"] == {"value": lr, "rule": f"{regime} default"}


def test_rule_keeps_given_values_and_counts_processes_and_accumulation():
    given = TrainArgs(lr=2e-5, epochs=2, warmup_ratio=0.0, eval_strategy="no")
    args, notes = resolve_train_args(given, "lora", n_train=500)
    assert (args.lr, args.epochs, args.warmup_ratio, args.eval_strategy) == (2e-5, 2, 0.0, "no")
    assert notes == {}
    assert steps_per_epoch(500, 16, processes=2, grad_accum=2) == 8  # 16 batches of 32, 2 per step
    assert resolve_train_args(TrainArgs(), "full", 500, processes=2)[0].epochs == 19  # 16 per epoch
    capped, notes = resolve_train_args(TrainArgs(max_steps=64), "full", 500)
    assert capped.epochs == 2 and "max_steps" in notes["epochs"]["rule"]


def test_lora_at_a_full_finetuning_rate_warns(caplog):
    with caplog.at_level(logging.WARNING, logger="textxfer.train.defaults"):
        resolve_train_args(TrainArgs(lr=5e-5), "lora", 500)
    assert "LoRA at lr 5e-05: that is a full-fine-tuning rate" in caplog.text
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="textxfer.train.defaults"):
        resolve_train_args(TrainArgs(), "lora", 500)
        resolve_train_args(TrainArgs(lr=5e-5), "full", 500)
    assert caplog.text == ""


@pytest.mark.parametrize(
    ("values", "match"),
    [
        ({"lr": "fast"}, "lr must be a number, auto or null, found 'fast'"),
        ({"lr": 0}, "lr must be > 0"),
        ({"lr_candidates": []}, "lr_candidates must be a non-empty list"),
        ({"eval_strategy": "sometimes"}, "eval_strategy must be one of"),
    ],
)
def test_bad_lr_settings_are_refused(values, match):
    with pytest.raises(ConfigError, match=match):
        TrainArgs(**values)


def test_flag_values_of_lr_become_numbers_or_auto():
    assert TrainArgs(lr="3e-4").lr == 3e-4 and TrainArgs(lr="AUTO").lr == "auto"


# --- the CLI prints the filled-in values and config.yaml reproduces the run ---------------------------


def test_cli_lora_prints_and_records_the_defaults_and_the_config_runs_again(
    bert, data_dir, tmp_path, capsys
):
    out = tmp_path / "lora"
    base = ["finetune", str(data_dir), "--model", str(bert), "--progress-bar", "false"]
    assert cli_main([*base, "--lora", "--max-steps", "6", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "defaults: lr 0.001 (lora default); epochs 3 (max_steps / steps per epoch)" in printed
    assert "warmup_ratio 0.1 (default); eval_strategy epoch (<= 10 epochs)" in printed
    saved = yaml.safe_load((out / "config.yaml").read_text())["train"]
    assert (saved["lr"], saved["epochs"], saved["warmup_ratio"]) == (0.001, 3, 0.1)
    assert saved["eval_strategy"] == "epoch"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["settings"]["lr"] == {"value": 0.001, "rule": "lora default"}
    again = tmp_path / "again"
    assert cli_main(["finetune", "--config", str(out / "config.yaml"), "--out", str(again)]) == 0
    assert "defaults: none (every setting was given)" in capsys.readouterr().out
    rerun = json.loads((again / "metrics.json").read_text())
    assert rerun["test"]["accuracy"] == metrics["test"]["accuracy"]
    assert rerun["dev"]["loss"] == pytest.approx(metrics["dev"]["loss"], abs=1e-6)


def test_cli_defaults_train_at_least_300_steps_on_a_tiny_set(bert, data_dir, tmp_path, capsys):
    out = tmp_path / "full"
    argv = ["finetune", str(data_dir), "--model", str(bert), "--progress-bar", "false"]
    assert cli_main([*argv, "--batch-size", "8", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    # 20 rows / batch 8 = 3 steps per epoch -> 100 epochs, evaluated 10 times
    assert "epochs 100 (max(3, ceil(300 steps / 3 per epoch)))" in printed
    assert "eval_strategy steps (> 10 epochs: 10 evaluations); eval_steps 30" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["global_step"] == 300
    assert metrics["best_step"] in range(30, 301, 30)


# --- lr auto ----------------------------------------------------------------------------------------


def test_probe_picks_the_best_dev_score_ties_by_loss_and_never_outruns_the_run():
    from textxfer.train.lr_probe import probe_lr

    seen = []

    def score(args):
        seen.append((args.lr, args.max_steps, args.eval_strategy, args.out, args.load_best))
        return {"accuracy": 0.9 if args.lr > 1e-4 else 0.5, "loss": 1.0 / args.lr}

    args = TrainArgs(lr="auto", lr_candidates=[3e-3, 1e-5, 1e-3], lr_probe_steps=40, out="x")
    probe = probe_lr(args, "lora", score, total_steps=25)
    assert [s[0] for s in seen] == [1e-5, 1e-3, 3e-3]  # sorted
    assert {s[1:] for s in seen} == {(25, "no", None, False)}  # short, no eval, nothing saved
    assert probe.chosen == 3e-3  # 1e-3 and 3e-3 tie on accuracy; 3e-3 has the lower dev loss
    assert "*     0.003" in probe.format() and "chosen lr: 0.003" in probe.format()
    with pytest.raises(ConfigError, match="best_metric 'f1', which is not among the dev metrics"):
        probe_lr(TrainArgs(lr="auto", best_metric="f1"), "full", score)


def _auto(bert, data_dir, **train):
    args = ftutil.train_args(lr="auto", lr_probe_steps=4, max_steps=5, **train)
    return finetune(ModelArgs(str(bert)), DataArgs(str(data_dir)), args, LoraArgs(lora=True))


def test_lr_auto_probes_the_candidates_on_dev_and_is_deterministic(bert, data_dir):
    first = _auto(bert, data_dir)
    second = _auto(bert, data_dir)
    probe = first.settings["lr_probe"]
    assert [r["lr"] for r in probe["table"]] == [3e-4, 1e-3, 3e-3]  # LoRA default x 0.3, 1, 3
    assert probe["steps"] == 4 and probe["metric"] == "accuracy"
    assert len({r["loss"] for r in probe["table"]}) == 3  # each rate really trained
    best = min(probe["table"], key=lambda r: (-r["accuracy"], r["loss"], r["lr"]))
    assert probe["chosen"] == best["lr"] == first.settings["lr"]["value"]
    assert first.settings["lr"]["rule"] == "auto: probe on dev"
    assert second.settings == first.settings  # same seed: same table, same choice
    assert second.metrics["test"] == first.metrics["test"]


def test_lr_auto_with_given_candidates_records_the_choice(bert, data_dir, tmp_path, capsys):
    out = tmp_path / "auto"
    argv = ["finetune", str(data_dir), "--model", str(bert), "--lr", "auto", "--max-steps", "4",
            "--lr-probe-steps", "3", "--lr-candidates", "[1e-5,3e-3]", "--out", str(out),
            "--progress-bar", "false"]  # fmt: skip
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "lr probe: 3 steps per rate, scored on dev accuracy" in printed
    metrics = json.loads((out / "metrics.json").read_text())
    chosen = metrics["settings"]["lr_probe"]["chosen"]
    assert chosen in (1e-5, 3e-3) and f"chosen lr: {chosen:g}" in printed
    assert yaml.safe_load((out / "config.yaml").read_text())["train"]["lr"] == chosen


# --- training from scratch --------------------------------------------------------------------------


def test_scratch_weights_are_random_seeded_and_never_loaded(bert, monkeypatch):
    from transformers import AutoModelForSequenceClassification

    pretrained, _ = build_classifier(str(bert), ["negative", "positive"])
    reference = {k: v.clone() for k, v in pretrained.base_model.state_dict().items()}

    def refuse(*args, **kwargs):
        raise AssertionError("from_scratch must not load pretrained weights")

    monkeypatch.setattr(AutoModelForSequenceClassification, "from_pretrained", refuse)
    torch.manual_seed(0)
    scratch, new_keys = build_classifier(str(bert), ["negative", "positive"], from_scratch=True)
    torch.manual_seed(0)
    again, _ = build_classifier(str(bert), ["negative", "positive"], from_scratch=True)
    assert type(scratch) is type(pretrained)
    assert set(new_keys) == {n for n, _ in scratch.named_parameters()}  # everything is new
    state = scratch.base_model.state_dict()
    assert state.keys() == reference.keys()
    matrices = [k for k, v in reference.items() if v.ndim == 2]
    assert all(not torch.allclose(state[k], reference[k]) for k in matrices)
    assert all(torch.equal(v, again.base_model.state_dict()[k]) for k, v in state.items())


def test_finetune_from_scratch_trains_saves_and_predicts(bert, data_dir, tmp_path, capsys):
    out = tmp_path / "scratch"
    argv = ["finetune", str(data_dir), "--model", str(bert), "--from-scratch", "--max-steps", "5",
            "--out", str(out), "--progress-bar", "false"]  # fmt: skip
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert "method: scratch" in printed and "lr 0.0001 (scratch default)" in printed
    info = json.loads((out / "textxfer.json").read_text())
    assert info["from_scratch"] is True
    assert cli_main(["predict", str(out), "--text", "a great film"]) == 0
    assert capsys.readouterr().out.strip()


def test_scratch_with_lora_is_refused(bert, data_dir):
    with pytest.raises(ConfigError, match="drop --lora or --from-scratch"):
        finetune(
            ModelArgs(str(bert), from_scratch=True), DataArgs(str(data_dir)),
            ftutil.train_args(max_steps=1), LoraArgs(lora=True),
        )  # fmt: skip


# --- the defaults table recipe ----------------------------------------------------------------------


def test_defaults_table_recipe_runs_the_plain_commands_and_resumes(
    bert, data_dir, tmp_path, capsys
):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "recipes" / "defaults_table.py"
    spec = importlib.util.spec_from_file_location("defaults_table", path)
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    argv = ["--datasets", str(data_dir), "--sizes", "12,full", "--model", str(bert),
            "--methods", "finetune-lora,scratch", "--out", str(tmp_path / "t"),
            "--extra", "--max-steps 2 --progress-bar false"]  # fmt: skip
    assert recipe.main(argv) == 0
    printed = capsys.readouterr().out
    assert (
        f"$ textxfer finetune {data_dir} --lora --out" in printed and "--train-limit 12" in printed
    )
    table = (tmp_path / "t" / "table.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith(f"| {data_dir} |")]
    assert len(rows) == 6  # 2 sizes x (tfidf-lr + 2 methods)
    assert (
        f"| {data_dir} | 12 | scratch |" in table and f"| {data_dir} | full | tfidf-lr |" in table
    )
    assert "runs beat tfidf-lr" in printed
    assert recipe.main(argv) == 0  # every run is finished: nothing runs again
    assert "$ textxfer" not in capsys.readouterr().out
