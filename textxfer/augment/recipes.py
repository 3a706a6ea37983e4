"""Augmentation recipes: a list of word/char operations with probabilities and parameters.

A recipe is a built-in name (``eda``, ``eda_w2v``, ``mlm``, ``char``, or one op such as
``delete``), a YAML file, or the same structure as a dict/list::

    name: my_recipe
    mode: one_of          # one_of: each augmented copy applies ONE op drawn with weights p
                          # chain:  every op in order, each applied with probability p
                          #         (a copy that draws none gets one op drawn with weights p)
    ops:
      - {op: substitute, source: wordnet, p: 2}
      - {op: insert, source: word2vec, top_k: 5}
      - {op: swap, alpha: 0.2}
      - {op: char, source: keyboard, char_p: 0.2}

>>> from textxfer.augment.recipes import load_recipe
>>> [o.label for o in load_recipe("eda").ops]
['substitute:wordnet', 'insert:wordnet', 'swap', 'delete']
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..config import yaml_problem
from ..errors import ConfigError

ENGINES = ("textxfer", "nlpaug")
MODES = ("one_of", "chain")
# EDA (Wei & Zou, 2019), Table 3: recommended (alpha, n_aug) by training-set size.
EDA_TABLE = ((1000, 0.05, 16), (3000, 0.05, 8), (None, 0.1, 4))


def eda_defaults(n_train: int) -> tuple[float, int]:
    """(alpha, n_aug) from the EDA paper's table for a training set of ``n_train`` rows.

    ~500 rows -> (0.05, 16), ~2000 -> (0.05, 8), more (5000+) -> (0.1, 4); the cut points
    (1000, 3000) sit between the paper's rows on a log scale.

    >>> eda_defaults(500), eda_defaults(2000), eda_defaults(6920)
    ((0.05, 16), (0.05, 8), (0.1, 4))
    """
    for limit, alpha, n_aug in EDA_TABLE:
        if limit is None or n_train <= limit:
            return alpha, n_aug
    raise AssertionError("unreachable")  # pragma: no cover


@dataclass(frozen=True)
class OpSpec:
    """One operation of a recipe and its parameters."""

    op: str
    source: str | None = None
    p: float = 1.0  # weight in one_of mode, probability of applying in chain mode
    alpha: float | None = None  # fraction of words changed (default: the recipe's alpha)
    aug_min: int = 1  # at least this many words changed
    aug_max: int | None = None  # at most this many words changed
    top_k: int = 10  # word2vec/mlm: candidates per word
    char_p: float = 0.3  # char ops: fraction of characters changed in a chosen word
    engine: str = "textxfer"  # textxfer (own, fast) or nlpaug (its augmenters, seeded)
    model: str | None = None  # word2vec KeyedVectors file / MLM folder (default: AugmentArgs)
    pos_tagger: bool | None = None  # wordnet: filter synonyms by NLTK POS tag (None: if installed)

    def __post_init__(self) -> None:
        from .ops import get_op

        kind = get_op(self.op)
        source = self.source if self.source is not None else kind.sources[0]
        object.__setattr__(self, "source", source)
        if source not in kind.sources:
            raise ConfigError(
                f"op {self.op!r} takes source in {[s for s in kind.sources if s]}, found {source!r}"
            )
        if self.engine not in ENGINES:
            raise ConfigError(f"engine must be one of {list(ENGINES)}, found {self.engine!r}")
        if self.engine == "nlpaug" and source not in kind.nlpaug_sources:
            covered = [o.name for o in _op_types() if o.nlpaug_sources]
            raise ConfigError(
                f"engine 'nlpaug' covers the ops {covered} (wordnet sources only), not "
                f"{self.label}; use engine: textxfer"
            )
        if kind.nlpaug_only and self.engine != "nlpaug":
            object.__setattr__(self, "engine", "nlpaug")  # char noise always comes from nlpaug
        self._check_numbers()

    def _check_numbers(self) -> None:
        if not self.p >= 0:
            raise ConfigError(f"op {self.label}: p must be >= 0, found {self.p}")
        if self.alpha is not None and not 0 < self.alpha <= 1:
            raise ConfigError(f"op {self.label}: alpha must be in (0, 1], found {self.alpha}")
        if not 0 < self.char_p <= 1:
            raise ConfigError(f"op {self.label}: char_p must be in (0, 1], found {self.char_p}")
        if self.aug_min < 0 or (self.aug_max is not None and self.aug_max < max(self.aug_min, 1)):
            raise ConfigError(
                f"op {self.label}: need 0 <= aug_min <= aug_max, found {self.aug_min}, {self.aug_max}"
            )
        if self.top_k < 1:
            raise ConfigError(f"op {self.label}: top_k must be >= 1, found {self.top_k}")

    @property
    def label(self) -> str:
        """``op:source`` (``op`` alone for delete/swap), as written in the ``aug_op`` column."""
        return self.op if self.source is None else f"{self.op}:{self.source}"

    @property
    def contextual(self) -> bool:
        """Whether the op runs a masked LM (batched in the main process)."""
        return self.source == "mlm"

    def to_dict(self) -> dict[str, Any]:
        """Non-default fields, for YAML and cache keys."""
        return {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name == "op" or getattr(self, f.name) != f.default
        }


@dataclass(frozen=True)
class Recipe:
    """A named list of ops and how they combine (``one_of`` or ``chain``)."""

    ops: tuple[OpSpec, ...]
    mode: str = "one_of"
    name: str = "custom"

    def __post_init__(self) -> None:
        if not self.ops:
            raise ConfigError(f"recipe {self.name!r} has no ops; list at least one under 'ops'")
        if self.mode not in MODES:
            raise ConfigError(
                f"recipe {self.name!r}: mode must be one of {list(MODES)}, found {self.mode!r}"
            )
        if self.mode == "one_of" and sum(o.p for o in self.ops) <= 0:
            raise ConfigError(f"recipe {self.name!r}: the op weights p sum to 0; give one p > 0")
        if self.mode == "chain" and any(o.p > 1 for o in self.ops):
            raise ConfigError(
                f"recipe {self.name!r}: in chain mode p is a probability, found {[o.p for o in self.ops]}"
            )

    def to_dict(self) -> dict[str, Any]:
        """Plain dict (the YAML recipe format)."""
        return {"name": self.name, "mode": self.mode, "ops": [o.to_dict() for o in self.ops]}

    def sources(self) -> set[str]:
        """Sources used by the ops (``wordnet``, ``word2vec``, ``mlm``, ...)."""
        return {o.source for o in self.ops if o.source}


def _op_types():
    from .ops import OP_TYPES

    return OP_TYPES.values()


def _ops(*specs: dict[str, Any]) -> list[dict[str, Any]]:
    return list(specs)


BUILTIN_RECIPES: dict[str, dict[str, Any]] = {
    "eda": {
        "mode": "one_of",
        "ops": _ops(
            {"op": "substitute", "source": "wordnet"},
            {"op": "insert", "source": "wordnet"},
            {"op": "swap"},
            {"op": "delete"},
        ),
    },
    "eda_nlpaug": {
        "mode": "one_of",
        "ops": _ops(
            {"op": "substitute", "source": "wordnet", "engine": "nlpaug"},
            {"op": "insert", "source": "wordnet", "engine": "nlpaug"},
            {"op": "swap", "engine": "nlpaug"},
            {"op": "delete", "engine": "nlpaug"},
        ),
    },
    "eda_w2v": {
        "mode": "one_of",
        "ops": _ops(
            {"op": "substitute", "source": "word2vec"},
            {"op": "insert", "source": "word2vec"},
            {"op": "swap"},
            {"op": "delete"},
        ),
    },
    "w2v": {
        "ops": _ops(
            {"op": "substitute", "source": "word2vec"}, {"op": "insert", "source": "word2vec"}
        )
    },
    "mlm": {"ops": _ops({"op": "substitute", "source": "mlm"}, {"op": "insert", "source": "mlm"})},
    "char": {"ops": _ops({"op": "char", "source": "keyboard"}, {"op": "char", "source": "ocr"})},
    "synonym": {"ops": _ops({"op": "substitute", "source": "wordnet"})},
    "insert": {"ops": _ops({"op": "insert", "source": "wordnet"})},
    "swap": {"ops": _ops({"op": "swap"})},
    "delete": {"ops": _ops({"op": "delete"})},
}


def register_recipe(name: str, recipe: dict[str, Any] | list, replace: bool = False) -> Recipe:
    """Register a named recipe (``{mode, ops}`` or a list of ops), usable wherever a recipe name is.

    Raises:
        ConfigError: a bad recipe, or the name is taken (unless ``replace``).
    """
    if name in BUILTIN_RECIPES and not replace:
        raise ConfigError(f"recipe {name!r} is registered already; pick another name")
    spec = {"ops": recipe} if isinstance(recipe, list) else dict(recipe)
    parsed = _from_mapping({**spec, "name": name}, name)
    BUILTIN_RECIPES[name] = spec
    return parsed


def _from_mapping(data: Any, name: str) -> Recipe:
    if isinstance(data, list):
        data = {"ops": data}
    if not isinstance(data, dict) or "ops" not in data:
        raise ConfigError(
            f"recipe {name!r} must be a list of ops or a mapping with 'ops' (and optional "
            f"'mode', 'name'), found {type(data).__name__}"
        )
    unknown = sorted(set(data) - {"ops", "mode", "name"})
    if unknown:
        raise ConfigError(f"recipe {name!r}: unknown key(s) {unknown}; expected ops, mode, name")
    ops = data["ops"] if isinstance(data["ops"], list) else [data["ops"]]
    known = {f.name for f in dataclasses.fields(OpSpec)}
    specs = []
    for i, op in enumerate(ops):
        op = {"op": op} if isinstance(op, str) else op
        extra = sorted(set(op) - known) if isinstance(op, dict) else []
        if not isinstance(op, dict) or extra:
            raise ConfigError(
                f"recipe {name!r}, op #{i + 1}: expected a mapping with keys among "
                f"{sorted(known)}, found {op!r}"
            )
        specs.append(OpSpec(**op))
    return Recipe(tuple(specs), mode=data.get("mode", "one_of"), name=str(data.get("name", name)))


def load_recipe(recipe: str | Path | dict | list | Recipe) -> Recipe:
    """A ``Recipe`` from a built-in name, a YAML file path, a dict/list, or a ``Recipe``.

    Raises:
        ConfigError: unknown name, missing file, or bad op/params (the message says which).
    """
    if isinstance(recipe, Recipe):
        return recipe
    if isinstance(recipe, (dict, list)):
        return _from_mapping(recipe, "custom")
    text = str(recipe)
    if text in BUILTIN_RECIPES:
        return _from_mapping({"name": text, **BUILTIN_RECIPES[text]}, text)
    path = Path(text).expanduser()
    if path.suffix in (".yaml", ".yml") or path.exists():
        if not path.is_file():
            raise ConfigError(f"recipe file {text!r} not found; pass an existing YAML file")
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as err:
            raise ConfigError(
                f"recipe file {text!r} is not valid YAML: {yaml_problem(err)}"
            ) from err
        if isinstance(data, dict) and isinstance(data.get("recipe"), (dict, list)):
            data = data["recipe"]  # an AugmentArgs preset with an inline recipe
        return _from_mapping(data, path.stem)
    raise ConfigError(
        f"unknown recipe {text!r}; expected a built-in name {sorted(BUILTIN_RECIPES)}, "
        "a YAML file, or a list of ops"
    )
