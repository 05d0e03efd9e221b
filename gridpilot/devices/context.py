"""What a device adapter is given besides its own settings: never the policy, only the facts an
adapter needs from it, and the clock and transport the caller injects."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from gridpilot.clock import Clock
from gridpilot.engine.battery import BatteryParams
from gridpilot.engine.commands import DeviceLimits

if TYPE_CHECKING:
    import httpx  # the type only: building a context (as `check` does) must not import httpx

__all__ = ["DeviceContext"]

_UTC = ZoneInfo("UTC")


@dataclass(frozen=True)
class DeviceContext:
    """What an adapter factory gets besides its own settings.

    Attributes:
        name: the device's name in logs and errors (its ``name`` setting, else its type).
        clock: the run's clock; adapters never read the system time themselves.
        transport: the HTTP transport to use (``None`` = a real network connection).
        limits: the site's hard limits, which every command sent must fit.
        battery: the physical battery, for adapters that model one (the simulated battery).
        tz: the site's timezone.
        base_dir: where relative paths in the settings are read from (the policy's folder).
        state_dir: where an adapter keeps what must survive a restart (``None`` = nowhere).
    """

    name: str
    clock: Clock
    transport: httpx.AsyncBaseTransport | None = None
    limits: DeviceLimits | None = None
    battery: BatteryParams | None = None
    tz: ZoneInfo = _UTC
    base_dir: Path | None = None
    state_dir: Path | None = None

    def state_file(self, type_name: str, name: str, what: str) -> Path | None:
        """``<state_dir>/<type>-<name>-<what>.json``: where an adapter keeps what it must
        remember across restarts (``None`` when the run keeps no state folder). The name is
        made safe for a file name."""
        if self.state_dir is None:
            return None
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", name) or type_name
        return self.state_dir / f"{type_name}-{safe}-{what}.json"
