"""Turn a compare results table into a summary (Markdown + HTML) and PNG plots.

The table is tidy: one row per (method, aug, size, seed) cell with its metrics. The report answers
"what did transfer buy?": mean ± sd over seeds, the best method per training-set size, learning curves
(accuracy vs number of labelled examples), the confusion matrix of the best model, cost vs accuracy.
It states what a reader needs to trust the numbers: the dataset, model and config, the evaluation
split and its size (``test, cut to 500 of 1,000 rows``), and what ± means (the sample sd over n
seeds; with one seed the value stands alone). Each method keeps one colour in every plot, and the
legends sit beside the axes, off the data.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..io import atomic_file, atomic_write_text
from .transfer import transfer_sentences

logger = logging.getLogger(__name__)

GROUP = ["method", "aug", "n_train"]


def report_metric(table: pd.DataFrame) -> str:
    """The headline metric of a results table: ``micro_f1`` when its cells are multi-label (their
    ``accuracy`` is the strict subset accuracy), else ``accuracy``."""
    if "micro_f1" in table.columns and table["micro_f1"].notna().any():
        return "micro_f1"
    return "accuracy"


def summarize(table: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Mean and sample sd of ``metric`` (and fit seconds) over seeds per (method, aug, n_train);
    ``sd`` is NaN where one seed leaves nothing to measure a spread from."""
    done = table[table["status"] == "ok"]
    if done.empty:
        return pd.DataFrame(columns=[*GROUP, "mean", "sd", "seeds", "fit_seconds"])
    grouped = done.groupby(GROUP, sort=True)
    out = grouped[metric].agg(mean="mean", sd="std", seeds="count").reset_index()
    out["fit_seconds"] = grouped["fit_seconds"].mean().to_numpy()
    return out.sort_values(["n_train", "mean"], ascending=[True, False]).reset_index(drop=True)


def best_per_size(summary: pd.DataFrame) -> pd.DataFrame:
    """The top (method, aug) by mean metric for every training-set size."""
    if summary.empty:
        return summary
    idx = summary.groupby("n_train")["mean"].idxmax()
    return summary.loc[idx].sort_values("n_train").reset_index(drop=True)


def mean_sd(mean: float, sd: float, seeds: int) -> str:
    """``0.8000 ± 0.0283`` over several seeds; the value alone with one (no spread to show).

    >>> mean_sd(0.8, 0.02828, 2), mean_sd(0.8, float("nan"), 1)
    ('0.8000 ± 0.0283', '0.8000')
    """
    return f"{mean:.4f} ± {sd:.4f}" if seeds > 1 and sd == sd else f"{mean:.4f}"


def format_table(summary: pd.DataFrame, metric: str = "accuracy") -> str:
    """A Markdown table: method, aug, n_train, metric (mean ± sd over the n seeds), n, fit seconds."""
    lines = [
        f"| method | aug | n_train | {metric} (mean ± sd) | n seeds | fit s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in summary.itertuples(index=False):
        lines.append(
            f"| {row.method} | {row.aug} | {row.n_train} | {mean_sd(row.mean, row.sd, row.seeds)} "
            f"| {row.seeds} | {row.fit_seconds:.1f} |"
        )
    return "\n".join(lines)


def spread_note(summary: pd.DataFrame) -> str:
    """What the ± and the error bars are, with n."""
    seeds = sorted({int(n) for n in summary["seeds"]}) if len(summary) else []
    if not seeds or seeds == [1]:
        return (
            "one seed per cell: values are single runs (no ± and no error bars: no spread to show)"
        )
    n = seeds[0] if len(seeds) == 1 else f"{seeds[0]}-{seeds[-1]}"
    return f"mean ± sample sd over n = {n} seeds per cell; error bars are ± 1 sd"


def _line_label(method: str, aug: str) -> str:
    return method if aug == "none" else f"{method} + {aug}"


PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2",
           "#17becf", "#bcbd22", "#7f7f7f")  # fmt: skip
LINESTYLES = ("--", ":", "-.")
MARKERS = ("^", "s", "D", "v")


def method_colors(methods) -> dict[str, str]:
    """One colour per method (sorted names -> a fixed palette): the same in every plot."""
    return {m: PALETTE[i % len(PALETTE)] for i, m in enumerate(sorted(set(methods)))}


def _aug_styles(augs) -> dict[str, int]:
    """aug -> index of its line style / marker; ``none`` is the solid line and the circle."""
    others = sorted(set(augs) - {"none"})
    return {"none": -1, **{a: i for i, a in enumerate(others)}}


def _legend_outside(ax) -> None:
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0)


