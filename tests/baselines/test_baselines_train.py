"""train_baseline, save -> load -> identical predictions, the CLI end to end, the recipe, --augment."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
import types
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from textxfer.baselines import BaselineArgs, train_baseline
from textxfer.cli import main
from textxfer.data import load_data
from textxfer.data.readers import DataError
from textxfer.metrics import evaluate
from textxfer.predict import load_predictor

RECIPE = Path(__file__).resolve().parents[2] / "recipes" / "baseline.py"


@pytest.fixture(scope="module")
def tiny_ds(tiny_dataset_dir):
    return load_data(str(tiny_dataset_dir))


def _w2v(**kw) -> BaselineArgs:
    return BaselineArgs("w2v-lr", w2v_size=16, w2v_epochs=5, seed=0, **kw)


def test_train_baseline_result(tiny_ds):
    result = train_baseline(BaselineArgs("tfidf-lr"), tiny_ds)
    test = tiny_ds["test"]
    assert result.label_names == ["negative", "positive"]
    assert result.predictions.shape == (8,) and result.n_train == 20
    assert result.metrics == evaluate(test["label"], result.predictions, result.label_names)
    assert result.metrics["accuracy"] == 1.0  # test rows are train rows here
    np.testing.assert_allclose(result.probabilities.sum(axis=1), 1.0)
    assert result.fit_seconds > 0 and result.out_dir is None
    dev = train_baseline(BaselineArgs("tfidf-svm"), tiny_ds, eval_split="dev")
    assert dev.metrics["n"] == 8 and dev.probabilities is None  # LinearSVC has no predict_proba


def _subset(ds, split, rows):
    import datasets

    return datasets.DatasetDict({**ds, split: ds[split].select(rows)})


def test_train_baseline_bad_inputs(tiny_ds):
    with pytest.raises(DataError, match=r"the train split is empty \(0 rows\)"):
        train_baseline(BaselineArgs(), _subset(tiny_ds, "train", []))
    only_positive = [i for i, y in enumerate(tiny_ds["train"]["label"]) if y == 0]
    single = _subset(tiny_ds, "train", only_positive)
    with pytest.raises(DataError, match="single class"):
        train_baseline(BaselineArgs(), single)
    # Train with one class removed while the evaluation split still has it.
    three = _three_class(tiny_ds)
    with pytest.raises(
        DataError, match=r"labels \['neutral'\] occur in the test split but never in train"
    ):
        train_baseline(BaselineArgs(), three)
    with pytest.raises(
        DataError, match=r"expected the splits \['train', 'validation'\], missing \['validation'\]"
    ):
        train_baseline(BaselineArgs(), tiny_ds, eval_split="validation")


def _three_class(ds):
    import datasets

    features = datasets.Features(
        {
            "text": datasets.Value("string"),
            "label": datasets.ClassLabel(names=["positive", "negative", "neutral"]),
        }
    )
    test = {"text": ["it is a film", "a good film"], "label": [2, 0]}
    return datasets.DatasetDict(
        {
            "train": ds["train"].cast(features),
            "test": datasets.Dataset.from_dict(test, features=features),
        }
    )


@pytest.mark.parametrize("method", ["tfidf-lr", "tfidf-svm", "w2v-lr", "features-lr"])
def test_save_load_identical_predictions(method, tiny_ds, tiny_bert, tmp_path):
    args = _w2v() if method == "w2v-lr" else BaselineArgs(method, model=str(tiny_bert))
    out = tmp_path / "run"
    result = train_baseline(args, tiny_ds, out_dir=out, config={"note": {"who": "test"}})
    assert result.out_dir == out
    info = json.loads((out / "textxfer.json").read_text())
    assert info["kind"] == "baseline" and info["method"] == method
    assert info["label_names"] == ["negative", "positive"]
    if method == "features-lr":
        assert info["encoder"] == "encoder"
        shutil.rmtree(tiny_bert)  # the saved folder must not need the original model folder
    texts = list(tiny_ds["test"]["text"]) + ["an unseen zzz text"]
    predictor = load_predictor(out)
    expected = [result.label_names[i] for i in result.pipeline.predict(texts)]
    assert predictor.predict(texts) == expected
    proba = predictor.predict_proba(texts)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert [predictor.label_names[i] for i in proba.argmax(1)] == expected
    if result.probabilities is not None:
        np.testing.assert_allclose(proba[:-1], result.probabilities, atol=1e-6)
    frame = pd.read_csv(out / "predictions.csv")
    assert frame["predicted"].tolist() == expected[:-1]
    assert ("p_positive" in frame.columns) == (result.probabilities is not None)
    assert "note:\n  who: test" in (out / "config.yaml").read_text()


def test_predictor_rejects_unseen_labels(tiny_ds, tmp_path):
    train_baseline(BaselineArgs(), tiny_ds, out_dir=tmp_path / "run")
    predictor = load_predictor(tmp_path / "run")
    texts = tiny_ds["test"]["text"][:2]
    assert predictor.evaluate(texts, ["negative", "positive"])["n"] == 2
    with pytest.raises(DataError, match=r"labels \['neutral'\] were never seen in training"):
        predictor.evaluate(texts, ["positive", "neutral"])
    with pytest.raises(DataError, match="single string"):
        predictor.predict("a text")


def test_cli_baseline_then_predict(tiny_dataset_dir, tmp_path, capsys):
    out = tmp_path / "cli"
    argv = [
        "baseline",
        str(tiny_dataset_dir),
        "--method",
        "tfidf-lr",
        "--C",
        "3",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    assert "tfidf-lr on" in capsys.readouterr().out
    assert sorted(p.name for p in out.iterdir()) == [
        "README.md",  # the model card
        "config.yaml",
        "metrics.json",
        "pipeline.skops",
        "predictions.csv",
        "run.log",  # the command's log (textxfer.console)
        "textxfer.json",
        "vocabularies.json",
    ]
    terms = json.loads((out / "vocabularies.json").read_text())  # kept out of the skops file
    vectorizer = load_predictor(out).pipeline.named_steps["vectorizer"]
    assert len(terms) == 1 and vectorizer.transform(["x"]).shape[1] == len(terms[0]) > 10
    assert vectorizer.vocabulary_ == {t: i for i, t in enumerate(terms[0])}
    metrics = json.loads((out / "metrics.json").read_text())
    frame = pd.read_csv(out / "predictions.csv")
    assert metrics["accuracy"] == (frame["gold"] == frame["predicted"]).mean()
    assert metrics["method"] == "tfidf-lr" and metrics["fit_seconds"] > 0
    texts = ["a great film", "a dull lifeless film"]
    assert main(["predict", str(out), "--text", texts[0], "--text", texts[1]]) == 0
    printed = pd.read_csv(__import__("io").StringIO(capsys.readouterr().out))
    assert printed["label"].tolist() == load_predictor(out).predict(texts)
    # The written config.yaml reproduces the run.
    again = tmp_path / "again"
    assert (
        main(
            [
                "baseline",
                str(tiny_dataset_dir),
                "--config",
                str(out / "config.yaml"),
                "--out",
                str(again),
            ]
        )
        == 0
    )
    assert json.loads((again / "metrics.json").read_text())["per_class"] == metrics["per_class"]
    assert "C: 3.0" in (again / "config.yaml").read_text()


def test_cli_features_with_cache_and_errors(tiny_dataset_dir, tiny_bert, tmp_path, capsys):
    cache = tmp_path / "cache"
    argv = [
        "baseline",
        str(tiny_dataset_dir),
        "--method",
        "features-svm",
        "--model",
        str(tiny_bert),
    ]
    assert main([*argv, "--feature-cache-dir", str(cache), "--out", str(tmp_path / "f")]) == 0
    assert len(list(cache.glob("features-*.npy"))) == 2  # train and test features
    assert (tmp_path / "f" / "encoder" / "config.json").is_file()
    assert main([*argv, "--method", "bert-lr", "--out", str(tmp_path / "x")]) == 2
    assert "error: unknown baseline method 'bert-lr'; expected one of" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def _load_recipe():
    spec = importlib.util.spec_from_file_location("recipe_baseline", RECIPE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_recipe_compares_methods(tiny_dataset_dir, tiny_bert, tmp_path, capsys):
    recipe = _load_recipe()
    out = tmp_path / "cmp"
    argv = [str(tiny_dataset_dir), "--method", "tfidf-lr,w2v-lr,features-lr", "--out", str(out)]
    assert recipe.main([*argv, "--model", str(tiny_bert), "--w2v-size", "16"]) == 0
    table = pd.read_csv(out / "summary.csv")
    assert table["method"].tolist() == ["tfidf-lr", "w2v-lr", "features-lr"]
    assert table["n_eval"].tolist() == [8, 8, 8] and table["accuracy"].between(0, 1).all()
    for method in table["method"]:
        saved = json.loads((out / method / "metrics.json").read_text())
        assert saved["accuracy"] == table.set_index("method").loc[method, "accuracy"]
    assert "features-lr" in capsys.readouterr().out
    assert recipe.main([str(tiny_dataset_dir), "--method", "nope", "--out", str(out)]) == 2
    assert "unknown baseline method 'nope'" in capsys.readouterr().err


def test_augment_wiring_grows_only_train(tiny_ds, monkeypatch):
    """--augment calls textxfer.augment.augment(train, recipe, n_aug=, seed=, num_proc=1)."""
    calls = []

    def fake_augment(ds, recipe, n_aug, seed, num_proc):
        calls.append((len(ds), recipe, n_aug, seed, num_proc))
        import datasets

        return datasets.concatenate_datasets([ds] * (n_aug + 1))

    monkeypatch.setitem(
        sys.modules, "textxfer.augment", types.SimpleNamespace(augment=fake_augment)
    )
    result = train_baseline(BaselineArgs(augment="eda", n_aug=2, seed=7), tiny_ds)
    assert calls == [(20, "eda", 2, 7, 1)]
    assert result.n_train == 60 and result.metrics["n"] == 8


def test_cli_augment_with_real_module(tiny_dataset_dir, tmp_path, monkeypatch):
    pytest.importorskip("textxfer.augment", reason="textxfer.augment is not in this checkout")
    monkeypatch.setenv("TEXTXFER_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "aug"
    argv = [
        "baseline",
        str(tiny_dataset_dir),
        "--augment",
        "eda",
        "--n-aug",
        "1",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["n_train"] == 40 and metrics["n"] == 8  # originals + 1 copy; test untouched
