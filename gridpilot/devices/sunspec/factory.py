"""Registry entry for ``type: sunspec``. Importable without the ``modbus`` extra, so a policy
naming the type validates and the missing extra is reported by name."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel

from gridpilot.devices.sunspec.settings import SunSpecSettings
from gridpilot.errors import DeviceError

if TYPE_CHECKING:
    from gridpilot.devices.context import DeviceContext
    from gridpilot.devices.sunspec.adapter import SunSpecAdapter

__all__ = ["EXTRA_MODULES", "SETTINGS_MODEL", "create", "missing_extra"]

SETTINGS_MODEL = SunSpecSettings
EXTRA_MODULES = ("pymodbus", "sunspec2")
"""What ``pip install 'gridpilot[modbus]'`` brings: the transport and the SunSpec models."""


def missing_extra() -> list[str]:
    return [m for m in EXTRA_MODULES if importlib.util.find_spec(m) is None]


def state_file(context: DeviceContext, name: str) -> Path | None:
    return context.state_file("sunspec", name, "window")


def create(settings: BaseModel, context: DeviceContext) -> SunSpecAdapter:
    assert isinstance(settings, SunSpecSettings)
    name = context.name if context.name != "sunspec" else (settings.name or "sunspec")
    missing = missing_extra()
    if missing:
        raise DeviceError(
            name, f"the sunspec device needs {', '.join(missing)}, which is not installed; "
            "install the extra: pip install 'gridpilot[modbus]'")
    # Imported here, not at the top: the adapter needs the optional extra checked above.
    adapter = importlib.import_module("gridpilot.devices.sunspec.adapter")
    made: SunSpecAdapter = adapter.SunSpecAdapter(
        settings, name=name, clock=context.clock, limits=context.limits,
        state_file=state_file(context, name))
    return made