def plot_learning_curves(summary: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path:
    """Accuracy vs number of labelled training examples, one line per method (+ augmentation)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    colors, styles = method_colors(summary["method"]), _aug_styles(summary["aug"])
    for (method, aug), part in summary.groupby(["method", "aug"], sort=True):
        part = part.sort_values("n_train")
        style = "-" if aug == "none" else LINESTYLES[styles[aug] % len(LINESTYLES)]
        ax.errorbar(
            part["n_train"], part["mean"], yerr=part["sd"].fillna(0.0), fmt=f"o{style}",
            color=colors[method], capsize=3, label=_line_label(method, aug),
        )  # fmt: skip
    ax.set_xscale("log")
    ticks = sorted(int(n) for n in summary["n_train"].unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("labelled training examples (log scale)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title(
        f"What transfer buys: {metric} vs number of labels\n{spread_note(summary)}", fontsize=9
    )
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    return _save(fig, path)


def plot_cost(summary: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path:
    """Mean fit seconds (log) vs mean metric, one point per (method, aug, n_train)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 4.5))
    colors, styles = method_colors(summary["method"]), _aug_styles(summary["aug"])
    for (method, aug), part in summary.groupby(["method", "aug"], sort=True):
        marker = "o" if aug == "none" else MARKERS[styles[aug] % len(MARKERS)]
        ax.scatter(
            part["fit_seconds"].clip(lower=1e-3), part["mean"], color=colors[method],
            marker=marker, label=_line_label(method, aug),
        )  # fmt: skip
        for row in part.itertuples(index=False):
            ax.annotate(
                str(row.n_train), (max(row.fit_seconds, 1e-3), row.mean), fontsize=7, alpha=0.7,
                xytext=(3, 3), textcoords="offset points",
            )  # fmt: skip
    ax.set_xscale("log")
    ax.set_xlabel("fit time, seconds (log scale)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title("Cost vs accuracy (point labels: n_train; means over seeds)", fontsize=9)
    ax.grid(True, alpha=0.3)
    _legend_outside(ax)
    return _save(fig, path)


def plot_confusion(matrix: list[list[int]], labels: list[str], title: str, path: Path) -> Path:
    """A labelled confusion matrix (rows gold, columns predicted) with counts in the cells."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cm = np.asarray(matrix)
    size = max(4.0, 0.6 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(cm, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    ax.set_xlabel("predicted")
    ax.set_ylabel("gold")
    ax.set_title(title, fontsize=9)
    for i in range(cm.shape[0]):
        for j in range(cm.shape[1]):
            ax.text(
                j,
                i,
                int(cm[i, j]),
                ha="center",
                va="center",
                color="white" if cm[i, j] > cm.max() / 2 else "black",
            )
    return _save(fig, path)


def _save(fig, path: Path) -> Path:
    import matplotlib.pyplot as plt

    path = Path(path)
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120, bbox_inches="tight")  # keeps the legend beside the axes
    plt.close(fig)
    return path


def _best_cell(table: pd.DataFrame, summary: pd.DataFrame, metric: str) -> pd.Series | None:
    """The best single run of the best (method, aug) at the largest training-set size."""
    if summary.empty:
        return None
    largest = summary[summary["n_train"] == summary["n_train"].max()].iloc[0]
    runs = table[
        (table["status"] == "ok")
        & (table["method"] == largest.method)
        & (table["aug"] == largest.aug)
    ]
    runs = runs[runs["n_train"] == largest.n_train]
    return runs.sort_values(metric, ascending=False).iloc[0] if len(runs) else None


def write_report(
    table: pd.DataFrame,
    out_dir: str | Path,
    cells: dict[str, dict] | None = None,
    metric: str = "accuracy",
    context: dict[str, Any] | None = None,
) -> dict:
    """Write ``report.md``, ``report.html`` and PNG plots into ``out_dir``; return their paths.

    Args:
        table: the tidy results table (``textxfer.compare.grid`` writes it).
        out_dir: folder for the report files.
        cells: cell id -> full cell record (for the best model's confusion matrix).
        metric: the column to summarise.
        context: what the header states: ``dataset``, ``model``, ``evaluation`` (the split and its
            size), ``grid`` and ``config`` (``textxfer.compare.grid`` passes them).
    """
    out_dir = Path(out_dir)
    summary = summarize(table, metric)
    best = best_per_size(summary)
    paths = {
        "learning_curves": plot_learning_curves(summary, out_dir / "learning_curves.png", metric),
        "cost_vs_accuracy": plot_cost(summary, out_dir / "cost_vs_accuracy.png", metric),
    }
    cell = _best_cell(table, summary, metric)
    record = (cells or {}).get(cell["cell_id"]) if cell is not None else None
    if record and record.get("confusion_matrix"):
        title = f"best: {_line_label(cell['method'], cell['aug'])}, n_train={cell['n_train']}, seed={cell['seed']}"
        paths["confusion_matrix"] = plot_confusion(
            record["confusion_matrix"], record["labels"], title, out_dir / "confusion_matrix.png"
        )
    failed = table[table["status"] != "ok"]
    header = _header(context or {}, summary)
    plots = dict(paths)
    gaps = transfer_sentences(table, metric)
    paths["markdown"] = atomic_write_text(
        out_dir / "report.md", _markdown(header, summary, best, plots, failed, metric, gaps)
    )
    paths["html"] = atomic_write_text(
        out_dir / "report.html", _html(header, summary, best, plots, failed, metric, gaps)
    )
    logger.info("report written to %s", out_dir)
    return {k: str(v) for k, v in paths.items()}


def _header(context: dict[str, Any], summary: pd.DataFrame) -> list[tuple[str, str]]:
    """(name, value) lines of the report header: what was run, on what, scored how."""
    lines = [(k, str(context[k])) for k in ("dataset", "model", "evaluation", "grid", "config")
             if context.get(k)]  # fmt: skip
    return [*lines, ("numbers", spread_note(summary))]


def _title(header: list[tuple[str, str]]) -> str:
    dataset = re.split(r"[ ,(]", dict(header).get("dataset", ""))[0]
    return "textxfer compare report" + (f": {dataset}" if dataset else "")


def _markdown(header, summary, best, paths, failed, metric, gaps=()) -> str:
    parts = [f"# {_title(header)}", "", *[f"- **{k}**: {v}" for k, v in header], ""]
    parts += [
        f"## {metric}: mean ± sd over seeds",
        "",
        format_table(summary, metric),
        "",
        "## Best method per training-set size",
        "",
        format_table(best, metric),
        "",
        *_gaps_markdown(gaps),
        "## Plots",
        "",
    ]
    parts += [f"![{name}]({Path(p).name})" for name, p in paths.items()]
    if len(failed):
        parts += ["", f"## Failed cells ({len(failed)})", ""]
        parts += [f"- {r.cell_id}: {r.error}" for r in failed.itertuples(index=False)]
    return "\n".join(parts) + "\n"


CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 60rem;
       margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; border-bottom: 1px solid #ddd; }
dl.header { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dl.header dt { font-weight: 600; } dl.header dd { margin: 0; }
table.results { border-collapse: collapse; font-size: .9rem; }
table.results th, table.results td { padding: .3rem .7rem; border-bottom: 1px solid #e5e5e5; }
table.results th { background: #f3f5f8; text-align: left; }
table.results td.num { text-align: right; font-variant-numeric: tabular-nums; }
table.results tr:nth-child(even) td { background: #fafbfc; }
span.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px;
              margin-right: .4rem; vertical-align: middle; }
figure { margin: 1rem 0; } figure img { max-width: 100%; border: 1px solid #eee; }
ul.failed li { color: #a00; }
"""


def _gaps_markdown(gaps) -> list[str]:
    if not gaps:
        return []
    return ["## What pretraining buys", "", *[f"- {g}" for g in gaps], ""]


def _gaps_html(gaps) -> str:
    items = "".join(f"<li>{html.escape(g)}</li>" for g in gaps)
    return f"<h2>What pretraining buys</h2><ul>{items}</ul>" if gaps else ""


def _html_table(frame: pd.DataFrame, metric: str, colors: dict[str, str]) -> str:
    head = ["method", "aug", "n_train", f"{metric} (mean ± sd)", "n seeds", "fit s"]
    rows = []
    for r in frame.itertuples(index=False):
        swatch = f'<span class="swatch" style="background:{colors.get(r.method, "#999")}"></span>'
        cells = [f"<td>{swatch}{html.escape(str(r.method))}</td>", f"<td>{html.escape(str(r.aug))}</td>",
                 f'<td class="num">{r.n_train}</td>', f'<td class="num">{mean_sd(r.mean, r.sd, r.seeds)}</td>',
                 f'<td class="num">{r.seeds}</td>', f'<td class="num">{r.fit_seconds:.1f}</td>']  # fmt: skip
        rows.append("<tr>" + "".join(cells) + "</tr>")
    heads = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    return f'<table class="results"><thead><tr>{heads}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _html(header, summary, best, paths, failed, metric, gaps=()) -> str:
    colors = method_colors(summary["method"]) if len(summary) else {}
    meta = "".join(f"<dt>{html.escape(k)}</dt><dd>{html.escape(v)}</dd>" for k, v in header)
    imgs = "".join(
        f'<figure><img src="{html.escape(Path(p).name)}" alt="{html.escape(n)}">'
        f"<figcaption>{html.escape(n.replace('_', ' '))}</figcaption></figure>"
        for n, p in paths.items()
    )
    errors = "".join(
        f"<li>{html.escape(str(r.cell_id))}: {html.escape(str(r.error))}</li>"
        for r in failed.itertuples(index=False)
    )
    title = html.escape(_title(header))
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>"
        f"<style>{CSS}</style></head><body><h1>{title}</h1><dl class='header'>{meta}</dl>"
        f"<h2>{html.escape(metric)}: mean ± sd over seeds</h2>{_html_table(summary, metric, colors)}"
        f"<h2>Best method per training-set size</h2>{_html_table(best, metric, colors)}"
        f"{_gaps_html(gaps)}"
        f"<h2>Plots</h2>{imgs}"
        + (
            f"<h2>Failed cells ({len(failed)})</h2><ul class='failed'>{errors}</ul>"
            if errors
            else ""
        )
        + "</body></html>\n"
    )
