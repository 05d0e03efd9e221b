"""When ticks run: aligned slots, waiting for the next one, and slots that got no tick."""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta

from gridpilot.clock import Clock
from gridpilot.scheduler.tick import next_tick_at

__all__ = ["skipped_slots", "wait_next_slot"]


async def wait_next_slot(clock: Clock, interval_s: float, stop: asyncio.Event,
                         wake: asyncio.Event) -> datetime | None:
    """Sleep until the next aligned slot; returns it, or ``None`` when stopped or woken early."""
    now = clock.now()
    target = next_tick_at(now, interval_s)
    delay_s = (target - now).total_seconds()
    wake.clear()
    sleeper = asyncio.ensure_future(clock.sleep(delay_s))
    stopper = asyncio.ensure_future(stop.wait())
    waker = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, stopper, waker}, return_when=asyncio.FIRST_COMPLETED)
        slept = sleeper.done() and not sleeper.cancelled()
    finally:
        for task in (sleeper, stopper, waker):
            task.cancel()
        await asyncio.gather(sleeper, stopper, waker, return_exceptions=True)
    return target if slept else None


def skipped_slots(first: datetime, until: datetime, interval_s: float) -> tuple[int, datetime]:
    """How many aligned slots from ``first`` up to ``until`` (inclusive) there are, and the
    last of them."""
    slots = math.floor((until - first).total_seconds() / interval_s + 1e-9) + 1
    return slots, first + timedelta(seconds=(slots - 1) * interval_s)
