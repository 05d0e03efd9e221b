"""How a device reading becomes the ``SiteState`` ``decide()`` reads, and how the audit log
describes what a device reports and answers.

There is one route from a reading to a state: :func:`snapshot_from_reading` takes the ages at the
tick, then :meth:`Snapshot.site_state` adds what the scheduler remembers. The scheduler drives any
:class:`~gridpilot.devices.base.DeviceAdapter`; it knows no adapter class.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from gridpilot.devices.base import DeviceReading
from gridpilot.engine.state import DeviceMode, ReadingAges, SiteState

__all__ = [
    "Snapshot",
    "describe_mode",
    "describe_response",
    "mode_dict",
    "response_expiry",
    "snapshot_from_reading",
]


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
    controllable_load_w: float | None = None
    """The metered controllable part of ``load_w`` [W], ``None`` when not metered."""

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

    def site_state(self, **more: Any) -> SiteState:
        """The :class:`SiteState` at the tick: an unknown SOC is NaN (the engine refuses to decide
        on it), and ``more`` sets the fields the scheduler keeps (prices, remembered command...)."""
        return SiteState(
            time=self.time,
            soc_pct=math.nan if self.soc_pct is None else self.soc_pct,
            load_w=self.load_w,
            pv_w=self.pv_w,
            grid_w=self.grid_w,
            battery_w=self.battery_w,
            ages=self.ages,
            device_mode=self.device_mode,
            controllable_load_w=self.controllable_load_w,
            **more,
        )

    def as_dict(self) -> dict[str, Any]:
        values: dict[str, Any] = {
            "soc_pct": self.soc_pct,
            "load_w": self.load_w,
            "pv_w": self.pv_w,
            "grid_w": self.grid_w,
            "battery_w": self.battery_w,
        }
        if self.controllable_load_w is not None:
            values["controllable_load_w"] = self.controllable_load_w
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


def snapshot_from_reading(reading: DeviceReading, now: datetime) -> Snapshot:
    """``reading`` as seen at ``now``: each age taken at ``now`` (a cached or delayed reading
    counts as old as it really is), a power the device does not measure 0 with a ``None`` age,
    and every age missing when the SOC is."""
    ages = reading.ages_at(now)
    if reading.soc_pct is None:
        ages = ReadingAges(None, None, None, None, None)
    return Snapshot(
        time=now,
        soc_pct=reading.soc_pct,
        load_w=reading.load_w or 0.0,
        pv_w=reading.pv_w or 0.0,
        grid_w=reading.grid_w or 0.0,
        battery_w=reading.battery_w or 0.0,
        ages=ages,
        device_mode=reading.device_mode,
        rejected=dict(reading.rejected),
        controllable_load_w=reading.controllable_load_w,
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
