"""The ``device:`` settings of a SunSpec Modbus/TCP inverter (``type: sunspec``)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, field_validator

from gridpilot.devices.sunspec.profiles import PROFILES, Profile
from gridpilot.models import StrictModel

__all__ = ["DEFAULT_BASES", "SunSpecSettings"]

DEFAULT_BASES = (0, 40000, 50000)
"""Where SunSpec maps start: the standard names these three addresses."""


class SunSpecSettings(StrictModel):
    """Connection, discovery and control settings of one SunSpec device.

    Modbus/TCP has no authentication and no encryption: keep the device on a trusted LAN.
    """

    type: Literal["sunspec"] = "sunspec"
    name: str = ""
    """The device's name in logs and errors (default: ``sunspec``)."""
    host: Annotated[str, Field(min_length=1)]
    """The inverter's LAN address (``192.168.1.60``)."""
    port: Annotated[int, Field(ge=1, le=65535)] = 502
    unit_id: Annotated[int, Field(ge=0, le=255)] | None = None
    """The inverter's Modbus unit id (default: the profile's, 1 for ``generic``)."""
    meter_unit_id: Annotated[int, Field(ge=0, le=255)] | None = None
    """Where the grid meter's model (201-204) is read (default: the profile's)."""
    profile: Literal["generic", "fronius_gen24", "sma"] = "generic"
    """Known vendor quirks; see docs/devices.md."""
    base_address: Annotated[int, Field(ge=0, le=65533)] | None = None
    """Where the SunSpec map starts (default: scan 0, 40000 and 50000 for ``SunS``)."""
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 3.0
    """Timeout of every Modbus request."""
    read_retries: Annotated[int, Field(ge=0, le=10)] = 2
    """How often a failed read is repeated; writes are never repeated."""
    retry_backoff_s: Annotated[float, Field(ge=0, le=60)] = 1.0
    """Wait before reconnecting after a failure; it doubles with every further failure."""
    reconnect_max_s: Annotated[float, Field(ge=0, le=3600)] = 60.0
    """The longest wait between reconnection attempts."""
    max_revert_s: Annotated[int, Field(ge=60, le=65535)] = 3600
    """The longest ``InOutWRte_RvrtTms`` sent: how long the device keeps a command by itself
    after gridpilot stops. Commands are refreshed before it runs out."""
    refresh_lead_s: Annotated[float, Field(ge=0, le=3600)] = 600.0
    """Added to the command's validity when setting the revert timer, so a refresh arrives
    before the device reverts."""
    grid_charging: bool = True
    """Allow ``charge`` commands to draw from the grid (``ChaGriSet = GRID``); when off, a
    charge runs from PV only."""

    @field_validator("host")
    @classmethod
    def _bare_host(cls, value: str) -> str:
        if "://" in value or "/" in value:
            raise ValueError("give the bare host name or address (the port goes in 'port')")
        return value

    @property
    def profile_def(self) -> Profile:
        return PROFILES[self.profile]

    @property
    def inverter_unit(self) -> int:
        return self.unit_id if self.unit_id is not None else self.profile_def.unit_id

    @property
    def meter_unit(self) -> int:
        if self.meter_unit_id is not None:
            return self.meter_unit_id
        chosen = self.profile_def.meter_unit_id
        return self.inverter_unit if chosen is None else chosen
