"""The CLI skeleton: subcommands, help, data show/sample, one-line user errors, --config everywhere."""

from __future__ import annotations

import subprocess
import sys

import pytest
import yaml

from textxfer.cli import COMMAND_MODULES, build_parser, main
from textxfer.data import load_data


def test_help_lists_the_commands(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "data" in out and "predict" in out


def test_console_script_help_runs():
    result = subprocess.run(
        [sys.executable, "-m", "textxfer.cli", "data", "show", "--help"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0
    assert "--text-column" in result.stdout and "--k" in result.stdout


def test_data_show_prints_sizes_and_labels(tiny_dataset_dir, capsys):
    assert main(["data", "show", str(tiny_dataset_dir)]) == 0
    out = capsys.readouterr().out
    assert "train       20" in out and "negative: 10, positive: 10" in out


def test_data_show_json_for_sst2(shared_datasets, capsys):
    import json

    assert main(["data", "show", "sst2", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["train"]["rows"] == 6920 and summary["test"]["labels"] == {
        "positive": 909,
        "negative": 912,
    }


def test_data_sample_writes_a_loadable_few_shot_folder(tiny_dataset_dir, tmp_path, capsys):
    out = tmp_path / "few"
    assert (
        main(
            ["data", "sample", str(tiny_dataset_dir), "--k", "3", "--seed", "1", "--out", str(out)]
        )
        == 0
    )
    ds = load_data(str(out))
    assert len(ds["train"]) == 6 and len(ds["test"]) == 8
    assert "wrote" in capsys.readouterr().out


def test_user_error_is_one_line_exit_2(tmp_path, capsys):
    assert main(["data", "show", str(tmp_path / "missing")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("textxfer data: error: dataset") and "Traceback" not in err


def test_every_command_takes_config_and_the_seed_flag_says_what_it_sets():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in COMMAND_MODULES:
        command = sub.choices[name]
        if name == "data":
            command = command._subparsers._group_actions[0].choices["show"]
        flags = {opt for action in command._actions for opt in action.option_strings}
        assert {"--config", "-q", "--quiet", "-v", "--verbose"} <= flags, name
    finetune = " ".join(sub.choices["finetune"].format_help().split())
    assert "[sets data.seed, train.seed]" in finetune and "--train.seed" in finetune


def test_saved_data_sample_runs_again_and_yaml_sections_bind(tiny_dataset_dir, tmp_path, capsys):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(yaml.safe_dump({"data": {"dataset": str(tiny_dataset_dir), "k": 2, "seed": 1}}))
    assert main(["data", "sample", "--config", str(cfg), "--out", str(tmp_path / "s")]) == 0
    assert len(load_data(str(tmp_path / "s"))["train"]) == 4


def test_a_missing_dataset_is_one_clear_error(capsys):
    assert main(["data", "show"]) == 2
    assert "no dataset given" in capsys.readouterr().err


def test_version(capsys):
    from textxfer import __version__

    with pytest.raises(SystemExit):
        main(["--version"])
    assert capsys.readouterr().out.strip() == f"textxfer {__version__}"


def test_every_saved_config_runs_again_with_the_same_command(tiny_dataset_dir, tiny_bert, tmp_path):
    """data sample, augment, baseline, finetune and compare: OUT/config.yaml is a valid --config."""
    data = str(tiny_dataset_dir)
    runs = {
        "data": ["data", "sample", data, "--k", "3"],
        "augment": ["augment", data, "--recipe", "swap", "--n-aug", "1"],
        "baseline": ["baseline", data, "--method", "bow-lr", "--C", "2"],
        "finetune": ["finetune", data, "--model", str(tiny_bert), "--max-steps", "1",
                     "--eval-strategy", "no", "--progress-bar", "false"],
    }  # fmt: skip
    for name, argv in runs.items():
        first, again = tmp_path / f"{name}1", tmp_path / f"{name}2"
        assert main([*argv, "--out", str(first)]) == 0, name
        saved = yaml.safe_load((first / "config.yaml").read_text())
        command = argv[:2] if name == "data" else argv[:1]
        assert main([*command, "--config", str(first / "config.yaml"), "--out", str(again)]) == 0, (
            name
        )
        assert yaml.safe_load((again / "config.yaml").read_text()) == {
            **saved,
            **({"train": {**saved["train"], "out": str(again)}} if "train" in saved else {}),
        }, name
    grid = tmp_path / "grid"
    assert (
        main(["compare", data, "--methods", "tfidf-lr", "--sizes", "full", "--out", str(grid)]) == 0
    )
    assert main(["compare", "--config", str(grid / "config.yaml")]) == 0
