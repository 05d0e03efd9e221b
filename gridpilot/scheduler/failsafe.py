"""The fail-safe: what the scheduler does while it has no fresh state.

When the last fresh state is older than ``run.max_state_age_s`` (or there never was one), the
configured safe action is sent once; after that nothing is commanded until fresh data returns.
"""

from __future__ import annotations

import logging
from datetime import datetime

from gridpilot.engine.commands import Command, DeviceLimits
from gridpilot.engine.state import DeviceMode
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.dispatcher import Dispatcher, DispatchOutcome

__all__ = ["FailSafe"]

log = logging.getLogger("gridpilot.scheduler")

_SETTLED = frozenset({"sent", "dry_run", "yielded"})
"""Outcomes after which the safe action needs no second attempt."""


class FailSafe:
    """``active`` while the state is stale; ``sent`` once the safe action went out."""

    def __init__(self, audit: AuditLog, dispatcher: Dispatcher) -> None:
        self.audit = audit
        self.dispatcher = dispatcher
        self.active = False
        self.sent = False

    def clear(self, now: datetime, tick: int) -> None:
        """Fresh state is back: gridpilot commands again."""
        if self.active:
            self.active = self.sent = False
            log.info("fresh state is back; gridpilot commands again")
            self.audit.write("failsafe_cleared", now, tick=tick)

    def enter(self, now: datetime, tick: int, why: str, age_s: float | None) -> None:
        if not self.active:
            self.active = True
            log.warning("no fresh state (%s); falling back to the safe action", why)
            self.audit.write("failsafe_entered", now, tick=tick, reason=why, state_age_s=age_s)

    async def send(self, safe: Command, limits: DeviceLimits, mode: DeviceMode | None,
                   now: datetime, tick: int) -> DispatchOutcome:
        """Send ``safe`` over ``mode`` whatever the device runs, trusting its acknowledgement
        (the state cannot be read back anyway)."""
        outcome = await self.dispatcher.dispatch(safe, limits, mode, now, tick=tick,
                                                 force_send=True, read_back=False)
        if outcome.status in _SETTLED:
            self.sent = True
        return outcome
