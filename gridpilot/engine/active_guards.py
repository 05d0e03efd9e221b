"""The guards active at a tick: those whose calendar is open and whose price and SOC conditions
hold, in priority order, with the reserve they set."""

from __future__ import annotations

from typing import NamedTuple

from gridpilot.engine.guards import GuardLimit, effective_reserve
from gridpilot.engine.hold import Hold, conditions_hold
from gridpilot.engine.model import EngineModel, TickPattern

__all__ = ["ActiveGuards", "active_guards"]


class ActiveGuards(NamedTuple):
    guards: tuple[GuardLimit, ...]
    key: int
    """Bit ``i`` set for each guard ``i`` of the model's guards in :attr:`guards`."""
    reserve_soc_pct: float
    """The SOC no unforced command may discharge below [%]."""


def active_guards(
    model: EngineModel, pattern: TickPattern, soc_pct: float, price: float | None,
    hold: Hold | None = None,
) -> ActiveGuards:
    if pattern.guards_fixed:
        return ActiveGuards(pattern.guards, pattern.guards_key, pattern.reserve_soc_pct)
    # Some guard whose calendar is open also tests price or SOC: test those now.
    guards: tuple[GuardLimit, ...] = ()
    key = 0
    open_key = pattern.guards_key
    for i, g in enumerate(model.guards):
        if open_key >> i & 1 and (
            g.window is None or conditions_hold(g.window, soc_pct, price, 0.0, hold)
        ):
            guards += (g,)
            key |= 1 << i
    return ActiveGuards(guards, key, effective_reserve(model.limits, guards))
