"""params.yaml -> typed, validated settings, for whichever schema a stage hands in.

This module knows no experiment. A stage names the section it reads and the dataclass (schema) that
describes it; ``load_section`` validates ``profile`` and that section only, so adding an experiment touches
no other stage. A section holds the papers' values; its ``profiles`` sub-mapping overrides some of them for
the ``smoke`` and ``quick`` profiles (``paper`` uses the section as written), and a section read with
``variants=True`` maps variant names to further overrides. Every bad value stops the stage before any work
with one line naming the key, the value and what is allowed: wrong types, out-of-range or non-finite
numbers, unknown keys, null or non-mapping sections, duplicate YAML keys, and the cross-field rules a schema
states in its ``check(key)`` method.
"""
from __future__ import annotations

import dataclasses
import math
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from lth.errors import ConfigError

PROFILES = ("smoke", "quick", "paper")
DEFAULT_PROFILE = "quick"
_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

__all__ = ["ConfigError", "PROFILES", "Loaded", "setting", "build", "read_params", "resolve_section",
           "load_section", "as_dict"]


def setting(default: Any, help: str, *, min: float | None = None, max: float | None = None,
            min_exclusive: bool = False, max_exclusive: bool = False,
            choices: tuple[str, ...] | None = None, allow_empty: bool = False) -> Any:
    """A dataclass field with its allowed range/choices and a one-line explanation."""
    meta = {"help": help, "min": min, "max": max, "min_exclusive": min_exclusive,
            "max_exclusive": max_exclusive, "choices": choices, "allow_empty": allow_empty}
    if isinstance(default, list):
        return field(default_factory=lambda: list(default), metadata=meta)
    return field(default=default, metadata=meta)


# --------------------------------------------------------------------------------------------- validation
def _describe_allowed(meta: dict[str, Any], kind: str) -> str:
    if meta.get("choices"):
        return "one of " + ", ".join(meta["choices"])
    parts = []
    if meta.get("min") is not None:
        parts.append((">" if meta["min_exclusive"] else ">=") + f" {meta['min']}")
    if meta.get("max") is not None:
        parts.append(("<" if meta["max_exclusive"] else "<=") + f" {meta['max']}")
    return f"{kind}" + (" " + " and ".join(parts) if parts else "")


def _check_scalar(key: str, value: Any, kind: type, meta: dict[str, Any]) -> Any:
    names = {int: "an integer", float: "a finite number", str: "a string", bool: "true or false"}
    ok = (isinstance(value, bool) if kind is bool else
          isinstance(value, int) and not isinstance(value, bool) if kind is int else
          isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
          if kind is float else isinstance(value, kind))
    allowed = _describe_allowed(meta, names[kind])
    if not ok:
        raise ConfigError(f"params.yaml: {key} = {value!r}: must be {allowed}")
    given = value
    if kind is float:
        value = float(value)
    low, high = meta.get("min"), meta.get("max")
    if ((meta.get("choices") and value not in meta["choices"])
            or (low is not None and (value < low or (meta["min_exclusive"] and value == low)))
            or (high is not None and (value > high or (meta["max_exclusive"] and value == high)))):
        raise ConfigError(f"params.yaml: {key} = {given!r}: must be {allowed}")
    return value


def build(cls: type, raw: Any, prefix: str) -> Any:
    """Validate a mapping against dataclass ``cls`` and return an instance; keys missing take defaults.

    After the fields, the schema's own ``check(prefix)`` (if it has one) tests rules between fields."""
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: {prefix} = {raw!r}: must be a mapping of settings")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(raw) - set(fields), key=str)
    if unknown:
        raise ConfigError(f"params.yaml: {prefix}.{unknown[0]}: unknown key; allowed keys of {prefix}: "
                          + ", ".join(fields))
    values = {}
    for name, value in raw.items():
        key, hint, meta = f"{prefix}.{name}", hints[name], fields[name].metadata
        if dataclasses.is_dataclass(hint):
            values[name] = build(hint, value, key)
        elif typing.get_origin(hint) is list:
            (item_kind,) = typing.get_args(hint)
            if not isinstance(value, list) or (not value and not meta.get("allow_empty")):
                raise ConfigError(f"params.yaml: {key} = {value!r}: must be a "
                                  + ("" if meta.get("allow_empty") else "non-empty ") + "list of "
                                  + _describe_allowed(meta, {int: "integers", str: "strings",
                                                             float: "finite numbers"}[item_kind]))
            values[name] = [_check_scalar(f"{key}[{i}]", v, item_kind, meta) for i, v in enumerate(value)]
        else:
            values[name] = _check_scalar(key, value, hint, meta)
    instance = cls(**values)
    check = getattr(instance, "check", None)
    if check is not None:
        check(prefix)
    return instance


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in override.items():
        merged[key] = _merge(base[key], value) if isinstance(value, dict) and isinstance(base.get(key), dict) \
            else value
    return merged


# ------------------------------------------------------------------------------------------ reading YAML
class _StrictLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key that appears twice in one mapping (YAML would keep the last)."""


class _FastStrictLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """The same with libyaml's parser where PyYAML has it: params.yaml in about a sixth of the time, which every
    stage process and ``lth`` command pays."""


def _construct_mapping(loader: Any, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ConfigError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r} (a mapping may name "
                              "each key once)")
        seen.add(key)
    return yaml.constructor.SafeConstructor.construct_mapping(loader, node, deep=deep)


for _loader in (_StrictLoader, _FastStrictLoader):
    _loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def _strict_load(text: str) -> Any:
    """``text`` parsed by the fast strict loader; YAML it cannot parse is read again by the pure-Python one, so
    that an error says what PyYAML's own parser says (libyaml words its problems differently)."""
    try:
        return yaml.load(text, Loader=_FastStrictLoader)
    except yaml.YAMLError:
        return yaml.load(text, Loader=_StrictLoader)


