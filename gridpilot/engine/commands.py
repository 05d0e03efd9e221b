"""Device-neutral battery commands.

Sign convention (the one used everywhere in gridpilot): battery power positive means
**discharging**, negative means charging; grid power positive means **importing**, negative
means exporting. Command powers are magnitudes (>= 0); the kind says the direction.

A :class:`Command` is a small frozen value. Besides its kind-specific setpoint it carries the
SOC envelope (``floor_soc_pct``..``ceiling_soc_pct``) and the grid caps that the guards narrowed
it to, so a device adapter or the battery model can honour the reserve without knowing the policy.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from enum import StrEnum
from typing import Any

from gridpilot.errors import CommandError

__all__ = [
    "Command",
    "CommandKind",
    "DeviceLimits",
    "charge",
    "discharge",
    "hold",
    "idle",
    "limit_export",
    "peak_shave",
    "self_consumption",
    "validate_command",
]


class CommandKind(StrEnum):
    CHARGE = "charge"
    """Charge at ``power_w`` (from PV first, then grid) until ``target_soc_pct``."""
    DISCHARGE = "discharge"
    """Discharge at ``power_w`` (to the house first, then export) down to ``floor_soc_pct``."""
    HOLD = "hold"
    """Never discharge; PV surplus may still charge."""
    SELF_CONSUMPTION = "self_consumption"
    """Cover the net load from the battery and charge from PV surplus."""
    PEAK_SHAVE = "peak_shave"
    """Discharge only the grid import above ``max_import_w``; otherwise behave as self-consumption
    for PV surplus."""
    LIMIT_EXPORT = "limit_export"
    """Self-consumption, but keep grid export at or below ``max_export_w`` by charging."""
    IDLE = "idle"
    """The battery neither charges nor discharges."""


@dataclass(frozen=True, slots=True)
class DeviceLimits:
    """The hard limits of the battery and grid connection, from the policy's ``site`` section."""

    capacity_kwh: float
    max_charge_w: float
    max_discharge_w: float
    min_soc_pct: float
    max_soc_pct: float
    max_import_w: float | None = None
    max_export_w: float | None = None


@dataclass(frozen=True, slots=True)
class Command:
    """One validated instruction for the battery.

    Attributes:
        kind: what to do.
        power_w: setpoint magnitude [W] for ``charge`` and ``discharge``; for the other kinds the
            largest battery power the command may use (``None`` = the device's own limit).
        target_soc_pct: for ``charge`` the SOC at which charging stops [%]; for the other kinds the
            SOC ceiling the battery may not be charged above.
        floor_soc_pct: the SOC the battery may not be discharged below [%] (for ``discharge`` the
            command's own floor, raised by the reserve guard).
        max_import_w: grid import threshold [W] for ``peak_shave``; an import cap for the others.
        max_export_w: grid export cap [W] for ``limit_export`` (and any kind under an export guard).
    """

    kind: CommandKind
    power_w: float | None = None
    target_soc_pct: float = 100.0
    floor_soc_pct: float = 0.0
    max_import_w: float | None = None
    max_export_w: float | None = None

    def with_(self, **changes: Any) -> Command:
        return replace(self, **changes)

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "power_w": self.power_w,
            "target_soc_pct": self.target_soc_pct,
            "floor_soc_pct": self.floor_soc_pct,
            "max_import_w": self.max_import_w,
            "max_export_w": self.max_export_w,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Command:
        return cls(
            kind=CommandKind(data["kind"]),
            power_w=data.get("power_w"),
            target_soc_pct=float(data.get("target_soc_pct", 100.0)),
            floor_soc_pct=float(data.get("floor_soc_pct", 0.0)),
            max_import_w=data.get("max_import_w"),
            max_export_w=data.get("max_export_w"),
        )

    def describe(self) -> str:
        """A short human text, e.g. ``charge 3000 W to 80 %``."""
        k = self.kind
        if k is CommandKind.CHARGE:
            return f"charge {_w(self.power_w)} to {self.target_soc_pct:g} %"
        if k is CommandKind.DISCHARGE:
            return f"discharge {_w(self.power_w)} down to {self.floor_soc_pct:g} %"
        if k is CommandKind.PEAK_SHAVE:
            return f"peak_shave above {_w(self.max_import_w)} import"
        if k is CommandKind.LIMIT_EXPORT:
            return f"limit_export to {_w(self.max_export_w)}"
        return k.value


