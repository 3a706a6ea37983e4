"""A compare grid on multi-label data: every cell runs, the table and report lead with micro-F1."""

from __future__ import annotations

import ftutil
import pandas as pd

from textxfer.cli import main as cli_main


def test_multi_label_grid_table_and_report(tmp_path, tiny_bert, capsys):
    data = ftutil.write_multilabel(tmp_path / "ml")
    out = tmp_path / "grid"
    argv = ["compare", str(data), "--methods", "tfidf-lr,finetune-full", "--sizes", "[6,full]",
            "--data", "{label_sep: ','}", "--model", str(tiny_bert), "--out", str(out),
            "--options", "{finetune-full: {max_steps: 2, eval_strategy: 'no', load_best: false}}"]  # fmt: skip
    assert cli_main(argv) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("| method | aug | n_train | micro_f1 (mean ± sd) |")
    table = pd.read_csv(out / "results.csv")
    assert (table["status"] == "ok").all() and len(table) == 4
    assert table["micro_f1"].between(0, 1).all() and (table["n_eval"] == 4).all()
    assert sorted(table["n_train"].unique().tolist()) == [6, 12]
    report = (out / "report.md").read_text()
    assert "## micro_f1: mean ± sd over seeds" in report
    assert not (out / "confusion_matrix.png").exists()  # no single confusion matrix for label sets


def test_k_per_class_sizes_keep_k_rows_of_every_label(tmp_path):
    from textxfer.compare import CompareArgs, compare

    data = ftutil.write_multilabel(tmp_path / "ml")
    table = compare(
        CompareArgs(dataset=str(data), data={"label_sep": ","}, methods=["tfidf-lr"],
                    sizes=["2/class"], out=str(tmp_path / "grid")),
        progress=False,
    )  # fmt: skip
    assert table["status"].tolist() == ["ok"] and 2 <= table["n_train"].iloc[0] <= 6


def test_one_vs_rest_baselines_report_their_parameters(tmp_path):
    from textxfer.compare.registry import run_method
    from textxfer.data import load_data

    ds = load_data(str(ftutil.write_multilabel(tmp_path / "ml")), label_sep=",")
    from textxfer.baselines import make_baseline

    result = run_method("tfidf-lr", ds)
    vectorizer = make_baseline("tfidf-lr").named_steps["vectorizer"].fit(ds["train"]["text"])
    n_terms = len(vectorizer.vocabulary_)
    assert result.trainable_params == 3 * (n_terms + 1)  # per label: coefficients + intercept
