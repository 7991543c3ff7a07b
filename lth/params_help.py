"""A params section as ``lth run <experiment> --help`` shows it: every key with the value params.yaml gives it
(the papers' value, or our documented choice where a paper is silent), the active profile's override, and
what the key means."""
from __future__ import annotations

import dataclasses
import textwrap
from pathlib import Path
from typing import Any

from lth.config import DEFAULT_PROFILE, read_params
from lth.errors import ConfigError


def _values(params: Path, section: str) -> tuple[dict[str, Any], dict[str, Any], str]:
    """The section's own values, the active profile's overrides and that profile's name ({} when unreadable:
    help still shows the keys and their meaning)."""
    try:
        raw = read_params(params)
    except ConfigError:
        return {}, {}, DEFAULT_PROFILE
    values = raw.get(section) if isinstance(raw.get(section), dict) else {}
    profile = raw.get("profile", DEFAULT_PROFILE)
    overrides = (values.get("profiles") or {}).get(profile) or {}
    return values, overrides if isinstance(overrides, dict) else {}, profile


def params_table(params: Path, section: str, schema: type) -> str:
    """Section ``section``'s keys as help text: ``key = paper value [profile: override]`` and its meaning."""
    values, overrides, profile = _values(params, section)
    lines = [f"params section `{section}` ({params}; active profile: {profile}):"]
    for field in dataclasses.fields(schema):
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        value = values.get(field.name, default)
        shown = f"  {field.name} = {value}"
        if field.name in overrides:
            shown += f"   [{profile}: {overrides[field.name]}]"
        lines.append(shown)
        lines += textwrap.wrap(field.metadata.get("help", ""), 110, initial_indent="      ",
                               subsequent_indent="      ")
    if "variants" in values:
        lines.append(f"  variants: {', '.join(values['variants'])}")
    return "\n".join(lines)
