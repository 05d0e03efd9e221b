"""The device registry: ``type`` name -> settings model and adapter factory.

Each adapter module exposes ``SETTINGS_MODEL`` (a pydantic model of its ``device:`` keys) and
``create(settings, context) -> DeviceAdapter``. Modules are imported only when their type is
used, so a policy for the simulated battery never imports HTTP code.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import httpx
from pydantic import BaseModel, ValidationError

from gridpilot.clock import Clock, SystemClock
from gridpilot.devices.base import DeviceAdapter
from gridpilot.engine.commands import DeviceLimits
from gridpilot.errors import DeviceError

if TYPE_CHECKING:
    from gridpilot.rules.policy import Policy

__all__ = [
    "DeviceContext",
    "available_devices",
    "create_device",
    "create_device_from_settings",
    "device_settings_model",
    "register_device",
]

_MODULES: dict[str, str] = {
    "simulated": "gridpilot.devices.simulated",
    "xstorage": "gridpilot.devices.xstorage.factory",
    "xbattery": "gridpilot.devices.xbattery",
    "composite": "gridpilot.devices.composite",
}


@dataclass(frozen=True)
class DeviceContext:
    """What an adapter factory gets besides its own settings."""

    name: str
    clock: Clock
    transport: httpx.AsyncBaseTransport | None = None
    limits: DeviceLimits | None = None
    base_dir: Path | None = None
    """Where relative paths in the settings are read from (the policy's folder)."""
    policy: Policy | None = None


def register_device(type_name: str, module: str) -> None:
    """Add an adapter type from ``module`` (which has ``SETTINGS_MODEL`` and ``create``)."""
    _MODULES[type_name] = module


def available_devices() -> list[str]:
    return sorted(_MODULES)


def _module(type_name: str) -> ModuleType:
    try:
        path = _MODULES[type_name]
    except KeyError:
        raise KeyError(
            f"unknown device type {type_name!r} (valid: {', '.join(available_devices())})"
        ) from None
    return importlib.import_module(path)


def device_settings_model(type_name: str) -> type[BaseModel]:
    """The settings model of ``type_name``; ``KeyError`` naming the valid types if unknown."""
    model: type[BaseModel] = _module(type_name).SETTINGS_MODEL
    return model


def validate_settings(type_name: str, raw: Mapping[str, Any], *, where: str) -> BaseModel:
    """Validate a ``device:`` mapping; errors name ``where`` and the field, never the value."""
    model = device_settings_model(type_name)
    try:
        return model.model_validate(dict(raw))
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or where}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        )
        raise DeviceError(where, f"invalid device settings: {problems}") from None


def create_device_from_settings(
    raw: Mapping[str, Any], context: DeviceContext
) -> DeviceAdapter:
    """An adapter from a ``device:`` mapping (with its ``type``, default ``simulated``)."""
    type_name = str(raw.get("type", "simulated"))
    try:
        module = _module(type_name)
    except KeyError as exc:
        raise DeviceError(context.name or type_name, str(exc.args[0])) from None
    settings = validate_settings(type_name, raw, where=context.name or type_name)
    adapter: DeviceAdapter = module.create(settings, context)
    return adapter


def create_device(
    policy: Policy,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    clock: Clock | None = None,
) -> DeviceAdapter:
    """The adapter the policy's ``device:`` section describes."""
    spec = policy.doc.device
    raw = spec.model_dump()
    name = spec.name or spec.type
    context = DeviceContext(
        name=name,
        clock=clock or SystemClock(),
        transport=transport,
        limits=policy.limits,
        base_dir=policy.path.parent if policy.path is not None else None,
        policy=policy,
    )
    return create_device_from_settings(raw, context)
