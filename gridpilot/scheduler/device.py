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
    "describe_mode",
    "describe_response",
    "mode_dict",
    "response_expiry",
    "snapshot_from_reading",
]


@runtime_checkable
class ReadingLike(Protocol):
    soc_pct: float


class AdapterLike(Protocol):
    @property
    def name(self) -> str: ...

    async def read_state(self) -> Any: ...

    async def apply(self, command: Command, *, valid_for_s: float) -> Any: ...

    async def release(self) -> Any: ...

    async def aclose(self) -> Any: ...


@dataclasses.dataclass(frozen=True, slots=True)
class Snapshot:
    """A device reading in the scheduler's terms, with ages taken at ``time`` (the tick).

    ``soc_pct`` is ``None`` when the SOC is unknown (missing, or a reading the adapter
    rejected); ``rejected`` names each refused reading (``soc_pct`` -> the vendor's field and
    why). Powers a device does not measure are 0 with a ``None`` age.
    """

    time: datetime
    soc_pct: float | None
    load_w: float
    pv_w: float
    grid_w: float
    battery_w: float
    ages: ReadingAges
    device_mode: DeviceMode | None
    rejected: Mapping[str, str] = dataclasses.field(default_factory=dict)

    def state_age_s(self) -> float | None:
        """The age of the oldest reading the device has; ``None`` when the SOC is missing or a
        reading was rejected (the state is incomplete: deciding on it would take a refused value
        for 0).

        Powers a device does not measure at all (``None`` ages) do not make the state stale.
        """
        a = self.ages
        if a.soc_s is None or self.soc_pct is None or self.rejected:
            return None
        return max(x for x in (a.soc_s, a.load_s, a.pv_s, a.grid_s, a.battery_s) if x is not None)

    def problem(self) -> str:
        """Why this state is incomplete, naming each rejected reading ("" when it is not)."""
        if self.rejected:
            return "the device sent readings gridpilot rejected: " + "; ".join(
                f"{name} ({why})" for name, why in sorted(self.rejected.items()))
        if self.soc_pct is None or self.ages.soc_s is None:
            return "the device reported no state of charge"
        return ""

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "soc_pct": self.soc_pct,
            "load_w": self.load_w,
            "pv_w": self.pv_w,
            "grid_w": self.grid_w,
            "battery_w": self.battery_w,
        }
        for name in self.rejected:
            if name in values:
                values[name] = None  # unknown, not the 0 it stands in for
        out: dict[str, Any] = {
            **values,
            "state_age_s": self.state_age_s(),
            "device_mode": mode_dict(self.device_mode),
        }
        if self.rejected:
            out["rejected"] = dict(self.rejected)
        return out


def mode_dict(mode: DeviceMode | None) -> dict[str, Any] | None:
    """A device mode as the audit log records it: what the device reports, parameters too."""
    if mode is None:
        return None
    return {
        "kind": None if mode.kind is None else mode.kind.value,
        "source": mode.source.value,
        "native": mode.native,
        "expires": None if mode.expires is None else mode.expires.isoformat(),
        "parameters": _plain(dict(mode.parameters)) if mode.parameters else None,
    }


def describe_mode(mode: DeviceMode | None) -> str:
    """One phrase for a device mode: ``a person's SET_CHARGE (power=15 soc=90 ...)``."""
    if mode is None:
        return "no mode the device reported"
    who = {"person": "a person's", "gridpilot": "gridpilot's", "schedule": "the device schedule's",
           "default": "the device default's", "unknown": "an unknown"}[mode.source.value]
    name = mode.native or (mode.kind.value if mode.kind is not None else "mode")
    params = " ".join(f"{k}={v}" for k, v in mode.parameters.items())
    return f"{who} {name}" + (f" ({params})" if params else "")


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
    rejected = getattr(reading, "rejected", None)
    return Snapshot(
        time=now,
        soc_pct=None if soc is None else float(soc),
        load_w=_num(reading, "load_w"),
        pv_w=_num(reading, "pv_w"),
        grid_w=_num(reading, "grid_w"),
        battery_w=_num(reading, "battery_w"),
        ages=ages,
        device_mode=mode if isinstance(mode, DeviceMode) else None,
        rejected={str(k): str(v) for k, v in rejected.items()}
        if isinstance(rejected, Mapping) else {},
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
