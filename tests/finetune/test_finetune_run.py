"""finetune(): outputs, loading them back (pipeline, predictor, CLI), data inputs, CLI, recipe, presets."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import ftutil  # noqa: E402
import pytest
import yaml

from textxfer.cli import main as cli_main  # noqa: E402
from textxfer.commands.finetune import SECTIONS  # noqa: E402
from textxfer.config import ConfigError, build_configs, load_yaml  # noqa: E402
from textxfer.data import DataArgs, load_data  # noqa: E402
from textxfer.data.readers import DataError  # noqa: E402
from textxfer.finetune import finetune  # noqa: E402
from textxfer.train.args import LoraArgs, ModelArgs, TrainArgs  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
PRESETS = {
    name: ROOT / "recipes" / "configs" / f"{name}.yaml"
    for name in ("full", "lora", "sgd-momentum", "ulmfit")
}


pytestmark = pytest.mark.usefixtures("quiet_transformers")


@pytest.fixture(scope="module")
def full_run(bert, data_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("ft_full") / "model"
    args = ftutil.train_args(out=str(out), logging_steps=5, **ftutil.LEARNS)
    result = finetune(ModelArgs(str(bert), dropout=0.0), DataArgs(str(data_dir)), args)
    return result, out


def test_full_finetune_fits_the_training_rows(full_run):
    result, out = full_run
    assert result.method == "full"
    assert result.output_dir == str(out)
    assert result.metrics["dev"]["accuracy"] == 1.0  # dev rows are training rows
    assert result.metrics["test"]["n"] == 8 and result.metrics["dev"]["n"] == 8
    assert result.trainable_params == result.total_params > 10_000
    assert result.global_step == 60 and result.epochs == 12  # 20 rows / batch 4 = 5 steps per epoch
    assert result.best_step in range(5, 61, 5)  # evaluated at epoch ends
    losses = [r["loss"] for r in result.history if r["split"] == "train"]
    assert len(losses) == 12 and losses[-1] < losses[0] / 5
    assert result.train_seconds > 0


def test_output_folder_has_model_tokenizer_metrics_log_and_config(full_run):
    result, out = full_run
    for name in (
        "config.json",
        "model.safetensors",
        "tokenizer.json",
        "textxfer.json",
        "metrics.json",
        "train_log.jsonl",
        "config.yaml",
    ):
        assert (out / name).is_file(), name
    assert not (out / "adapter").exists()
    info = json.loads((out / "textxfer.json").read_text())
    assert info["kind"] == "finetune" and info["method"] == "full"
    assert info["label_names"] == ["negative", "positive"]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["test"]["accuracy"] == result.metrics["test"]["accuracy"]
    assert metrics["best_step"] == result.best_step
    assert metrics["best_dev"]["accuracy"] == max(
        r["accuracy"] for r in result.history if r["split"] == "eval"
    )
    records = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [r["split"] for r in records].count("eval") == 12
    assert records == json.loads(json.dumps(result.history))
    config = yaml.safe_load((out / "config.yaml").read_text())
    rebuilt = build_configs(SECTIONS, config)
    assert rebuilt["train"].lr == 3e-3 and rebuilt["train"].epochs == 12
    assert rebuilt["model"].dropout == 0.0 and not (out.parent / "model.checkpoints").exists()


def test_pipeline_and_predictor_load_the_output_with_real_label_names(full_run, data_dir):
    from transformers import pipeline

    from textxfer.predict import load_predictor

    _, out = full_run
    dev = load_data(str(data_dir))["dev"]
    names = dev.features["label"].names
    texts, gold = list(dev["text"]), [names[i] for i in dev["label"]]
    pipe = pipeline("text-classification", model=str(out))
    assert [p["label"] for p in pipe(texts)] == gold
    predictor = load_predictor(out)
    assert predictor.label_names == names
    assert predictor.predict(texts) == gold
    proba = predictor.predict_proba(texts)
    assert proba.shape == (8, 2) and proba.sum(axis=1) == pytest.approx(1.0)


def test_predict_cli_reads_the_saved_model(full_run, capsys):
    _, out = full_run
    text = "the best movie i have seen this year"
    assert cli_main(["predict", str(out), "--text", text]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0] == "text,label,p_negative,p_positive"
    assert lines[1].startswith(f"{text},positive,")


def test_finetune_takes_a_loaded_dataset_with_extra_columns(bert, data_dir):
    ds = load_data(str(data_dir))
    ds["train"] = ds["train"].select(range(12)).add_column("source", ["aug"] * 12)
    result = finetune(ModelArgs(str(bert)), None, ftutil.train_args(epochs=1), dataset=ds)
    assert result.global_step == 3 and result.output_dir is None
    assert result.metrics["test"]["n"] == 8


def test_finetune_rejects_a_dataset_without_dev_and_test(bert, data_dir):
    ds = load_data(str(data_dir))
    del ds["dev"], ds["test"]
    with pytest.raises(DataError, match=r"missing \['dev', 'test'\]"):
        finetune(ModelArgs(str(bert)), None, ftutil.train_args(), dataset=ds)


def test_finetune_needs_data_args_or_dataset(bert):
    with pytest.raises(ConfigError, match="needs data_args or dataset="):
        finetune(ModelArgs(str(bert)), None, ftutil.train_args())


@pytest.mark.parametrize(
    ("cls", "values", "message"),
    [
        (
            TrainArgs,
            {"optimizer": "adam"},
            r"optimizer must be one of \['adamw', 'sgd'\], found 'adam'",
        ),
        (TrainArgs, {"nesterov": True}, r"nesterov=True needs optimizer 'sgd' with momentum > 0"),
        (TrainArgs, {"momentum": 0.9}, r"momentum=0.9 is only used by optimizer 'sgd'"),
        (TrainArgs, {"scheduler": "step"}, r"scheduler must be one of"),
        (
            TrainArgs,
            {"mixed_precision": "fp8"},
            r"mixed_precision must be one of \['no', 'fp16', 'bf16'\]",
        ),
        (TrainArgs, {"eval_strategy": "steps"}, r"needs eval_steps; pass --eval-steps"),
        (TrainArgs, {"save_strategy": "steps"}, r"needs save_steps; pass --save-steps"),
        (
            TrainArgs,
            {"early_stopping_patience": 2, "eval_strategy": "no"},
            r"eval_strategy is 'no'",
        ),
        (TrainArgs, {"layer_lr_decay": 0.0}, r"layer_lr_decay must be in \(0, 1\]"),
        (TrainArgs, {"warmup_ratio": 1.5}, r"warmup_ratio must be in \[0, 1\)"),
        (
            TrainArgs,
            {"class_weights": "inverse"},
            r"class_weights must be one of \['none', 'balanced'\]",
        ),
        (TrainArgs, {"class_weights": [1, -1]}, r"class_weights must all be > 0"),
        (TrainArgs, {"lr": 0}, r"lr must be > 0"),
        (TrainArgs, {"batch_size": 0}, r"batch_size must be >= 1, found 0"),
        (TrainArgs, {"max_steps": 0}, r"max_steps must be >= 1 or null"),
        (TrainArgs, {"adam_betas": [0.9]}, r"adam_betas must be two numbers"),
        (TrainArgs, {"max_grad_norm": 0}, r"pass --max-grad-norm null to disable"),
        (TrainArgs, {"report_to": "neptune"}, r"report_to must be one of"),
        (LoraArgs, {"lora_r": 0}, r"lora_r must be >= 1"),
        (LoraArgs, {"lora_dropout": 1.0}, r"lora_dropout must be in \[0, 1\)"),
        (LoraArgs, {"lora_bias": "some"}, r"lora_bias must be one of"),
        (LoraArgs, {"lora_target_modules": []}, r"lora_target_modules must be a non-empty list"),
        (ModelArgs, {"dropout": 1.5}, r"dropout must be in \[0, 1\) or null"),
        (ModelArgs, {"max_length": 1}, r"max_length must be >= 2"),
    ],
)
def test_bad_config_values_are_refused_with_the_fix(cls, values, message):
    with pytest.raises(ConfigError, match=message):
        cls(**values)


def test_class_weights_must_match_the_labels(bert, data_dir):
    with pytest.raises(ConfigError, match="class_weights has 3 values but the data has 2 labels"):
        finetune(
            ModelArgs(str(bert)),
            DataArgs(str(data_dir)),
            ftutil.train_args(class_weights=[1, 2, 3]),
        )


def test_trackers_and_checkpoints_need_a_folder(bert, data_dir):
    with pytest.raises(ConfigError, match="no folder for them; pass --out or --checkpoint-dir"):
        finetune(
            ModelArgs(str(bert)),
            DataArgs(str(data_dir)),
            ftutil.train_args(report_to="tensorboard"),
        )
    with pytest.raises(ConfigError, match="need a folder; pass --out or --checkpoint-dir"):
        finetune(
            ModelArgs(str(bert)),
            DataArgs(str(data_dir)),
            ftutil.train_args(save_strategy="steps", save_steps=2),
        )


def test_every_preset_loads_into_the_config_dataclasses():
    configs = {
        n: build_configs(SECTIONS, {**load_yaml(p), "dataset": "sst2"}, source=str(p))
        for n, p in PRESETS.items()
    }
    assert not configs["full"]["lora"].lora and configs["full"]["train"].optimizer == "adamw"
    assert configs["lora"]["lora"].lora and configs["lora"]["lora"].lora_r == 8
    sgd = configs["sgd-momentum"]["train"]
    assert (sgd.optimizer, sgd.momentum, sgd.nesterov) == ("sgd", 0.9, True)
    ulmfit = configs["ulmfit"]["train"]
    assert ulmfit.gradual_unfreeze and ulmfit.layer_lr_decay < 1.0
    assert all(c["model"].model == "default" for c in configs.values())


def test_cli_finetune_with_a_preset_and_flag_overrides(bert, data_dir, tmp_path, capsys):
    out = tmp_path / "lora-run"
    flags = "--epochs 1 --batch-size 4 --max-length 32 --lr 2e-3 --lora-r 4 --progress-bar false"
    preset = str(ROOT / "recipes/configs/lora.yaml")
    argv = ["finetune", str(data_dir), "--config", preset, "--model", str(bert), "--out", str(out)]
    assert cli_main([*argv, *flags.split()]) == 0
    printed = capsys.readouterr().out
    assert "method: lora" in printed and "test  accuracy" in printed
    config = yaml.safe_load((out / "config.yaml").read_text())
    assert config["train"]["lr"] == 2e-3 and config["train"]["epochs"] == 1  # YAML < flags
    assert config["train"]["warmup_ratio"] == 0.1  # from the preset
    assert (config["lora"]["lora_r"], config["lora"]["lora_alpha"]) == (4, 16)
    assert config["lora"]["lora"] is True and (out / "adapter" / "adapter_config.json").is_file()


def test_cli_finetune_bad_value_is_a_one_line_error(data_dir, capsys):
    assert cli_main(["finetune", str(data_dir), "--optimizer", "adam"]) == 2
    assert "optimizer must be one of" in capsys.readouterr().err


def test_recipe_main_runs_the_ulmfit_preset(bert, data_dir, tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("recipe_finetune", ROOT / "recipes/finetune.py")
    recipe = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(recipe)
    out = tmp_path / "ulmfit"
    preset = str(ROOT / "recipes/configs/ulmfit.yaml")
    flags = "--epochs 2 --batch-size 4 --progress-bar false".split()
    assert (
        recipe.main(
            [str(data_dir), "--config", preset, "--model", str(bert), "--out", str(out), *flags]
        )
        == 0
    )
    assert "method: full" in capsys.readouterr().out
    assert json.loads((out / "metrics.json").read_text())["global_step"] == 10
    train = yaml.safe_load((out / "config.yaml").read_text())["train"]
    assert train["gradual_unfreeze"] is True and train["layer_lr_decay"] == 0.8
