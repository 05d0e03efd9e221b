"""Registry entry for ``type: xstorage``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from gridpilot.devices.xstorage.adapter import XStorageAdapter
from gridpilot.devices.xstorage.settings import XStorageSettings

if TYPE_CHECKING:
    from gridpilot.devices.context import DeviceContext

__all__ = ["SETTINGS_MODEL", "create", "memory_file"]

SETTINGS_MODEL = XStorageSettings


def memory_file(context: DeviceContext, name: str) -> Path | None:
    """``<state_dir>/xstorage-<name>-modes.json``, if the run keeps a state folder."""
    return context.state_file("xstorage", name, "modes")


def create(settings: BaseModel, context: DeviceContext) -> XStorageAdapter:
    assert isinstance(settings, XStorageSettings)
    name = context.name if context.name != "xstorage" else settings.name
    return XStorageAdapter(
        settings,
        name=name,
        limits=context.limits,
        clock=context.clock,
        transport=context.transport,
        base_dir=context.base_dir,
        memory_file=memory_file(context, name or "xstorage"),
    )
