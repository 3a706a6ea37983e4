"""The CLI skeleton and the dataclass -> flags/YAML machinery every subcommand uses."""

from __future__ import annotations

import argparse
import subprocess
import sys
from dataclasses import dataclass

import pytest

from textxfer.cli import main
from textxfer.config import ConfigError, add_dataclass_args, configs_from_args, field
from textxfer.data import load_data


@dataclass
class _A:
    """Section A."""

    lr: float = field(1e-3, help="learning rate")
    seed: int = field(0, help="seed")
    flag: bool = field(False, help="a switch")
    names: list[str] | None = field(None, help="names")


@dataclass
class _B:
    """Section B."""

    seed: int = field(0, help="seed")
    mode: str = field("x", help="mode")

    def __post_init__(self):
        if self.mode not in ("x", "y"):
            raise ConfigError(f"mode must be x or y, found {self.mode!r}")


def _parse(argv, tmp_yaml=None):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_dataclass_args(parser, _A, _B)
    return configs_from_args(parser.parse_args(argv), {"a": _A, "b": _B})


def test_defaults_yaml_flags_precedence(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("a:\n  lr: 0.5\nmode: y\nseed: 7\n")
    out = _parse(["--config", str(cfg), "--lr", "0.25", "--flag", "--names", "[p, q]"])
    assert out["a"].lr == 0.25 and out["a"].flag is True and out["a"].names == ["p", "q"]
    assert out["b"].mode == "y"
    assert out["a"].seed == out["b"].seed == 7  # a shared name sets every section
    assert _parse([])["a"].lr == 1e-3


def test_unknown_yaml_key_and_bad_value(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lerning_rate: 0.1\n")
    with pytest.raises(
        ConfigError, match=r"unknown option\(s\) \['lerning_rate'\].*expected some of"
    ):
        _parse(["--config", str(cfg)])
    with pytest.raises(ConfigError, match=r"mode must be x or y, found 'z'"):
        _parse(["--mode", "z"])
    with pytest.raises(ConfigError, match=r"not found; pass an existing YAML file"):
        _parse(["--config", str(tmp_path / "missing.yaml")])


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
    assert "train       20" in out and "positive: 10, negative: 10" in out


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