def _w(value: float | None) -> str:
    return "max" if value is None else f"{value:g} W"


def charge(power_w: float, target_soc_pct: float) -> Command:
    return Command(CommandKind.CHARGE, power_w=power_w, target_soc_pct=target_soc_pct)


def discharge(power_w: float, floor_soc_pct: float) -> Command:
    return Command(CommandKind.DISCHARGE, power_w=power_w, floor_soc_pct=floor_soc_pct)


def hold() -> Command:
    return Command(CommandKind.HOLD)


def self_consumption() -> Command:
    return Command(CommandKind.SELF_CONSUMPTION)


def peak_shave(max_import_w: float) -> Command:
    return Command(CommandKind.PEAK_SHAVE, max_import_w=max_import_w)


def limit_export(max_export_w: float) -> Command:
    return Command(CommandKind.LIMIT_EXPORT, max_export_w=max_export_w)


def idle() -> Command:
    return Command(CommandKind.IDLE)


def validate_command(command: Command, limits: DeviceLimits) -> Command:
    """Check ``command`` against the device's hard limits and return it unchanged.

    Raises :class:`CommandError` naming the field and the allowed range. This is the last check
    before anything reaches hardware; the engine already narrows commands into these limits, so a
    failure here means a bug or a hand-built command.
    """
    problems: list[str] = []

    def finite(name: str, value: float | None) -> None:
        if value is not None and not math.isfinite(value):
            problems.append(f"{name} must be a finite number, got {value!r}")

    for name in ("power_w", "target_soc_pct", "floor_soc_pct", "max_import_w", "max_export_w"):
        finite(name, getattr(command, name))
    if problems:
        raise CommandError(f"invalid {command.kind.value} command: " + "; ".join(problems))

    p = command.power_w
    if command.kind is CommandKind.CHARGE:
        if p is None or not 0 < p <= limits.max_charge_w + 1e-6:
            problems.append(f"power_w {p} outside (0, {limits.max_charge_w:g}] W (max_charge_w)")
    elif command.kind is CommandKind.DISCHARGE:
        if p is None or not 0 < p <= limits.max_discharge_w + 1e-6:
            problems.append(
                f"power_w {p} outside (0, {limits.max_discharge_w:g}] W (max_discharge_w)"
            )
    elif p is not None and p < 0:
        problems.append(f"power_w {p} must not be negative")
    lo, hi = limits.min_soc_pct, limits.max_soc_pct
    if not lo - 1e-9 <= command.floor_soc_pct <= hi + 1e-9:
        problems.append(f"floor_soc_pct {command.floor_soc_pct:g} outside [{lo:g}, {hi:g}] %")
    if not lo - 1e-9 <= command.target_soc_pct <= hi + 1e-9:
        problems.append(f"target_soc_pct {command.target_soc_pct:g} outside [{lo:g}, {hi:g}] %")
    if command.floor_soc_pct > command.target_soc_pct + 1e-9:
        problems.append(
            f"floor_soc_pct {command.floor_soc_pct:g} above target_soc_pct "
            f"{command.target_soc_pct:g}"
        )
    if command.max_import_w is not None and command.max_import_w < 0:
        problems.append(f"max_import_w {command.max_import_w:g} must be >= 0")
    if command.max_export_w is not None and command.max_export_w < 0:
        problems.append(f"max_export_w {command.max_export_w:g} must be >= 0")
    if command.kind is CommandKind.PEAK_SHAVE and command.max_import_w is None:
        problems.append("peak_shave needs max_import_w")
    if command.kind is CommandKind.LIMIT_EXPORT and command.max_export_w is None:
        problems.append("limit_export needs max_export_w")
    if problems:
        raise CommandError(f"invalid {command.kind.value} command: " + "; ".join(problems))
    return command
