"""Config dataclasses -> CLI flags and YAML, with defaults < YAML < flags.

Every option of textxfer is one field of one config dataclass (an ``Args`` subclass, with a one-line
help in ``metadata["help"]``). A command names its sections, e.g. ``{"data": DataArgs, "train":
TrainArgs}``; from them this module derives the flags and reads YAML:

- a YAML section (``train: {seed: 2}``) sets its own dataclass only; a top-level key (``seed: 2``)
  sets every section that has the field, like the flag;
- a flag (``--seed 3``) sets every section that has the field, and ``--help`` says which; a dotted
  flag (``--train.seed 3``) sets one section;
- values are checked against the field types before validation (``--epochs abc`` names the option
  and the expected type), and flag strings are converted (``--label-names a,b`` is a list).

jsonargparse would give the same precedence, but with dotted flags only (``--train.lr``); flat flags
with per-section YAML keep the short command lines of the README, in less code than an adapter.

>>> from dataclasses import dataclass
>>> @dataclass
... class DemoArgs(Args):
...     epochs: int = field(3, help="passes")
>>> build_configs({"demo": DemoArgs}, {"demo": {"epochs": "4"}})["demo"].epochs
4
"""

from __future__ import annotations

import argparse
import dataclasses
import difflib
import functools
import re
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Union

import yaml

from .errors import ConfigError

__all__ = [
    "Args",
    "ConfigError",
    "add_config_args",
    "build_configs",
    "configs_from_args",
    "dump_yaml",
    "field",
    "load_yaml",
    "to_sections",
]

NULLS = ("null", "none", "None", "~")
TRUE, FALSE = ("1", "true", "yes", "y", "on"), ("0", "false", "no", "n", "off")


def field(default: Any = dataclasses.MISSING, help: str = "", **kwargs: Any) -> Any:
    """A dataclass field with a one-line help string (shown by ``--help``)."""
    metadata = {"help": help, **kwargs.pop("metadata", {})}
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


class Args:
    """Base of the config dataclasses: types are checked, then ``validate`` runs.

    Subclasses are dataclasses; they put their range checks in ``validate`` (with errors that name
    the field and the fix), never in ``__init__``.
    """

    def __post_init__(self) -> None:
        hints = type_hints(type(self))
        for f in dataclasses.fields(self):
            if f.init:
                value = getattr(self, f.name)
                setattr(self, f.name, coerce(value, hints[f.name], f.name, type(self)))
        self.validate()

    def validate(self) -> None:
        """Check values beyond their types; raise ``ConfigError`` with the fix."""

    def to_dict(self) -> dict[str, Any]:
        """Plain dict of the fields (YAML/JSON ready)."""
        return dataclasses.asdict(self)

    @classmethod
    def from_yaml(cls, path: str | Path, section: str | None = None, **overrides: Any):
        """An instance from a YAML file (flat keys, or a ``section`` mapping) plus ``overrides``.

        ``section`` defaults to the class name without ``Args``, lowercased (``CompareArgs`` ->
        ``compare``), as commands write their ``config.yaml``.
        """
        name = section or cls.__name__.removesuffix("Args").lower()
        values = {**load_yaml(path), **{k: v for k, v in overrides.items() if v is not None}}
        return build_configs({name: cls}, values, source=f"config file {str(path)!r}")[name]


@functools.cache
def type_hints(cls: type) -> dict[str, Any]:
    """Resolved field annotations of a dataclass."""
    return typing.get_type_hints(cls)


