"""Config dataclasses -> flags and YAML: sections bind to their own dataclass, shared flags say what
they set, dotted flags set one section, values are type-checked with the option named."""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import pytest

from textxfer.config import (
    Args,
    add_config_args,
    build_configs,
    coerce,
    configs_from_args,
    field,
    merge_layers,
)
from textxfer.errors import ConfigError


@dataclass
class _A(Args):
    """Section A."""

    lr: float = field(1e-3, help="learning rate")
    seed: int = field(0, help="seed")
    flag: bool = field(False, help="a switch")
    names: list[str] | None = field(None, help="names")
    weights: str | list[float] = field("none", help="none or a list")


@dataclass
class _B(Args):
    """Section B."""

    seed: int = field(0, help="seed")
    mode: str = field("x", help="mode")

    def validate(self):
        if self.mode not in ("x", "y"):
            raise ConfigError(f"mode must be x or y, found {self.mode!r}")


SECTIONS = {"a": _A, "b": _B}


def _parse(argv):
    parser = argparse.ArgumentParser()
    parser.add_argument("--config")
    add_config_args(parser, SECTIONS)
    return configs_from_args(parser.parse_args(argv), SECTIONS)


def test_defaults_yaml_flags_precedence(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("a:\n  lr: 0.5\nmode: y\nseed: 7\n")
    out = _parse(["--config", str(cfg), "--lr", "0.25", "--flag", "--names", "p,q"])
    assert out["a"].lr == 0.25 and out["a"].flag is True and out["a"].names == ["p", "q"]
    assert out["b"].mode == "y"
    assert out["a"].seed == out["b"].seed == 7  # a top-level key sets every section that has it
    assert _parse([])["a"].lr == 1e-3


def test_yaml_sections_bind_to_their_own_dataclass(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("a: {seed: 1}\nb: {seed: 2}\n")
    out = _parse(["--config", str(cfg)])
    assert (out["a"].seed, out["b"].seed) == (1, 2)
    out = _parse(["--config", str(cfg), "--b.seed", "5"])
    assert (out["a"].seed, out["b"].seed) == (1, 5)  # a dotted flag sets one section
    out = _parse(["--config", str(cfg), "--seed", "9"])
    assert (out["a"].seed, out["b"].seed) == (9, 9)


def test_help_says_which_sections_a_shared_flag_sets(capsys):
    parser = argparse.ArgumentParser()
    add_config_args(parser, SECTIONS)
    text = " ".join(parser.format_help().split())
    assert "[sets a.seed, b.seed]" in text and "--b.seed" in text and "--a.lr" not in text


def test_unknown_keys_name_the_closest_option(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("lerning_rate: 0.1\n")
    with pytest.raises(ConfigError, match=r"unknown option 'lerning_rate'.*expected one of"):
        _parse(["--config", str(cfg)])
    cfg.write_text("a: {sed: 1}\n")
    with pytest.raises(
        ConfigError, match=r"unknown option 'sed' in section 'a'.*did you mean 'seed'"
    ):
        _parse(["--config", str(cfg)])
    with pytest.raises(ConfigError, match=r"mode must be x or y, found 'z'"):
        _parse(["--mode", "z"])
    with pytest.raises(ConfigError, match=r"not found; pass an existing YAML file"):
        _parse(["--config", str(tmp_path / "missing.yaml")])


@pytest.mark.parametrize(
    ("argv", "match"),
    [
        (["--seed", "abc"], r"option 'seed' \(_A\) expects an integer, found 'abc'"),
        (["--lr", "fast"], r"option 'lr' \(_A\) expects a number, found 'fast'"),
        (["--flag", "maybe"], r"option 'flag' \(_A\) expects true/false, found 'maybe'"),
        (["--weights", "[1, x]"], r"option 'weights' \(_A\) expects a string or a list of numbers"),
    ],
)
def test_wrong_types_name_the_option_and_the_type(argv, match):
    with pytest.raises(ConfigError, match=match):
        _parse(argv)


def test_yaml_values_are_type_checked_too():
    with pytest.raises(ConfigError, match=r"option 'seed' \(_A\) expects an integer, found 'abc'"):
        build_configs(SECTIONS, {"a": {"seed": "abc"}})
    with pytest.raises(ConfigError, match=r"section 'a' .* must be a mapping"):
        build_configs(SECTIONS, {"a": 3})
    with pytest.raises(ConfigError, match=r"expects an integer, found True"):
        _A(seed=True)


def test_flag_strings_convert_by_type():
    assert coerce("5e-5", float, "lr") == 5e-5
    assert coerce("[1, 3]", str | list[float], "w") == [1.0, 3.0]
    assert coerce("balanced", str | list[float], "w") == "balanced"
    assert coerce("a,b", list[str] | None, "names") == ["a", "b"]
    assert coerce("null", int | None, "k") is None
    assert coerce(0, list[int], "seeds") == [0]
    assert coerce("{x: 1}", dict, "options") == {"x": 1}


def test_args_from_yaml_reads_flat_or_its_section(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text("b: {mode: y, seed: 3}\n")
    assert _B.from_yaml(cfg, section="b").mode == "y"
    cfg.write_text("mode: y\n")
    assert _B.from_yaml(cfg, seed=4).seed == 4


def test_merge_layers_lets_a_later_layer_win_flat_or_by_section():
    from textxfer.adapt.args import AdaptArgs, MLMTrainArgs
    from textxfer.train.args import ModelArgs

    sections = {"model": ModelArgs, "adapt": AdaptArgs, "mlm": MLMTrainArgs}
    merged = merge_layers(
        sections,
        [{"model": "my-model", "seed": 3}, {"model": {"max_length": 64}, "mlm": {"max_steps": 30}},
         {"max_steps": 2}],
    )  # fmt: skip
    assert merged["model"]["model"] == "my-model" and merged["model"]["max_length"] == 64
    assert merged["mlm"]["max_steps"] == 2 and merged["mlm"]["seed"] == 3
    with pytest.raises(ConfigError, match="unknown option 'max_step'"):
        merge_layers(sections, [{"max_step": 2}])
