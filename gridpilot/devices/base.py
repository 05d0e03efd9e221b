"""What every device adapter offers: the async :class:`DeviceAdapter` protocol and its values.

Sign convention (as everywhere in gridpilot): battery power positive = discharging, grid power
positive = importing. An adapter translates its vendor's signs and units at the boundary, so
nothing above it sees vendor conventions.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from gridpilot.engine.commands import Command, CommandKind
from gridpilot.engine.state import DeviceMode, ReadingAges

__all__ = [
    "AppliedCommand",
    "Capabilities",
    "DeviceAdapter",
    "DeviceReading",
    "ExportResult",
    "Exporter",
]


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a device can do.

    Attributes:
        power_rating_w: the inverter's rated power [W] (``None`` when not known yet).
        capacity_kwh: the battery's capacity [kWh] (``None`` when not known yet).
        kinds: the command kinds the adapter can carry out (empty for a read-only source).
        native: for each kind, the vendor mode it maps to (``SET_PEAK_SHAVING``...).
        read_only: the adapter reads state but cannot actuate.
        notes: short human remarks (approximations, known reading errors).
    """

    power_rating_w: float | None
    capacity_kwh: float | None
    kinds: frozenset[CommandKind]
    native: Mapping[CommandKind, str] = field(default_factory=dict)
    read_only: bool = False
    notes: tuple[str, ...] = ()

    def supports(self, kind: CommandKind) -> bool:
        return kind in self.kinds

    def as_dict(self) -> dict[str, Any]:
        return {
            "power_rating_w": self.power_rating_w,
            "capacity_kwh": self.capacity_kwh,
            "kinds": sorted(k.value for k in self.kinds),
            "native": {k.value: v for k, v in sorted(self.native.items())},
            "read_only": self.read_only,
            "notes": list(self.notes),
        }


@dataclass(frozen=True, slots=True)
class DeviceReading:
    """One read of a device: the parts of a ``SiteState`` it knows, each with its own time (the
    scheduler turns it into the state, :func:`gridpilot.scheduler.device.snapshot_from_reading`).

    A field is ``None`` when this device does not measure it (an xBattery pack knows no PV).
    ``measured_at`` maps a field name (``soc_pct``, ``load_w``, ``pv_w``, ``grid_w``,
    ``battery_w``) to when the device measured it; fields missing there were measured at ``time``.
    ``extra`` carries device-specific readings (temperatures, pack voltage) with units in names.
    ``rejected`` names each reading the device sent but gridpilot refused (out of range, not a
    number, missing where the device must report it): field name -> the vendor's field and why.
    A rejected field is ``None``, never a made-up 0, and the state it belongs to is incomplete.
    """

    time: datetime
    soc_pct: float | None = None
    load_w: float | None = None
    pv_w: float | None = None
    grid_w: float | None = None
    battery_w: float | None = None
    controllable_load_w: float | None = None
    """The part of ``load_w`` a separately metered controllable load draws (EV charger, heat
    pump) [W]; the load forecast learns the load without it. ``None``: not metered."""
    device_mode: DeviceMode | None = None
    measured_at: Mapping[str, datetime] = field(default_factory=dict)
    extra: Mapping[str, Any] = field(default_factory=dict)
    rejected: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.time.tzinfo is None:
            raise ValueError("DeviceReading.time must be timezone-aware")

    def age_s(self, name: str, at: datetime) -> float | None:
        """Age [s] of reading ``name`` at ``at``; ``None`` when the device has no such reading."""
        if getattr(self, name) is None:
            return None
        when = self.measured_at.get(name, self.time)
        return max(0.0, (at - when).total_seconds())

    def ages_at(self, at: datetime) -> ReadingAges:
        return ReadingAges(
            soc_s=self.age_s("soc_pct", at),
            load_s=self.age_s("load_w", at),
            pv_s=self.age_s("pv_w", at),
            grid_s=self.age_s("grid_w", at),
            battery_s=self.age_s("battery_w", at),
        )

    def merged_over(self, base: DeviceReading) -> DeviceReading:
        """This reading's known fields laid over ``base`` (used to combine a state source with
        an actuator ``base``).

        The device mode is always ``base``'s: commands go to that device, so only its mode can
        say whether gridpilot may command it; another device's mode proves nothing about it.
        A field stays rejected only where neither reading has a value for it.
        """
        values: dict[str, Any] = {}
        measured = dict(base.measured_at)
        for name in ("soc_pct", "load_w", "pv_w", "grid_w", "battery_w"):
            mine = getattr(self, name)
            if mine is not None:
                values[name] = mine
                measured[name] = self.measured_at.get(name, self.time)
            elif getattr(base, name) is not None:
                measured.setdefault(name, base.measured_at.get(name, base.time))
        rejected = {
            name: why for name, why in {**base.rejected, **self.rejected}.items()
            if values.get(name, getattr(base, name, None)) is None
        }
        return replace(
            base,
            time=max(self.time, base.time),
            measured_at=measured,
            extra={**base.extra, **self.extra},
            rejected=rejected,
            **values,
        )


@dataclass(frozen=True, slots=True)
class AppliedCommand:
    """What the device confirmed after :meth:`DeviceAdapter.apply`.

    Attributes:
        command: the command gridpilot asked for.
        sent_at: when it was sent.
        expires_at: when the device drops it by itself (``None`` = it runs until replaced).
        native: the vendor payload sent (never holds secrets).
        confirmed: the device acknowledged the command (and, where it can, read it back).
        effective_power_w: the power the device will actually use [W] after rounding to its
            steps (``None`` for kinds without a power setpoint).
        notes: adjustments made to fit the device (rounded power, approximated kind).
        record: what the device returned (its stored mode record), as given.
    """

    command: Command
    sent_at: datetime
    expires_at: datetime | None
    native: Mapping[str, Any]
    confirmed: bool
    effective_power_w: float | None = None
    notes: tuple[str, ...] = ()
    record: Mapping[str, Any] | None = None

    def refresh_due(self, now: datetime, *, lead_s: float = 600.0) -> bool:
        """True when the command should be sent again so it does not lapse."""
        if self.expires_at is None:
            return False
        return now >= self.expires_at - timedelta(seconds=lead_s)


@runtime_checkable
class DeviceAdapter(Protocol):
    """An async device adapter.

    ``capabilities`` holds what is known so far: adapters that learn the rating from the device
    fill it in on first contact (any ``read_state`` or ``apply``).
    """

    @property
    def name(self) -> str: ...

    @property
    def capabilities(self) -> Capabilities: ...

    async def read_state(self) -> DeviceReading:
        """Read the device now. Raises a :class:`gridpilot.errors.DeviceError` on failure."""
        ...

    async def apply(self, command: Command, *, valid_for_s: float) -> AppliedCommand:
        """Send ``command`` so it runs at least ``valid_for_s`` seconds (until the next decision).

        Raises :class:`gridpilot.errors.CommandError` before sending anything when the command
        does not fit the device, a :class:`gridpilot.errors.DeviceError` when the device fails.
        """
        ...

    async def release(self) -> None:
        """Hand control back to the device's own default behaviour."""
        ...

    async def aclose(self) -> None: ...


@dataclass(frozen=True, slots=True)
class ExportResult:
    path: Path
    records: int
    """Rows or records written."""
    format: str


@runtime_checkable
class Exporter(Protocol):
    """An adapter that can download its recorded history to a file the simulator loads."""

    async def export(self, start: datetime, end: datetime, out: Path) -> ExportResult: ...