def _yaml_problem(error: yaml.YAMLError) -> str:
    """A YAML parse error as one phrase: what is wrong and where (line and column, counted from 1)."""
    mark = getattr(error, "problem_mark", None)
    problem = getattr(error, "problem", None) or " ".join(str(error).split())
    return f"{problem} at line {mark.line + 1} column {mark.column + 1}" if mark is not None else problem


def read_params(path: Path | str = "params.yaml") -> dict[str, Any]:
    """params.yaml as a mapping with a valid ``profile`` (default ``quick``); a missing, unreadable, binary,
    empty, unparsable or non-mapping file is a one-line ConfigError naming the file read and the fix."""
    path = Path(path)
    restore = f"fix it or restore it (`git checkout -- {path}`)"
    try:
        raw = _strict_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{path}: not found; run from the project root (where params.yaml is)") from None
    except OSError as error:
        raise ConfigError(f"{path}: cannot be read ({error.strerror or error}); {restore}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not text (binary or damaged bytes); {restore}") from None
    except ConfigError as error:
        raise ConfigError(f"{path}: {error}") from None
    except yaml.YAMLError as error:
        raise ConfigError(f"{path}: not valid YAML ({_yaml_problem(error)}); {restore}") from None
    if raw is None:
        raise ConfigError(f"{path}: empty (no sections); {restore}")
    return check_profile(raw, str(path))


def check_profile(raw: Any, source: str = "params.yaml") -> dict[str, Any]:
    """``raw`` itself once it is a mapping whose ``profile`` is one of ``PROFILES`` (``source``: the file
    named in the error)."""
    if not isinstance(raw, dict):
        shown = repr(raw) if len(repr(raw)) <= 60 else repr(raw)[:57] + "..."
        raise ConfigError(f"{source}: must be a mapping of sections (profile, data, ...), not {shown}")
    profile = raw.get("profile", DEFAULT_PROFILE)
    if profile not in PROFILES:
        raise ConfigError(f"{source}: profile = {profile!r}: must be one of " + ", ".join(PROFILES))
    return raw


@dataclass(frozen=True)
class Loaded:
    """One section resolved for the active profile: a schema instance, or {variant: instance}."""
    profile: str
    config: Any


def resolve_section(raw: dict[str, Any], name: str, schema: type, variants: bool = False) -> Loaded:
    """Validate section ``name`` of parsed params (every profile's and variant's overrides, not only the
    active ones) and resolve it for the active profile."""
    raw = check_profile(raw)
    if name not in raw:
        raise ConfigError(f"params.yaml: {name}: missing; this stage reads that section (its keys: "
                          + ", ".join(f.name for f in dataclasses.fields(schema)) + ")")
    section = raw[name]
    if not isinstance(section, dict):
        raise ConfigError(f"params.yaml: {name} = {section!r}: must be a mapping of settings")
    section = dict(section)
    overrides = section.pop("profiles", None)
    overrides = {} if overrides is None else overrides
    if not isinstance(overrides, dict):
        raise ConfigError(f"params.yaml: {name}.profiles = {overrides!r}: must map profile names to overrides")
    resolve = _with_variants if variants else build
    resolve(schema, section, name)
    for profile, override in overrides.items():
        if profile not in PROFILES:
            raise ConfigError(f"params.yaml: {name}.profiles.{profile}: unknown profile; allowed: "
                              + ", ".join(PROFILES))
        if not isinstance(override, (dict, type(None))):
            raise ConfigError(f"params.yaml: {name}.profiles.{profile} = {override!r}: must be a mapping of "
                              "overrides")
        resolve(schema, _merge(section, override or {}), f"{name}.profiles.{profile}")
    profile = raw.get("profile", DEFAULT_PROFILE)
    return Loaded(profile, resolve(schema, _merge(section, overrides.get(profile) or {}), name))


def _with_variants(cls: type, raw: Any, prefix: str) -> dict[str, Any]:
    """A section with a ``variants`` mapping (variant name -> overrides) -> {variant: config}."""
    if not isinstance(raw, dict):
        raise ConfigError(f"params.yaml: {prefix} = {raw!r}: must be a mapping of settings")
    section = dict(raw)
    variants = section.pop("variants", None)
    if not isinstance(variants, dict) or not variants:
        raise ConfigError(f"params.yaml: {prefix}.variants = {variants!r}: must map variant names to overrides "
                          "(e.g. plain: {})")
    for variant, override in variants.items():
        if not isinstance(variant, str) or not _PLAIN_NAME.match(variant):
            raise ConfigError(f"params.yaml: {prefix}.variants.{variant}: a variant name must be a plain "
                              "identifier (letters, digits, _; not starting with a digit)")
        if not isinstance(override, (dict, type(None))):
            raise ConfigError(f"params.yaml: {prefix}.variants.{variant} = {override!r}: must be a mapping")
    build(cls, section, prefix)
    return {variant: build(cls, _merge(section, override or {}), f"{prefix}.variants.{variant}")
            for variant, override in variants.items()}


def load_section(path: Path | str, name: str, schema: type, variants: bool = False) -> Loaded:
    """Read params.yaml and resolve section ``name`` against ``schema`` for the active profile."""
    return resolve_section(read_params(path), name, schema, variants)


def as_dict(config: Any) -> dict[str, Any]:
    """A resolved config as a plain dict (recorded in results so the report shows what actually ran)."""
    return dataclasses.asdict(config)
