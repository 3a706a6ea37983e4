"""Contrastive few-shot method: pairs, head, separation of a toy two-cluster set, the saved folder
and `textxfer predict`, exact resume, the CLI, the compare method and config errors."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import ftutil
import numpy as np
import pytest

from textxfer.data import DataArgs, load_data
from textxfer.errors import ConfigError, DataError
from textxfer.fewshot import ContrastiveArgs, ContrastiveTrainArgs, fit_contrastive
from textxfer.fewshot.head import LinearHead, fit_head
from textxfer.fewshot.pairs import sample_pairs
from textxfer.train.args import ModelArgs

pytestmark = pytest.mark.usefixtures("quiet_transformers")

CLUSTER_A = (
    "great moving superb wonderful delightful charming brilliant clever engaging beautiful".split()
)
CLUSTER_B = "dull lifeless boring tedious clumsy stupid awful lazy ugly tiresome".split()


def _cluster_rows(n: int, seed: int) -> list[tuple[str, str]]:
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        for words, label in ((CLUSTER_A, "a"), (CLUSTER_B, "b")):
            rows.append((" ".join(rng.choice(words, size=5)), label))
    return rows


@pytest.fixture(scope="module")
def clusters(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("clusters")
    for split, n, seed in (("train", 8, 0), ("dev", 4, 1), ("test", 10, 2)):
        ftutil.write_csv(folder / f"{split}.csv", _cluster_rows(n, seed))
    return folder


def _train(**overrides) -> ContrastiveTrainArgs:
    values = dict(lr=2e-3, max_steps=24, batch_size=8, progress_bar=False, seed=0)
    return ContrastiveTrainArgs(**{**values, **overrides})


def _fit(bert, data, out=None, cargs=None, callbacks=(), dropout=0.0, **train):
    return fit_contrastive(
        ModelArgs(str(bert), max_length=16, dropout=dropout), DataArgs(str(data)),
        cargs or ContrastiveArgs(pairs_per_example=8, templates=0), _train(out=str(out) if out else None, **train),
        callbacks=callbacks,
    )  # fmt: skip


def _margin(model_dir, texts, labels) -> float:
    """Mean cosine similarity within a label minus between labels (mean-pooled embeddings)."""
    from textxfer.baselines.features import TransformerFeaturizer
    from textxfer.fewshot.head import normalize_rows

    emb = normalize_rows(
        TransformerFeaturizer(str(model_dir), progress=False).fit(texts).transform(texts)
    )
    cos, same = emb @ emb.T, np.equal.outer(labels, labels)
    off = ~np.eye(len(labels), dtype=bool)
    return float(cos[same & off].mean() - cos[~same].mean())


@pytest.fixture(scope="module")
def tuned(bert, clusters, tmp_path_factory):
    out = tmp_path_factory.mktemp("fewshot") / "model"
    return _fit(bert, clusters, out), out


# --- pairs and head --------------------------------------------------------------------------


def test_pairs_are_balanced_labelled_seeded_and_capped():
    labels = np.array([0, 0, 0, 1, 1, 2])
    pairs = sample_pairs(labels, pairs_per_example=6, seed=3)
    assert len(pairs) == 6 * len(labels)
    assert (pairs.target == 1).sum() == (pairs.target == 0).sum() == 18
    same = labels[pairs.left] == labels[pairs.right]
    assert np.array_equal(same, pairs.target == 1)  # positives share the label, negatives never
    assert np.array_equal(np.bincount(pairs.left), [6] * 6)  # every example anchors 6 pairs
    positive, lone = pairs.target == 1, labels[pairs.left] == 2
    assert np.all(pairs.left[positive & ~lone] != pairs.right[positive & ~lone])
    assert np.all(
        pairs.right[positive & lone] == 5
    )  # the only example of label 2 pairs with itself
    again, other = sample_pairs(labels, 6, seed=3), sample_pairs(labels, 6, seed=4)
    assert np.array_equal(again.right, pairs.right) and not np.array_equal(other.right, pairs.right)
    capped = sample_pairs(labels, 6, seed=3, max_pairs=13)
    assert len(capped) == 12 and (capped.target == 1).sum() == 6  # 2 per example fits 13
    with pytest.raises(DataError, match="at least 2 labels"):
        sample_pairs([1, 1, 1], 4, seed=0)


@pytest.mark.parametrize("n_classes", [2, 3])
def test_linear_head_reproduces_sklearn_probabilities(n_classes):
    from sklearn.linear_model import LogisticRegression

    from textxfer.fewshot.head import normalize_rows

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(30, 5)), np.arange(30) % n_classes
    head = fit_head(x, y, n_labels=n_classes + 1, c=0.5)
    reference = LogisticRegression(C=0.5, max_iter=1000).fit(normalize_rows(x), y)
    probs = head.predict_proba(x)
    assert probs.shape == (30, n_classes + 1) and np.allclose(probs[:, -1], 0.0)
    assert np.allclose(probs[:, :n_classes], reference.predict_proba(normalize_rows(x)), atol=1e-8)
    back = LinearHead.from_dict(json.loads(json.dumps(head.to_dict())))
    assert np.array_equal(back.predict_proba(x), probs)
    with pytest.raises(DataError, match="not a linear head"):
        LinearHead.from_dict({"coef": [[1.0]]})


# --- training ---------------------------------------------------------------------------------


def test_contrastive_tuning_separates_a_two_cluster_set(bert, clusters, tuned):
    result, out = tuned
    test = load_data(str(clusters))["test"]
    texts, labels = list(test["text"]), np.asarray(test["label"])
    before, after = _margin(bert, texts, labels), _margin(out, texts, labels)
    assert before < 0.1 and after > 0.5, (before, after)  # held-out texts, never paired
    assert result.metrics["test"]["accuracy"] == 1.0 and result.metrics["test"]["n"] == 20
    assert result.metrics["n_templates"] == 0  # the toy names "a" / "b": templates off here
    assert result.metrics["n_pairs"] == 16 * 8 and result.global_step == 24
    losses = [r["loss"] for r in result.history if r["split"] == "train"]
    assert losses[-1] < 0.5 * losses[0]
    assert result.trainable_params < result.total_params  # the unused pooler is frozen


def test_saved_folder_predicts_like_the_run_and_holds_no_pickle(clusters, tuned, tmp_path, capsys):
    from textxfer.cli import main
    from textxfer.io import read_metrics
    from textxfer.predict import load_predictor

    result, out = tuned
    names = sorted(p.name for p in out.iterdir())
    assert "head.json" in names and "model.safetensors" in names
    assert not [n for n in names if n.endswith((".pkl", ".pickle", ".joblib", ".bin"))]
    assert json.loads((out / "textxfer.json").read_text())["kind"] == "fewshot"
    assert read_metrics(out)["test"]["accuracy"] == result.metrics["test"]["accuracy"]
    test = load_data(str(clusters))["test"]
    clf = load_predictor(out)
    probs = clf.predict_proba(list(test["text"]))
    assert probs.shape == (20, 2) and np.allclose(probs.sum(axis=1), 1.0)
    gold = [test.features["label"].names[i] for i in test["label"]]
    assert clf.predict(list(test["text"])) == gold
    assert main(["predict", str(out), "--input", str(clusters / "test.csv"),
                 "--out", str(tmp_path / "pred.csv")]) == 0  # fmt: skip
    import pandas as pd

    assert list(pd.read_csv(tmp_path / "pred.csv")["label"]) == gold


def test_resume_after_an_interruption_equals_an_uninterrupted_run(bert, clusters, tmp_path):
    common = dict(save_strategy="steps", save_steps=5, max_steps=12, dropout=0.1)  # dropout on
    whole = _fit(bert, clusters, checkpoint_dir=str(tmp_path / "a"), **common)
    with pytest.raises(ftutil.Interrupt):
        _fit(bert, clusters, checkpoint_dir=str(tmp_path / "b"), callbacks=[ftutil.crash_at(7)],
             **common)  # fmt: skip
    resumed = _fit(bert, clusters, checkpoint_dir=str(tmp_path / "b"), resume=True, **common)
    assert resumed.global_step == whole.global_step == 12
    losses = [[r["loss"] for r in x.history if r["split"] == "train"] for x in (whole, resumed)]
    assert np.allclose(losses[0], losses[1], atol=1e-6)
    assert resumed.metrics["test"]["loss"] == pytest.approx(whole.metrics["test"]["loss"], abs=1e-6)


def test_mean_per_text_averages_the_windows_of_each_text_in_text_order():
    from textxfer.chunking import mean_per_text

    rows = np.array([[1.0, 0.0], [5.0, 2.0], [3.0, 0.0], [7.0, 4.0]])
    assert mean_per_text(rows, np.array([1, 0, 1, 0]), 2).tolist() == [[6.0, 3.0], [2.0, 0.0]]
    with pytest.raises(RuntimeError, match="embeddings of 1 texts are missing"):
        mean_per_text(rows, np.array([0, 0, 2, 2]), 3)
    with pytest.raises(RuntimeError, match="embeddings of 1 texts are missing"):
        mean_per_text(rows, np.array([0, 0, 1, 1]), 3)  # the last text has no row


@pytest.fixture(scope="module")
def long_clusters(tmp_path_factory) -> Path:
    """The two clusters with texts of 25 words: several 16-token windows each."""
    folder = tmp_path_factory.mktemp("long_clusters")
    for split, n, seed in (("train", 6, 0), ("dev", 4, 1), ("test", 6, 2)):
        rows = [(" ".join([t] * 5), label) for t, label in _cluster_rows(n, seed)]
        ftutil.write_csv(folder / f"{split}.csv", rows)
    return folder


def test_chunk_window_trains_on_every_window_and_predicts_with_the_mean_of_windows(
    bert, long_clusters, tmp_path, caplog
):
    from transformers import AutoTokenizer

    from textxfer.chunking import cut
    from textxfer.predict import load_predictor

    train, test = (load_data(str(long_clusters))[s] for s in ("train", "test"))
    tokenizer = AutoTokenizer.from_pretrained(str(bert))
    n_windows = len(cut(tokenizer, list(train["text"]), 16)[1])
    assert n_windows >= 2 * len(train)  # the texts are long: each one has several windows
    out = tmp_path / "chunked"
    result = fit_contrastive(
        ModelArgs(str(bert), max_length=16, chunk_window=16, dropout=0.0),
        DataArgs(str(long_clusters)), ContrastiveArgs(pairs_per_example=4),
        _train(out=str(out), max_steps=12),
    )  # fmt: skip
    assert result.metrics["n_pairs"] == 4 * (n_windows + 2 * 8)  # windows + one per template
    assert result.metrics["test"]["n"] == len(test) == 12  # scored per text, not per window
    info = json.loads((out / "textxfer.json").read_text())
    assert info["chunking"] == {
        "chunk_window": 16,
        "chunk_stride": None,
        "chunk_aggregation": "mean",
    }
    probs = load_predictor(out).predict_proba(list(test["text"]))
    gold = np.asarray(test["label"])
    loss = -np.log(np.clip(probs[np.arange(len(gold)), gold], 1e-12, 1.0)).mean()
    assert loss == pytest.approx(
        result.metrics["test"]["loss"], abs=1e-4
    )  # same windows, same mean
    with caplog.at_level(logging.WARNING, logger="textxfer.chunking"):
        truncated = _fit(bert, long_clusters, max_steps=12)
    assert truncated.metrics["n_pairs"] == 8 * len(train)
    assert "fewshot: " in caplog.text and "are longer than max_length=16" in caplog.text
    assert "finetune: " not in caplog.text  # the warning names the command that truncated
    assert truncated.metrics["test"]["loss"] != pytest.approx(result.metrics["test"]["loss"])


@pytest.mark.parametrize(
    ("model_options", "message"),
    [({"chunk_window": 16, "chunk_aggregation": "max"}, "pass --chunk-aggregation mean"),
     ({"threshold": 0.5}, "threshold=0.5 is for multi-label fine-tuning")],
)  # fmt: skip
def test_model_options_the_method_cannot_honour_are_refused(bert, clusters, model_options, message):
    with pytest.raises(ConfigError, match=message):
        fit_contrastive(ModelArgs(str(bert), max_length=16, **model_options), DataArgs(str(clusters)),
                        ContrastiveArgs(), _train())  # fmt: skip


def test_multi_label_data_is_refused_with_the_methods_that_take_it(bert, tmp_path):
    data = ftutil.write_multilabel(tmp_path / "multi")
    with pytest.raises(ConfigError, match="needs one label per text.*textxfer finetune"):
        fit_contrastive(ModelArgs(str(bert), max_length=16), DataArgs(str(data), label_sep=","),
                        ContrastiveArgs(), _train())  # fmt: skip


def test_dev_evaluation_fits_the_head_and_picks_the_best_step(bert, clusters):
    result = _fit(bert, clusters, eval_strategy="steps", eval_steps=6, load_best=True, max_steps=12)
    evals = [r for r in result.history if r["split"] == "eval"]
    assert [r["step"] for r in evals] == [6, 12]
    assert {"accuracy", "macro_f1", "loss"} <= set(evals[0])
    assert result.best_step in (6, 12)


# --- CLI, registry, errors --------------------------------------------------------------------


def test_cli_fewshot_writes_a_folder_and_prints_the_scores(bert, clusters, tmp_path, capsys):
    from textxfer.cli import main

    out = tmp_path / "cli"
    code = main(["fewshot", str(clusters), "--model", str(bert), "--max-steps", "2",
                 "--max-length", "16", "--pairs-per-example", "4", "--out", str(out)])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0 and "test  accuracy" in printed and "pairs: 128" in printed  # (16 + 16) x 4
    assert "templated examples per label: 8" in printed
    config = (out / "config.yaml").read_text()
    assert "contrastive:" in config and "pairs_per_example: 4" in config
    assert main(["fewshot", "--config", str(out / "config.yaml"),
                 "--out", str(tmp_path / "again")]) == 0  # fmt: skip


def test_contrastive_lr_is_a_compare_method(bert, clusters):
    from textxfer.compare.registry import get_method, method_names, run_method

    assert get_method("contrastive-lr").kind == "fewshot" and "contrastive-lr" in method_names(
        "fewshot"
    )
    result = run_method("contrastive-lr", load_data(str(clusters)), model=str(bert), smoke=True,
                        options={"max_length": 16, "pairs_per_example": 4})  # fmt: skip
    assert result.metrics["n"] == 20 and 0.0 <= result.metrics["accuracy"] <= 1.0
    with pytest.raises(ConfigError, match="fixed to None"):
        get_method("contrastive-lr").configs({"out": "somewhere"})


@pytest.mark.parametrize(
    ("values", "message"),
    [({"pairs_per_example": 1}, "pairs_per_example must be >= 2"),
     ({"pooling": "max"}, "pooling must be one of"), ({"head_c": 0}, "head_c must be > 0")],
)  # fmt: skip
def test_bad_contrastive_options_are_refused(values, message):
    with pytest.raises(ConfigError, match=message):
        ContrastiveArgs(**values)


def test_group_by_length_and_class_weights_are_refused(bert, clusters):
    with pytest.raises(ConfigError, match="class_weights weighs a classification loss"):
        ContrastiveTrainArgs(class_weights="balanced")
    with pytest.raises(ConfigError, match="group_by_length is not supported"):
        _fit(bert, clusters, group_by_length=True)
