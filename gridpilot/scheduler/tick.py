"""Small pieces of a tick: its aligned time, commands made outside ``decide()``, and the line
``gridpilot run`` prints for it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from gridpilot.engine.actions import command_from_action
from gridpilot.engine.commands import Command
from gridpilot.engine.decision import Decision
from gridpilot.rules.schema import Action
from gridpilot.scheduler.device import Snapshot
from gridpilot.scheduler.dispatcher import DispatchOutcome

__all__ = ["TickReport", "command_with_reserve", "next_tick_at", "reserve_floor_pct"]


def next_tick_at(now: datetime, interval_s: float) -> datetime:
    """The next instant after ``now`` that is a whole multiple of ``interval_s`` since the epoch."""
    ts = now.timestamp()
    nxt = (math.floor(ts / interval_s + 1e-9) + 1) * interval_s
    return datetime.fromtimestamp(nxt, UTC)


def reserve_floor_pct(policy: Any) -> float:
    """The battery's minimum SOC raised by the always-on backup reserve guards [%]."""
    return float(max(
        [g.min_soc_pct for g in policy.guards
         if g.kind == "backup_reserve" and g.window is None and g.min_soc_pct is not None],
        default=policy.limits.min_soc_pct,
    ))


def command_with_reserve(action: Action, policy: Any) -> Command:
    """The command ``action`` stands for outside ``decide()`` (the fail-safe, the device
    schedule): the engine's action defaults, with the floor raised to the always-on reserve."""
    limits = policy.limits
    command = command_from_action(action, limits)
    floor = min(max(command.floor_soc_pct, reserve_floor_pct(policy)), limits.max_soc_pct)
    return replace(command, floor_soc_pct=floor,
                   target_soc_pct=max(command.target_soc_pct, floor))


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick saw and did (printed as one line by ``gridpilot run``)."""

    tick: int
    time: datetime
    status: str
    """``ok``, ``no_state`` (read failed, last state still fresh), ``failsafe`` or ``error``."""
    snapshot: Snapshot | None = None
    decision: Decision | None = None
    outcome: DispatchOutcome | None = None
    message: str = ""

    def line(self, tz: tzinfo | None = None) -> str:
        """One readable line; times in ``tz`` (the site's zone) when given, else UTC."""
        shown = self.time.astimezone(tz or UTC)
        head = f"{shown.strftime('%Y-%m-%d %H:%M:%S %Z')} #{self.tick}"
        parts = [head]
        s = self.snapshot
        if s is not None:
            parts.append(f"SOC {s.soc_pct:5.1f} %  load {s.load_w:6.0f} W  pv {s.pv_w:6.0f} W  "
                         f"grid {s.grid_w:+7.0f} W")
        if self.decision is not None:
            parts.append(f"-> {self.decision.command.describe()} ({self.decision.winner})")
        if self.outcome is not None:
            detail = self.outcome.detail if self.outcome.status != "unchanged" else ""
            parts.append(f"[{self.outcome.status}{': ' + detail if detail else ''}]")
        if self.status != "ok":
            parts.append(f"{self.status.upper()}: {self.message}")
        return "  ".join(parts)
