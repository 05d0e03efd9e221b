"""The device registry: ``type`` name -> settings model and adapter factory.

A device type is an object (a module, for the built-ins) with ``SETTINGS_MODEL`` (a pydantic
model of its ``device:`` keys, ``type`` and ``name`` included) and
``create(settings, context) -> DeviceAdapter``. Built-ins are imported only when their type is
used, so a policy for the simulated battery never imports HTTP code. Third parties add types
through the entry-point group ``gridpilot.devices``::

    [project.entry-points."gridpilot.devices"]
    my_inverter = "my_package.adapter"
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

from pydantic import BaseModel, ValidationError

from gridpilot.devices.base import DeviceAdapter
from gridpilot.devices.context import DeviceContext
from gridpilot.errors import DeviceError, DeviceTypeError, PluginError
from gridpilot.registry import Contract, Registry

__all__ = ["DEVICES", "DeviceKind", "create_device", "validate_settings"]


class DeviceKind(Protocol):
    """What the registry holds for one device type."""

    SETTINGS_MODEL: type[BaseModel]

    def create(self, settings: Any, context: DeviceContext) -> DeviceAdapter: ...


DEVICES: Registry[DeviceKind] = Registry(
    "device",
    "gridpilot.devices",
    {
        "simulated": "gridpilot.devices.simulated",
        "xstorage": "gridpilot.devices.xstorage.factory",
        "xbattery": "gridpilot.devices.xbattery",
        "composite": "gridpilot.devices.composite",
        "sunspec": "gridpilot.devices.sunspec.factory",
        "homeassistant": "gridpilot.devices.homeassistant.adapter",
        "mqtt": "gridpilot.devices.mqtt",
    },
    contract=Contract("SETTINGS_MODEL", methods=("create",)),
    error=DeviceTypeError,
)


def validate_settings(
    kind: DeviceKind, raw: Mapping[str, Any], *, where: str
) -> BaseModel:
    """Validate a ``device:`` mapping; errors name ``where`` and the field, never the value."""
    try:
        return kind.SETTINGS_MODEL.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or where}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise DeviceError(where, f"invalid device settings: {problems}") from None


def create_device(
    raw: Mapping[str, Any], context: DeviceContext, registry: Registry[DeviceKind] = DEVICES
) -> DeviceAdapter:
    """An adapter from a ``device:`` mapping (with its ``type``, default ``simulated``)."""
    type_name = str(raw.get("type", "simulated"))
    where = context.name or type_name
    try:
        kind = registry.get(type_name)
    except PluginError as exc:
        raise DeviceError(where, str(exc)) from None
    settings = validate_settings(kind, raw, where=where)
    return kind.create(settings, context)
