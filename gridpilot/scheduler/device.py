"""What the scheduler needs from a device adapter, and how a reading becomes a ``SiteState``.

The scheduler depends only on these structural protocols, not on any adapter class, so any
adapter from :mod:`gridpilot.devices` (or a test double) can drive it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from gridpilot.engine.commands import Command
from gridpilot.engine.state import DeviceMode, ReadingAges

__all__ = [
    "AdapterLike",
    "ReadingLike",
    "Snapshot",
    "describe_response",
    "response_expiry",
    "snapshot_from_reading",
]


@runtime_checkable
class ReadingLike(Protocol):
    soc_pct: float


class AdapterLike(Protocol):
    name: str

    async def read_state(self) -> Any: ...

    async def apply(self, command: Command, *, valid_for_s: float) -> Any: ...

    async def release(self) -> Any: ...

    async def aclose(self) -> Any: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """A device reading in the scheduler's terms, with ages taken at ``time`` (the tick)."""

    time: datetime
    soc_pct: float
    load_w: float
    pv_w: float
    grid_w: float
    battery_w: float
    ages: ReadingAges
    device_mode: DeviceMode | None

    def state_age_s(self) -> float | None:
        """The age of the oldest reading the device has; ``None`` when the SOC is missing.

        Powers a device does not measure at all (``None`` ages) do not make the state stale.
        """
        a = self.ages
        if a.soc_s is None:
            return None
        return max(x for x in (a.soc_s, a.load_s, a.pv_s, a.grid_s, a.battery_s) if x is not None)

    def as_dict(self) -> dict[str, Any]:
        mode = self.device_mode
        return {
            "soc_pct": self.soc_pct,
            "load_w": self.load_w,
            "pv_w": self.pv_w,
            "grid_w": self.grid_w,
            "battery_w": self.battery_w,
            "state_age_s": self.state_age_s(),
            "device_mode": None
            if mode is None
            else {
                "kind": None if mode.kind is None else mode.kind.value,
                "source": mode.source.value,
                "native": mode.native,
                "expires": None if mode.expires is None else mode.expires.isoformat(),
            },
        }


def _num(reading: Any, name: str) -> float:
    value = getattr(reading, name, None)
    return 0.0 if value is None else float(value)


def _aged(age: float | None, extra_s: float) -> float | None:
    return None if age is None else age + extra_s


def snapshot_from_reading(reading: Any, now: datetime) -> Snapshot:
    """Turn an adapter's reading (a :class:`gridpilot.devices.base.DeviceReading`) into a
    :class:`Snapshot` as seen at ``now``.

    Ages are taken at ``now``, so a cached or delayed reading counts as old as it really is. A
    reading without ``soc_pct`` reports every age as missing.
    """
    ages_at = getattr(reading, "ages_at", None)
    if callable(ages_at):
        ages = ages_at(now)
    else:
        taken = getattr(reading, "time", None)
        extra_s = 0.0
        if isinstance(taken, datetime) and taken.tzinfo is not None:
            extra_s = max(0.0, (now - taken).total_seconds())
        base = getattr(reading, "ages", None)
        if not isinstance(base, ReadingAges):
            base = ReadingAges()
        ages = ReadingAges(
            soc_s=_aged(base.soc_s, extra_s),
            load_s=_aged(base.load_s, extra_s),
            pv_s=_aged(base.pv_s, extra_s),
            grid_s=_aged(base.grid_s, extra_s),
            battery_s=_aged(base.battery_s, extra_s),
        )
    soc = getattr(reading, "soc_pct", None)
    if soc is None:
        ages = ReadingAges(None, None, None, None, None)
    mode = getattr(reading, "device_mode", None)
    if mode is None:
        mode = getattr(reading, "mode", None)
    return Snapshot(
        time=now,
        soc_pct=0.0 if soc is None else float(soc),
        load_w=_num(reading, "load_w"),
        pv_w=_num(reading, "pv_w"),
        grid_w=_num(reading, "grid_w"),
        battery_w=_num(reading, "battery_w"),
        ages=ages,
        device_mode=mode if isinstance(mode, DeviceMode) else None,
    )


def response_expiry(response: Any) -> datetime | None:
    """When the device drops the command it confirmed, if the adapter says."""
    for name in ("expires", "valid_until", "expires_at"):
        value = getattr(response, name, None)
        if isinstance(value, datetime):
            return value
    return None


def describe_response(response: Any) -> Any:
    """A JSON-ready view of an adapter's answer for the audit log."""
    if response is None or isinstance(response, str | int | float | bool):
        return response
    if hasattr(response, "as_dict"):
        return response.as_dict()
    if dataclasses.is_dataclass(response) and not isinstance(response, type):
        return {f.name: _plain(getattr(response, f.name)) for f in dataclasses.fields(response)}
    if isinstance(response, Mapping):
        return {str(k): _plain(v) for k, v in response.items()}
    return type(response).__name__


def _plain(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    if hasattr(value, "as_dict"):
        return value.as_dict()
    if hasattr(value, "value"):  # enums
        return _plain(value.value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return describe_response(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return str(value)
