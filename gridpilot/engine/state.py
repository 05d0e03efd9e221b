"""The frozen snapshot of a site that ``decide()`` reads.

Sign convention: ``battery_w`` positive = discharging, ``grid_w`` positive = importing. At every
instant ``load_w = pv_w + grid_w + battery_w``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

import numpy as np

from gridpilot.arrays import FloatArray, IntArray
from gridpilot.engine.commands import Command, CommandKind

__all__ = [
    "DeviceMode",
    "ModeSource",
    "PriceOutlook",
    "ReadingAges",
    "SiteState",
]


class ModeSource(StrEnum):
    """Who set the mode the device runs now."""

    GRIDPILOT = "gridpilot"
    PERSON = "person"
    """A person set it by hand (for example on the device's own dashboard)."""
    SCHEDULE = "schedule"
    """The device's own schedule."""
    DEFAULT = "default"
    """The device's default mode."""
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class DeviceMode:
    """The mode the device reports it is running."""

    kind: CommandKind | None
    """The nearest device-neutral kind, or ``None`` when it maps to none."""
    source: ModeSource
    native: str = ""
    """The vendor's own name for the mode (e.g. ``SET_CHARGE``)."""
    expires: datetime | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict, hash=False)
    """The mode's settings as the device reports them, in the vendor's units (xStorage:
    ``{"power": 15, "soc": 90, ...}``, power in % of the rating): what actually runs."""


@dataclass(frozen=True, slots=True)
class PriceOutlook:
    """The prices known at the tick, from the current slot onwards.

    ``start_s`` holds slot starts as UNIX seconds (UTC), ascending; ``end_s`` is the end of the last
    known slot. Prices are per kWh in the tariff's currency and may be negative.
    """

    start_s: IntArray
    end_s: int
    import_per_kwh: FloatArray
    export_per_kwh: FloatArray

    @classmethod
    def empty(cls) -> PriceOutlook:
        return cls(
            np.zeros(0, dtype=np.int64),
            0,
            np.zeros(0, dtype=np.float64),
            np.zeros(0, dtype=np.float64),
        )

    def __len__(self) -> int:
        return int(self.start_s.shape[0])

    @property
    def slot_end_s(self) -> IntArray:
        """End of each slot [UNIX s]."""
        if len(self) == 0:
            return self.start_s
        return np.append(self.start_s[1:], self.end_s)


@dataclass(frozen=True, slots=True)
class ReadingAges:
    """How old each reading is [s] at ``SiteState.time``; ``None`` means it is missing."""

    soc_s: float | None = 0.0
    load_s: float | None = 0.0
    pv_s: float | None = 0.0
    grid_s: float | None = 0.0
    battery_s: float | None = 0.0

    def oldest_s(self) -> float | None:
        """The age of the oldest reading, or ``None`` if any reading is missing."""
        ages = (self.soc_s, self.load_s, self.pv_s, self.grid_s, self.battery_s)
        if any(a is None for a in ages):
            return None
        return max(a for a in ages if a is not None)


@dataclass(frozen=True, slots=True)
class SiteState:
    """Everything ``decide()`` may know about the site at one instant.

    Attributes:
        time: the instant (timezone-aware).
        soc_pct: battery state of charge [%].
        load_w: house consumption [W].
        pv_w: PV production [W].
        grid_w: grid power [W], + import.
        battery_w: battery power [W], + discharge.
        prices: prices known from this slot onwards.
        ages: age of each reading.
        device_mode: what the device runs now, if known.
        active_command: the last command gridpilot decided (for anti-flap and hysteresis).
        active_since: when ``active_command``'s kind started.
        month_peak_import_w: the highest grid import so far this billing month [W].
        forecast_net_load_w: expected ``load - pv`` per slot of ``prices`` [W], if a forecast
            provider supplied one (``None`` lets strategies use their own default).
        controllable_load_w: the part of ``load_w`` a separately metered controllable load draws
            (EV charger, heat pump) [W]; ``None`` when the site does not meter one.
    """

    time: datetime
    soc_pct: float
    load_w: float = 0.0
    pv_w: float = 0.0
    grid_w: float = 0.0
    battery_w: float = 0.0
    prices: PriceOutlook = field(default_factory=PriceOutlook.empty)
    ages: ReadingAges = field(default_factory=ReadingAges)
    device_mode: DeviceMode | None = None
    active_command: Command | None = None
    active_since: datetime | None = None
    month_peak_import_w: float = 0.0
    forecast_net_load_w: FloatArray | None = None
    active_layer: str | None = None
    """The layer (``manual``, ``schedule``, ``default``) of the decision that produced
    ``active_command``; lets a higher layer skip the minimum dwell. ``None`` if unknown."""
    controllable_load_w: float | None = None

    def __post_init__(self) -> None:
        if self.time.tzinfo is None or self.time.utcoffset() is None:
            raise ValueError("SiteState.time must be timezone-aware")

    @property
    def person_override(self) -> bool:
        """True when a person set the device's mode by hand and it is still running."""
        return self.device_mode is not None and self.device_mode.source is ModeSource.PERSON

    @property
    def net_load_w(self) -> float:
        """``load_w - pv_w`` [W]: positive when the house needs more than the PV makes."""
        return self.load_w - self.pv_w