# ------------------------------------------------------------------------------ type checking
def _describe(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        parts = [_describe(a) for a in typing.get_args(tp) if a is not type(None)]
        nullable = type(None) in typing.get_args(tp)
        return " or ".join(parts) + (" or null" if nullable else "")
    if origin is list:
        (inner,) = typing.get_args(tp) or (Any,)
        return f"a list of {_describe(inner).removeprefix('a ').removeprefix('an ')}s"
    names = {
        bool: "true/false",
        int: "an integer",
        float: "a number",
        str: "a string",
        dict: "a mapping",
    }
    return names.get(origin or tp, "a value")


def _type_error(name: str, owner: type | None, tp: Any, value: Any) -> ConfigError:
    where = f" ({owner.__name__})" if owner else ""
    return ConfigError(
        f"option {name!r}{where} expects {_describe(tp)}, found {value!r} ({type(value).__name__}); "
        f"pass e.g. --{name.replace('_', '-')} VALUE or {name}: VALUE in the YAML file"
    )


def _is_list_text(value: Any) -> bool:
    return isinstance(value, str) and value.strip().startswith("[")


def _exact(value: Any, member: Any) -> bool:
    base = typing.get_origin(member) or member
    if base is list:
        return isinstance(value, (list, tuple))
    if base is dict:
        return isinstance(value, Mapping)
    return base in (bool, int, float, str) and type(value) is base


def _coerce_union(value: Any, tp: Any, name: str, owner: type | None) -> Any:
    members = typing.get_args(tp)
    if type(None) in members and (value is None or value in NULLS):
        return None
    members = [m for m in members if m is not type(None)]
    first = [m for m in members if _exact(value, m)]
    if isinstance(value, str):  # a flag value: a list or mapping in YAML flow style, else text
        text = value.strip()
        wanted = list if text.startswith("[") else dict if text.startswith("{") else str
        kinds = [m for m in members if (typing.get_origin(m) or m) is wanted]
        if kinds and wanted is not str:  # a bracketed value is meant as a list or mapping
            members = first = kinds
        first = kinds + first
    for member in [*first, *members]:
        try:
            return coerce(value, member, name, owner)
        except ConfigError:
            continue
    raise _type_error(name, owner, tp, value)


def _coerce_list(value: Any, tp: Any, name: str, owner: type | None) -> list:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            value = load_yaml_text(text, f"--{name.replace('_', '-')}")
        else:
            value = [v.strip() for v in text.split(",") if v.strip()] if text else []
    elif isinstance(value, tuple):
        value = list(value)
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        value = [value]  # one value for a list option, e.g. seeds: 0
    elif not isinstance(value, list):
        raise _type_error(name, owner, tp, value)
    (inner,) = typing.get_args(tp) or (Any,)
    return [coerce(v, inner, name, owner) for v in value]


def _coerce_scalar(value: Any, tp: type, name: str, owner: type | None) -> Any:
    text = value.strip() if isinstance(value, str) else None
    if tp is bool:
        if isinstance(value, bool):
            return value
        if text is not None and text.lower() in TRUE + FALSE:
            return text.lower() in TRUE
    elif tp is int and not isinstance(value, bool):
        if isinstance(value, int):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if text is not None and re.fullmatch(r"[-+]?\d+", text):
            return int(text)
    elif tp is float and not isinstance(value, bool):
        if isinstance(value, (int, float)):
            return float(value)
        if text is not None:
            try:
                return float(text)
            except ValueError:
                pass
    elif tp is str:
        if isinstance(value, str):
            return value
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return str(value)
    raise _type_error(name, owner, tp, value)


def coerce(value: Any, tp: Any, name: str, owner: type | None = None) -> Any:
    """``value`` checked against the annotation ``tp``; strings (from flags) are converted.

    Raises:
        ConfigError: naming the option, the expected type and what was found.
    """
    origin = typing.get_origin(tp)
    if tp is Any or tp is object:
        return value
    if origin in (Union, types.UnionType):
        return _coerce_union(value, tp, name, owner)
    if origin is list or tp is list:
        return _coerce_list(value, tp, name, owner)
    if origin is dict or tp is dict:
        if isinstance(value, str):
            value = load_yaml_text(value, f"--{name.replace('_', '-')}")
        if not isinstance(value, Mapping):
            raise _type_error(name, owner, dict, value)
        return dict(value)
    if tp in (bool, int, float, str):
        return _coerce_scalar(value, tp, name, owner)
    return value


# --------------------------------------------------------------------------------------- YAML
class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but reading ``5e-4`` as a float (YAML 1.2 does; PyYAML's 1.1 rules
    need a dot, ``5.0e-4``, and would hand ``lr`` the string '5e-4')."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def yaml_problem(err: Exception) -> str:
    """A YAML parser error on one line: the problem and where (its own text spans lines).

    >>> yaml_problem(yaml.YAMLError("bad"))
    'bad'
    """
    problem = getattr(err, "problem", None) or str(err)
    mark = getattr(err, "problem_mark", None)
    where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
    return " ".join(f"{problem}{where}".split())


def load_yaml_text(text: str, source: str) -> Any:
    """Parse YAML text (a flag value or a file's content) with errors that name the source."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError as err:
        raise ConfigError(
            f"{source}: not valid YAML ({yaml_problem(err)}); check brackets and quotes"
        ) from err


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file as a dict, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {str(path)!r} not found; pass an existing YAML file to --config"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ConfigError(
            f"config file {str(path)!r} is not UTF-8 text; re-save it as UTF-8"
        ) from err
    data = load_yaml_text(text, f"config file {str(path)!r}") or {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {str(path)!r} must hold a mapping of option: value, found {type(data).__name__}"
        )
    return data


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML text with stable key order (as written)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)


def to_sections(config: Mapping[str, Any]) -> dict[str, Any]:
    """``{section: dataclass or dict}`` -> ``{section: dict}`` (None sections dropped).

    Fields marked ``metadata={"per_run": True}`` (e.g. ``overwrite``) are written with their
    default: they act on one run, so a saved ``config.yaml`` run again never inherits them.
    """
    return {
        name: _recorded(value) if dataclasses.is_dataclass(value) else value
        for name, value in config.items()
        if value is not None
    }


def changed_fields(value: Any, ignore: tuple[str, ...] = ()) -> list[str]:
    """Fields of a config instance that differ from their defaults (what the user set), for
    refusing options that would be ignored."""
    changed = []
    for f in dataclasses.fields(value):
        if f.name in ignore or not f.init:
            continue
        default = f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default
        if default is not dataclasses.MISSING and getattr(value, f.name) != default:
            changed.append(f.name)
    return changed


def flags(names: list[str]) -> str:
    """``--a-b, --c`` for field names."""
    return ", ".join(f"--{name.replace('_', '-')}" for name in names)


def per_run_fields(cls: type) -> list[str]:
    """Names of the fields of ``cls`` that act on one run only (``metadata={"per_run": True}``)."""
    return [f.name for f in dataclasses.fields(cls) if f.metadata.get("per_run")]


def _recorded(value: Any) -> dict[str, Any]:
    values = dataclasses.asdict(value)
    for f in dataclasses.fields(value):
        if f.metadata.get("per_run"):
            values[f.name] = f.default
    return values


# ----------------------------------------------------------------------------------- sections
def _fields(cls: type) -> list[dataclasses.Field]:
    return [f for f in dataclasses.fields(cls) if f.init]


def field_owners(sections: Mapping[str, type]) -> dict[str, list[str]]:
    """field name -> the sections that have it, in section order."""
    owners: dict[str, list[str]] = {}
    for section, cls in sections.items():
        for f in _fields(cls):
            owners.setdefault(f.name, []).append(section)
    return owners


def _unknown(key: str, known: list[str], where: str, source: str) -> ConfigError:
    close = difflib.get_close_matches(key, known, n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return ConfigError(
        f"unknown option {key!r} {where} in {source}; {hint}expected one of {sorted(known)}. "
        "YAML keys use underscores, flags use dashes"
    )


def split_values(
    values: Mapping[str, Any],
    sections: Mapping[str, type],
    source: str = "options",
    extra_keys: tuple[str, ...] = (),
) -> dict[str, dict[str, Any]]:
    """``{section: {field: value}}`` from top-level keys (every owner) and section mappings (one).

    Section mappings win over top-level keys. Keys in ``extra_keys`` go to the ``""`` entry.

    Raises:
        ConfigError: an unknown key (with the closest known one) or a section that is not a mapping.
    """
    owners = field_owners(sections)
    out: dict[str, dict[str, Any]] = {name: {} for name in sections} | {"": {}}
    scoped = []
    for key, value in values.items():
        if key in sections and (isinstance(value, Mapping) or key not in owners):
            if not isinstance(value, Mapping):
                raise ConfigError(
                    f"section {key!r} in {source} must be a mapping of option: value, found {value!r}"
                )
            scoped.append((key, value))
        elif key in owners:
            for section in owners[key]:
                out[section][key] = value
        elif key in extra_keys:
            out[""][key] = value
        else:
            raise _unknown(key, [*owners, *sections, *extra_keys], "", source)
    for section, mapping in scoped:
        known = [f.name for f in _fields(sections[section])]
        for key, value in mapping.items():
            if key not in known:
                raise _unknown(key, known, f"in section {section!r}", source)
            out[section][key] = value
    return out


def merge_layers(
    sections: Mapping[str, type], layers: list[Mapping[str, Any]], source: str = "options"
) -> dict[str, dict[str, Any]]:
    """``{section: {field: value}}`` from layers of flat and/or sectioned mappings, a later layer
    winning whether it is flat or by section (a flat ``model`` of one layer survives a ``model:``
    section of the next; a flat ``max_steps`` of the last caps a sectioned one before it)."""
    merged: dict[str, dict[str, Any]] = {name: {} for name in sections}
    for layer in layers:
        for name, values in split_values(layer, sections, source).items():
            if name:
                merged[name].update(values)
    return merged


def build_configs(
    sections: Mapping[str, type],
    values: Mapping[str, Any],
    source: str = "options",
    extra_keys: tuple[str, ...] = (),
) -> dict[str, Any]:
    """One instance per section from a flat and/or sectioned mapping (see ``split_values``).

    Returns:
        section name -> instance (types checked, ``validate`` run); ``""`` -> the extra keys.
    """
    split = split_values(values, sections, source, extra_keys)
    built: dict[str, Any] = {name: sections[name](**split[name]) for name in sections}
    built[""] = split[""]
    return built


# ----------------------------------------------------------------------------------------- CLI
def _metavar(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        return "|".join(
            dict.fromkeys(_metavar(a) for a in typing.get_args(tp) if a is not type(None))
        )
    if origin is list:
        return "[A,B]"
    return {bool: "BOOL", int: "N", float: "X", dict: "{K: V}"}.get(origin or tp, "TEXT")


def _help(f: dataclasses.Field, owners: list[str]) -> str:
    text = f.metadata.get("help", "")
    default = f.default if f.default is not dataclasses.MISSING else None
    if f.default_factory is not dataclasses.MISSING:
        default = f.default_factory()
    if default not in (None, "", [], {}):
        text += f" (default: {default})"
    if len(owners) > 1:
        text += f" [sets {', '.join(f'{s}.{f.name}' for s in owners)}]"
    return text.replace("%", "%%")


def add_config_args(
    parser: argparse.ArgumentParser, sections: Mapping[str, type], skip: tuple[str, ...] = ()
) -> None:
    """One flag per field name of ``sections`` (grouped by section); shared names also get dotted
    flags (``--train.seed``) that set one section."""
    owners = field_owners(sections)
    added: set[str] = set(skip)
    for section, cls in sections.items():
        doc = (cls.__doc__ or "").strip().split("\n")[0]
        group = parser.add_argument_group(f"{section} options ({cls.__name__})", doc)
        hints = type_hints(cls)
        for f in _fields(cls):
            if f.name in skip:
                continue
            kwargs = {"default": argparse.SUPPRESS, "metavar": _metavar(hints[f.name])}
            if hints[f.name] is bool:
                kwargs.update(nargs="?", const="true")
            flag = "--" + f.name.replace("_", "-")
            if f.name not in added:
                added.add(f.name)
                group.add_argument(flag, dest=f.name, help=_help(f, owners[f.name]), **kwargs)
            if len(owners[f.name]) > 1:
                group.add_argument(
                    f"--{section}.{f.name.replace('_', '-')}",
                    dest=f"{section}.{f.name}",
                    help=f"{section}.{f.name} only",
                    **kwargs,
                )


def configs_from_args(
    args: argparse.Namespace, sections: Mapping[str, type], extra_keys: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Merge defaults < YAML (``args.config``) < flags < dotted flags into section instances."""
    config_path = getattr(args, "config", None)
    source = f"config file {config_path!r}" if config_path else "flags"
    values = dict(load_yaml(config_path)) if config_path else {}
    split = split_values(values, sections, source, extra_keys)
    given = vars(args)
    owners = field_owners(sections)
    for name, section_names in owners.items():
        if name in given:
            for section in section_names:
                split[section][name] = given[name]
    for key, value in given.items():
        section, _, name = key.partition(".")
        if name and section in sections:
            split[section][name] = value
    built: dict[str, Any] = {name: sections[name](**split[name]) for name in sections}
    built[""] = split[""]
    return built
