"""Registry entry for ``type: xstorage``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import BaseModel

from gridpilot.devices.xstorage.adapter import XStorageAdapter
from gridpilot.devices.xstorage.settings import XStorageSettings

if TYPE_CHECKING:
    from gridpilot.devices.registry import DeviceContext

__all__ = ["SETTINGS_MODEL", "create"]

SETTINGS_MODEL = XStorageSettings


def create(settings: BaseModel, context: DeviceContext) -> XStorageAdapter:
    assert isinstance(settings, XStorageSettings)
    return XStorageAdapter(
        settings,
        name=context.name if context.name != "xstorage" else settings.name,
        limits=context.limits,
        clock=context.clock,
        transport=context.transport,
        base_dir=context.base_dir,
    )
