"""The extension points: an augmentation op, a baseline and a compare method, each registered from
one place (the test module, standing in for a user's plugin), then usable from the CLI and a
compare grid without touching any other file."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pytest
import yaml

from textxfer.cli import main
from textxfer.compare.registry import (
    MethodResult,
    MethodRun,
    get_method,
    method_names,
    methods_table,
    register_method,
    unregister_method,
)
from textxfer.config import Args, field
from textxfer.data import load_data
from textxfer.errors import ConfigError
from textxfer.metrics import evaluate


def _grid(tmp_path, dataset, **values) -> str:
    config = {"dataset": str(dataset), "sizes": ["full"], "seeds": [0], **values}
    path = tmp_path / "grid.yaml"
    path.write_text(yaml.safe_dump(config))
    return str(path)


# -- an augmentation op ----------------------------------------------------------------------


class ShoutOp:
    """Upper-cases ``count`` random words."""

    contextual = False

    def __init__(self, spec, alpha):
        self.spec, self.alpha = spec, alpha

    def apply(self, text, rng):
        words = text.split()
        for i in rng.sample(range(len(words)), max(1, int(self.alpha * len(words)))):
            words[i] = words[i].upper()
        return " ".join(words)


@pytest.fixture()
def shout():
    from textxfer.augment.ops import OP_TYPES, register_op
    from textxfer.augment.recipes import BUILTIN_RECIPES, register_recipe

    register_op("shout", lambda spec, alpha, sources: ShoutOp(spec, alpha), help="upper-case words")
    register_recipe("shout", [{"op": "shout"}])
    yield
    OP_TYPES.pop("shout")
    BUILTIN_RECIPES.pop("shout")


def test_a_registered_op_runs_from_the_cli_and_a_compare_grid(shout, tiny_dataset_dir, tmp_path):
    out = tmp_path / "aug"
    assert main(["augment", str(tiny_dataset_dir), "--recipe", "shout", "--n-aug", "1",
                 "--alpha", "0.5", "--out", str(out)]) == 0  # fmt: skip
    train = pd.read_csv(out / "train.csv")
    copies = train[train["is_augmented"]]
    assert len(copies) == 20 and (copies["aug_op"] == "shout").all()
    assert all(any(w.isupper() and len(w) > 1 for w in t.split()) for t in copies["text"])
    grid = _grid(
        tmp_path, tiny_dataset_dir, methods=["tfidf-lr"], augment=["none", "shout"], n_aug=1
    )
    assert main(["compare", "--config", grid, "--out", str(tmp_path / "g")]) == 0
    table = pd.read_csv(tmp_path / "g" / "results.csv").set_index("aug")
    assert table.loc["shout", "n_train_aug"] == 40 and table.loc["shout", "status"] == "ok"


def test_a_changed_op_version_misses_the_cache(shout, tiny_dataset_dir):
    from textxfer.augment import AugmentArgs, augment_with_info
    from textxfer.augment.ops import register_op

    train = load_data(str(tiny_dataset_dir))["train"]
    first = augment_with_info(train, AugmentArgs("shout", n_aug=1))[1]
    assert augment_with_info(train, AugmentArgs("shout", n_aug=1))[1].cache_hit
    register_op("shout", lambda s, a, _: ShoutOp(s, a), version=2, replace=True)
    again = augment_with_info(train, AugmentArgs("shout", n_aug=1))[1]
    assert not again.cache_hit and again.key != first.key


# -- a baseline --------------------------------------------------------------------------------


@pytest.fixture()
def majority():
    from sklearn.dummy import DummyClassifier
    from sklearn.feature_extraction.text import CountVectorizer
    from sklearn.pipeline import Pipeline

    from textxfer.baselines import register_baseline

    def build(args):
        return Pipeline([("vectorizer", CountVectorizer()), ("clf", DummyClassifier())])

    register_baseline("toy-majority", build, adaptation="vectorizer", help="the majority class")
    yield
    unregister_method("toy-majority")


def test_a_registered_baseline_runs_from_the_cli_predict_and_a_grid(
    majority, tiny_dataset_dir, tmp_path, capsys
):
    assert "toy-majority" in method_names("baseline")
    out = tmp_path / "b"
    assert (
        main(["baseline", str(tiny_dataset_dir), "--method", "toy-majority", "--out", str(out)])
        == 0
    )
    assert "toy-majority on" in capsys.readouterr().out
    assert main(["predict", str(out), "--text", "anything at all"]) == 0
    assert capsys.readouterr().out.splitlines()[0].startswith("text,label,p_")
    grid = _grid(tmp_path, tiny_dataset_dir, methods=["toy-majority", "tfidf-lr"])
    assert main(["compare", "--config", grid, "--out", str(tmp_path / "g")]) == 0
    table = pd.read_csv(tmp_path / "g" / "results.csv").set_index("method")
    assert table.loc["toy-majority", "accuracy"] == 0.5  # 4 of 8 test rows per class
    assert "| `toy-majority` | baseline | vectorizer | the majority class |" in methods_table()


# -- a compare method with its own options ------------------------------------------------------


@dataclass
class ConstantArgs(Args):
    """Always predict one label."""

    label: int = field(0, help="label id predicted for every text")


def run_constant(run: MethodRun) -> MethodResult:
    test = run.dataset[run.eval_split]
    label = run.configs["constant"].label
    names = test.features["label"].names
    return MethodResult(evaluate(test["label"], np.full(len(test), label), names), fit_seconds=0.0)


@pytest.fixture()
def constant():
    register_method("toy-constant", kind="baseline", sections={"constant": ConstantArgs},
                    run=run_constant, help="one label for every text")  # fmt: skip
    yield
    unregister_method("toy-constant")


def test_a_registered_method_runs_in_a_grid_with_checked_options(
    constant, tiny_dataset_dir, tmp_path, capsys
):
    grid = _grid(tmp_path, tiny_dataset_dir, methods=["toy-constant"],
                 options={"toy-constant": {"label": 1}})  # fmt: skip
    assert main(["compare", "--config", grid, "--out", str(tmp_path / "g")]) == 0
    table = pd.read_csv(tmp_path / "g" / "results.csv")
    assert table["accuracy"].tolist() == [0.5] and table["status"].tolist() == ["ok"]
    typo = _grid(
        tmp_path, tiny_dataset_dir, methods=["toy-constant"], options={"toy-constant": {"lable": 1}}
    )
    assert main(["compare", "--config", typo, "--out", str(tmp_path / "h")]) == 2
    err = capsys.readouterr().err
    assert "unknown option 'lable'" in err and "did you mean 'label'" in err
    with pytest.raises(ConfigError, match="did you mean 'label'"):
        get_method("toy-constant").configs({"lable": 1})
    with pytest.raises(ConfigError, match="registered already"):
        register_method("toy-constant", kind="baseline", sections={}, run=run_constant)


def test_per_method_option_typos_are_errors_for_every_kind():
    for name, typo in (
        ("tfidf-lr", "ngram"),
        ("finetune-lora", "lora_rank"),
        ("adapt-finetune", "mlm_lr"),
    ):
        with pytest.raises(ConfigError, match=f"unknown option '{typo}'"):
            get_method(name).configs({typo: 1})
    with pytest.raises(
        ConfigError, match="option 'lora' of method 'finetune-full' is fixed to False"
    ):
        get_method("finetune-full").configs({"lora": True})


def test_later_layers_win_whether_flat_or_by_section():
    method = get_method("adapt-finetune")
    options = {"model": {"max_length": 64}, "mlm": {"max_steps": 30}, "train": {"lr": 1e-4}}
    configs = method.configs(options, smoke=True, model="my-model", seed=3)
    # the grid's model survives an options section named like the field ...
    assert configs["model"].model == "my-model" and configs["model"].max_length == 64
    # ... and smoke settings cap a sectioned option (options < smoke), the rest is kept
    assert configs["mlm"].max_steps == method.smoke["max_steps"] < 30
    assert configs["train"].lr == 1e-4 and configs["train"].seed == configs["mlm"].seed == 3
    assert method.configs(options, model="my-model")["mlm"].max_steps == 30
