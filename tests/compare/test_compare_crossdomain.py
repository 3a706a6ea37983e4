"""Cross-domain evaluation: the table with and without adaptation, reuse of the adapted encoder and
of finished cells, no target test row in adaptation, the vectorizer option, CLI --target, recipe."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import ftutil
import pandas as pd
import pytest

from textxfer.compare.crossdomain import (
    TABLE_COLUMNS,
    CrossDomainArgs,
    crossdomain,
    markdown_table,
    parse_pair,
)
from textxfer.data import DataArgs, adaptation_texts, load_data
from textxfer.errors import ConfigError, DataError

ROOT = Path(__file__).resolve().parents[2]
PRODUCTS = [
    ("the blender works great and cleans up easily", "positive"),
    ("the kettle broke after a week", "negative"),
    ("a sturdy pan that heats evenly", "positive"),
    ("the toaster burns every slice", "negative"),
    ("my new knife is sharp and light", "positive"),
    ("the lid does not fit and leaks", "negative"),
    ("great value and the mixer is quiet", "positive"),
    ("cheap plastic that cracked at once", "negative"),
    ("the coffee maker brews fast and hot", "positive"),
    ("the handle fell off the pot", "negative"),
    ("love this sturdy cutting board", "positive"),
    ("the scale gives wrong numbers", "negative"),
    ("a reliable kettle that boils quickly", "positive"),
    ("the blender is loud and weak", "negative"),
]
METHODS = ["tfidf-lr", "features-lr", "finetune-full"]


@pytest.fixture(scope="module", autouse=True)
def _quiet():
    with ftutil.quiet():
        yield


def _write(folder: Path, splits: dict[str, list[tuple[str, str]]]) -> None:
    folder.mkdir(parents=True)
    for name, rows in splits.items():
        with (folder / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            csv.writer(fh).writerows([("text", "label"), *rows])


@pytest.fixture(scope="module")
def domains(tmp_path_factory) -> Path:
    """movies (train 20 / dev 8 / test 8) and products (train 8 / dev 2 / test 4) side by side."""
    root = tmp_path_factory.mktemp("domains")
    movies = ftutil.rows()
    _write(root / "movies", {"train": movies, "dev": movies[:8], "test": movies[8:16]})
    _write(root / "products", {"train": PRODUCTS[:8], "dev": PRODUCTS[8:10], "test": PRODUCTS[10:]})
    return root


@pytest.fixture(scope="module")
def bert(tmp_path_factory, domains) -> Path:
    from textxfer.testing import make_tiny_bert

    texts = [t for t, _ in ftutil.rows() + PRODUCTS] * 3
    return make_tiny_bert(tmp_path_factory.mktemp("cd_bert"), texts=texts)


def _args(domains, bert, out, **kw) -> CrossDomainArgs:
    values = dict(pairs=["movies->products"], prefix=f"{domains}/", methods=METHODS, model=str(bert),
                  smoke=True, out=str(out))  # fmt: skip
    return CrossDomainArgs(**{**values, **kw})


@pytest.fixture(scope="module")
def run(domains, bert, tmp_path_factory):
    out = tmp_path_factory.mktemp("cd_out") / "grid"
    return crossdomain(_args(domains, bert, out)), out


def test_table_has_every_method_with_and_without_adaptation(run):
    table, out = run
    assert list(table.columns) == TABLE_COLUMNS and len(table) == 6
    assert table.groupby("method")["adapted"].apply(sorted).to_dict() == {
        m: [False, True] for m in METHODS
    }
    assert (table["n_eval"] == 4).all() and (
        table["n_train"] == 20
    ).all()  # target test, source train
    assert table["accuracy"].between(0, 1).all() and table["macro_f1"].between(0, 1).all()
    tfidf = table[(table["method"] == "tfidf-lr") & table["adapted"]].iloc[0]
    assert tfidf["n_unlabeled"] == 10 and tfidf["adapt_seconds"] == 0  # products train + dev
    encoder = table[(table["method"] != "tfidf-lr") & table["adapted"]]
    assert (encoder["adapt_seconds"] > 0).all() and encoder[
        "adapt_seconds"
    ].nunique() == 1  # one encoder
    assert pd.read_csv(out / "results.csv").shape == (6, len(TABLE_COLUMNS))
    assert len(json.loads((out / "results.json").read_text())) == 6
    assert "| movies -> products | finetune-full |" in (out / "results.md").read_text()
    assert sorted(p.name for p in (out / "adapted").iterdir()) == [
        "products-seed0",
        "products-seed0.key",
    ]
    adaptation = json.loads((out / "adaptation.json").read_text())["products-seed0"]
    assert adaptation["global_step"] == 2 and adaptation["perplexity_before"] > 0


def test_a_rerun_reuses_finished_cells(run, domains, bert, monkeypatch):
    table, out = run
    monkeypatch.setattr(
        "textxfer.compare.crossdomain.run_method", pytest.fail
    )  # nothing may run again
    again = crossdomain(_args(domains, bert, out))
    pd.testing.assert_frame_equal(again, table)


def test_other_adaptation_settings_rerun_only_the_adapted_encoder_cells(
    run, domains, bert, tmp_path, monkeypatch
):
    import shutil

    from textxfer.compare import crossdomain as module

    _, out = run
    copy = tmp_path / "grid"
    shutil.copytree(out, copy)
    real, ran = module.run_method, []

    def counted(method, dataset, **kw):
        ran.append((method, kw["model"] != str(bert)))
        return real(method, dataset, **kw)

    monkeypatch.setattr(module, "run_method", counted)
    crossdomain(_args(domains, bert, copy, adapt={"adapt": {"adapted_share": 0.5}}))
    # tfidf-lr's adaptation is its vectorizer, and plain cells never see the adapted encoder
    assert sorted(ran) == [("features-lr", True), ("finetune-full", True)]
    adapted = json.loads((copy / "adapted" / "products-seed0" / "metrics.json").read_text())
    assert adapted["adapted_share"] == 0.5


def test_the_adapted_encoder_is_reused_when_its_inputs_are_unchanged(
    run, domains, bert, monkeypatch
):
    from textxfer.compare import crossdomain as module

    _, out = run
    monkeypatch.setattr("textxfer.adapt.run.adapt", pytest.fail)
    args = _args(domains, bert, out)
    folder, metrics = module.adapted_encoder(args, "movies", "products", 0)
    assert folder == out / "adapted" / "products-seed0" and metrics["n_texts"] == 10


def test_adapt_on_both_builds_one_encoder_per_domain_pair_for_both_directions(
    domains, bert, tmp_path, monkeypatch
):
    import textxfer.adapt.run as adapt_run

    real, calls = adapt_run.adapt, []

    def counted(model, texts, *rest, **kw):
        calls.append(list(texts))
        return real(model, texts, *rest, **kw)

    monkeypatch.setattr(adapt_run, "adapt", counted)
    out = tmp_path / "both"
    pairs = ["products->movies", "movies->products"]
    table = crossdomain(
        _args(domains, bert, out, pairs=pairs, methods=["features-lr"], adapt_on="both")
    )
    assert len(calls) == 1  # one encoder serves both directions
    assert sorted(p.name for p in (out / "adapted").iterdir()) == [
        "movies+products-seed0",
        "movies+products-seed0.key",
    ]
    splits = {
        (domain, split): [t for t, _ in csv.reader((domains / domain / f"{split}.csv").open())][1:]
        for domain in ("movies", "products")
        for split in ("train", "dev", "test")
    }
    tests = set(splits["movies", "test"]) | set(splits["products", "test"])
    movies = [t for t in splits["movies", "train"] + splits["movies", "dev"] if t not in tests]
    products = splits["products", "train"] + splits["products", "dev"]
    assert calls[0] == movies + products  # both domains, sorted by name, no test row of either
    assert len(movies) < 28  # movies' train holds its test rows: they were left out
    adapted = table[table["adapted"]]
    assert len(adapted) == 2 and (adapted["n_unlabeled"] == len(set(movies + products))).all()


def test_adapt_on_is_part_of_an_adapted_cell_settings(domains, bert, tmp_path):
    from textxfer.compare.crossdomain import cell_settings

    target, both = (_args(domains, bert, tmp_path, adapt_on=v) for v in ("target", "both"))
    assert cell_settings(target, "finetune-full", True, 0) != cell_settings(
        both, "finetune-full", True, 0
    )
    assert cell_settings(target, "finetune-full", False, 0) == cell_settings(
        both, "finetune-full", False, 0
    )  # plain cells do not depend on it: a rerun under the other value reuses them


def test_adapt_on_must_be_target_or_both():
    with pytest.raises(
        ConfigError, match=r"adapt_on must be one of \['target', 'both'\], found 'source'"
    ):
        CrossDomainArgs(adapt_on="source")


def test_target_test_rows_never_reach_adaptation(domains, bert, tmp_path, monkeypatch):
    leaky = [t for t, _ in PRODUCTS]  # includes the products test rows
    monkeypatch.setattr("textxfer.data.load.adaptation_texts", lambda args: leaky)
    with pytest.raises(
        DataError, match=r"4 adaptation text\(s\) also occur in the products test split"
    ):
        crossdomain(_args(domains, bert, tmp_path / "o", methods=["tfidf-lr"]))


def test_tfidf_vectorizer_fitted_on_unlabelled_target_texts(domains):
    from textxfer.baselines import BaselineArgs, make_baseline, train_baseline
    from textxfer.baselines.factory import use_unlabeled

    pipe = use_unlabeled(make_baseline("tfidf-lr"), ["kettle blender kettle"])
    pipe.fit(["good film", "bad film"], [1, 0])
    vocab = pipe.named_steps["vectorizer"].vectorizer_.vocabulary_
    assert "kettle" in vocab and "good" in vocab
    assert pipe.named_steps["clf"].coef_.shape[1] == len(vocab)
    data = load_data(DataArgs(f"{domains}/movies", target=f"{domains}/products"))
    texts = adaptation_texts(DataArgs(f"{domains}/movies", target=f"{domains}/products"))
    result = train_baseline(BaselineArgs("tfidf-lr"), data, unlabeled=texts)
    assert result.pipeline.named_steps["vectorizer"].n_unlabeled_ == 10
    with pytest.raises(DataError, match="also occur in the test split"):
        train_baseline(BaselineArgs("tfidf-lr"), data, unlabeled=list(data["test"]["text"]))
    with pytest.raises(ConfigError, match="for features-\\* adapt the encoder"):
        use_unlabeled(make_baseline("features-lr"), texts)


def test_cli_baseline_and_finetune_take_a_target(domains, bert, tmp_path, capsys):
    from textxfer.cli import main

    src, tgt = f"{domains}/movies", f"{domains}/products"
    out = tmp_path / "b"
    assert main(["baseline", src, "--target", tgt, "--method", "tfidf-lr", "--out", str(out)]) == 0
    assert json.loads((out / "metrics.json").read_text())["n"] == 4
    ft = ["finetune", src, "--target", tgt, "--model", str(bert), "--max-steps", "2",
          "--eval-strategy", "no", "--out", str(tmp_path / "f"), "--progress-bar", "false"]  # fmt: skip
    assert main(ft) == 0
    assert "test  accuracy" in capsys.readouterr().out
    assert json.loads((tmp_path / "f" / "metrics.json").read_text())["test"]["n"] == 4


def test_bad_crossdomain_settings_say_what_to_do():
    assert parse_pair("books -> kitchen") == ("books", "kitchen")
    with pytest.raises(ConfigError, match="expected 'SOURCE->TARGET' with two different domains"):
        parse_pair("books->books")
    with pytest.raises(
        ConfigError, match=r"method 'adapt-finetune' has no cross-domain adaptation"
    ):
        CrossDomainArgs(methods=["adapt-finetune"])
    with pytest.raises(ConfigError, match=r"options given for method\(s\) \['w2v-lr'\]"):
        CrossDomainArgs(methods=["tfidf-lr"], options={"w2v-lr": {}})
    assert CrossDomainArgs().domain("books") == "amazon_mds/books"


def test_markdown_table_shows_the_gain_over_seeds_and_whether_it_is_noise():
    rows = [("a", "b", "tfidf-lr", False, 0, 0.5), ("a", "b", "tfidf-lr", True, 0, 0.75)]
    columns = ["source", "target", "method", "adapted", "seed", "accuracy"]
    one = pd.DataFrame(rows, columns=columns).assign(status="ok")
    assert markdown_table(one).splitlines()[-1] == (
        "| a -> b | tfidf-lr | 0.5000 | 0.7500 | +0.2500 | 1 | one seed: noise unknown |"
    )
    rows += [("a", "b", "tfidf-lr", False, 1, 0.7), ("a", "b", "tfidf-lr", True, 1, 0.65)]
    noisy = pd.DataFrame(rows, columns=columns).assign(status="ok")
    line = markdown_table(noisy).splitlines()[-1]
    assert "| 0.6000 ± 0.1414 | 0.7000 ± 0.0707 | +0.1000 ± 0.2121 | 2 | within noise |" in line


def test_recipe_runs_pairs_from_the_command_line(domains, bert, tmp_path, capsys):
    sys.path.insert(0, str(ROOT / "recipes"))
    import crossdomain as recipe

    out = tmp_path / "recipe"
    argv = ["movies->products", "products->movies", "--prefix", f"{domains}/", "--methods", "tfidf-lr",
            "--model", str(bert), "--smoke", "--out", str(out),
            "--adapt-config", str(ROOT / "recipes/configs/adapt.yaml")]  # fmt: skip
    assert recipe.main(argv) == 0
    printed = capsys.readouterr().out
    assert (
        "| movies -> products | tfidf-lr |" in printed
        and "| products -> movies | tfidf-lr |" in printed
    )
    assert len(pd.read_csv(out / "results.csv")) == 4
    from textxfer.commands.crossdomain import adapt_preset

    preset = adapt_preset(str(ROOT / "recipes/configs/adapt.yaml"))
    assert preset["train"]["max_steps"] == 150 and "model" not in preset["model"]


def test_worker_processes_give_the_same_table(run, domains, bert, tmp_path):
    from textxfer.compare.cells import CellStore
    from textxfer.compare.executors import ExecutorArgs

    table, _ = run
    methods, out = ["tfidf-lr", "features-lr"], tmp_path / "parallel"
    parallel = crossdomain(
        _args(domains, bert, out, methods=methods),
        executor=ExecutorArgs(executor="processes", workers=2),
    )
    timings = ["seconds", "adapt_seconds"]
    local = table[table["method"].isin(methods)].reset_index(drop=True)
    pd.testing.assert_frame_equal(parallel.drop(columns=timings), local.drop(columns=timings))
    assert {r["run"]["executor"] for r in CellStore(out).read().values()} == {"processes"}
    assert sorted(p.name for p in (out / "adapted").iterdir()) == [
        "products-seed0",
        "products-seed0.key",
    ]
