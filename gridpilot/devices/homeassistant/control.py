"""Service calls for a command: filled in from the command's fields, checked against each
entity's declared range BEFORE anything is sent, then confirmed by reading the entities back.

A select's option must be one of its ``options``; a number's value must lie within its
``min``..``max`` (``input_number`` and ``number`` alike). A call that does not fit is refused
with a CommandError naming the entity, and no call of the command is sent: half a command
(a mode without its power) could be worse than none.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from gridpilot.devices.homeassistant.settings import ServiceCall
from gridpilot.devices.homeassistant.templates import render
from gridpilot.errors import CommandError

__all__ = ["PlannedCall", "check_call", "confirms", "plan_calls"]

_OPTION_SERVICES = {"select_option"}
_VALUE_SERVICES = {"set_value"}


@dataclass(frozen=True, slots=True)
class PlannedCall:
    service: str
    entity_id: str | None
    data: Mapping[str, Any]

    def expected(self) -> tuple[str, Any] | None:
        """The state the entity should show after the call: ``("option", x)``/``("value", x)``."""
        name = self.service.split(".", 1)[1]
        if name in _OPTION_SERVICES and "option" in self.data:
            return "option", self.data["option"]
        if name in _VALUE_SERVICES and "value" in self.data:
            return "value", self.data["value"]
        return None


def plan_calls(calls: Sequence[ServiceCall], fields: Mapping[str, float | None],
               device: str) -> list[PlannedCall]:
    planned: list[PlannedCall] = []
    for call in calls:
        data: dict[str, Any] = {}
        for key, value in call.data.items():
            try:
                data[key] = render(value, fields)
            except ValueError as exc:
                target = f" on {call.entity_id}" if call.entity_id else ""
                raise CommandError(f"{device}: {call.service}{target}: {exc}") from None
        planned.append(PlannedCall(call.service, call.entity_id, data))
    return planned


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def check_call(call: PlannedCall, state: Mapping[str, Any] | None, device: str) -> None:
    """CommandError naming the entity when ``call`` does not fit what the entity declares."""
    if call.entity_id is None:
        return  # a device-level service: nothing declared to check against
    where = f"{device}: {call.service} on {call.entity_id}"
    if state is None:
        raise CommandError(f"{where}: the entity does not exist in Home Assistant")
    if state.get("state") == "unavailable":
        raise CommandError(f"{where}: the entity is unavailable; nothing sent")
    attrs = state.get("attributes")
    attrs = attrs if isinstance(attrs, Mapping) else {}
    expected = call.expected()
    if expected is None:
        return
    what, value = expected
    if what == "option":
        options = attrs.get("options")
        if not isinstance(options, list):
            raise CommandError(f"{where}: the entity declares no options; nothing sent")
        if value not in options:
            raise CommandError(
                f"{where}: option {value!r} is not one of the entity's options "
                f"({', '.join(repr(o) for o in options)}); fix the controls: mapping")
        return
    number = _number(value)
    low, high = _number(attrs.get("min")), _number(attrs.get("max"))
    if number is None:
        raise CommandError(f"{where}: value {value!r} is not a number")
    if low is None or high is None:
        raise CommandError(f"{where}: the entity declares no min/max; nothing sent")
    if not low <= number <= high:
        raise CommandError(
            f"{where}: value {number:g} is outside the entity's range {low:g}..{high:g} "
            f"{attrs.get('unit_of_measurement', '')}".rstrip()
            + "; lower the policy's limits or scale the template")


def confirms(call: PlannedCall, state: Mapping[str, Any] | None, tolerance: float) -> bool:
    """The entity's state read back shows what ``call`` set."""
    expected = call.expected()
    if expected is None or call.entity_id is None:
        return True
    if state is None:
        return False
    what, value = expected
    shown = state.get("state")
    if what == "option":
        return bool(shown == value)
    number, got = _number(value), _number(shown)
    if number is None or got is None:
        return False
    attrs = state.get("attributes")
    step = _number(attrs.get("step")) if isinstance(attrs, Mapping) else None
    return abs(got - number) <= tolerance + (step or 0.0)
