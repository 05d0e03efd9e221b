"""Reading the device once per tick: a snapshot, or why there is none.

Whatever goes wrong while reading, the tick must see "no state", so the fail-safe can count the
time without one; the error is audited and logged, with a traceback only for the unexpected.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from gridpilot.devices.base import DeviceAdapter
from gridpilot.errors import GridpilotError
from gridpilot.scheduler.audit import AuditLog
from gridpilot.scheduler.device import Snapshot, snapshot_from_reading
from gridpilot.scheduler.metrics import Metrics

__all__ = ["is_fresh", "read_snapshot"]

log = logging.getLogger("gridpilot.scheduler")


async def read_snapshot(device: DeviceAdapter, *, timeout_s: float, now: datetime, tick: int,
                        audit: AuditLog, metrics: Metrics) -> tuple[Snapshot | None, str]:
    """The device's state at ``now``, or ``None`` and why reading it failed."""
    try:
        reading = await asyncio.wait_for(device.read_state(), timeout_s)
        return snapshot_from_reading(reading, now), ""
    except Exception as exc:
        kind = "timeout" if isinstance(exc, TimeoutError) else type(exc).__name__
        text = f"reading the device failed ({kind}): {exc}" if str(exc) else (
            f"reading the device failed ({kind})")
        metrics.error(kind)
        audit.write("error", now, tick=tick, stage="read_state", error_kind=kind, error=str(exc))
        # gridpilot's own errors say what is wrong; a traceback is for the unexpected.
        expected = isinstance(exc, GridpilotError | TimeoutError | OSError)
        log.warning("tick %d: %s", tick, text, exc_info=not expected)
        return None, text


def is_fresh(snapshot: Snapshot | None, max_age_s: float) -> bool:
    """Whether ``snapshot`` is complete and young enough to decide on."""
    if snapshot is None:
        return False
    age_s = snapshot.state_age_s()
    return age_s is not None and age_s <= max_age_s
