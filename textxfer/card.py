"""Model cards: the ``README.md`` of every model folder textxfer saves, in the Hugging Face Hub's
format, so a folder pushed to the Hub (``textxfer.publish``) documents itself.

A card is YAML front matter (``library_name``, ``pipeline_tag``, ``tags``, ``base_model``,
``datasets``, ``metrics``) and then the sections Data, Labels, Results, Training config and How to
load. The savers (``finetune.io``, ``adapt.io``, ``baselines.persist``) each build a ``ModelCard``
and write it with ``ModelCard.write`` while they write the folder.

>>> card = ModelCard(title="demo", summary="A demo.", library="transformers",
...                  labels=["neg", "pos"], results={"test": {"accuracy": 0.9, "macro_f1": 0.89, "n": 10}})
>>> print(card.render().splitlines()[1])
library_name: transformers
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

CARD_FILE = "README.md"

__all__ = ["CARD_FILE", "ModelCard", "base_model_id", "dataset_ids", "describe_dataset"]


def base_model_id(model: str | None) -> str | None:
    """The Hub id of a model argument for ``base_model``, or None when it has none.

    ``default`` is all-MiniLM-L6-v2's Hub id; a Hub id is itself; a local folder written by
    textxfer gives the id of the model it came from; any other folder has none (a local path means
    nothing on another machine).
    """
    from .io import read_run_info
    from .models import DEFAULT_MODEL, DEFAULT_MODEL_HUB_ID

    if model is None or str(model) == DEFAULT_MODEL:
        return DEFAULT_MODEL_HUB_ID
    text = str(model)
    path = Path(text).expanduser()
    if path.is_dir():
        parent = (read_run_info(path) or {}).get("model")
        return base_model_id(parent) if parent and parent != text else None
    return None if text.startswith((".", "/", "~")) or path.exists() else text


def dataset_ids(*names: str | None) -> list[str]:
    """Dataset names for ``datasets:`` (named and Hub datasets; files and folders are left out)."""
    out = []
    for name in names:
        if name and not Path(name).expanduser().exists() and name not in out:
            out.append(name)
    return out


def describe_dataset(name: str | None) -> str:
    """One line on where a dataset came from (with the attribution of the built-in ones)."""
    from .data.builtin import builtin_folder
    from .data.load import datasets_root

    if not name:
        return "an in-memory dataset"
    root = datasets_root()
    if Path(name).expanduser().exists():
        return f"the local file or folder `{Path(name).name}`"
    if root is not None and (root / name).is_dir():
        return f"`{name}` (a local named dataset)"
    if builtin_folder(name) is not None:
        return (
            f"`{name}`, built into textxfer: subjectivity dataset v1.0 by Bo Pang and Lillian Lee "
            "(Pang & Lee, ACL 2004), licensed CC BY 4.0"
        )
    return f"`{name}` from the Hugging Face Hub"


@dataclass
class ModelCard:
    """The content of a card; ``render`` gives the Markdown, ``write`` the file."""

    title: str
    summary: str
    library: str  # transformers | peft | sklearn
    pipeline_tag: str | None = "text-classification"
    tags: list[str] = field(default_factory=list)
    base_model: str | None = None
    datasets: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    results: dict[str, dict[str, Any]] = field(default_factory=dict)  # split -> metrics
    data: list[str] = field(default_factory=list)  # bullet lines
    config: dict[str, Any] | None = None  # sections, as in config.yaml
    how_to_load: str = ""  # Python code
    notes: list[str] = field(default_factory=list)

    def front_matter(self) -> dict[str, Any]:
        """The YAML metadata block the Hub reads."""
        metrics = sorted({m for r in self.results.values() for m in r if m in _METRICS})
        meta = {
            "library_name": self.library,
            "pipeline_tag": self.pipeline_tag,
            "tags": list(dict.fromkeys(["textxfer", *self.tags])),
            "base_model": self.base_model,
            "datasets": self.datasets or None,
            "metrics": [_METRICS[m] for m in metrics] or None,
        }
        return {k: v for k, v in meta.items() if v is not None}

    def render(self) -> str:
        """The card as Markdown with YAML front matter."""
        from . import __version__

        head = yaml.safe_dump(self.front_matter(), sort_keys=False, allow_unicode=True)
        parts = [f"---\n{head}---", f"# {self.title}", self.summary]
        parts.append("## Data\n\n" + ("\n".join(f"- {line}" for line in self.data) or "-"))
        if self.labels:
            rows = "\n".join(f"| {i} | {name} |" for i, name in enumerate(self.labels))
            parts.append(f"## Labels\n\n| id | label |\n|---:|---|\n{rows}")
        parts.append("## Results\n\n" + _results_table(self.results))
        if self.config:
            from .config import dump_yaml, to_sections

            parts.append(f"## Training config\n\n```yaml\n{dump_yaml(to_sections(self.config))}```")
        if self.how_to_load:
            parts.append(f"## How to load\n\n```python\n{self.how_to_load.strip()}\n```")
        parts += self.notes
        parts.append(f"Written by textxfer {__version__}.")
        return "\n\n".join(p.strip() for p in parts if p) + "\n"

    def write(self, folder: str | Path) -> Path:
        """``folder/README.md`` (atomically); replaces any card already there (e.g. peft's)."""
        from .io import atomic_write_text

        return atomic_write_text(Path(folder) / CARD_FILE, self.render())


_METRICS = {"accuracy": "accuracy", "macro_f1": "f1", "perplexity": "perplexity"}
_COLUMNS = (("accuracy", "accuracy"), ("macro_f1", "macro-F1"), ("perplexity", "perplexity"),
            ("n", "rows"))  # fmt: skip


def _results_table(results: dict[str, dict[str, Any]]) -> str:
    if not results:
        return "No evaluation was run."
    used = [(k, h) for k, h in _COLUMNS if any(k in r for r in results.values())]
    lines = ["| split | " + " | ".join(h for _, h in used) + " |",
             "|---|" + "---:|" * len(used)]  # fmt: skip
    for split, metrics in results.items():
        cells = [_cell(metrics.get(k)) for k, _ in used]
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4f}"
    return f"{value:,}" if isinstance(value, int) else str(value)
