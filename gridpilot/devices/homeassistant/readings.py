"""Home Assistant state objects as a reading: units and signs turned into gridpilot's (W, %,
battery + = discharging, grid + = importing). A state that is ``unavailable``, ``unknown``, not a
number, in another unit or out of range is refused by name, never read as 0."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gridpilot.devices.homeassistant.settings import EntityReading

__all__ = ["convert", "measured_at"]

_POWER_UNITS = {"W": 1.0, "kW": 1000.0}
_FLIPPED = {"charging", "exporting"}


def convert(field: str, spec: EntityReading, state: Mapping[str, Any] | None) -> float | str:
    """The reading in gridpilot's unit and sign, or why it is refused (a string)."""
    where = spec.entity_id
    if state is None:
        return f"{where} does not exist in Home Assistant"
    raw = state.get("state")
    if raw in ("unavailable", "unknown", None, ""):
        return f"{where} is {raw or 'empty'}"
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return f"{where}={str(raw)[:40]!r} is not a number"
    if not math.isfinite(value):
        return f"{where}={raw!r} is not a finite number"
    attrs = state.get("attributes")
    reported = attrs.get("unit_of_measurement") if isinstance(attrs, Mapping) else None
    unit = spec.unit or reported
    if spec.unit is not None and reported is not None and reported != spec.unit:
        return f"{where} reports {reported!r}, the policy says {spec.unit!r}"
    if field == "soc_pct":
        if unit not in (None, "%"):
            return f"{where} is in {unit!r}, not %"
        if not 0 <= value <= 100:
            return f"{where}={value:g} % is outside 0..100"
        return value
    if unit not in _POWER_UNITS:
        return f"{where} is in {unit!r}; give entities.{field}.unit (W or kW)"
    value *= _POWER_UNITS[str(unit)]
    if spec.positive_means in _FLIPPED:
        value = -value
    return value + 0.0  # no -0.0


def measured_at(state: Mapping[str, Any], default: datetime) -> datetime:
    """When the entity last reported (``last_reported``, else ``last_updated``)."""
    for key in ("last_reported", "last_updated"):
        text = state.get(key)
        if isinstance(text, str):
            try:
                when = datetime.fromisoformat(text)
            except ValueError:
                continue
            if when.tzinfo is not None:
                return when
    return default
