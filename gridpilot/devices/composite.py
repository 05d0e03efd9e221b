"""A state source combined with an actuator (``device: {type: composite, ...}``).

::

    device:
      type: composite
      state:   {type: xbattery, device_id: DVC1, api_key: ${XBATTERY_API_KEY}}
      control: {type: xstorage, host: 192.168.1.50, password: ${XSTORAGE_PASSWORD}, ...}

Readings: the ``state`` source's known fields (SOC, battery power) are laid over the
``control`` device's reading, which keeps the device mode and whatever the source lacks. If the
state source fails, the control device's own reading is used and ``extra["state_source_error"]``
says why. Commands, release and export go to ``control``.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, model_validator

from gridpilot.devices.base import (
    AppliedCommand,
    Capabilities,
    DeviceAdapter,
    DeviceReading,
    Exporter,
    ExportResult,
)
from gridpilot.devices.registry import DEVICES, create_device
from gridpilot.engine.commands import Command
from gridpilot.errors import CommandError, DeviceError, PluginError
from gridpilot.models import StrictModel

if TYPE_CHECKING:
    from gridpilot.devices.context import DeviceContext

__all__ = ["SETTINGS_MODEL", "CompositeAdapter", "CompositeSettings", "create"]

log = logging.getLogger("gridpilot.devices.composite")


class CompositeSettings(StrictModel):
    type: Literal["composite"] = "composite"
    name: str = ""
    """The combined device's name; its parts are named ``<name>.state`` and ``<name>.control``."""
    state: dict[str, Any]
    """The ``device:`` settings of the state source (its own ``type`` included)."""
    control: dict[str, Any]
    """The ``device:`` settings of the actuator."""

    @model_validator(mode="after")
    def _parts_valid(self) -> CompositeSettings:
        for part in ("state", "control"):
            raw = getattr(self, part)
            type_name = str(raw.get("type", ""))
            if type_name == "composite":
                raise ValueError(f"{part}: a composite cannot contain a composite")
            try:
                DEVICES.settings_model(type_name).model_validate(raw)
            except PluginError as exc:
                raise ValueError(f"{part}: {exc}") from None
            except ValueError as exc:
                raise ValueError(f"{part}: {exc}") from None
        return self


SETTINGS_MODEL = CompositeSettings


class CompositeAdapter:
    def __init__(self, name: str, state: DeviceAdapter, control: DeviceAdapter) -> None:
        self._name = name
        self.state = state
        self.control = control

    def __repr__(self) -> str:
        return f"CompositeAdapter(name={self._name!r}, state={self.state!r}, " \
               f"control={self.control!r})"

    @property
    def name(self) -> str:
        return self._name

    @property
    def capabilities(self) -> Capabilities:
        ctl, src = self.control.capabilities, self.state.capabilities
        return dataclasses.replace(
            ctl,
            capacity_kwh=ctl.capacity_kwh if ctl.capacity_kwh is not None else src.capacity_kwh,
            notes=(*ctl.notes, f"state read from {self.state.name}"),
        )

    async def read_state(self) -> DeviceReading:
        control_result, state_result = await asyncio.gather(
            self.control.read_state(), self.state.read_state(), return_exceptions=True
        )
        if isinstance(control_result, BaseException):
            raise control_result
        if isinstance(state_result, DeviceError):
            log.warning("device %r: state source failed, using the actuator's reading: %s",
                        self._name, state_result)
            return dataclasses.replace(
                control_result,
                extra={**control_result.extra, "state_source_error": str(state_result)},
            )
        if isinstance(state_result, BaseException):
            raise state_result
        return state_result.merged_over(control_result)

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        return await self.control.apply(command, valid_for_s=valid_for_s)

    async def release(self) -> None:
        await self.control.release()

    async def export(self, start: datetime, end: datetime, out: Path) -> ExportResult:
        for part in (self.control, self.state):
            if isinstance(part, Exporter):
                return await part.export(start, end, out)
        raise CommandError(f"device {self._name!r}: neither part can export history")

    async def aclose(self) -> None:
        await asyncio.gather(self.control.aclose(), self.state.aclose())


def create(settings: BaseModel, context: DeviceContext) -> CompositeAdapter:
    assert isinstance(settings, CompositeSettings)
    name = settings.name or context.name
    state = create_device(
        settings.state, dataclasses.replace(context, name=f"{name}.state")
    )
    control = create_device(
        settings.control, dataclasses.replace(context, name=f"{name}.control")
    )
    return CompositeAdapter(name, state, control)
