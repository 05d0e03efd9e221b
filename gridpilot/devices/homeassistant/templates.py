"""The command's fields in service-call data: ``"{power_w}"`` is the number itself,
``"{power_kw:.1f} kW"`` a formatted string. Only the names below are known; attribute and index
access are refused, so a template can never reach into an object."""

from __future__ import annotations

import math
import string
from collections.abc import Mapping
from typing import Any

from gridpilot.engine.commands import Command

__all__ = ["FIELDS", "check_template_fields", "command_fields", "render"]

FIELDS = ("power_w", "power_kw", "target_soc_pct", "floor_soc_pct", "max_import_w",
          "max_export_w")
_FORMATTER = string.Formatter()


def check_template_fields(text: str) -> list[str]:
    """The field names in ``text``; ``ValueError`` for an unknown field or a bad template."""
    names: list[str] = []
    try:
        parts = list(_FORMATTER.parse(text))
    except ValueError as exc:
        raise ValueError(f"bad template {text!r}: {exc} (write a literal brace as {{{{ or }}}})"
                         ) from None
    for _, name, _, _ in parts:
        if name is None:
            continue
        if name not in FIELDS:
            raise ValueError(f"unknown field {{{name}}} in {text!r}; known: "
                             f"{', '.join('{' + f + '}' for f in FIELDS)}")
        names.append(name)
    return names


def command_fields(command: Command) -> dict[str, float | None]:
    power = command.power_w
    return {
        "power_w": power,
        "power_kw": None if power is None else power / 1000.0,
        "target_soc_pct": command.target_soc_pct,
        "floor_soc_pct": command.floor_soc_pct,
        "max_import_w": command.max_import_w,
        "max_export_w": command.max_export_w,
    }


def _whole_field(text: str) -> str | None:
    parts = list(_FORMATTER.parse(text))
    if len(parts) == 1 and parts[0][0] == "" and parts[0][1] and not parts[0][2]:
        return parts[0][1]
    return None


def render(value: Any, fields: Mapping[str, float | None]) -> Any:
    """``value`` with its templates filled in; ``ValueError`` naming a field the command lacks."""
    if not isinstance(value, str):
        return value
    names = check_template_fields(value)
    for name in names:
        got = fields.get(name)
        if got is None or not math.isfinite(got):
            raise ValueError(f"the command has no {name} for {value!r}")
    whole = _whole_field(value)
    if whole is not None:
        return fields[whole]
    return _FORMATTER.format(value, **fields)
