"""Turn a compare results table into a summary (Markdown + HTML) and PNG plots.

The table is tidy: one row per (method, aug, size, seed) cell with its metrics. The report answers
"what did transfer buy?": mean ± sd over seeds, the best method per training-set size, learning curves
(accuracy vs number of labelled examples), the confusion matrix of the best model, cost vs accuracy.
"""

from __future__ import annotations

import html
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..io import atomic_file, atomic_write_text
from .transfer import transfer_sentences

logger = logging.getLogger(__name__)

GROUP = ["method", "aug", "n_train"]


def summarize(table: pd.DataFrame, metric: str = "accuracy") -> pd.DataFrame:
    """Mean ± sd of ``metric`` (and fit seconds) over seeds per (method, aug, n_train)."""
    done = table[table["status"] == "ok"]
    if done.empty:
        return pd.DataFrame(columns=[*GROUP, "mean", "sd", "seeds", "fit_seconds"])
    grouped = done.groupby(GROUP, sort=True)
    out = grouped[metric].agg(mean="mean", sd="std", seeds="count").reset_index()
    out["sd"] = out["sd"].fillna(0.0)
    out["fit_seconds"] = grouped["fit_seconds"].mean().to_numpy()
    return out.sort_values(["n_train", "mean"], ascending=[True, False]).reset_index(drop=True)


def best_per_size(summary: pd.DataFrame) -> pd.DataFrame:
    """The top (method, aug) by mean metric for every training-set size."""
    if summary.empty:
        return summary
    idx = summary.groupby("n_train")["mean"].idxmax()
    return summary.loc[idx].sort_values("n_train").reset_index(drop=True)


def format_table(summary: pd.DataFrame, metric: str = "accuracy") -> str:
    """A Markdown table: method, aug, n_train, metric as mean ± sd, seeds, fit seconds."""
    lines = [
        f"| method | aug | n_train | {metric} (mean ± sd) | seeds | fit s |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in summary.itertuples(index=False):
        lines.append(
            f"| {row.method} | {row.aug} | {row.n_train} | {row.mean:.4f} ± {row.sd:.4f} "
            f"| {row.seeds} | {row.fit_seconds:.1f} |"
        )
    return "\n".join(lines)


def _line_label(method: str, aug: str) -> str:
    return method if aug == "none" else f"{method} + {aug}"


def plot_learning_curves(summary: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path:
    """Accuracy vs number of labelled training examples, one line per method (+ augmentation)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    colors: dict[str, str] = {}  # one colour per method; augmentation is the dashed twin
    for (method, aug), part in summary.groupby(["method", "aug"], sort=True):
        part = part.sort_values("n_train")
        style = "-" if aug == "none" else "--"
        color = colors.setdefault(method, f"C{len(colors)}")
        ax.errorbar(
            part["n_train"], part["mean"], yerr=part["sd"], fmt=f"o{style}", color=color,
            capsize=3, label=_line_label(method, aug),
        )  # fmt: skip
    ax.set_xscale("log")
    ticks = sorted(int(n) for n in summary["n_train"].unique())
    ax.set_xticks(ticks, [str(t) for t in ticks])
    ax.minorticks_off()
    ax.set_xlabel("labelled training examples (log scale)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title("What transfer buys: accuracy vs number of labels")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
    return _save(fig, path)


def plot_cost(summary: pd.DataFrame, path: Path, metric: str = "accuracy") -> Path:
    """Mean fit seconds (log) vs mean metric, one point per (method, aug, n_train)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for (method, aug), part in summary.groupby(["method", "aug"], sort=True):
        ax.scatter(
            part["fit_seconds"].clip(lower=1e-3), part["mean"], label=_line_label(method, aug)
        )
        for row in part.itertuples(index=False):
            ax.annotate(
                str(row.n_train), (max(row.fit_seconds, 1e-3), row.mean), fontsize=7, alpha=0.7
            )
    ax.set_xscale("log")
    ax.set_xlabel("fit time, seconds (log scale)")
    ax.set_ylabel(f"test {metric}")
    ax.set_title("Cost vs accuracy (labels: n_train)")
    ax.grid(True, alpha=0.3)
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=8, loc="lower right")
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
    fig.tight_layout()
    with atomic_file(path, suffix=".png") as tmp:
        fig.savefig(tmp, dpi=120)
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
) -> dict:
    """Write ``report.md``, ``report.html`` and PNG plots into ``out_dir``; return their paths.

    Args:
        table: the tidy results table (``textxfer.compare.grid`` writes it).
        out_dir: folder for the report files.
        cells: cell id -> full cell record (for the best model's confusion matrix).
        metric: the column to summarise.
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
    plots = dict(paths)
    gaps = transfer_sentences(table, metric)
    paths["markdown"] = atomic_write_text(
        out_dir / "report.md", _markdown(summary, best, plots, failed, metric, gaps)
    )
    paths["html"] = atomic_write_text(
        out_dir / "report.html", _html(summary, best, plots, failed, metric, gaps)
    )
    logger.info("report written to %s", out_dir)
    return {k: str(v) for k, v in paths.items()}


def _markdown(summary, best, paths, failed, metric, gaps=()) -> str:
    parts = [
        "# textxfer compare report",
        "",
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


def _gaps_markdown(gaps) -> list[str]:
    if not gaps:
        return []
    return ["## What pretraining buys", "", *[f"- {g}" for g in gaps], ""]


def _gaps_html(gaps) -> str:
    items = "".join(f"<li>{html.escape(g)}</li>" for g in gaps)
    return f"<h2>What pretraining buys</h2><ul>{items}</ul>" if gaps else ""


def _html(
    summary: pd.DataFrame,
    best: pd.DataFrame,
    paths: dict,
    failed: pd.DataFrame,
    metric: str,
    gaps=(),
) -> str:
    def table(frame: pd.DataFrame) -> str:
        return frame.to_html(index=False, float_format=lambda v: f"{v:.4f}", border=1)

    imgs = "".join(
        f'<h3>{html.escape(n)}</h3><img src="{html.escape(Path(p).name)}" style="max-width:720px">'
        for n, p in paths.items()
    )
    errors = "".join(
        f"<li>{html.escape(str(r.cell_id))}: {html.escape(str(r.error))}</li>"
        for r in failed.itertuples(index=False)
    )
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>textxfer compare report</title></head><body>"
        f"<h1>textxfer compare report</h1><h2>{metric}: mean ± sd over seeds</h2>{table(summary)}"
        f"<h2>Best method per training-set size</h2>{table(best)}{_gaps_html(gaps)}"
        f"<h2>Plots</h2>{imgs}"
        + (f"<h2>Failed cells</h2><ul>{errors}</ul>" if errors else "")
        + "</body></html>\n"
    )
