"""Turn an action into a :class:`Command` with the documented defaults.

Omitted powers mean the battery's maximum; an omitted charge target means the battery's highest
SOC and an omitted floor its lowest. Every command carries the device's SOC range as its envelope
(``floor_soc_pct`` .. ``target_soc_pct``) unless the action narrows it.
"""

from __future__ import annotations

from typing import Protocol

from gridpilot.engine.commands import Command, CommandKind, DeviceLimits

__all__ = ["ActionSpec", "command_from_action", "mirror_device_mode"]


class ActionSpec(Protocol):
    """An action as written in a policy or an override: a kind and the fields it gives.

    The policy's ``Action`` section has exactly these fields; the engine reads an action only
    through them, so the language and the engine keep one form of it.
    """

    @property
    def kind(self) -> CommandKind: ...
    @property
    def power_w(self) -> float | None: ...
    @property
    def target_soc_pct(self) -> float | None: ...
    @property
    def floor_soc_pct(self) -> float | None: ...
    @property
    def max_import_w(self) -> float | None: ...
    @property
    def max_export_w(self) -> float | None: ...


def command_from_action(action: ActionSpec, limits: DeviceLimits) -> Command:
    kind = action.kind
    lo, hi = limits.min_soc_pct, limits.max_soc_pct
    if kind is CommandKind.CHARGE:
        return Command(
            kind,
            power_w=action.power_w if action.power_w is not None else limits.max_charge_w,
            target_soc_pct=action.target_soc_pct if action.target_soc_pct is not None else hi,
            floor_soc_pct=lo,
        )
    if kind is CommandKind.DISCHARGE:
        return Command(
            kind,
            power_w=action.power_w if action.power_w is not None else limits.max_discharge_w,
            target_soc_pct=hi,
            floor_soc_pct=action.floor_soc_pct if action.floor_soc_pct is not None else lo,
        )
    return Command(
        kind,
        target_soc_pct=hi,
        floor_soc_pct=lo,
        max_import_w=action.max_import_w,
        max_export_w=action.max_export_w,
    )


def mirror_device_mode(kind: CommandKind | None, limits: DeviceLimits) -> Command:
    """The command that best describes a mode someone else set on the device (for the trace of a
    yielding decision); a mode with no neutral kind is described as ``hold``."""
    lo, hi = limits.min_soc_pct, limits.max_soc_pct
    if kind is CommandKind.CHARGE:
        return Command(kind, power_w=limits.max_charge_w, target_soc_pct=hi, floor_soc_pct=lo)
    if kind is CommandKind.DISCHARGE:
        return Command(kind, power_w=limits.max_discharge_w, target_soc_pct=hi, floor_soc_pct=lo)
    if kind is CommandKind.PEAK_SHAVE:
        cap = limits.max_import_w if limits.max_import_w is not None else 0.0
        return Command(kind, target_soc_pct=hi, floor_soc_pct=lo, max_import_w=cap)
    if kind is CommandKind.LIMIT_EXPORT:
        cap = limits.max_export_w if limits.max_export_w is not None else 0.0
        return Command(kind, target_soc_pct=hi, floor_soc_pct=lo, max_export_w=cap)
    return Command(kind or CommandKind.HOLD, target_soc_pct=hi, floor_soc_pct=lo)
