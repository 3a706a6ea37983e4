"""Config dataclasses -> CLI flags and YAML, with defaults < YAML < flags.

Every option of textxfer lives in exactly one dataclass field (with a one-line doc in
``metadata["help"]``). This module derives argparse flags from those fields and merges a YAML
file under the flags, so no command keeps a second list of options by hand.

YAML files may be flat (``lr: 3e-5``) or sectioned by concern (``train: {lr: 3e-5}``); a flag or
key shared by several dataclasses (``seed``) sets it in all of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import types
import typing
from pathlib import Path
from typing import Any, Union

import yaml


class ConfigError(ValueError):
    """A configuration value or file that textxfer cannot use; the message says the fix."""


def field(default: Any = dataclasses.MISSING, help: str = "", **kwargs: Any) -> Any:
    """A dataclass field with a one-line help string (shown by ``--help``)."""
    metadata = {"help": help, **kwargs.pop("metadata", {})}
    if isinstance(default, (list, dict, set)):
        value = default
        return dataclasses.field(default_factory=lambda: type(value)(value), metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata, **kwargs)


def _unwrap_optional(tp: Any) -> tuple[Any, bool]:
    origin = typing.get_origin(tp)
    if origin in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0], True
        return args, True
    return tp, False


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def _str2bool(value: str) -> bool:
    lowered = str(value).lower()
    if lowered in ("1", "true", "yes", "y", "on"):
        return True
    if lowered in ("0", "false", "no", "n", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, found {value!r}")


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, but reading ``5e-4`` as a float (YAML 1.2 does; PyYAML's 1.1 rules
    need a dot, ``5.0e-4``, and would hand ``lr`` the string '5e-4')."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:[0-9]+\.?[0-9]*|\.[0-9]+)[eE][-+]?[0-9]+$"),
    list("-+0123456789."),
)


def _parse_scalar(text: str) -> Any:
    """Parse a flag value with YAML rules (numbers, null, lists like [a, b])."""
    try:
        return yaml.load(text, Loader=_Loader)
    except yaml.YAMLError:
        return text


def add_dataclass_args(parser: argparse.ArgumentParser, *classes: type, skip: tuple = ()) -> None:
    """Add one flag per field of ``classes`` (shared names become one flag)."""
    seen: set[str] = set(skip)
    for cls in classes:
        group = parser.add_argument_group(cls.__name__, (cls.__doc__ or "").strip().split("\n")[0])
        hints = typing.get_type_hints(cls)
        for f in dataclasses.fields(cls):
            if f.name in seen or not f.init:
                continue
            seen.add(f.name)
            tp, _ = _unwrap_optional(hints[f.name])
            help_text = f.metadata.get("help", "")
            default = f.default if f.default is not dataclasses.MISSING else None
            if default is not None and default != "":
                help_text = f"{help_text} (default: {default})"
            kwargs: dict[str, Any] = {
                "dest": f.name,
                "default": argparse.SUPPRESS,
                "help": help_text,
            }
            if tp is bool:
                kwargs.update(nargs="?", const=True, type=_str2bool, metavar="BOOL")
            elif tp in (int, float, str):
                kwargs.update(type=_parse_scalar if tp is not str else str)
            else:
                kwargs.update(type=_parse_scalar)
            group.add_argument(_flag(f.name), **kwargs)


def load_yaml(path: str | Path) -> dict[str, Any]:
    """Read a YAML config file as a dict, with errors that name the file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"config file {str(path)!r} not found; pass an existing YAML file to --config"
        )
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader) or {}
    except yaml.YAMLError as err:
        raise ConfigError(f"config file {str(path)!r} is not valid YAML: {err}") from err
    if not isinstance(data, dict):
        raise ConfigError(
            f"config file {str(path)!r} must hold a mapping of option: value, found {type(data).__name__}"
        )
    return data


def _flatten(data: dict[str, Any], sections: dict[str, type]) -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if key in sections and isinstance(value, dict):
            flat.update(value)
        else:
            flat[key] = value
    return flat


def build_configs(
    classes: dict[str, type],
    values: dict[str, Any],
    extra_keys: tuple[str, ...] = (),
    source: str = "options",
) -> dict[str, Any]:
    """Build one instance per dataclass in ``classes`` from a flat or sectioned dict.

    Args:
        classes: section name -> dataclass, e.g. ``{"data": DataArgs, "train": TrainArgs}``.
        values: options; keys may be field names or section names holding a dict.
        extra_keys: other keys the caller handles itself (not an error).
        source: where the values came from, for error messages.

    Returns:
        section name -> instance (``__post_init__`` validation applies).
    """
    flat = _flatten(values, classes)
    known = {f.name for cls in classes.values() for f in dataclasses.fields(cls)}
    unknown = sorted(set(flat) - known - set(extra_keys))
    if unknown:
        raise ConfigError(
            f"unknown option(s) {unknown} in {source}; expected some of {sorted(known)}. "
            "Check the spelling (YAML keys use underscores, flags use dashes)."
        )
    out = {}
    for section, cls in classes.items():
        names = {f.name for f in dataclasses.fields(cls) if f.init}
        kwargs = {k: v for k, v in flat.items() if k in names}
        try:
            out[section] = cls(**kwargs)
        except TypeError as err:
            raise ConfigError(f"bad value in {source} for {cls.__name__}: {err}") from err
    return out


def configs_from_args(
    args: argparse.Namespace, classes: dict[str, type], extra_keys: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Merge defaults < YAML (``args.config``) < flags into dataclass instances."""
    values: dict[str, Any] = {}
    config_path = getattr(args, "config", None)
    if config_path:
        values.update(_flatten(load_yaml(config_path), classes))
    known = {f.name for cls in classes.values() for f in dataclasses.fields(cls)}
    values.update({k: v for k, v in vars(args).items() if k in known})
    return build_configs(classes, values, extra_keys=extra_keys, source=config_path or "flags")


def to_dict(*configs: Any) -> dict[str, Any]:
    """Dataclass instances -> plain dict of sections, for YAML/JSON output."""
    return {type(c).__name__: dataclasses.asdict(c) for c in configs if c is not None}


def dump_yaml(data: dict[str, Any]) -> str:
    """YAML text with stable key order (as written)."""
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
