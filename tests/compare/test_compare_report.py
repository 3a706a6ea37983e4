"""The compare report: summary numbers, best-per-size, and plots with the right data."""

from __future__ import annotations

import pandas as pd
import pytest

from textxfer.compare.grid import TABLE_COLUMNS
from textxfer.compare.report import best_per_size, format_table, summarize, write_report


def _table() -> pd.DataFrame:
    rows = []
    for method, base in (("tfidf-lr", 0.6), ("finetune-full", 0.7)):
        for n in (16, 100):
            for seed, jitter in ((0, -0.02), (1, 0.02)):
                acc = base + (0.1 if n == 100 else 0.0) + jitter
                rows.append({
                    "cell_id": f"{method}__none__{n}__s{seed}", "method": method, "aug": "none", "size": str(n),
                    "n_train": n, "n_train_aug": n, "seed": seed, "status": "ok", "accuracy": acc,
                    "macro_f1": acc - 0.01, "n_eval": 50, "fit_seconds": 1.0 if method == "tfidf-lr" else 30.0,
                    "trainable_params": 10, "total_params": 10, "error": "",
                })  # fmt: skip
    rows.append(
        {
            **rows[0],
            "cell_id": "bad",
            "status": "error",
            "accuracy": None,
            "error": "ValueError: boom",
        }
    )
    return pd.DataFrame(rows, columns=TABLE_COLUMNS)


def test_summary_mean_sd_over_seeds():
    summary = summarize(_table())
    row = summary[(summary.method == "finetune-full") & (summary.n_train == 100)].iloc[0]
    assert row["mean"] == pytest.approx(0.8)
    assert row["sd"] == pytest.approx(0.0282843, abs=1e-6)  # sample sd of 0.78, 0.82
    assert row["seeds"] == 2
    assert len(summary) == 4  # the failed cell is left out


def test_best_per_size_and_markdown():
    best = best_per_size(summarize(_table()))
    assert best["method"].tolist() == ["finetune-full", "finetune-full"]
    assert best["n_train"].tolist() == [16, 100]
    md = format_table(best)
    assert "| finetune-full | none | 100 | 0.8000 ± 0.0283 | 2 | 30.0 |" in md


def test_write_report_files_and_plot_data(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    table = _table()
    cells = {
        "finetune-full__none__100__s1": {
            "confusion_matrix": [[20, 5], [3, 22]],
            "labels": ["neg", "pos"],
        }
    }
    paths = write_report(table, tmp_path, cells)
    for name in ("learning_curves", "cost_vs_accuracy", "confusion_matrix"):
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        assert (tmp_path / f"{name}.png").stat().st_size > 10_000, name
    assert set(paths) >= {"markdown", "html"}
    md = (tmp_path / "report.md").read_text()
    assert "Failed cells (1)" in md and "ValueError: boom" in md
    html = (tmp_path / "report.html").read_text()
    assert "<table" in html and "finetune-full" in html and 'img src="learning_curves.png"' in html


def test_learning_curve_axes_hold_the_summary(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from textxfer.compare import report

    captured = {}
    monkeypatch.setattr(plt, "close", lambda fig: captured.setdefault("fig", fig))
    report.plot_learning_curves(summarize(_table()), tmp_path / "lc.png")
    ax = captured["fig"].axes[0]
    assert ax.get_xscale() == "log"
    assert "labelled training examples" in ax.get_xlabel() and "accuracy" in ax.get_ylabel()
    lines = {t.get_text(): None for t in ax.get_legend().get_texts()}
    assert set(lines) == {"finetune-full", "tfidf-lr"}
    data = {c.get_label(): c.lines[0] for c in ax.containers}
    assert list(data["finetune-full"].get_xdata()) == [16, 100]
    assert [round(y, 4) for y in data["finetune-full"].get_ydata()] == [0.7, 0.8]
    assert [round(y, 4) for y in data["tfidf-lr"].get_ydata()] == [0.6, 0.7]


def _one_seed() -> pd.DataFrame:
    table = _table()
    return table[(table["seed"] == 0) & (table["status"] == "ok")]


def test_one_seed_shows_no_plus_minus_and_says_so(tmp_path):
    summary = summarize(_one_seed())
    assert summary["sd"].isna().all()
    md = format_table(summary)
    assert "±" not in md.split("\n", 2)[2] and "| tfidf-lr | none | 16 | 0.5800 | 1 | 1.0 |" in md
    write_report(_one_seed(), tmp_path)
    assert "one seed per cell: values are single runs" in (tmp_path / "report.md").read_text()
    two = tmp_path / "two"
    write_report(_table(), two)
    assert (
        "mean ± sample sd over n = 2 seeds per cell; error bars are ± 1 sd"
        in (two / "report.md").read_text()
    )


def test_header_states_dataset_model_evaluation_and_config(tmp_path):
    context = {"dataset": "subj, built into textxfer", "model": "default (x/y)",
               "evaluation": "test split, cut to 500 of 1,000 rows", "config": "out/config.yaml"}  # fmt: skip
    write_report(_table(), tmp_path, context=context)
    md = (tmp_path / "report.md").read_text()
    assert md.startswith("# textxfer compare report: subj\n")
    assert (
        "- **evaluation**: test split, cut to 500 of 1,000 rows" in md
        and "- **model**: default (x/y)" in md
    )
    html = (tmp_path / "report.html").read_text()
    assert (
        "<style>" in html
        and "<dt>evaluation</dt><dd>test split, cut to 500 of 1,000 rows</dd>" in html
    )


def test_each_method_has_one_colour_in_both_plots_and_legends_sit_beside_the_axes(
    tmp_path, monkeypatch
):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_hex

    from textxfer.compare import report

    figs = []
    monkeypatch.setattr(plt, "close", figs.append)
    table = pd.concat([_table(), _table().assign(aug="eda", cell_id=lambda f: f.cell_id + "e")])
    summary = summarize(table)
    report.plot_learning_curves(summary, tmp_path / "lc.png")
    report.plot_cost(summary, tmp_path / "cost.png")
    curves, cost = (f.axes[0] for f in figs)
    line_colours = {c.get_label(): to_hex(c.lines[0].get_color()) for c in curves.containers}
    point_colours = {c.get_label(): to_hex(c.get_facecolor()[0]) for c in cost.collections}
    assert line_colours == point_colours and len(line_colours) == 4
    assert (
        line_colours["tfidf-lr"] == line_colours["tfidf-lr + eda"] != line_colours["finetune-full"]
    )
    for fig, ax in ((figs[0], curves), (figs[1], cost)):
        fig.canvas.draw()
        legend, axes = ax.get_legend().get_window_extent(), ax.get_window_extent()
        assert legend.x0 >= axes.x1  # off the data
