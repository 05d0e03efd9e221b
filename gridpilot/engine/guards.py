"""The guards: limits, not intents. Each narrows whatever command won (see
:mod:`gridpilot.engine.narrowing`); a guard's window says when it is active.

A policy's guards and the engine's are one value: the policy language compiles each ``guards:``
entry into a :class:`GuardLimit`, with its position as its priority (0 = highest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from gridpilot.calendar.window import Window
from gridpilot.engine.commands import DeviceLimits

__all__ = ["GuardLimit", "effective_reserve"]


@dataclass(frozen=True, slots=True)
class GuardLimit:
    """A guard: its name, kind, priority (its position under ``guards``, 0 = highest), window
    (``None``: always active) and bounds."""

    name: str
    kind: str
    priority: int
    window: Window | None
    min_soc_pct: float | None = None
    max_soc_pct: float | None = None
    max_import_w: float | None = None
    max_export_w: float | None = None
    max_charge_w: float | None = None
    max_discharge_w: float | None = None
    label: str = field(init=False, default="", compare=False)
    """The name in the trace, ``guard:<name>`` (built once: every narrowing reads it)."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "label", f"guard:{self.name}")


def effective_reserve(limits: DeviceLimits, active: Sequence[GuardLimit]) -> float:
    """The SOC no unforced command may discharge below: the device minimum raised by every active
    reserve guard, unless a higher-priority ceiling caps it."""
    floor = limits.min_soc_pct
    ceiling = limits.max_soc_pct
    for g in active:
        if g.max_soc_pct is not None:
            ceiling = max(floor, min(ceiling, g.max_soc_pct))
        if g.min_soc_pct is not None:
            floor = min(max(floor, g.min_soc_pct), ceiling)
    return floor
