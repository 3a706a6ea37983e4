"""The one method registry: every method that ``textxfer compare``, ``crossdomain`` and the CLI run.

A method is registered once, from its own package, with its name, kind, option sections and
runner; the CLI choices, the compare validation (every per-method option is checked against the
method's sections), the cross-domain families and the README table all come from here.

>>> from textxfer.compare.registry import get_method, method_names
>>> "tfidf-lr" in method_names("baseline")
True
>>> get_method("finetune-lora").kind
'finetune'

Third-party methods register the same way from their own module, made known to textxfer by the
``textxfer.plugins`` entry-point group or the ``TEXTXFER_PLUGINS`` variable (comma-separated
module names)::

    @register_method("my-method", kind="baseline", sections={"baseline": BaselineArgs})
    def run_mine(run: MethodRun) -> MethodResult: ...
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..config import build_configs, field_owners, merge_layers
from ..errors import ConfigError

logger = logging.getLogger(__name__)

KINDS = ("baseline", "finetune", "adapt", "fewshot", "scratch")
ADAPTATIONS = ("vectorizer", "encoder")
BUILTIN_MODULES = (
    "textxfer.baselines.methods",
    "textxfer.finetune.methods",
    "textxfer.adapt.methods",
    "textxfer.fewshot.methods",
)
PLUGIN_ENV = "TEXTXFER_PLUGINS"
ENTRY_POINT_GROUP = "textxfer.plugins"
# Values every method gets from the grid when its sections have the field.
GRID_VALUES = ("seed", "model")

__all__ = [
    "Method",
    "MethodResult",
    "MethodRun",
    "get_method",
    "method_names",
    "methods_table",
    "register_method",
    "run_method",
]


@dataclass
class MethodResult:
    """What one method run reports to the grid."""

    metrics: dict
    fit_seconds: float
    trainable_params: int | None = None
    total_params: int | None = None


@dataclass
class MethodRun:
    """Everything a runner gets: the data, the built option sections and where to write."""

    method: Method
    dataset: Any  # DatasetDict with train/dev/test
    configs: dict[str, Any]  # section -> config instance, per the method's sections
    eval_split: str = "test"
    work_dir: Path = Path("runs/work")
    unlabeled: list[str] | None = None  # cross-domain: the target's unlabelled texts


@dataclass(frozen=True)
class Method:
    """A registered method.

    Attributes:
        name: the method's name in grids and on the CLI (e.g. ``tfidf-lr``).
        kind: one of ``KINDS``.
        run: ``run(MethodRun) -> MethodResult``.
        sections: option sections (section name -> config dataclass) the method accepts.
        fixed: values the method sets itself (e.g. ``lora: true``); a user value that differs
            is an error.
        defaults: values set before the user's (e.g. no progress bar inside a grid).
        smoke: values for ``smoke: true`` grids (tiny CI runs), set after the user's.
        adaptation: how cross-domain runs adapt it: ``vectorizer`` (fitted on the target's
            unlabelled texts too), ``encoder`` (starts from the adapted encoder) or None.
        build: baselines only: ``build(BaselineArgs) -> unfitted sklearn Pipeline``.
        help: one line for ``--help`` and the README table.
    """

    name: str
    kind: str
    run: Callable[[MethodRun], MethodResult]
    sections: Mapping[str, type]
    fixed: Mapping[str, Any] = field(default_factory=dict)
    defaults: Mapping[str, Any] = field(default_factory=dict)
    smoke: Mapping[str, Any] = field(default_factory=dict)
    adaptation: str | None = None
    build: Callable | None = None
    help: str = ""

    def configs(
        self, options: Mapping[str, Any] | None = None, *, smoke: bool = False, **grid: Any
    ) -> dict[str, Any]:
        """The method's section instances: grid values < defaults < ``options`` < smoke < fixed.

        Args:
            options: per-method options, flat or by section; every key must belong to one of
                the method's sections (a typo is an error, with the closest option).
            smoke: apply the method's tiny CI settings.
            **grid: values the grid gives every method (``seed``, ``model``); used only where
                the method's sections have the field.
        """
        owners = field_owners(self.sections)
        source = f"options of method {self.name!r}"
        options = dict(options or {})
        self._check_fixed(options, owners)
        layers = [
            {k: v for k, v in grid.items() if k in owners and v is not None},
            {k: v for k, v in self.defaults.items() if k in owners},
            options,
            self.smoke if smoke else {},
            self.fixed,
        ]
        merged = merge_layers(self.sections, layers, source)
        built = build_configs(self.sections, merged, source=source)
        built.pop("")
        return built

    def _check_fixed(self, values: Mapping[str, Any], owners: Mapping[str, list[str]]) -> None:
        for key, value in self.fixed.items():
            given = [values.get(key)] + [
                values[s].get(key)
                for s in owners.get(key, [])
                if isinstance(values.get(s), Mapping)
            ]
            for found in given:
                if found is not None and found != value:
                    raise ConfigError(
                        f"option {key!r} of method {self.name!r} is fixed to {value!r} by the method, "
                        f"found {found!r}; drop it or pick the method that has it"
                    )


_METHODS: dict[str, Method] = {}
_LOADED = {"builtins": False, "plugins": False}


def register_method(
    name: str,
    *,
    kind: str,
    sections: Mapping[str, type],
    run: Callable[[MethodRun], MethodResult] | None = None,
    replace: bool = False,
    **attributes: Any,
):
    """Register a method (see ``Method`` for the attributes); usable as a decorator of ``run``.

    Raises:
        ConfigError: a bad kind or adaptation, or a name taken (unless ``replace``).
    """
    if kind not in KINDS:
        raise ConfigError(f"method {name!r}: kind must be one of {list(KINDS)}, found {kind!r}")
    if attributes.get("adaptation") not in (None, *ADAPTATIONS):
        raise ConfigError(
            f"method {name!r}: adaptation must be one of {list(ADAPTATIONS)} or None, found "
            f"{attributes['adaptation']!r}"
        )

    def add(func: Callable[[MethodRun], MethodResult]):
        if name in _METHODS and not replace:
            raise ConfigError(f"method {name!r} is registered already; pick another name")
        _METHODS[name] = Method(name, kind, func, dict(sections), **attributes)
        return func

    return add(run) if run is not None else add


def unregister_method(name: str) -> None:
    """Remove a method (tests and plugins that register temporary methods)."""
    _METHODS.pop(name, None)


def _ensure_loaded() -> None:
    if not _LOADED["builtins"]:
        _LOADED["builtins"] = True
        for module in BUILTIN_MODULES:
            importlib.import_module(module)
    if not _LOADED["plugins"]:
        _LOADED["plugins"] = True
        load_plugins()


def load_plugins() -> list[str]:
    """Import the modules named by the ``textxfer.plugins`` entry points and ``$TEXTXFER_PLUGINS``."""
    from importlib.metadata import entry_points

    names = [ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)]
    names += [n.strip() for n in os.environ.get(PLUGIN_ENV, "").split(",") if n.strip()]
    for module in names:
        try:
            importlib.import_module(module)
        except ImportError as err:
            raise ConfigError(
                f"plugin module {module!r} (from {ENTRY_POINT_GROUP} or ${PLUGIN_ENV}) could not "
                f"be imported: {err}; install it or drop it from ${PLUGIN_ENV}"
            ) from err
    return names


def method_names(kind: str | None = None) -> list[str]:
    """Registered method names (of one kind), sorted."""
    _ensure_loaded()
    return sorted(n for n, m in _METHODS.items() if kind is None or m.kind == kind)


def get_method(name: str, kind: str | None = None) -> Method:
    """The registered method ``name`` (of ``kind`` when given).

    Raises:
        ConfigError: an unknown name, listing the known ones.
    """
    _ensure_loaded()
    method = _METHODS.get(name)
    if method is None or (kind is not None and method.kind != kind):
        known = method_names(kind)
        raise ConfigError(
            f"unknown {kind + ' ' if kind else ''}method {name!r}; expected one of {known}"
        )
    return method


def run_method(
    name: str,
    dataset,
    *,
    options: Mapping[str, Any] | None = None,
    seed: int = 0,
    model: str = "default",
    eval_split: str = "test",
    work_dir: str | Path = "runs/work",
    smoke: bool = False,
    unlabeled: list[str] | None = None,
) -> MethodResult:
    """Fit method ``name`` on ``dataset["train"]`` and evaluate it on ``dataset[eval_split]``.

    Args:
        name: a registered method.
        dataset: ``DatasetDict`` with train/dev/test (text, ClassLabel label).
        options: per-method options (fields of the method's sections, flat or by section).
        seed: seeds the method (model init, sampling inside the method).
        model: pretrained model for transformer methods.
        eval_split: split to report metrics on.
        work_dir: scratch folder for model outputs.
        smoke: tiny settings (a couple of optimisation steps) for CI.
        unlabeled: cross-domain unlabelled target texts (vectorizer adaptation).
    """
    method = get_method(name)
    configs = method.configs(options, smoke=smoke, seed=seed, model=model)
    run = MethodRun(method, dataset, configs, eval_split, Path(work_dir), unlabeled)
    return method.run(run)


def methods_table() -> str:
    """A Markdown table of the registered methods (the README's table is this text)."""
    lines = ["| method | kind | cross-domain adaptation | what it is |", "|---|---|---|---|"]
    for name in method_names():
        m = _METHODS[name]
        lines.append(f"| `{name}` | {m.kind} | {m.adaptation or '-'} | {m.help} |")
    return "\n".join(lines)
