"""Small pieces of a tick: its aligned time, commands made outside ``decide()``, and the line
``gridpilot run`` prints for it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo

from gridpilot.arrays import FloatArray
from gridpilot.engine.actions import command_from_action
from gridpilot.engine.commands import Command
from gridpilot.engine.decision import Decision
from gridpilot.engine.state import ModeSource, PriceOutlook, SiteState
from gridpilot.rules.policy import Policy
from gridpilot.rules.schema import Action
from gridpilot.scheduler.device import Snapshot, describe_mode
from gridpilot.scheduler.dispatcher import DispatchOutcome
from gridpilot.scheduler.holds import winner_label
from gridpilot.scheduler.persist import RunMemory

__all__ = [
    "TickReport",
    "build_site_state",
    "command_with_reserve",
    "next_tick_at",
    "note_month_peak",
    "recognise_own_mode",
    "remember_decision",
    "reserve_floor_pct",
    "stale_reason",
]

RUNNING_STATUSES = frozenset({"sent", "unchanged", "dry_run"})
"""Dispatch outcomes after which the device runs the decided command (or, in a dry run, would)."""

OWN_MODE_SLACK_S = 120.0
"""How far a device's reported expiry may be from the one gridpilot recorded for its command."""


def next_tick_at(now: datetime, interval_s: float) -> datetime:
    """The next instant after ``now`` that is a whole multiple of ``interval_s`` since the epoch."""
    ts = now.timestamp()
    nxt = (math.floor(ts / interval_s + 1e-9) + 1) * interval_s
    return datetime.fromtimestamp(nxt, UTC)


def reserve_floor_pct(policy: Policy) -> float:
    """The battery's minimum SOC raised by the always-on backup reserve guards [%]."""
    return float(max(
        [g.min_soc_pct for g in policy.guards
         if g.kind == "backup_reserve" and g.window is None and g.min_soc_pct is not None],
        default=policy.limits.min_soc_pct,
    ))


def command_with_reserve(action: Action, policy: Policy) -> Command:
    """The command ``action`` stands for outside ``decide()`` (the fail-safe, the device
    schedule): the engine's action defaults, with the floor raised to the always-on reserve."""
    limits = policy.limits
    command = command_from_action(action, limits)
    floor = min(max(command.floor_soc_pct, reserve_floor_pct(policy)), limits.max_soc_pct)
    return replace(command, floor_soc_pct=floor,
                   target_soc_pct=max(command.target_soc_pct, floor))


def note_month_peak(memory: RunMemory, month: str, grid_w: float) -> None:
    """Track the highest grid import of the billing month ``month`` (``YYYY-MM``, site time)."""
    if memory.peak_month != month:
        memory.peak_month, memory.month_peak_import_w = month, 0.0
    memory.month_peak_import_w = max(memory.month_peak_import_w, grid_w)


def build_site_state(snap: Snapshot, now: datetime, memory: RunMemory, prices: PriceOutlook,
                     forecast_net_load_w: FloatArray | None) -> SiteState:
    """The ``SiteState`` ``decide()`` gets: the reading plus the scheduler's memory."""
    return snap.site_state(
        prices=prices,
        active_command=memory.active_command,
        active_since=memory.active_since,
        month_peak_import_w=memory.month_peak_import_w,
        forecast_net_load_w=forecast_net_load_w,
        active_layer=memory.active_layer,
    )


def remember_decision(memory: RunMemory, decision: Decision, outcome: DispatchOutcome,
                      now: datetime) -> None:
    """Make the decided command the one anti-flap and the minimum dwell hold on to, but only
    once the device runs it. A command the device refused, or that was never sent (backoff,
    invalid, an unknown device mode), must not be kept for the dwell time: the next decision
    would hold it, and nothing would replace what really runs on the device. A yielding
    decision only mirrors a person's mode: it is not ours to dwell on either."""
    if decision.yielded or outcome.status not in RUNNING_STATUSES:
        return
    if memory.active_command is None or memory.active_command.kind != decision.command.kind:
        memory.active_since = now
    memory.active_command = decision.command
    memory.active_layer = decision.layer


def stale_reason(snap: Snapshot | None, read_error: str) -> str:
    """Why a tick has no state to decide on, naming a rejected reading where there is one."""
    if read_error:
        return read_error
    problem = snap.problem() if snap is not None else ""
    return problem or "the state is older than run.max_state_age_s or incomplete"


def recognise_own_mode(snap: Snapshot, memory: RunMemory) -> Snapshot:
    """A mode the adapter calls a person's but that is exactly the command gridpilot sent before
    a restart (same kind, same expiry) is gridpilot's own: an adapter only knows the modes it
    created itself, and a new process has a new adapter."""
    mode = snap.device_mode
    if (mode is None or mode.source is not ModeSource.PERSON or mode.expires is None
            or memory.sent_command is None or memory.sent_expires is None):
        return snap
    same_expiry = abs((mode.expires - memory.sent_expires).total_seconds()) <= OWN_MODE_SLACK_S
    if mode.kind is not memory.sent_command.kind or not same_expiry:
        return snap
    return replace(snap, device_mode=replace(mode, source=ModeSource.GRIDPILOT))


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
            # A rejected reading is unknown ("?"), never the 0 that stands in for it.
            soc = "    ?" if s.soc_pct is None else f"{s.soc_pct:5.1f}"
            load = "     ?" if "load_w" in s.rejected else f"{s.load_w:6.0f}"
            pv = "     ?" if "pv_w" in s.rejected else f"{s.pv_w:6.0f}"
            grid = "      ?" if "grid_w" in s.rejected else f"{s.grid_w:+7.0f}"
            parts.append(f"SOC {soc} %  load {load} W  pv {pv} W  grid {grid} W")
        if self.decision is not None:
            if self.decision.yielded:
                mode = s.device_mode if s is not None else None
                parts.append(f"-> yield to {describe_mode(mode)} ({self.decision.winner})")
            else:
                who = winner_label(self.decision.winner, self.decision.candidates)
                parts.append(f"-> {self.decision.command.describe()} ({who})")
        if self.outcome is not None:
            detail = self.outcome.detail if self.outcome.status != "unchanged" else ""
            parts.append(f"[{self.outcome.status}{': ' + detail if detail else ''}]")
        if self.status != "ok":
            parts.append(f"{self.status.upper()}: {self.message}")
        return "  ".join(parts)
